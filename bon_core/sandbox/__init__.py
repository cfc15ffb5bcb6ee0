"""Sandboxes that run untrusted code (HumanEval candidates) with limits, registered by name.

``subprocess`` (default, :mod:`bon_core.sandbox.subprocess_sandbox`) runs a limited child process;
``docker`` (:mod:`bon_core.sandbox.docker_sandbox`) runs a locked-down container and needs a Docker engine.
The subprocess sandbox reads a pass from a channel the program cannot forge (:mod:`bon_core.sandbox.guard`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from bon_core.sandbox.result import SandboxLimits, SandboxResult, SandboxStatus, classify_exit

SANDBOX_NAMES: tuple[str, ...] = ("subprocess", "docker")


class Sandbox(Protocol):
    """Anything that runs a Python program under limits and reports a :class:`SandboxResult`."""

    name: str

    def run(self, program: str, limits: SandboxLimits | None = None) -> SandboxResult: ...


def get_sandbox(name: str = "subprocess", **options: Any) -> Sandbox:
    """The sandbox registered as ``name``; an unknown name fails listing the known ones."""
    if name == "subprocess":
        from bon_core.sandbox.subprocess_sandbox import SubprocessSandbox

        return SubprocessSandbox(**options)
    if name == "docker":
        from bon_core.sandbox.docker_sandbox import DockerSandbox

        return DockerSandbox(**options)
    raise ValueError(f"unknown sandbox {name!r}; known sandboxes: {', '.join(SANDBOX_NAMES)}")


def run_many(
    sandbox: Sandbox, programs: Sequence[str], limits: SandboxLimits | None = None, max_workers: int | None = None
) -> list[SandboxResult]:
    """Run ``programs`` in parallel (threads, each waiting on its own child; up to the core count by default),
    returning results in input order."""
    if not programs:
        return []
    workers = max(1, min(max_workers or os.cpu_count() or 1, len(programs)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda program: sandbox.run(program, limits), programs))


__all__ = [
    "SANDBOX_NAMES",
    "Sandbox",
    "SandboxLimits",
    "SandboxResult",
    "SandboxStatus",
    "classify_exit",
    "get_sandbox",
    "run_many",
]
