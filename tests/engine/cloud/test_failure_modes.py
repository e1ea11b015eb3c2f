"""engine: wandb failures end fast, in one sentence, and never show the API key."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.support.cloud_helpers import assert_no_api_key, cloud_command, run_cloud
from tests.support.wandb_server.fixture import WandbServer

pytestmark = pytest.mark.slow

SPACE = ["x=0.0,1.0,2.0", "hydra.sweeper.method=grid"]


def _fails_with(done: subprocess.CompletedProcess[str], *phrases: str) -> None:
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "Traceback" not in output
    for phrase in phrases:
        assert phrase in output, output
    assert_no_api_key(done.stdout, done.stderr)


def test_no_api_key_says_how_to_log_in(client_env: dict[str, str], tmp_path: Path) -> None:
    env = {k: v for k, v in client_env.items() if k != "WANDB_API_KEY"}
    done = run_cloud("quadratic", tmp_path / "multirun", env, *SPACE, check=False)
    _fails_with(done, "wandb login", "hydra.sweeper.engine=local")


def test_refused_and_silent_servers_fail_within_30_seconds(
    client_env: dict[str, str], tmp_path: Path
) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    refused_url = f"http://127.0.0.1:{closed.getsockname()[1]}"
    closed.close()
    silent = socket.socket()  # accepts connections, never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        for url in (refused_url, f"http://127.0.0.1:{silent.getsockname()[1]}"):
            started = time.monotonic()
            done = run_cloud(
                "quadratic",
                tmp_path / "multirun",
                {**client_env, "WANDB_BASE_URL": url},
                *SPACE,
                check=False,
            )
            assert time.monotonic() - started < 30
            _fails_with(done, f"Cannot reach the W&B server at {url}")
    finally:
        silent.close()


def test_unknown_sweep_id_is_named(
    wandb_server: WandbServer, client_env: dict[str, str], tmp_path: Path
) -> None:
    done = run_cloud(
        "quadratic",
        tmp_path / "multirun",
        client_env,
        "hydra.sweeper.sweep_id=tester/tests/nosuch00",
        check=False,
    )
    _fails_with(done, "W&B sweep tester/tests/nosuch00 not found")


def test_joining_a_cancelled_sweep_exits_0_with_a_message(
    wandb_server: WandbServer, client_env: dict[str, str], tmp_path: Path
) -> None:
    first = run_cloud("quadratic", tmp_path / "first", client_env, *SPACE, "hydra.sweeper.count=1")
    sweep_id = re.search(r"Create sweep with ID: (\w+)", first.stdout).group(1)
    wandb_server.control(sweep=sweep_id, sweep_state="CANCELED")
    done = run_cloud(
        "quadratic", tmp_path / "second", client_env, f"hydra.sweeper.sweep_id={sweep_id}"
    )
    assert f"the W&B sweep tester/tests/{sweep_id} is canceled" in done.stdout + done.stderr
    assert not list((tmp_path / "second").glob("*/trial.json"))


def test_lost_network_lets_the_running_trial_finish_then_exits_with_a_message(
    wandb_server: WandbServer, client_env: dict[str, str], tmp_path: Path
) -> None:
    sweep_dir = tmp_path / "multirun"
    sweep_dir.parent.mkdir(parents=True, exist_ok=True)
    command = cloud_command(
        "quadratic", sweep_dir, *SPACE, "sleep=3", "hydra.sweeper.server_retry_seconds=3"
    )
    env = {**client_env, "HYDRA_WANDB_SWEEPER_HEARTBEAT_SECONDS": "0.5"}
    with subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        deadline = time.monotonic() + 60
        while not list(sweep_dir.glob(".wandb-sweep/config-*.yaml")):  # the first trial runs
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.1)
        wandb_server.control(offline=True)
        started = time.monotonic()
        stdout, stderr = process.communicate(timeout=120)
    done = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    _fails_with(done, "Lost the W&B server", "Rejoin the sweep")
    # the trial's 3 s, the 3 s of retries, the results: well under a minute on a busy machine
    assert time.monotonic() - started < 60
    results = yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())
    assert results["trials"]["finished"] == 1  # the running trial finished and was kept


@pytest.mark.parametrize(
    ("overrides", "says"),
    [
        (["hydra.sweeper.method=grid", "x=interval(0.0,1.0)"], "grid needs discrete parameters"),
        (["hydra.sweeper.method=bayes", "x=interval(0.0,1.0)"], "hydra.sweeper.metric.name"),
        (["hydra.sweeper.method=random", "nosuchkey=1,2"], "hydra.sweeper.parameters.nosuchkey"),
    ],
    ids=["grid-continuous", "bayes-no-metric", "unknown-key"],
)
def test_what_wandb_would_reject_is_refused_before_a_sweep_is_created(
    wandb_server: WandbServer,
    client_env: dict[str, str],
    tmp_path: Path,
    overrides: list[str],
    says: str,
) -> None:
    done = run_cloud("quadratic", tmp_path / "multirun", client_env, *overrides, check=False)
    _fails_with(done, says)
    assert wandb_server.state()["sweeps"] == {}
    assert wandb_server.requests("UpsertSweep") == []
