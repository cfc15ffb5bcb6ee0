"""bon CLI commands (placeholder module: its owner fills it in)."""

from __future__ import annotations

from flows.cli.app import app  # noqa: F401
