"""What a sandboxed run reports, its resource limits, and how an exit is turned into a status."""

from __future__ import annotations

import signal
from dataclasses import dataclass
from typing import Literal

SandboxStatus = Literal["passed", "failed", "timed_out", "crashed"]


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits of one sandboxed run.

    ``timeout_s`` is wall-clock time (the parent kills the whole run after it); ``cpu_s`` is RLIMIT_CPU (soft;
    the hard limit is one second more); ``memory_mb`` is RLIMIT_AS (address space, so it also caps what numpy
    or threads can reserve); ``max_processes`` is RLIMIT_NPROC for the sandbox's own user id (fork bombs);
    ``max_file_mb`` is RLIMIT_FSIZE (files written, including the captured stdout/stderr) and, where the sandbox
    isolates, the size of its working directory; ``max_open_files`` is RLIMIT_NOFILE.
    """

    timeout_s: float = 10.0
    cpu_s: int = 10
    memory_mb: int = 1024
    max_processes: int = 32
    max_file_mb: int = 16
    max_open_files: int = 256
    output_tail_chars: int = 4000

    def __post_init__(self) -> None:
        for name in ("timeout_s", "cpu_s", "memory_mb", "max_processes", "max_file_mb", "max_open_files"):
            if getattr(self, name) <= 0:
                raise ValueError(f"SandboxLimits.{name} must be > 0, got {getattr(self, name)}")


@dataclass(frozen=True)
class SandboxResult:
    """The outcome of running one program: ``status`` and a one-line ``detail`` saying why."""

    status: SandboxStatus
    detail: str
    returncode: int | None
    stdout: str = ""
    stderr: str = ""
    duration_s: float = 0.0
    backend: str = "subprocess"
    isolation: tuple[str, ...] = ()  # e.g. ("user", "network", "rlimits", "clean_env", "temp_cwd")

    @property
    def passed(self) -> bool:
        """True only when the program ran to its end (its completion was reported through the sandbox's channel)."""
        return self.status == "passed"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def classify_exit(
    returncode: int | None,
    wall_timed_out: bool,
    completed: bool,
    stderr: str,
    limits: SandboxLimits,
    tampered: str | None = None,
) -> tuple[SandboxStatus, str]:
    """Map how a sandboxed program ended onto ``(status, detail)``.

    A run passes only with exit status 0 *and* ``completed``: the harness's own report, after the tests, that the
    program's last line ran. ``sys.exit(0)`` or ``os._exit(0)`` before the tests end therefore counts as crashed,
    not passed. ``tampered`` names what the program changed that the tests rely on (e.g. ``builtins.abs``): such
    a run fails even if the tests "passed".
    """
    if wall_timed_out:
        return "timed_out", f"wall-clock timeout after {limits.timeout_s:g}s"
    if returncode is not None and returncode < 0:
        number = -returncode
        if number == signal.SIGXCPU:
            return "timed_out", f"CPU time limit of {limits.cpu_s}s exceeded"
        if number == signal.SIGXFSZ:
            return "crashed", f"file size limit of {limits.max_file_mb} MB exceeded"
        return "crashed", f"killed by {_signal_name(number)}"
    if returncode == 0 and tampered:
        return "failed", f"the program replaced {tampered}, so its tests cannot be trusted"
    if returncode == 0 and completed:
        return "passed", "passed"
    if "Traceback (most recent call last)" in stderr:
        lines = [line for line in stderr.strip().splitlines() if line.strip()]
        last = lines[-1].strip()[:300] if lines else "unknown exception"
        if last.startswith("MemoryError"):
            return "crashed", f"memory limit of {limits.memory_mb} MB: {last}"
        return "failed", last
    return "crashed", f"exited with status {returncode} before the tests finished"
