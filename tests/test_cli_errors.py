"""User errors at the real ``bon`` command line (a subprocess, as a user runs it) against a real SQLite store: one
line ``error: ...`` on stderr naming the input and what is wrong, exit status 1, no traceback unless ``--debug``,
and (inside flows) no retries of a user error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BON = str(Path(sys.executable).with_name("bon"))


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A working directory with a migrated store holding one run ``stored`` of one arith problem."""
    from sqlalchemy.orm import Session

    from bon_core.types import Problem
    from db import repository
    from db.engine import make_engine
    from db.migrate import upgrade

    cwd = tmp_path_factory.mktemp("cli-errors")
    url = f"sqlite:///{cwd / '.bon' / 'bon.db'}"
    (cwd / ".bon").mkdir()
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        repository.get_or_create_run(session, "stored", "arith", "policy-dir", {"n": 2}, 0)
        repository.upsert_problems(session, [Problem("arith", "p0", "1+2", "3")])
    engine.dispose()
    (cwd / "base").mkdir()
    (cwd / "base" / "config.json").write_text("{}")  # passes the --base check; never loaded
    return cwd


def bon(cwd: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BON_", "MLFLOW_", "PREFECT_"))}
    env["COLUMNS"] = "200"
    return subprocess.run([BON, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["evaluate", "--run", "nope"], "error: --run: unknown run 'nope'; known: stored"),
        (["score", "--run", "nope", "--prm", "/nonexistent"], "error: --run: unknown run 'nope'; known: stored"),
        (
            ["score", "--run", "stored", "--prm", "/nonexistent"],
            "error: --prm /nonexistent: no such directory, and not a models:/ URI or a Hub id",
        ),
        (
            ["score", "--run", "stored", "--prm", "models:/nope@champion"],
            "error: --prm models:/nope@champion: no registered model 'nope'; registered: none",
        ),
        (
            ["score", "--run", "stored", "--prm", "x", "--format", "qwen"],
            "error: unknown --format 'qwen'; known: bon, math-shepherd, qwen-prm, rlhflow, skywork, "
            "trl-token-classification",
        ),
        (
            ["select", "--run", "stored", "--aggregation", "median"],
            "error: unknown --aggregation 'median'; known: min, prod, last, mean, sum",
        ),
        (
            ["evaluate", "--run", "stored", "--scorer", "p=median"],
            "error: unknown aggregation in --scorer 'p=median': 'median'; known: min, prod, last, mean, sum",
        ),
        (["evaluate", "--run", "stored", "-n", "0"], "error: -n must be > 0, got 0"),
        (
            ["generate", "--task", "nope", "--policy", "p"],
            "error: unknown --task 'nope'; known: arith, gsm8k, math, humaneval",
        ),  # fmt: skip
        (["generate", "--policy", "p", "-n", "0"], "error: -n must be > 0, got 0"),
        (["generate", "--policy", "p", "--temperature", "-0.5"], "error: --temperature must be >= 0, got -0.5"),
        (
            ["generate", "--policy", "./no-such-policy", "--run", "r"],
            "error: --policy ./no-such-policy: no such directory, and not a models:/ URI or a Hub id",
        ),
        (
            ["train-prm", "run:stored", "--base", "base", "--out", "o", "--kind", "rm"],
            "error: unknown --kind 'rm'; known: prm, orm",
        ),
        (
            ["train-prm", "run:stored", "--base", "base", "--out", "o", "--validation-run", "nope"],
            "error: --run: unknown run 'nope'; known: stored",
        ),
    ],
)
def test_user_errors_are_one_line(home, args, expected, monkeypatch, capsys):
    """Through the console-script entry point ``flows.cli.main`` in this process (the subprocess tests below cover
    the installed ``bon``): exit status 1 and one line on stderr."""
    import mlflow

    from flows.cli import main

    saved = dict(os.environ)
    for name in list(os.environ):
        if name.startswith(("BON_", "MLFLOW_", "PREFECT_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(home)
    monkeypatch.setattr(sys, "argv", ["bon", *args])
    try:
        with pytest.raises(SystemExit) as exited:
            main()
    finally:
        os.environ.clear()
        os.environ.update(saved)
        mlflow.set_tracking_uri(None)
    captured = capsys.readouterr()
    result = subprocess.CompletedProcess(args, exited.value.code, captured.out, captured.err)
    assert one_line_error(result) == expected


def test_the_installed_bon_prints_one_line(home):
    """The issue's example, as a user runs it: before, 104 lines, two tracebacks and 59 s of retries."""
    line = one_line_error(bon(home, "score", "--run", "stored", "--prm", "/nonexistent"))
    assert line == "error: --prm /nonexistent: no such directory, and not a models:/ URI or a Hub id"


def test_debug_shows_the_traceback(home):
    result = bon(home, "--debug", "evaluate", "--run", "nope")
    assert result.returncode == 1 and "Traceback" in result.stderr and "unknown run 'nope'" in result.stderr


def test_an_error_inside_a_flow_is_one_line_and_not_retried(home):
    """A PRM directory that passes the checks but cannot be loaded fails inside the score flow: the user sees one
    line, and the failing shard is not retried (before: two tracebacks, 104 lines, 'Retries are exhausted')."""
    broken = home / "broken-prm"
    broken.mkdir()
    (broken / "bon_prm.json").write_text("{not json")
    result = bon(home, "score", "--run", "stored", "--prm", str(broken), timeout=900)  # starts Prefect: slow
    line = one_line_error(result)
    assert "bon_prm.json" in line or "JSON" in line or "Expecting" in line, line
    assert "Retries are exhausted" not in result.stdout + result.stderr


def test_retry_condition_retries_transient_errors_only():
    """``is_transient`` is the ``retry_condition_fn`` of the generate and score shards: Prefect calls it with the
    task's Failed state, and only a failure another attempt can get past is retried."""
    from prefect.states import Failed
    from sqlalchemy.exc import OperationalError

    from flows.generate import generate_shard
    from flows.runtime import is_transient
    from flows.score import score_shard

    assert score_shard.retry_condition_fn is is_transient and generate_shard.retry_condition_fn is is_transient
    dropped = OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))
    for error, retried in [
        (ValueError("--prm /nonexistent: no such directory"), False),
        (FileNotFoundError("/nonexistent/bon_prm.json"), False),
        (KeyError("unknown run"), False),
        (dropped, True),
        (ConnectionError("connection refused"), True),
        (TimeoutError("timed out"), True),
    ]:
        assert is_transient(None, None, Failed(data=error)) is retried, error


def test_prefects_drain_progress_at_exit_is_not_printed_by_a_quiet_command(tmp_path):
    # Prefect's event worker warns while it drains its queue at exit; seen once under load as a second line after
    # a command's one-line error. The quiet set-up of every command keeps it out; --debug (no quiet) shows it.
    code = (
        "import logging, sys\n"
        "from flows.runtime import configure_prefect, quiet_flow_errors\n"
        "from flows.settings import load_settings\n"
        "if sys.argv[1] == 'quiet':\n"
        "    quiet_flow_errors()\n"
        "configure_prefect(load_settings())\n"
        "from prefect.events.worker import EventsWorker\n"
        "logging.getLogger('EventsWorker').warning('Still processing items: 1 items remaining...')\n"
    )
    env = {**os.environ, "BON_HOME": str(tmp_path / ".bon")}
    quiet, loud = (
        subprocess.run(
            [sys.executable, "-c", code, mode],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )  # fmt: skip
        for mode in ("quiet", "loud")
    )
    assert "Still processing items" not in quiet.stdout + quiet.stderr
    assert "Still processing items" in loud.stdout + loud.stderr
