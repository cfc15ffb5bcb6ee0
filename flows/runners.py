"""The task runner that spreads a flow's mapped shards: threads in-process (default) or a Dask cluster.

``BON_TASK_RUNNER=threads|dask``, ``BON_MAX_WORKERS`` (threads; default 1, since one torch model already uses
every core) and ``BON_DASK_ADDRESS`` (a scheduler such as ``tcp://10.0.0.5:8786``; unset starts a local cluster of
``BON_DASK_WORKERS`` processes).
"""

from __future__ import annotations

import os
from typing import Any

RUNNERS = ("threads", "dask")


def task_runner(kind: str | None = None, max_workers: int | None = None, address: str | None = None) -> Any:
    """Build the configured Prefect task runner; arguments override the environment."""
    kind = kind or os.environ.get("BON_TASK_RUNNER", "threads")
    if kind == "threads":
        from prefect.task_runners import ThreadPoolTaskRunner

        return ThreadPoolTaskRunner(max_workers=max_workers or int(os.environ.get("BON_MAX_WORKERS", "1")))
    if kind == "dask":
        try:
            from prefect_dask import DaskTaskRunner
        except ImportError:
            raise ValueError("BON_TASK_RUNNER=dask needs the dask extra: pip install 'bon[dask]'") from None
        address = address or os.environ.get("BON_DASK_ADDRESS")
        if address:
            return DaskTaskRunner(address=address)
        workers = max_workers or int(os.environ.get("BON_DASK_WORKERS", "2"))
        return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True})
    raise ValueError(f"unknown task runner {kind!r} (BON_TASK_RUNNER); known: {', '.join(RUNNERS)}")


def shards(items: list[Any], size: int) -> list[list[Any]]:
    """Split ``items`` into consecutive shards of at most ``size``."""
    if size < 1:
        raise ValueError(f"shard size must be >= 1, got {size}")
    return [items[i : i + size] for i in range(0, len(items), size)]
