"""Flow runs skip Prefect's heartbeat thread only when Prefect is ephemeral (nothing outside the process could read
a heartbeat); against a Prefect server they keep it."""

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
