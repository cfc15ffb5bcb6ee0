"""Rich progress bars for flows run from the command line (see :mod:`flows.progress`)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

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


@contextlib.contextmanager
def progress_bars() -> Iterator[RichSink]:
    """Show flows' progress as Rich bars while the block runs."""
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
