"""``stop SWEEP`` / ``resume SWEEP``: every process of a local sweep finishes the trials it
runs and exits; ``resume`` lets the sweep go on (run the join command again)."""

from __future__ import annotations

from hydra_wandb_sweeper.cli.common import StorageOption, SweepArgument, console


def stop(sweep: SweepArgument, storage: StorageOption = None) -> None:
    """Stop SWEEP: its processes finish their current trials and ask for no more."""
    _set(sweep, storage, stop=True)
    console().print(
        f"Sweep {sweep}: stop requested. Its processes exit after their current trials; "
        f"`hydra-wandb-sweeper resume {sweep}` lets it go on.",
        highlight=False,
    )


def resume(sweep: SweepArgument, storage: StorageOption = None) -> None:
    """Let a stopped SWEEP go on: processes that join it (its join command) run trials again."""
    _set(sweep, storage, stop=False)
    console().print(
        f"Sweep {sweep} may go on: start or join it again with its join command "
        "(python YOUR_SCRIPT -m ... hydra.sweeper.sweep_id=SWEEP_ID).",
        highlight=False,
    )


def _set(sweep: str, storage: str | None, *, stop: bool) -> None:
    from hydra_wandb_sweeper.engine.kinds import sweeps_holding

    sweeps_holding(sweep, storage).set_stopped(sweep, stop)
