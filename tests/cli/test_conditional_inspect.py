"""A conditional sweep read back: inactive parameters are blank, never a made-up value, and
dict values go through the sweep, the results and the export whole."""

from __future__ import annotations

import json
import shutil

from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from tests.cli.cli_helpers import cli
from tests.support.sweeper_helpers import APP, results, run_sweep, trial_records

SCHEDULES = "[{warmup:1,epochs:100},{warmup:0,epochs:50}]"


def test_show_best_report_and_export_of_a_conditional_sweep(tmp_path):
    run_sweep(
        tmp_path,
        "hydra.sweeper.parameters={shape:{values:[flat,ring]},"
        "shape.radius:{values:[1.0,3.0],when:{shape:ring}},"
        f"schedule:{{values:{SCHEDULES}}}}}",
        "hydra.sweeper.method=grid",
        "hydra.sweeper.metric={name:loss,goal:maximize}",
    )
    storage = str(tmp_path / "journal.log")
    summary = results(tmp_path)
    sweep_id = summary["sweep_id"]
    assert summary["trials"]["finished"] == 2 * 2 + 2  # ring: 2 radii x 2 schedules; flat: 2
    for job in trial_records(tmp_path):  # the dict reached the job whole, merged by Hydra
        assert job["config"]["schedule"] in (
            {"warmup": 1, "epochs": 100},
            {"warmup": 0, "epochs": 50},
        )

    trials = json.loads(cli(tmp_path, "show", sweep_id, "--json", "--storage", storage).stdout)[
        "trials_table"
    ]
    for trial in trials:
        assert ("shape.radius" in trial["params"]) == (trial["params"]["shape"] == "ring")
        assert isinstance(trial["params"]["schedule"], dict)
    text = cli(tmp_path, "show", sweep_id, "--storage", storage).stdout
    flat_rows = [line for line in text.splitlines() if " flat " in line]
    assert flat_rows and not any("1.0" in row.split("flat")[1].split("{")[0] for row in flat_rows)

    best = json.loads(cli(tmp_path, "best", sweep_id, "--json", "--storage", storage).stdout)
    assert best["params"]["shape"] == "ring" and best["params"]["shape.radius"] == 3.0

    out = cli(tmp_path, "report", sweep_id, "--out", "r", "--no-png", "--storage", storage).stdout
    assert "Report: r/report.html" in out
    page = (tmp_path / "r" / "report.html").read_text()
    assert "applies to some trials only" in page

    conf = tmp_path / "conf"
    shutil.copytree(APP.parent / "conf", conf)
    cli(tmp_path, "export", sweep_id, "--name", "best", "--storage", storage)
    with initialize_config_dir(config_dir=str(conf), version_base="1.3"):
        trial = OmegaConf.to_container(compose("config", overrides=summary["best_overrides"]))
        exported = OmegaConf.to_container(compose("config", overrides=["+experiment=best"]))
    assert exported == trial
    assert trial["shape"]["radius"] == 3.0 and trial["schedule"]["epochs"] in (50, 100)
