"""Progress of flows run from the command line (see :mod:`flows.progress`): Rich bars on a terminal, and plain
progress lines when the output goes to a file or a pipe (where bars would show nothing until the end)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from flows import progress
from flows.cli.app import console


class RichSink:
    """One bar per progress key; a key started again (a second flow of the same kind) gets a fresh bar."""

    def __init__(self, bars: Progress) -> None:
        self.bars = bars
        self.tasks: dict[str, int] = {}
        self.lock = threading.Lock()

    def start(self, key: str, description: str, total: int | None) -> None:
        with self.lock:
            if key in self.tasks:
                self.bars.update(self.tasks[key], visible=True)
                self.bars.stop_task(self.tasks[key])
            self.tasks[key] = self.bars.add_task(description, total=total, info="")

    def advance(self, key: str, amount: int = 1, info: str | None = None) -> None:
        with self.lock:
            if key not in self.tasks:
                self.tasks[key] = self.bars.add_task(key, total=None, info="")
            self.bars.update(self.tasks[key], advance=amount, **({"info": info} if info else {}))


class LineSink:
    """Progress as lines (``description: done/total (pct) info, elapsed``): one at the start, then one whenever
    another ``step`` of the total is done, ``every_s`` seconds have passed or (without a total) the info changes,
    and one when the total is reached."""

    def __init__(self, out: Console, every_s: float = 30.0, step: float = 0.1) -> None:
        self.out, self.every_s, self.step = out, every_s, step
        self.state: dict[str, dict] = {}
        self.lock = threading.Lock()

    def start(self, key: str, description: str, total: int | None) -> None:
        with self.lock:
            self._begin(key, description, total)
            self._print(self.state[key])

    def advance(self, key: str, amount: int = 1, info: str | None = None) -> None:
        with self.lock:
            if key not in self.state:
                self._begin(key, key, None)
            s = self.state[key]
            s["done"] += amount
            news = bool(info) and info != s["info"] and s["total"] is None  # e.g. an open-ended task's "done"
            s["info"] = info or s["info"]
            now, total = time.monotonic(), s["total"]
            finished = total is not None and s["done"] >= total
            stepped = total is not None and s["done"] - s["printed_done"] >= self.step * total
            if finished or stepped or news or now - s["printed_at"] >= self.every_s:
                s["printed_at"], s["printed_done"] = now, s["done"]
                self._print(s)

    def _begin(self, key: str, description: str, total: int | None) -> None:
        now = time.monotonic()
        self.state[key] = {"description": description, "total": total, "done": 0, "started": now,
                           "printed_at": now, "printed_done": 0, "info": ""}  # fmt: skip

    def _print(self, s: dict) -> None:
        done, total = s["done"], s["total"]
        amount = f"{done}/{total} ({done / total:.0%})" if total else f"{done}"
        info = f" {s['info']}" if s["info"] else ""
        elapsed = time.monotonic() - s["started"]
        self.out.print(f"{s['description']}: {amount}{info}, {elapsed:.0f} s", soft_wrap=True, markup=False,
                       highlight=False)  # fmt: skip


@contextlib.contextmanager
def progress_bars() -> Iterator[RichSink | LineSink]:
    """Show flows' progress while the block runs: bars on a terminal, lines otherwise."""
    if not console.is_terminal:
        with progress.reporting(LineSink(console)) as sink:
            yield sink
        return
    bars = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[info]}"),
        console=console,
        transient=False,
        # Keep sys.stdout/sys.stderr as they are: Prefect's log handlers hold those streams, and a handler bound to
        # Rich's temporary proxy would write into a closed bar after the block.
        redirect_stdout=False,
        redirect_stderr=False,
    )
    with bars, progress.reporting(RichSink(bars)) as sink:
        yield sink
