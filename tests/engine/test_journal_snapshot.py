"""A new process reads a long journal from its snapshot plus the lines written after it, and
sees exactly what a full replay sees; a snapshot that does not match the journal is ignored."""

from __future__ import annotations

from pathlib import Path

import optuna

from hydra_wandb_sweeper.engine.local.journal import SNAPSHOT_SUFFIX, SafeJournalBackend
from hydra_wandb_sweeper.engine.local.storage import open_storage


def grow(path: Path, trials: int, start: float = 0.0) -> None:
    storage = open_storage(str(path))
    try:
        study = optuna.load_study(study_name="sweep", storage=storage)
    except KeyError:
        study = optuna.create_study(storage=storage, study_name="sweep")
    distributions = {"x": optuna.distributions.FloatDistribution(0.0, 10.0)}
    study.add_trials(
        optuna.trial.create_trial(
            params={"x": (start + i) / 1000}, distributions=distributions, value=start + i
        )
        for i in range(trials)
    )


def seen(path: Path) -> list[tuple[int, float, dict[str, float]]]:
    study = optuna.load_study(study_name="sweep", storage=open_storage(str(path)))
    return [(t.number, t.value, t.params) for t in study.get_trials()]


def full_replay(path: Path) -> list[tuple[int, float, dict[str, float]]]:
    stock = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(path)))
    study = optuna.load_study(study_name="sweep", storage=stock)
    return [(t.number, t.value, t.params) for t in study.get_trials()]


def test_a_reader_starts_from_the_snapshot_and_replays_only_what_follows(tmp_path):
    path = tmp_path / "journal.log"
    grow(path, 250)  # snapshots at trials 100 and 200
    snapshot = Path(str(path) + SNAPSHOT_SUFFIX)
    assert snapshot.exists()
    grow(path, 30, start=250.0)  # written after the last snapshot

    backend = SafeJournalBackend(str(path))
    assert backend.load_snapshot() is not None
    skipped_to = backend._offset
    assert 0 < skipped_to < path.stat().st_size
    assert seen(path) == full_replay(path)
    assert len(seen(path)) == 280


def test_a_snapshot_of_another_journal_is_ignored(tmp_path):
    path = tmp_path / "journal.log"
    grow(path, 120)
    snapshot = Path(str(path) + SNAPSHOT_SUFFIX).read_bytes()
    # the journal is replaced by a shorter one of a different sweep at the same path
    path.unlink()
    grow(path, 5, start=1000.0)
    Path(str(path) + SNAPSHOT_SUFFIX).write_bytes(snapshot)
    assert SafeJournalBackend(str(path)).load_snapshot() is None
    assert [value for _, value, _ in seen(path)] == [1000.0 + i for i in range(5)]


def test_a_damaged_snapshot_is_ignored(tmp_path):
    path = tmp_path / "journal.log"
    grow(path, 120)
    snapshot = Path(str(path) + SNAPSHOT_SUFFIX)
    for damage in (b"", b"not a snapshot", snapshot.read_bytes()[:60]):
        snapshot.write_bytes(damage)
        assert seen(path) == full_replay(path)


def test_a_snapshot_that_cannot_be_written_fails_nothing(tmp_path):
    path = tmp_path / "journal.log"
    Path(str(path) + SNAPSHOT_SUFFIX).mkdir()  # in the way of the rename
    grow(path, 120)
    assert len(seen(path)) == 120
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".snapshot-")]
