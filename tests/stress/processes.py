"""Running ``bon`` as a real process for the stress tests: a clean environment, one thread, its own process group."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

BON = str(Path(sys.executable).parent / "bon")
INVOCATION_TIMEOUT_S = 900


def clean_env() -> dict[str, str]:
    """This environment without bon's, MLflow's and Prefect's settings, with one thread for torch."""
    drop = ("BON_", "MLFLOW_", "PREFECT_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    return {**env, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def start_bon(cwd: Path, args: list[str], log: Path) -> subprocess.Popen:
    """Start ``bon args`` in ``cwd`` in a new session (so a kill reaches its whole process group), appending its
    output to ``log``."""
    with open(log, "ab") as out:
        return subprocess.Popen([BON, *args], cwd=cwd, env=clean_env(), stdout=out, stderr=out, start_new_session=True)


def run_bon(cwd: Path, args: list[str], log: Path) -> float:
    """Run ``bon args`` to the end and assert it succeeded; returns its wall time. On a timeout its whole process
    group is killed (the ephemeral Prefect server it starts included)."""
    started = time.monotonic()
    process = start_bon(cwd, args, log)
    try:
        process.wait(timeout=INVOCATION_TIMEOUT_S)
    finally:
        if process.returncode is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 0, f"bon {' '.join(args)}:\n{log.read_text()[-3000:]}"
    return time.monotonic() - started
