"""Run untrusted Python in a throw-away Docker container (the production backend), via the ``docker`` SDK.

Each run starts a fresh container from ``image`` with no network, a read-only root file system, a small
tmpfs as the working directory, memory / CPU / pids limits, all capabilities dropped and ``no-new-privileges``;
the container is removed afterwards. Where no Docker engine is reachable, construction refuses with one line.
"""

from __future__ import annotations

import time

from bon_core.sandbox.result import SandboxLimits, SandboxResult, classify_exit

_EPILOGUE = "\nimport sys as _bon_sys\n_bon_sys.stdout.flush()\nprint('\\n' + {marker!r}, flush=True)\n"


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
        """Run ``program`` in a new container; it passes if it exits 0 after its last line has run."""
        import secrets

        limits = limits or SandboxLimits()
        marker = f"__bon_sandbox_done_{secrets.token_hex(16)}__"
        source = program + _EPILOGUE.format(marker=marker)
        started = time.monotonic()
        container = self.client.containers.run(
            self.image,
            ["python", "-I", "-B", "-c", source],
            detach=True,
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
            try:
                returncode = container.wait(timeout=limits.timeout_s)["StatusCode"]
            except Exception:  # noqa: BLE001 - requests' timeout types vary by version
                wall_timed_out = True
                container.kill()
                returncode = None
            stdout = container.logs(stdout=True, stderr=False).decode("utf-8", "replace")[-limits.output_tail_chars :]
            stderr = container.logs(stdout=False, stderr=True).decode("utf-8", "replace")[-limits.output_tail_chars :]
        finally:
            container.remove(force=True)
        # Docker reports death by signal N as 128 + N.
        if returncode is not None and returncode > 128:
            returncode = -(returncode - 128)
        lines = stdout.rstrip("\n").splitlines()
        marker_seen = bool(lines) and lines[-1] == marker
        status, detail = classify_exit(returncode, wall_timed_out, marker_seen, stderr, limits)
        return SandboxResult(
            status=status,
            detail=detail,
            returncode=returncode,
            stdout="\n".join(lines[:-1]) if marker_seen else stdout,
            stderr=stderr,
            duration_s=time.monotonic() - started,
            backend=self.name,
            isolation=("container", "network", "read_only_fs", "rlimits", "clean_env", "no_capabilities"),
        )
