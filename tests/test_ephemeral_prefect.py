"""What bon leaves out of Prefect when it runs ephemerally (nothing outside the process could use it), and keeps
against a Prefect server: the flow-run heartbeat thread, and the ``gpu`` tag (a tag concurrency limit) of the
shard tasks."""

from __future__ import annotations

import subprocess
import sys
import textwrap

FLOW = textwrap.dedent(
    """
    from flows.runtime import configure_prefect, ephemeral_flow_settings
    from flows.settings import load_settings

    configure_prefect(load_settings())
    from prefect import flow
    from prefect.settings import get_current_settings

    @flow
    def frequency() -> int | None:
        return get_current_settings().flows.heartbeat_frequency

    print("default", frequency())
    with ephemeral_flow_settings():
        print("ephemeral", frequency())
    print("after", frequency())
    """
)


def test_an_ephemeral_flow_run_has_no_heartbeat_thread(tmp_path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "BON_HOME": str(tmp_path / ".bon")}
    done = subprocess.run([sys.executable, "-c", FLOW], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line for line in done.stdout.splitlines() if line.split(" ")[0] in ("default", "ephemeral", "after")]
    assert lines == ["default 180", "ephemeral None", "after 180"]


def test_heartbeats_stay_on_against_a_prefect_server() -> None:
    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

    from flows.runtime import ephemeral_flow_settings

    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:4200/api"}):
        before = get_current_settings().flows.heartbeat_frequency
        with ephemeral_flow_settings():
            assert get_current_settings().flows.heartbeat_frequency == before is not None


def test_shard_tasks_carry_the_gpu_tag_only_against_a_prefect_server() -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.generate import generate_shard
    from flows.runtime import gpu_tagged
    from flows.score import score_shard

    for shard_task in (generate_shard, score_shard):
        with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:4200/api"}):
            assert gpu_tagged(shard_task).tags == {"gpu"}
        with temporary_settings({PREFECT_API_URL: None}):
            assert gpu_tagged(shard_task).tags == set()
