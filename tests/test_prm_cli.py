"""``bon train-prm`` on a TRL step-label file (through the train-prm flow, logged and registered in MLflow) and
``bon score-steps`` on the saved PRM."""

from __future__ import annotations

import json

import pytest
from prm_tiny import tiny_gpt2_lm
from typer.testing import CliRunner

from flows.cli import app


@pytest.fixture
def prefect(prefect_harness):
    """The session's Prefect test server (tests/conftest.py)."""


@pytest.fixture
def bon_home(prefect, migrated_home):
    return migrated_home


@pytest.mark.slow
def test_train_prm_then_score_steps(bon_home, tmp_path):
    rows = [
        {"prompt": f"{a}+{b}", "completions": [f"{a}+{b}={a + b + wrong}"], "labels": [wrong == 0]}
        for a in range(4)
        for b in range(4)
        for wrong in (0, 1)
    ]
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    base, out = tiny_gpt2_lm(tmp_path / "base"), tmp_path / "prm"
    args = ["train-prm", "--data", f"trl:{data}", "--base", str(base), "--out", str(out), "--max-steps", "4",
            "--eval-steps", "2", "--max-length", "64", "--freeze-layers", "1", "--register", "tiny-prm"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "saved prm to" in result.output and json.loads((out / "bon_prm.json").read_text())["max_length"] == 64
    assert "registered as tiny-prm v1" in result.output and " s (load, train, save, log)" in result.output
    import mlflow

    (run,) = mlflow.search_runs(experiment_names=["bon"], filter_string="attributes.run_name = 'train-prm'",
                                output_format="list")  # fmt: skip
    assert run.data.params["freeze_layers"] == "1" and run.data.metrics["train_seconds"] > 0
    result = CliRunner().invoke(app, ["score-steps", str(out), "--problem", "1+2", "--step", "1+2=3", "--step", "3"])
    assert result.exit_code == 0, result.output
    lines = [line.split("\t") for line in result.stdout.splitlines() if line.count("\t") == 2]
    assert [(line[0], line[2]) for line in lines] == [("0", "1+2=3"), ("1", "3")]
    assert all(0.0 < float(line[1]) < 1.0 for line in lines)


def test_train_prm_reports_a_bad_data_spec(tmp_path):
    result = CliRunner().invoke(app, ["train-prm", "nope:x.jsonl", "--base", str(tmp_path), "--out", str(tmp_path)])
    assert result.exit_code != 0
    assert "no format for 'nope:x.jsonl'" in str(result.exception)
    both = ["train-prm", "trl:a.jsonl", "--data", "trl:b.jsonl", "--base", str(tmp_path), "--out", str(tmp_path)]
    assert "give the training data once" in str(CliRunner().invoke(app, both).exception)


def test_train_prm_help_describes_every_option():
    import re

    result = CliRunner().invoke(app, ["train-prm", "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 0
    text = re.sub(r"\s+", " ", re.sub(r"[│╭╮╰╯─]", " ", result.output))
    # "OPTION TYPE help": the type is printed as INTEGER or <int> depending on the Typer version
    assert re.search(r"--batch-size \S+ Solutions per optimizer step\.", text)
    assert re.search(r"--lr \S+ Peak learning rate", text)
    assert re.search(r"--seed \S+ Seed of the validation split", text)
    assert re.search(r"--validation-run \S+ Stored run", text)


def test_quick_demo_registers_under_its_own_names():
    from flows.cli.demo_cmd import demo_registry

    assert demo_registry("bon-prm", quick=True) == "bon-prm-quick"
    assert demo_registry("bon-prm", quick=False) == "bon-prm"
    # the pipeline names the ORM after the PRM: bon-orm-quick
    assert demo_registry("bon-prm", quick=True).replace("prm", "orm") == "bon-orm-quick"
