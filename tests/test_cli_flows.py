"""The flow commands of the ``bon`` CLI in a fresh working directory: init, generate into the store, train and
register a PRM, score by registry alias, evaluate, select, and list/show runs."""

from __future__ import annotations

from prm_tiny import tiny_gpt2_lm
from typer.testing import CliRunner


def _ok(result):
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


class _Runner(CliRunner):
    """CliRunner that re-binds Prefect's log handlers to the real stderr after each command: Prefect binds them to
    whatever ``sys.stderr`` is when it configures logging, and CliRunner closes its stream when a command ends."""

    def invoke(self, *args, **kwargs):
        from prefect.logging.configuration import setup_logging

        try:
            return super().invoke(*args, **kwargs)
        finally:
            setup_logging(incremental=False)


def _status(run: str) -> str:
    from db import reads
    from flows.settings import load_settings
    from flows.store import transaction

    with transaction(load_settings().database_url) as session:
        return reads.get_run(session, run).status


def test_cli_walkthrough(prefect_harness, clean_cwd, tmp_path_factory, monkeypatch):
    import mlflow

    # An absolute home gives this test's stores URIs of their own: MLflow caches its store per URI string, and
    # other tests use the relative default in other working directories.
    monkeypatch.setenv("BON_HOME", str(clean_cwd / ".bon"))
    from prefect.logging.configuration import setup_logging

    from flows.cli import app

    setup_logging(incremental=False)
    policy = str(tiny_gpt2_lm(tmp_path_factory.mktemp("policy")))
    runner = _Runner()
    _ok(runner.invoke(app, ["init"]))
    try:
        out = _ok(runner.invoke(app, ["generate", "--task", "arith", "--policy", policy, "-n", "3", "--limit", "4",
                                      "--max-new-tokens", "24", "--run", "cli-run", "--shard-size", "2"]))  # fmt: skip
        assert "12 candidates stored" in out and "generating cli-run: 0/12 (0%)" in out  # progress as lines
        assert _status("cli-run") == "generated"
        out = _ok(runner.invoke(app, ["train-prm", "--data", "run:cli-run", "--base", policy, "--out", "prm",
                                      "--max-steps", "2", "--register", "cli-prm"]))  # fmt: skip
        # registered, but without a validation run never promoted: the gate says why
        assert "cli-prm v1 not promoted: it was evaluated on no benchmark run" in out
        out = _ok(runner.invoke(app, ["train-prm", "--data", "run:cli-run", "--base", policy, "--out", "prm",
                                      "--max-steps", "2", "--register", "cli-prm",
                                      "--validation-run", "cli-run"]))  # fmt: skip
        assert "cli-prm v2 promoted to champion (no champion yet): best_at_n:min = " in out
        assert "at N=3 on run 'cli-run'" in out
        out = _ok(runner.invoke(app, ["score", "--run", "cli-run", "--prm", "models:/cli-prm@champion"]))
        assert "scored run 'cli-run'" in out
        assert _status("cli-run") == "scored"
        out = _ok(runner.invoke(app, ["evaluate", "--run", "cli-run", "--scorer", "cli-prm=min,last"]))
        # a Rich table, not raw Markdown; progress lines, since the output is not a terminal
        assert "| majority |" not in out and "evaluating cli-run" in out
        rows = [[c.strip() for c in line.split("│")[1:4]] for line in out.splitlines() if line.count("│") >= 4]
        assert ["majority", "", ""] in rows and ["max", "cli-prm", "min"] in rows
        assert _status("cli-run") == "evaluated"
        out = _ok(runner.invoke(app, ["select", "--run", "cli-run", "--strategy", "weighted", "--scorer", "cli-prm"]))
        assert "weighted: accuracy" in out and "on 4 problems" in out
        bad = runner.invoke(app, ["select", "--run", "cli-run", "--strategy", "nope"])
        assert bad.exit_code != 0 and "unknown --strategy 'nope'" in str(bad.exception or bad.output)
        out = _ok(runner.invoke(app, ["runs", "list"]))
        assert "cli-run" in out and "evaluated" in out
        out = _ok(runner.invoke(app, ["runs", "show", "cli-run"]))
        assert "cli-run" in out and "majority" in out
        assert "{" not in out  # settings as a table, not a Python dict
        assert any("temperature" in line and "0.8" in line for line in out.splitlines() if "│" in line)
    finally:
        mlflow.set_tracking_uri(None)


def test_tasks_list_and_show_print_plain_text():
    from flows.cli import app

    out = _ok(CliRunner().invoke(app, ["tasks", "list"], env={"COLUMNS": "200"}))
    assert "multi-step integer arithmetic whose every step can be checked exactly" in out
    assert "``" not in out and ":class:" not in out


def test_tasks_show_keeps_backslashes_and_brackets(tmp_path):
    import json

    from flows.cli import app

    row = {"problem": r"Compute \[x^2\] for [b]x=2[/b].", "answer": "4", "unique_id": "t/1.json"}
    (tmp_path / "test.jsonl").write_text(json.dumps(row) + "\n")
    args = ["tasks", "show", "math", "--data-dir", str(tmp_path), "--width", "120"]
    out = _ok(CliRunner().invoke(app, args, env={"COLUMNS": "200"}))
    assert r"Compute \[x^2\] for [b]x=2[/b]." in out
