"""The Docker sandbox's verdict protocol, run without Docker: the exact command a container runs
(``python -I -B -c container_program(...)``) with the nonce on stdin, read back with ``container_verdict`` and
classified as ``DockerSandbox.run`` does. The corpus's verdict-forging attacks (fake markers, early exits, calling
the completion hook, patched builtins, frame and gc walks) must all fail, the honest candidates pass. Only attacks
on the verdict run here: the resource attacks need the container's limits, which this machine has no engine for."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from test_sandbox_hostile import HONEST, LIMITS, PROBLEM, _corpus

from bon_core.sandbox.docker_sandbox import container_program, container_verdict, new_nonce
from bon_core.sandbox.result import classify_exit
from bon_core.tasks.humaneval import build_program

VERDICT_ATTACKS = (
    "alarm_exit", "atexit_done", "atexit_exit_zero", "call_done_hook", "ctypes_exit", "del_system_exit",
    "done_from_thread", "excepthook", "fake_marker", "gc_walk", "os_exit_before_asserts", "override_check",
    "patch_abs", "patch_module_builtins", "read_own_source", "settrace_spy", "sys_exit_before_asserts",
    "traceback_frames",
)  # fmt: skip
# A container runs the program with -c: there is no program file to read, so the attack fails on open().
CONTAINER_EXPECT = {"read_own_source": {"failed"}}


def _run_as_container(completion: str) -> tuple[str, str, str]:
    """(status, detail, stdout) of ``completion`` graded the way ``DockerSandbox.run`` grades a container."""
    program = build_program(
        PROBLEM.question, completion, PROBLEM.metadata["test"], PROBLEM.metadata["entry_point"]
    )  # fmt: skip
    nonce = new_nonce()
    python = str(Path(getattr(sys, "_base_executable", sys.executable)).resolve())
    try:
        done = subprocess.run(
            [python, "-I", "-B", "-c", container_program(program)],
            input=nonce,
            capture_output=True,
            timeout=LIMITS.timeout_s * 3,
            env={"PATH": "/usr/bin:/bin"},
        )
    except subprocess.TimeoutExpired:
        return "timed_out", "wall-clock", ""
    completed, tampered, stdout = container_verdict(done.stdout, nonce)
    assert nonce not in stdout
    stderr = done.stderr.decode("utf-8", "replace")
    status, detail = classify_exit(done.returncode, False, completed and done.returncode == 0, stderr, LIMITS, tampered)
    return status, detail, stdout.decode("utf-8", "replace")


@pytest.mark.parametrize("name", sorted(HONEST))
def test_honest_candidates_grade_as_in_the_subprocess_sandbox(name):
    completion, status, detail = HONEST[name]
    assert _run_as_container(completion)[:2] == (status, detail)


def test_verdict_attacks_never_pass_and_are_classified():
    corpus = _corpus({"__BON_PORT__": "9", "__BON_OUTSIDE__": "/nonexistent", "__BON_PROJECT_WRITE__": "/nonexistent",
                      "__BON_PROJECT_FILE__": "/nonexistent", "__BON_SECRET_NAME__": "BON_NONE"})  # fmt: skip
    assert set(VERDICT_ATTACKS) <= set(corpus)
    results = {name: _run_as_container(corpus[name][0]) for name in VERDICT_ATTACKS}
    assert [name for name, (status, _, _) in results.items() if status == "passed"] == []
    wrong = {name: r[:2] for name, r in results.items() if r[0] not in CONTAINER_EXPECT.get(name, corpus[name][1])}
    assert wrong == {}


def test_the_program_output_survives_and_a_printed_report_is_not_a_pass():
    status, _, stdout = _run_as_container("    print('hello from the candidate', end='')\n    return number % 1.0\n")
    assert status == "passed" and stdout.count("hello from the candidate") == 3  # check() calls it three times
    forged = "    print('bon-tampered:nothing')\n    print('0' * 32)\n    return number\n"
    assert _run_as_container(forged)[0] == "failed"


def test_a_tampered_report_names_what_was_replaced():
    completion = "    import builtins\n    builtins.abs = lambda x: 0\n    return number % 1.0\n"
    status, detail, stdout = _run_as_container(completion)
    assert status == "failed" and "builtins.abs" in detail and "bon-tampered" not in stdout
