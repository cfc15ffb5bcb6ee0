"""Run untrusted Python in a subprocess with limits — the default sandbox.

What is isolated (when the parent runs as root with ``unshare`` and ``setpriv`` available, as on Linux hosts
and in our Docker image):

- **user**: the child runs under a fresh, random, unprivileged uid/gid with no supplementary groups, so it cannot
  read, change or delete files that are not world-writable (the parent's temp files, the repository, /root ...);
  RLIMIT_NPROC then really bounds its process count (root ignores it), and after the run every process of that
  uid is SIGKILLed — even ones that escaped the process group with ``setsid``;
- **network**: a new, empty network namespace (``unshare -n``): no interface but a down loopback, so no
  connection to the internet or to services on the host (e.g. PostgreSQL on 127.0.0.1);
- **resources**: RLIMIT_AS (memory), RLIMIT_CPU, RLIMIT_NPROC, RLIMIT_FSIZE, no core dumps, set by a preamble
  before any candidate code runs; a wall-clock timeout; the whole process group is killed at the end;
- **environment**: a scrubbed environment (only PATH, LANG, HOME, TMPDIR), ``python -I`` (no user site, no
  PYTHON* variables) and a throw-away working directory, deleted afterwards.

What is NOT isolated: the file system is shared read-only-by-permission, not hidden (the child can read
world-readable files and write world-writable dirs such as /tmp); the kernel is shared (no seccomp); code that
introspects the harness could forge the completion marker. Without root (or without ``unshare``/``setpriv``) the
child runs as the parent's user: the network is then only blocked by replacing ``socket.socket`` in the preamble,
and RLIMIT_NPROC counts all of that user's processes. Use :class:`~bon_core.sandbox.docker_sandbox.DockerSandbox`
for production.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bon_core.sandbox.result import SandboxLimits, SandboxResult, classify_exit

_PREAMBLE = """\
import resource as _bon_resource
for _bon_limit, _bon_soft, _bon_hard in {rlimits!r}:
    _bon_resource.setrlimit(getattr(_bon_resource, _bon_limit), (_bon_soft, _bon_hard))
if {block_socket!r}:
    import socket as _bon_socket

    class _BonNoNetwork(_bon_socket.socket):
        def __init__(self, *args, **kwargs):
            raise OSError("network access is disabled in the sandbox")

    _bon_socket.socket = _BonNoNetwork
del _bon_resource
"""
_EPILOGUE = "\nimport sys as _bon_sys\n_bon_sys.stdout.flush()\nprint('\\n' + {marker!r}, flush=True)\n"
_SANDBOX_UID_RANGE = (200_000, 1_200_000)


def _read_tail(path: Path, chars: int) -> str:
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - 4 * chars))
        return handle.read().decode("utf-8", errors="replace")[-chars:]


def live_processes_of(uid: int) -> list[int]:
    """Pids of processes (zombies excluded) whose real uid is ``uid``, read from /proc."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = dict(line.split(":", 1) for line in (entry / "status").read_text().splitlines() if ":" in line)
        except OSError:  # the process ended while we looked
            continue
        if int(fields.get("Uid", "-1").split()[0]) == uid and not fields.get("State", "").strip().startswith("Z"):
            pids.append(int(entry.name))
    return pids


class SubprocessSandbox:
    """Run a Python program in a limited child process (see the module docstring for what is isolated)."""

    name = "subprocess"

    def __init__(self, python: str | None = None, isolate: bool | None = None) -> None:
        # The real interpreter, not the venv's: the child needs the standard library only, and should not see
        # our site-packages.
        self.python = python or os.path.realpath(getattr(sys, "_base_executable", sys.executable))
        self._isolate = isolate

    @property
    def can_isolate(self) -> bool:
        """Whether a fresh uid and a network namespace are available (root + ``unshare`` + ``setpriv``)."""
        if self._isolate is None:
            self._isolate = bool(
                hasattr(os, "geteuid")
                and os.geteuid() == 0
                and shutil.which("unshare")
                and shutil.which("setpriv")
                and subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0
            )
        return self._isolate

    def _command(self, uid: int | None) -> list[str]:
        base = [self.python, "-I", "-B", "program.py"]
        if uid is None:
            return base
        drop = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]
        return ["unshare", "-n", "--", *drop, *base]

    def _kill_all(self, process: subprocess.Popen[bytes], uid: int | None) -> None:
        try:
            os.killpg(process.pid, 9)
        except (ProcessLookupError, PermissionError):
            pass
        if uid is not None:
            # kill(-1) sent by the sandbox uid reaches every process of that uid (and nothing else).
            sweep = "import os\ntry:\n    os.kill(-1, 9)\nexcept OSError:\n    pass\n"
            for _ in range(5):
                if not live_processes_of(uid):
                    break
                subprocess.run(
                    ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--", self.python, "-c", sweep],
                    capture_output=True,
                    cwd="/",
                )
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def run(self, program: str, limits: SandboxLimits | None = None) -> SandboxResult:
        """Run ``program`` (Python source); it passes if it exits 0 after its last line has run."""
        limits = limits or SandboxLimits()
        isolated = self.can_isolate
        uid = secrets.randbelow(_SANDBOX_UID_RANGE[1] - _SANDBOX_UID_RANGE[0]) + _SANDBOX_UID_RANGE[0]
        uid = uid if isolated else None
        marker = f"__bon_sandbox_done_{secrets.token_hex(16)}__"
        megabyte = 1024 * 1024
        rlimits = [
            ("RLIMIT_AS", limits.memory_mb * megabyte, limits.memory_mb * megabyte),
            ("RLIMIT_CPU", limits.cpu_s, limits.cpu_s + 1),
            ("RLIMIT_FSIZE", limits.max_file_mb * megabyte, limits.max_file_mb * megabyte),
            ("RLIMIT_CORE", 0, 0),
        ]
        if isolated:  # per-user limit: only meaningful for a uid of its own
            rlimits.append(("RLIMIT_NPROC", limits.max_processes, limits.max_processes))
        source = (
            _PREAMBLE.format(rlimits=rlimits, block_socket=not isolated) + program + _EPILOGUE.format(marker=marker)
        )
        work = Path(tempfile.mkdtemp(prefix="bon-sandbox-"))
        try:
            os.chmod(work, 0o711)
            jail = work / "jail"
            jail.mkdir(mode=0o700)
            (jail / "program.py").write_text(source, encoding="utf-8")
            if uid is not None:
                os.chown(jail, uid, uid)
                os.chown(jail / "program.py", uid, uid)
            env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(jail), "TMPDIR": str(jail)}
            started = time.monotonic()
            with open(work / "stdout", "wb") as out, open(work / "stderr", "wb") as err:
                process = subprocess.Popen(
                    self._command(uid),
                    cwd=jail,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    start_new_session=True,
                )
                wall_timed_out = False
                try:
                    process.wait(timeout=limits.timeout_s)
                except subprocess.TimeoutExpired:
                    wall_timed_out = True
                finally:
                    self._kill_all(process, uid)
            duration = time.monotonic() - started
            stdout = _read_tail(work / "stdout", limits.output_tail_chars)
            stderr = _read_tail(work / "stderr", limits.output_tail_chars)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        lines = stdout.rstrip("\n").splitlines()
        marker_seen = bool(lines) and lines[-1] == marker
        if marker_seen:
            stdout = "\n".join(lines[:-1])
        status, detail = classify_exit(process.returncode, wall_timed_out, marker_seen, stderr, limits)
        isolation = ("rlimits", "clean_env", "temp_cwd", "process_group")
        isolation += ("user", "network") if isolated else ("socket_patch",)
        return SandboxResult(
            status=status,
            detail=detail,
            returncode=process.returncode,
            stdout=stdout,
            stderr=stderr,
            duration_s=duration,
            backend=self.name,
            isolation=isolation,
        )
