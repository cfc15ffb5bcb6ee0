"""The flow commands of the ``bon`` CLI in a fresh working directory: init, generate into the store, train and
register a PRM, score by registry alias, evaluate, select, and list/show runs."""

from __future__ import annotations

import pytest
from prm_tiny import tiny_gpt2_lm
from typer.testing import CliRunner


@pytest.fixture(scope="module")
def prefect():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


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


def test_cli_walkthrough(prefect, clean_cwd, tmp_path_factory, monkeypatch):
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
        assert "12 candidates stored" in out
        out = _ok(runner.invoke(app, ["train-prm", "--data", "run:cli-run", "--base", policy, "--out", "prm",
                                      "--max-steps", "2", "--register", "cli-prm"]))  # fmt: skip
        out = _ok(runner.invoke(app, ["score", "--run", "cli-run", "--prm", "models:/cli-prm@champion"]))
        assert "scored run 'cli-run'" in out
        out = _ok(runner.invoke(app, ["evaluate", "--run", "cli-run", "--scorer", "cli-prm=min,last"]))
        assert "| majority |" in out and "| max | cli-prm | min |" in out
        out = _ok(runner.invoke(app, ["select", "--run", "cli-run", "--strategy", "weighted", "--scorer", "cli-prm"]))
        assert "weighted: accuracy" in out and "on 4 problems" in out
        bad = runner.invoke(app, ["select", "--run", "cli-run", "--strategy", "nope"])
        assert bad.exit_code != 0 and "unknown" in str(bad.exception or bad.output)
        out = _ok(runner.invoke(app, ["runs", "list"]))
        assert "cli-run" in out
        out = _ok(runner.invoke(app, ["runs", "show", "cli-run"]))
        assert "cli-run" in out and "majority" in out
    finally:
        mlflow.set_tracking_uri(None)
