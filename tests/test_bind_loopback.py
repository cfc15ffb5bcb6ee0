"""What bon starts on this machine listens on 127.0.0.1 only: the ephemeral Prefect server a flow run starts is
found through the kernel's socket tables (every listening socket of the process tree), not through its settings."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

FLOW = textwrap.dedent(
    """
    import time
    from flows.runtime import configure_prefect
    from flows.settings import load_settings

    configure_prefect(load_settings())
    from prefect import flow

    @flow
    def wait() -> None:
        print("flow running", flush=True)
        time.sleep(60)

    wait()
    """
)


def _listening(pids: set[int]) -> list[str]:
    """``address:port`` of every TCP socket in state LISTEN that one of ``pids`` holds (IPv4 and IPv6)."""
    inodes = set()
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:  # the process ended while we looked
            continue
    found = []
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:  # 0A: LISTEN
                address, port = local.split(":")
                raw = bytes.fromhex(address)
                if width == 8:
                    text = ".".join(str(b) for b in raw[::-1])
                else:
                    words = [raw[i : i + 4][::-1].hex() for i in range(0, 16, 4)]
                    text = ":".join("".join(words)[i : i + 4] for i in range(0, 32, 4))
                found.append(f"{text}:{int(port, 16)}")
    return found


def _tree(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = set(), [root]
    while todo:
        pid = todo.pop()
        tree.add(pid)
        todo.extend(children.get(pid, []))
    return tree


@pytest.mark.slow
def test_the_ephemeral_prefect_server_listens_on_loopback_only(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "BON_", "MLFLOW_"))}
    process = subprocess.Popen([sys.executable, "-c", FLOW], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)  # fmt: skip
    try:
        assert process.stdout is not None
        for line in process.stdout:  # the server is up once the flow runs
            if "flow running" in line:
                break
        deadline, addresses = time.monotonic() + 30, []
        while not addresses and time.monotonic() < deadline:
            addresses = _listening(_tree(process.pid))
            time.sleep(0.2)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert addresses, "no listening socket found: did the flow start a server?"
    assert all(a.startswith(("127.0.0.1:", "0000:0000:0000:0000:0000:0000:0000:0001:")) for a in addresses), addresses
