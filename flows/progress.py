"""Progress reporting from flow tasks to whoever runs the flow (the CLI's Rich bars), without coupling the two.

Tasks call :func:`advance`; the CLI installs a sink with :func:`reporting`. Without a sink nothing happens, so
flows run the same under a Prefect worker, in tests, or from the CLI.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Protocol


class ProgressSink(Protocol):
    def start(self, key: str, description: str, total: int | None) -> None: ...

    def advance(self, key: str, amount: int = 1, info: str | None = None) -> None: ...


_lock = threading.Lock()
_sinks: list[ProgressSink] = []


@contextlib.contextmanager
def reporting(sink: ProgressSink) -> Iterator[ProgressSink]:
    """Send progress of flows run inside the block to ``sink``."""
    with _lock:
        _sinks.append(sink)
    try:
        yield sink
    finally:
        with _lock:
            _sinks.remove(sink)


def start(key: str, description: str, total: int | None = None) -> None:
    for sink in list(_sinks):
        sink.start(key, description, total)


def advance(key: str, amount: int = 1, info: str | None = None) -> None:
    for sink in list(_sinks):
        sink.advance(key, amount, info)
