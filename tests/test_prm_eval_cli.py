"""``bon eval-prm`` end to end: a tiny BERT PRM on two ProcessBench-style files, next to both baselines, under the
Prefect test harness with the store and MLflow in a temporary working directory."""

from __future__ import annotations

import json
import re

import pytest
from prm_tiny import tiny_bert
from sqlalchemy import text
from typer.testing import CliRunner

from flows.cli import app


@pytest.fixture
def prefect(prefect_harness):
    """The session's Prefect test server (tests/conftest.py)."""


@pytest.fixture
def bon_home(prefect, migrated_home) -> str:
    return f"sqlite:///{migrated_home / 'bon.db'}"


def write_processbench(path, offset: int) -> None:
    rows = []
    for i in range(offset, offset + 6):
        a, b = i, i + 1
        steps = [f"{a}+{b}={a + b}", f"so {a + b}"]
        rows.append({"id": f"{i}-ok", "problem": f"{a}+{b}?", "steps": steps, "label": -1})
        rows.append({"id": f"{i}-bad", "problem": f"{a}+{b}?", "steps": [steps[0], f"so {a + b + 1}"], "label": 1})
    long_steps = [f"we add {n} and {n} to get {2 * n} here" for n in range(6)]  # > one scoring window
    rows.append({"id": "long", "problem": "sums?", "steps": long_steps, "label": 4})
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


@pytest.mark.slow
def test_eval_prm_prints_tables_and_stores_figures(bon_home, tmp_path):
    from bon_core.prm import PRMSpec, new_prm
    from db.engine import make_engine

    base = tiny_bert(tmp_path / "base")
    new_prm(base, spec=PRMSpec(max_length=128), seed=1).save_pretrained(tmp_path / "tiny-prm")
    data = tmp_path / "data"
    data.mkdir()
    write_processbench(data / "a.jsonl", 0)
    write_processbench(data / "b.jsonl", 100)
    prm = str(tmp_path / "tiny-prm")
    args = ["eval-prm", "--data", str(data / "*.jsonl"), "--format", "processbench", "--prm", prm,
            "--base", str(base), "--validation-fraction", "0.5"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    table = [line for line in result.output.splitlines() if line.startswith("| ")]
    scorers = ("tiny-prm", "untrained-encoder", "position-length-logistic")
    labels = ("a", "b", "overall (pooled)", "overall (mean of per-subset F1) (2 of 2 subsets)")
    assert {(row.split(" | ")[0][2:], row.split(" | ")[1]) for row in table[2:]} == {
        (label, scorer) for label in labels for scorer in scorers
    }
    thresholds = next(line for line in result.output.splitlines() if line.startswith("thresholds"))
    assert thresholds.startswith("thresholds (chosen on the validation split, per subset): tiny-prm: a 0.")
    assert "ProcessBench's published 'average F1' is this figure" in result.output

    engine = make_engine(bon_home)
    with engine.connect() as connection:
        run = connection.execute(text("SELECT id, name, task, status FROM runs")).one()
        assert run.name.startswith("eval-prm:tiny-prm:") and (run.task, run.status) == ("processbench", "completed")
        rows = connection.execute(
            text("SELECT strategy, scorer, n FROM evaluations WHERE run_id = :r AND metric = 'step_auroc'"),
            {"r": run.id},
        ).all()
        kinds = dict(connection.execute(text("SELECT name, kind FROM scorers")).all())
    engine.dispose()
    assert {(strategy, scorer) for strategy, scorer, _ in rows} == {
        (f"prm-eval:{g}", s) for g in ("a", "b", "overall") for s in scorers
    }  # step AUROC of the mean-of-subsets row is undefined (only F1 is averaged), so it stores no step_auroc
    with engine.connect() as connection:
        means = connection.execute(
            text("SELECT scorer, value FROM evaluations WHERE strategy = 'prm-eval:mean-of-subsets'")
        ).all()
    engine.dispose()
    assert {scorer for scorer, _ in means} == set(scorers)
    n_test = {strategy: n for strategy, _, n in rows}
    assert n_test["prm-eval:overall"] == n_test["prm-eval:a"] + n_test["prm-eval:b"] < 26  # validation held out
    assert kinds == {"tiny-prm": "prm", "untrained-encoder": "baseline", "position-length-logistic": "heuristic"}


def test_eval_prm_names_a_bad_input(tmp_path):
    result = CliRunner().invoke(app, ["eval-prm", "--data", str(tmp_path / "none.jsonl"), "--format", "processbench",
                                      "--prm", str(tmp_path)])  # fmt: skip
    assert result.exit_code != 0 and "no data file matches" in str(result.exception)
    result = CliRunner().invoke(app, ["eval-prm", "--data", "x", "--format", "csv", "--prm", str(tmp_path)])
    assert "unknown --format 'csv'" in str(result.exception)


def write_wrong_first(path, n_wrong: int, n_correct: int) -> None:
    """ProcessBench's order: every wrong solution, then every correct one."""
    rows = [{"problem": f"w{i}?", "steps": ["a", "b"], "label": 1} for i in range(n_wrong)]
    rows += [{"problem": f"c{i}?", "steps": ["a", "b"], "label": -1} for i in range(n_correct)]
    path.write_text(json.dumps(rows))


def test_eval_prm_checks_the_validation_split_before_any_model(tmp_path):
    data = tmp_path / "gsm8k.json"
    write_wrong_first(data, 30, 0)
    # --prm names nothing: the data check comes first, so its message is the one printed
    args = ["eval-prm", "--data", str(data), "--format", "processbench", "--prm", str(tmp_path / "nowhere")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code != 0
    assert re.match(r"the validation split \(0 all-correct, \d+ wrong solutions\) needs both correct and wrong "
                    r"solutions to choose a threshold", str(result.exception))  # fmt: skip
    # the first 20 rows are all wrong; --limit 20 samples both kinds (15 wrong, 5 correct), so the check passes
    # and the next error is the missing PRM
    write_wrong_first(data, 30, 10)
    result = CliRunner().invoke(app, [*args, "--limit", "20"])
    assert "nowhere: not a bon PRM directory" in str(result.exception)


@pytest.mark.slow
def test_eval_prm_flow_checks_data_before_loading_the_model(bon_home, tmp_path):
    from flows.eval_prm import eval_prm_flow

    data = tmp_path / "math.json"
    write_wrong_first(data, 30, 0)
    with pytest.raises(ValueError, match=r"^the validation split \(0 all-correct, \d+ wrong solutions\) needs both"):
        eval_prm_flow(str(data), "processbench", str(tmp_path / "no-such-prm"), "minilm", bon_home)
