"""The subprocess sandbox contains hostile programs and records what happened; the Docker backend refuses
clearly where no engine runs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from bon_core.sandbox import SandboxLimits, get_sandbox, run_many
from bon_core.sandbox.subprocess_sandbox import SubprocessSandbox, live_processes_of

LIMITS = SandboxLimits(timeout_s=4, cpu_s=3, memory_mb=512, max_processes=16)


@pytest.fixture(scope="module")
def sandbox():
    return SubprocessSandbox()


def _sandbox_uid_processes() -> list[str]:
    out = subprocess.run(["ps", "-eo", "uid=,stat="], capture_output=True, text=True).stdout.split("\n")
    return [line for line in out if line.split() and int(line.split()[0]) >= 200_000 and "Z" not in line.split()[1]]


def test_a_program_that_runs_to_its_end_passes(sandbox):
    result = sandbox.run("print('hello')", LIMITS)
    assert (result.status, result.detail, result.stdout.strip()) == ("passed", "passed", "hello")


def test_a_failing_assertion_is_failed(sandbox):
    result = sandbox.run("assert 1 + 1 == 3, 'bad sum'", LIMITS)
    assert (result.status, result.detail) == ("failed", "AssertionError: bad sum")


@pytest.mark.parametrize("exit_call", ["import sys; sys.exit(0)", "import os; os._exit(0)"])
def test_exiting_early_with_status_zero_does_not_pass(sandbox, exit_call):
    result = sandbox.run(exit_call + "\nassert False", LIMITS)
    assert result.returncode == 0
    assert (result.status, result.detail) == ("crashed", "exited with status 0 before the tests finished")


def test_infinite_loop_is_timed_out(sandbox):
    result = sandbox.run("while True:\n    pass", SandboxLimits(timeout_s=2, cpu_s=1))
    assert result.status == "timed_out"
    assert result.detail in ("wall-clock timeout after 2s", "CPU time limit of 1s exceeded")
    assert result.duration_s < 6


def test_ten_gigabyte_allocation_hits_the_memory_limit(sandbox):
    result = sandbox.run("block = bytearray(10 * 1024**3)", LIMITS)
    assert (result.status, result.detail) == ("crashed", "memory limit of 512 MB: MemoryError")


def test_fork_bomb_is_contained_and_cleaned_up(sandbox):
    bomb = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    result = sandbox.run(bomb, SandboxLimits(timeout_s=2, cpu_s=2, max_processes=16))
    assert result.status == "timed_out"
    if "user" in result.isolation:  # every process of the sandbox uid was killed
        assert _sandbox_uid_processes() == []
    assert sandbox.run("print(1)", LIMITS).passed  # the host still forks fine


def test_deleting_files_does_not_reach_the_parent_tree(sandbox, tmp_path):
    sentinel = tmp_path / "sentinel.txt"
    sentinel.write_text("keep me")
    program = (
        "import os, shutil, pathlib\n"
        "open('scratch.txt', 'w').write('x')\n"
        "shutil.rmtree('.', ignore_errors=True)\n"  # the throw-away cwd only
        f"pathlib.Path({str(sentinel)!r}).unlink()\n"  # absolute path into the parent's tree
    )
    result = sandbox.run(program, LIMITS)
    assert sentinel.read_text() == "keep me"
    if "user" in result.isolation:
        assert result.status == "failed" and result.detail.startswith("PermissionError")


def test_network_is_unreachable(sandbox):
    # PostgreSQL listens on 127.0.0.1:5432 on the host; the sandbox must not reach it (nor anything else).
    program = "import socket\nsocket.create_connection(('127.0.0.1', 5432), timeout=3).close()\n"
    result = sandbox.run(program, LIMITS)
    assert result.status == "failed"
    assert result.detail.startswith(("OSError", "ConnectionRefusedError"))


def test_environment_is_scrubbed(sandbox, monkeypatch):
    monkeypatch.setenv("BON_SECRET_TOKEN", "s3cr3t")
    result = sandbox.run("import os\nprint(sorted(os.environ))\nprint(os.environ.get('BON_SECRET_TOKEN'))", LIMITS)
    assert result.passed
    assert "s3cr3t" not in result.stdout
    assert result.stdout.splitlines()[:2] == ["['HOME', 'LANG', 'PATH', 'TMPDIR']", "None"]


def test_working_directory_is_thrown_away(sandbox):
    result = sandbox.run("import os\nprint(os.getcwd())", LIMITS)
    cwd = result.stdout.strip()
    assert "bon-sandbox-" in cwd
    assert not Path(cwd).exists()


def test_isolation_reported_as_root(sandbox):
    result = sandbox.run("pass", LIMITS)
    if os.geteuid() == 0 and sandbox.can_isolate:
        expected = {"user", "network", "read_only_fs", "no_proc", "rlimits", "clean_env", "completion_nonce"}
        assert expected <= set(result.isolation)
    else:
        assert "socket_patch" in result.isolation


@pytest.fixture
def isolating(sandbox):
    if not sandbox.can_isolate:
        pytest.skip("needs root with unshare, setpriv and mount")
    return sandbox


def test_only_the_working_directory_is_writable_and_it_is_bounded(isolating):
    program = (
        "import errno\n"
        "for path in ('/tmp/bon-escape', '/var/tmp/bon-escape', '/dev/shm/bon-escape'):\n"
        "    try:\n"
        "        open(path, 'w')\n"
        "    except OSError as error:\n"
        "        print(errno.errorcode[error.errno])\n"
        "open('inside.txt', 'w').write('ok')\n"
        "with open('fill.bin', 'wb') as handle:\n"
        "    for _ in range(3):\n"
        "        try:\n"
        "            handle.write(b'x' * 1024 * 1024)\n"
        "        except OSError as error:\n"
        "            print(errno.errorcode[error.errno])\n"
        "            break\n"
    )
    result = isolating.run(program, SandboxLimits(timeout_s=4, max_file_mb=2))
    assert (result.status, result.stdout.split()) == ("passed", ["EROFS", "EROFS", "EROFS", "ENOSPC"])
    assert not Path("/tmp/bon-escape").exists()


def test_proc_is_gone_and_the_project_is_hidden(isolating):
    here = Path(__file__).resolve()
    program = f"import os\nprint(os.path.exists('/proc/self'), os.path.exists({str(here)!r}))\n"
    result = isolating.run(program, LIMITS)
    assert (result.status, result.stdout.strip()) == ("passed", "False False")


def test_a_daemon_left_behind_fails_the_run_and_is_killed(isolating):
    program = (
        "import os, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        time.sleep(60)\n"
        "    os._exit(0)\n"
        "time.sleep(0.3)\n"
    )
    result = isolating.run(program, LIMITS)
    assert (result.status, result.detail) == ("failed", "left 1 process(es) running after it ended")
    assert _sandbox_uid_processes() == []


def test_replacing_a_builtin_fails_even_when_the_asserts_hold(sandbox):
    result = sandbox.run("import builtins\nbuiltins.abs = lambda x: 0\nassert abs(-5) == 0", LIMITS)
    assert (result.status, result.detail) == (
        "failed",
        "the program replaced builtins.abs, so its tests cannot be trusted",
    )


def test_printing_or_raising_the_completion_event_does_not_pass(sandbox):
    program = (
        "import os, sys\n"
        "print('\\n__bon_sandbox_done_' + '0' * 32 + '__', flush=True)\n"
        "try:\n"
        "    sys.audit('bon.sandbox.done')\n"
        "except PermissionError as error:\n"
        "    print(error, flush=True)\n"
        "os._exit(0)\n"
    )
    result = sandbox.run(program, LIMITS)
    assert (result.status, result.detail) == ("crashed", "exited with status 0 before the tests finished")
    assert result.stdout.splitlines()[-1] == "only the sandbox epilogue may report completion"


def test_run_many_keeps_order(sandbox):
    results = run_many(sandbox, [f"print({i})" for i in range(6)], LIMITS, max_workers=3)
    assert [r.stdout.strip() for r in results] == [str(i) for i in range(6)]


def test_docker_backend_refuses_without_engine():
    with pytest.raises(RuntimeError, match=r"^docker sandbox: no Docker engine reachable at unix:///nonexistent"):
        get_sandbox("docker", base_url="unix:///nonexistent/docker.sock")


def test_unknown_sandbox_lists_known():
    with pytest.raises(ValueError, match=r"unknown sandbox 'vm'; known sandboxes: subprocess, docker"):
        get_sandbox("vm")


def test_limits_are_validated():
    with pytest.raises(ValueError, match=r"SandboxLimits.memory_mb must be > 0"):
        SandboxLimits(memory_mb=0)


def test_live_processes_of_unused_uid_is_empty():
    assert live_processes_of(1_999_999) == []
