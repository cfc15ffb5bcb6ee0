"""Run untrusted Python in a throw-away Docker container (the production backend), via the ``docker`` SDK.

Each run starts a fresh container from ``image`` with no network, a read-only root file system, a small
tmpfs as the working directory, memory / CPU / pids limits, all capabilities dropped and ``no-new-privileges``;
the container is removed afterwards. Where no Docker engine is reachable, construction refuses with one line.

The verdict uses the same guard as the subprocess sandbox (:mod:`bon_core.sandbox.guard`): the parent sends a
random nonce on the container's stdin, the guard reads it before any candidate code runs, and only the genuine
epilogue writes it back on stdout. The program text never contains the nonce, so printing a marker cannot fake a
pass (:func:`container_program`, :func:`container_verdict`).
"""

from __future__ import annotations

import secrets
import time

from bon_core.sandbox.guard import TAMPERED_PREFIX, read_verdict, wrap_program
from bon_core.sandbox.result import SandboxLimits, SandboxResult, classify_exit

ISOLATION = ("container", "network", "read_only_fs", "rlimits", "clean_env", "no_capabilities", "completion_nonce")
NONCE_BYTES = 16  # sent as 32 hex characters: the guard reads at most 64 bytes


def new_nonce() -> bytes:
    """A fresh completion nonce, printable so that it survives the container's log stream."""
    return secrets.token_hex(NONCE_BYTES).encode("ascii")


def container_program(program: str) -> str:
    """What the container runs (``python -I -B -c``): ``program`` inside the guard, which reads the nonce from stdin
    (fd 0) and reports on stdout (fd 1). Limits come from the container, not from rlimits set by the program."""
    return wrap_program(program, rlimits=[], block_socket=False, nonce_fd=0, result_fd=1, close_result=False)


def container_verdict(stdout: bytes, nonce: bytes) -> tuple[bool, str | None, bytes]:
    """``(completed, tampered_with, stdout without the guard's report)`` from a container's whole stdout.

    The guard writes to the raw fd while the program's own buffered output may follow, so the report is looked for
    anywhere in the stream; a program cannot produce the nonce it never saw."""
    if nonce in stdout:
        return True, None, stdout.replace(nonce, b"", 1)
    at = stdout.rfind(TAMPERED_PREFIX)
    if at >= 0:
        report = stdout[at:].split(b"\n", 1)[0]
        completed, tampered = read_verdict(report, nonce)
        return completed, tampered, stdout[:at] + stdout[at + len(report) :]
    return False, None, stdout


class DockerUnavailableError(RuntimeError):
    """No Docker engine could be reached (or the ``docker`` package is missing)."""


class DockerSandbox:
    """Run each program in its own locked-down container of ``image``."""

    name = "docker"

    def __init__(self, image: str = "python:3.11-slim", base_url: str | None = None) -> None:
        try:
            import docker
        except ImportError as exc:  # docker is the optional extra bon[docker]
            raise DockerUnavailableError(
                "docker sandbox: the 'docker' package is not installed (pip install 'bon[docker]'), or use the "
                "default 'subprocess' sandbox"
            ) from exc
        try:
            client = docker.DockerClient(base_url=base_url) if base_url else docker.from_env()
            client.ping()
        except Exception as exc:  # noqa: BLE001 - the SDK raises several unrelated types here
            where = base_url or "DOCKER_HOST / the default socket"
            raise DockerUnavailableError(
                f"docker sandbox: no Docker engine reachable at {where} ({type(exc).__name__}); "
                "use the default 'subprocess' sandbox or start Docker"
            ) from exc
        self.client = client
        self.image = image

    def run(self, program: str, limits: SandboxLimits | None = None) -> SandboxResult:
        """Run ``program`` in a new container; it passes only if it exits 0 after its last line has run."""
        limits = limits or SandboxLimits()
        nonce = new_nonce()
        started = time.monotonic()
        container = self.client.containers.create(
            self.image,
            ["python", "-I", "-B", "-c", container_program(program)],
            stdin_open=True,
            network_disabled=True,
            read_only=True,
            tmpfs={"/work": f"size={limits.max_file_mb}m"},
            working_dir="/work",
            mem_limit=f"{limits.memory_mb}m",
            memswap_limit=f"{limits.memory_mb}m",
            nano_cpus=1_000_000_000,
            pids_limit=limits.max_processes,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            ulimits=[{"name": "cpu", "soft": limits.cpu_s, "hard": limits.cpu_s + 1}],
            environment={},
            user="65534:65534",
        )
        wall_timed_out = False
        try:
            stdin = container.attach_socket(params={"stdin": 1, "stream": 1})
            container.start()
            raw = getattr(stdin, "_sock", stdin)  # the SDK wraps the socket in a SocketIO
            raw.sendall(nonce)
            raw.close()
            try:
                returncode = container.wait(timeout=limits.timeout_s)["StatusCode"]
            except Exception:  # noqa: BLE001 - requests' timeout types vary by version
                wall_timed_out = True
                container.kill()
                returncode = None
            stdout_bytes = container.logs(stdout=True, stderr=False)
            stderr = container.logs(stdout=False, stderr=True).decode("utf-8", "replace")[-limits.output_tail_chars :]
        finally:
            container.remove(force=True)
        # Docker reports death by signal N as 128 + N.
        if returncode is not None and returncode > 128:
            returncode = -(returncode - 128)
        completed, tampered, stdout_bytes = container_verdict(stdout_bytes, nonce)
        stdout = stdout_bytes.decode("utf-8", "replace")[-limits.output_tail_chars :]
        completed = completed and returncode == 0
        status, detail = classify_exit(returncode, wall_timed_out, completed, stderr, limits, tampered)
        return SandboxResult(
            status=status,
            detail=detail,
            returncode=returncode,
            stdout=stdout,
            stderr=stderr,
            duration_s=time.monotonic() - started,
            backend=self.name,
            isolation=ISOLATION,
        )
