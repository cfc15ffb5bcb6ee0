"""Run untrusted Python in a subprocess with limits — the default sandbox.

What is isolated (when the parent runs as root with ``unshare``, ``setpriv`` and ``mount`` available, as on Linux
hosts and in our Docker image):

- **user**: the child runs under a fresh, random, unprivileged uid/gid with no supplementary groups, so it cannot
  read, change or delete files that are not world-readable/writable; RLIMIT_NPROC then really bounds its process
  count (root ignores it), and after the run every process of that uid is SIGKILLed — even daemons that left the
  process group with a double fork and ``setsid``;
- **network**: a new, empty network namespace (``unshare -n``): no interface but a down loopback, so no
  connection to the internet or to services on the host (e.g. PostgreSQL on 127.0.0.1);
- **file system** (a mount namespace, ``unshare -m``): every mount is remounted read-only, so nothing outside the
  working directory can be written, even world-writable ``/tmp``; the working directory is a fresh tmpfs of
  ``max_file_mb`` (a disk-fill stops there) that disappears with the run; ``/proc`` is unmounted (no other
  process's command line, no ``/proc/self/mem``); the parent's working directory and the bon source tree (and
  any ``hide_paths``) are covered by an empty read-only tmpfs, so the project's files cannot be read;
- **resources**: RLIMIT_AS (memory), RLIMIT_CPU, RLIMIT_NPROC, RLIMIT_FSIZE (also caps the captured output),
  RLIMIT_NOFILE, no core dumps, set before any candidate code runs; a wall-clock timeout; the whole process group
  and every process of the uid are killed at the end;
- **environment**: a scrubbed environment (only PATH, LANG, HOME, TMPDIR), ``python -I`` (no user site, no
  PYTHON* variables);
- **verdict**: a pass is read from a pipe the parent checks for a random nonce that the program text never
  contains (:mod:`bon_core.sandbox.guard`), not from anything the program prints.

What is NOT isolated: world-readable files outside the hidden paths can be read; the kernel is shared (no
seccomp). Without root (or without ``unshare``/``setpriv``/``mount``) the child runs as the parent's user with the
rlimits, the clean environment, a temporary working directory and the guard only: the network is then blocked by
replacing ``socket.socket``, files are not protected, and RLIMIT_NPROC counts all of that user's processes. Use
:class:`~bon_core.sandbox.docker_sandbox.DockerSandbox` where that matters.
"""

from __future__ import annotations

import os
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from bon_core.sandbox.guard import read_verdict, wrap_program
from bon_core.sandbox.result import SandboxLimits, SandboxResult, classify_exit

_SANDBOX_UID_RANGE = (200_000, 1_200_000)
# Run as root inside the new network + mount namespace, then exec "$@" (setpriv ... python program.py).
_MOUNT_SCRIPT = """\
set -e
while read -r _ _ _ _ mountpoint _; do
    case "$mountpoint" in /proc|/proc/*|/sys|/sys/*|/dev/pts) continue ;; esac  # root-only, or gone below
    mount -o remount,bind,ro "$mountpoint" 2>/dev/null || true
done < /proc/self/mountinfo
{hide}mount -t tmpfs -o size={size_mb}m,nr_inodes=4096,mode=700,uid={uid},gid={uid} bon-jail {jail}
cp {source} {jail}/program.py
chown {uid}:{uid} {jail}/program.py
cd {jail}
umount -l /proc
unset PWD OLDPWD
exec "$@"
"""
_HIDE = "mount -t tmpfs -o ro,size=4k,mode=555 bon-hidden {path}\n"
_BON_SOURCE_TREE = Path(__file__).resolve().parents[2]


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


def _read_channel(fd: int) -> bytes:
    """What the result pipe holds now (non-blocking: a writer that survived the sweep cannot stall us)."""
    os.set_blocking(fd, False)
    chunks = []
    try:
        while len(chunks) < 16 and (chunk := os.read(fd, 4096)):
            chunks.append(chunk)
    except BlockingIOError:
        pass
    return b"".join(chunks)


def _contains(parent: Path, child: Path) -> bool:
    return parent == child or parent in child.parents


class SubprocessSandbox:
    """Run a Python program in a limited child process (see the module docstring for what is isolated).

    ``hide_paths`` are covered by an empty read-only directory in the child (in addition to the parent's working
    directory and the bon source tree) where the sandbox isolates.
    """

    name = "subprocess"

    def __init__(
        self, python: str | None = None, isolate: bool | None = None, hide_paths: Sequence[str | os.PathLike[str]] = ()
    ) -> None:
        # The real interpreter, not the venv's: the child needs the standard library only, and should not see
        # our site-packages.
        self.python = python or os.path.realpath(getattr(sys, "_base_executable", sys.executable))
        self._isolate = isolate
        self.hide_paths = tuple(Path(p) for p in hide_paths)
        self._uids_in_use: set[int] = set()
        self._uid_lock = threading.Lock()

    def __getstate__(self) -> dict:
        # Picklable (e.g. shipped to Dask workers with a task): the lock and the uids in use stay behind.
        return {k: v for k, v in self.__dict__.items() if k not in ("_uids_in_use", "_uid_lock")}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._uids_in_use, self._uid_lock = set(), threading.Lock()

    @property
    def can_isolate(self) -> bool:
        """Whether a fresh uid, a network namespace and a mount namespace are available (root + ``unshare`` +
        ``setpriv`` + ``mount``)."""
        if self._isolate is None:
            self._isolate = bool(
                hasattr(os, "geteuid")
                and os.geteuid() == 0
                and all(shutil.which(tool) for tool in ("unshare", "setpriv", "mount", "umount"))
                and self._probe_isolation()
            )
        return self._isolate

    def _probe_isolation(self) -> bool:
        work = Path(tempfile.mkdtemp(prefix="bon-sandbox-probe-"))
        try:
            (work / "jail").mkdir()
            (work / "program.py").write_text("pass\n")
            script = self._mount_script(work, 65534, 1)
            command = ["unshare", "-n", "-m", "--", "sh", "-c", script, "bon-sandbox", "true"]
            return subprocess.run(command, capture_output=True, timeout=30).returncode == 0
        except (OSError, subprocess.SubprocessError):
            return False
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _hidden(self, work: Path) -> list[Path]:
        """Directories to cover: never one that holds the working directory or the interpreter."""
        keep = [work, Path(self.python).resolve()]
        candidates = [Path.cwd(), _BON_SOURCE_TREE, *self.hide_paths]
        hidden: list[Path] = []
        for path in (p.resolve() for p in candidates):
            if path.is_dir() and path != Path("/") and not any(_contains(path, k) for k in keep) and path not in hidden:
                hidden.append(path)
        return hidden

    def _mount_script(self, work: Path, uid: int, size_mb: int) -> str:
        hide = "".join(_HIDE.format(path=shlex.quote(str(p))) for p in self._hidden(work))
        jail, source = shlex.quote(str(work / "jail")), shlex.quote(str(work / "program.py"))
        return _MOUNT_SCRIPT.format(hide=hide, size_mb=size_mb, uid=uid, jail=jail, source=source)

    def _command(self, uid: int | None, work: Path, limits: SandboxLimits) -> list[str]:
        base = [self.python, "-I", "-B", "program.py"]
        if uid is None:
            return base
        drop = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]
        script = self._mount_script(work, uid, limits.max_file_mb)
        return ["unshare", "-n", "-m", "--", "sh", "-c", script, "bon-sandbox", *drop, *base]

    def _take_uid(self) -> int:
        with self._uid_lock:
            while True:
                uid = secrets.randbelow(_SANDBOX_UID_RANGE[1] - _SANDBOX_UID_RANGE[0]) + _SANDBOX_UID_RANGE[0]
                if uid not in self._uids_in_use and not live_processes_of(uid):
                    self._uids_in_use.add(uid)
                    return uid

    def _release_uid(self, uid: int | None) -> None:
        with self._uid_lock:
            self._uids_in_use.discard(uid)  # type: ignore[arg-type]

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
        """Run ``program``; it passes only if it exits 0 after its last line has run (see :mod:`.guard`)."""
        limits = limits or SandboxLimits()
        isolated = self.can_isolate
        uid = self._take_uid() if isolated else None
        nonce = secrets.token_bytes(32)
        megabyte = 1024 * 1024
        rlimits = [
            ("RLIMIT_AS", limits.memory_mb * megabyte, limits.memory_mb * megabyte),
            ("RLIMIT_CPU", limits.cpu_s, limits.cpu_s + 1),
            ("RLIMIT_FSIZE", limits.max_file_mb * megabyte, limits.max_file_mb * megabyte),
            ("RLIMIT_NOFILE", limits.max_open_files, limits.max_open_files),
            ("RLIMIT_CORE", 0, 0),
        ]
        if isolated:  # per-user limit: only meaningful for a uid of its own
            rlimits.append(("RLIMIT_NPROC", limits.max_processes, limits.max_processes))
        work = Path(tempfile.mkdtemp(prefix="bon-sandbox-"))
        nonce_read, nonce_write = os.pipe()
        result_read, result_write = os.pipe()
        try:
            os.write(nonce_write, nonce)
            os.close(nonce_write)
            source = wrap_program(program, rlimits, not isolated, nonce_read, result_write)
            os.chmod(work, 0o711)
            jail = work / "jail"
            jail.mkdir(mode=0o700)
            (work / "program.py").write_text(source, encoding="utf-8")
            if uid is None:
                shutil.copy(work / "program.py", jail / "program.py")
            env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(jail), "TMPDIR": str(jail)}
            started = time.monotonic()
            with open(work / "stdout", "wb") as out, open(work / "stderr", "wb") as err:
                process = subprocess.Popen(
                    self._command(uid, work, limits),
                    cwd=jail,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    start_new_session=True,
                    pass_fds=(nonce_read, result_write),
                )
                os.close(nonce_read)
                os.close(result_write)
                nonce_read = result_write = -1
                wall_timed_out, left_behind = False, 0
                try:
                    process.wait(timeout=limits.timeout_s)
                    left_behind = len(live_processes_of(uid)) if uid is not None else 0
                except subprocess.TimeoutExpired:
                    wall_timed_out = True
                finally:
                    self._kill_all(process, uid)
            duration = time.monotonic() - started
            completed, tampered = read_verdict(_read_channel(result_read), nonce)
            stdout = _read_tail(work / "stdout", limits.output_tail_chars)
            stderr = _read_tail(work / "stderr", limits.output_tail_chars)
        finally:
            for fd in (nonce_read, result_read, result_write):
                if fd >= 0:
                    os.close(fd)
            shutil.rmtree(work, ignore_errors=True)
            self._release_uid(uid)
        completed = completed and process.returncode == 0
        status, detail = classify_exit(process.returncode, wall_timed_out, completed, stderr, limits, tampered)
        if status == "passed" and left_behind:  # e.g. a daemon (double fork + setsid): killed, and not a pass
            status, detail = "failed", f"left {left_behind} process(es) running after it ended"
        isolation = ("rlimits", "clean_env", "temp_cwd", "process_group", "completion_nonce")
        isolation += ("user", "network", "read_only_fs", "no_proc") if isolated else ("socket_patch",)
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
