"""Deployments against a real ``prefect server start`` on 127.0.0.1: ``bon deploy`` registers them for a work pool
with the nightly cron schedule; ``bon serve`` serves them, and runs triggered through the API complete with their
rows in a SQLite store (tiny GPT-2 policy, tiny PRM registered as ``champion`` in a temporary MLflow store).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from prm_tiny import tiny_gpt2_lm
from sqlalchemy import text

BON = str(Path(sys.executable).with_name("bon"))
PREFECT = str(Path(sys.executable).with_name("prefect"))
FAST_GENERATION = {"temperature": 1.0, "max_new_tokens": 24, "seed": 3}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BON_", "MLFLOW_", "PREFECT_"))}
    return {**env, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", **extra}


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory):
    """A real Prefect server in its own process group and home; yields its API URL."""
    home = tmp_path_factory.mktemp("prefect-server")
    port = _free_port()
    log = open(home / "server.log", "w")  # noqa: SIM115  (closed at teardown)
    process = subprocess.Popen(
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=_clean_env(PREFECT_HOME=str(home), PREFECT_SERVER_LOGGING_LEVEL="WARNING"),
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            pytest.fail(f"prefect server did not come up: {(home / 'server.log').read_text()[-2000:]}")
        time.sleep(0.5)
    yield url
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
    log.close()


def _count(url: str, sql: str, **params) -> int:
    from db.engine import make_engine

    engine = make_engine(url)
    with engine.connect() as connection:
        value = connection.execute(text(sql), params).scalar_one()
    engine.dispose()
    return value


def _register_champion(policy: Path, home: Path, registry: str) -> None:
    """A tiny untrained PRM on the policy's backbone, registered as version 1 and promoted to champion."""
    import mlflow

    from bon_core.prm import new_prm
    from flows.registry import Benchmark, log_prm, promote_if_better, register
    from flows.runtime import configure_mlflow
    from flows.settings import Settings
    from flows.tracking import tracked_run

    configure_mlflow(Settings(home=home))
    new_prm(str(policy)).save_pretrained(home / "prm")
    try:
        with tracked_run("register"):
            benchmark = Benchmark("bench", 4, "best_at_n:min", 0.5)
            version = register(log_prm(home / "prm"), registry, benchmark)
            assert promote_if_better(registry, version, benchmark).promoted
    finally:
        mlflow.set_tracking_uri(None)


@pytest.mark.slow
def test_deploy_registers_and_served_runs_complete_with_rows_in_the_store(prefect_server, tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from db.migrate import upgrade

    home = (tmp_path / "bon").resolve()
    store = f"sqlite:///{home / 'bon.db'}"
    home.mkdir()
    upgrade(store)
    policy = tiny_gpt2_lm(tmp_path / "policy")
    registry = "bench-prm"
    env = _clean_env(
        PREFECT_API_URL=prefect_server, PREFECT_HOME=str(tmp_path / "prefect-client"), BON_HOME=str(home),
        BON_DATABASE_URL=store, PREFECT_RUNNER_POLL_FREQUENCY="1", PREFECT_LOGGING_LEVEL="WARNING",
    )  # fmt: skip

    # bon deploy: the deployments land on the work pool, the nightly one with its cron schedule.
    deployed = subprocess.run([BON, "deploy", "--run", "bench", "--registry", registry, "--pool", "gpu-0"],
                              env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    with temporary_settings({PREFECT_API_URL: prefect_server}), get_client(sync_client=True) as client:
        nightly = client.read_deployment_by_name("nightly-champion-eval/nightly")
        train = client.read_deployment_by_name("train-prm/on-demand")
        pool = client.read_work_pool("gpu-0")
    assert nightly.work_pool_name == "gpu-0" and train.work_pool_name == "gpu-0" and pool.type == "process"
    assert [s.schedule.cron for s in nightly.schedules] == ["0 2 * * *"]
    assert nightly.parameters == {"run_name": "bench", "registry_name": registry}
    assert nightly.entrypoint == "flows.nightly.nightly_champion_eval"
    assert train.entrypoint == "flows.train.train_prm_flow"  # the flow itself, not a wrapper
    assert train.parameters == {"register_as": registry}  # no store URL: the worker's settings give it
    assert train.schedules == []  # on demand only

    _register_champion(policy, home, registry)
    log = open(tmp_path / "serve.log", "w")  # noqa: SIM115
    served = subprocess.Popen([BON, "serve", "--run", "bench", "--registry", registry], env=env, cwd=tmp_path,
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:
        with temporary_settings({PREFECT_API_URL: prefect_server}):
            generated = run_deployment(
                "generate/on-demand", timeout=240, poll_interval=1,
                parameters={"run_name": "bench", "task_name": "arith", "policy": str(policy), "n": 2, "limit": 2,
                            "generation": FAST_GENERATION, "shard_size": 1},
            )  # fmt: skip
            assert generated.state.is_completed(), (generated.state, (tmp_path / "serve.log").read_text()[-3000:])
            candidates = "SELECT COUNT(*) FROM candidates c JOIN runs r ON r.id = c.run_id WHERE r.name = 'bench'"
            assert _count(store, candidates) == 2 * 2

            evaluated = run_deployment("nightly-champion-eval/nightly", timeout=240, poll_interval=1)
            assert evaluated.state.is_completed(), (evaluated.state, (tmp_path / "serve.log").read_text()[-3000:])
    finally:
        os.killpg(served.pid, signal.SIGTERM)
        try:
            served.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(served.pid, signal.SIGKILL)
        log.close()
    scored = (
        "SELECT COUNT(*) FROM step_scores x JOIN scorers s ON s.id = x.scorer_id "
        "WHERE s.name = :name AND s.version = :version"
    )
    steps = "SELECT COUNT(*) FROM steps"
    assert _count(store, steps) > 0
    assert _count(store, scored, name=registry, version=f"{registry}/1") == _count(store, steps)
    evaluations = "SELECT COUNT(*) FROM evaluations e JOIN runs r ON r.id = e.run_id WHERE r.name = 'bench'"
    assert _count(store, evaluations) > 0
    assert (home / "results" / "bench" / "results.csv").exists()


def test_deployments_declare_a_nightly_schedule_and_on_demand_jobs():
    from flows.deployments import build_deployments

    nightly, train, generate = build_deployments("bench", "my-prm", cron="30 3 * * *", timezone="Europe/Paris")
    assert (nightly.flow_name, nightly.name) == ("nightly-champion-eval", "nightly")
    assert [(s.schedule.cron, s.schedule.timezone) for s in nightly.schedules] == [("30 3 * * *", "Europe/Paris")]
    assert nightly.parameters == {"run_name": "bench", "registry_name": "my-prm"}
    assert (train.flow_name, train.name, train.schedules) == ("train-prm", "on-demand", [])
    assert train.parameters == {"register_as": "my-prm"}
    assert (generate.flow_name, generate.schedules, generate.parameters) == ("generate", [], {})
    assert [d.entrypoint for d in (nightly, train, generate)] == [
        "flows.nightly.nightly_champion_eval", "flows.train.train_prm_flow", "flows.generate.generate_flow",
    ]  # fmt: skip
    assert [d.flow_name for d in build_deployments(None, "my-prm")] == ["train-prm", "generate"]
    with pytest.raises(ValueError, match="cron schedule 'every night'"):
        build_deployments("bench", "my-prm", cron="every night")


def test_deploy_and_serve_refuse_to_run_without_a_prefect_server(clean_cwd):
    from typer.testing import CliRunner

    from flows.cli import app

    for command in ("deploy", "serve"):
        result = CliRunner().invoke(app, [command, "--run", "bench"])
        assert result.exit_code != 0
        assert "set PREFECT_API_URL" in str(result.exception)
