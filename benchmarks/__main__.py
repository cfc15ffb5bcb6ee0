"""``python -m benchmarks [--quick] [--only NAME ...] [--threads K] [--markdown]``: run, print the table, write JSON."""

from __future__ import annotations

import argparse
import sys

from benchmarks import BENCHMARKS, run_benchmarks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="CI sizes (under a minute in total)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help=f"run only these: {', '.join(BENCHMARKS)}")
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's choice)")
    parser.add_argument("--markdown", action="store_true", help="also print the table as Markdown (for the README)")
    parser.add_argument("--no-write", action="store_true", help="do not write benchmarks/results/*.json")
    args = parser.parse_args(argv)

    import transformers
    from rich.console import Console

    from benchmarks.harness import markdown_table, render_table

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    console = Console(width=200) if not sys.stdout.isatty() else Console()
    try:
        results, skipped, seconds = run_benchmarks(args.quick, args.only, not args.no_write, args.threads)
    except ValueError as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2
    console.print(render_table(results))
    for name, reason in skipped.items():
        console.print(f"[yellow]skipped {name}:[/] {reason}")
    console.print(f"total {seconds:.1f} s")
    if args.markdown:
        print(markdown_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
