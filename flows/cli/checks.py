"""Input checks the commands run before any flow starts, so a user error is one line (:class:`BonError`), costs
no model load, and never reaches a task's retries."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from flows.cli.app import BonError

# A Hugging Face Hub id: NAME or OWNER/NAME (letters, digits, '-', '_', '.'), never a filesystem-looking path.
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def positive(option: str, value: float | None) -> None:
    if value is not None and not value > 0:
        raise BonError(f"{option} must be > 0, got {value}")


def non_negative(option: str, value: float | None) -> None:
    if value is not None and not value >= 0:
        raise BonError(f"{option} must be >= 0, got {value}")


def known(option: str, value: str, choices: Iterable[str]) -> None:
    names = list(choices)
    if value not in names:
        raise BonError(f"unknown {option} {value!r}; known: {', '.join(names)}")


def aggregation(option: str, value: str) -> None:
    from bon_core.aggregate import AGGREGATORS

    known(option, value, AGGREGATORS)


def task(value: str) -> None:
    from bon_core.tasks import TASK_NAMES

    known("--task", value, TASK_NAMES)


def strategy(value: str) -> None:
    from bon_core.select import STRATEGIES

    known("--strategy", value, STRATEGIES)


def prm_format(value: str) -> None:
    from bon_core.prm.published import PRM_FORMATS

    known("--format", value, ["bon", *sorted(PRM_FORMATS)])


def stored_run(database_url: str, name: str) -> None:
    """The run must be in the store (the error lists the stored runs)."""
    from db import reads
    from flows.store import transaction

    with transaction(database_url) as session:
        try:
            reads.get_run(session, name)
        except (KeyError, LookupError, ValueError) as exc:
            raise BonError(f"--run: {exc}") from None


def stored_scorer(database_url: str, label: str) -> None:
    """``NAME`` or ``NAME:VERSION`` must be a scorer in the store (the error lists the stored ones)."""
    from db import reads
    from flows.store import transaction

    with transaction(database_url) as session:
        try:
            reads.find_scorer(session, label)
        except ValueError as exc:
            raise BonError(f"--scorer: {exc}") from None


def model_reference(option: str, value: str, fmt: str = "bon") -> None:
    """A model given as ``models:/NAME@ALIAS``, ``models:/NAME/VERSION``, a local directory or a Hub id.

    A ``models:/`` URI must be in the registry; a directory in the ``bon`` format must hold ``bon_prm.json``; a
    reference that is neither an existing path nor shaped like a Hub id (``/nonexistent``, ``./typo``) fails.
    """
    if value.startswith("models:/"):
        from flows.registry import check_model_uri

        try:
            check_model_uri(value)
        except ValueError as exc:
            raise BonError(f"{option} {exc}") from None
        return
    path = Path(value).expanduser()
    if path.exists():
        if not path.is_dir():
            raise BonError(f"{option} {value}: a file, not a model directory")
        if fmt == "bon" and not (path / "bon_prm.json").is_file():
            raise BonError(f"{option} {value}: not a bon PRM directory (no bon_prm.json); for a published PRM "
                           "give its --format")  # fmt: skip
        return
    if not _HUB_ID.match(value) or value.startswith((".", "~")):
        raise BonError(f"{option} {value}: no such directory, and not a models:/ URI or a Hub id")
