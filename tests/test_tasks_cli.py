"""`bon tasks list` and `bon tasks show`."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from flows.cli import app

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
runner = CliRunner()


def test_tasks_list_names_every_task():
    result = runner.invoke(app, ["tasks", "list"], terminal_width=200)
    assert result.exit_code == 0, result.output
    for name in ("arith", "gsm8k", "math", "humaneval"):
        assert name in result.output
    assert "GSM8K grade-school math word problems" in result.output


def test_tasks_show_gsm8k_prints_problems_and_references(monkeypatch):
    monkeypatch.setenv("BON_DATA_DIR", str(DATA))
    result = runner.invoke(app, ["tasks", "show", "gsm8k", "--limit", "3"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "test-0" in result.output and "test-2" in result.output and "test-3" not in result.output
    assert "Janet’s ducks" in result.output
    assert "70000" in result.output


def test_tasks_show_bad_data_dir_is_one_clear_error(tmp_path):
    result = runner.invoke(app, ["tasks", "show", "gsm8k", "--data-dir", str(tmp_path)])
    assert result.exit_code != 0
    assert f"data file {tmp_path}/test.jsonl does not exist" in str(result.exception)
