"""Errors of the store and the helper that keeps passwords out of messages."""

from __future__ import annotations


class StoreError(Exception):
    """A store problem the user can fix: the message is one line naming the database and the fix."""


def mask_url(url: object) -> str:
    """Render a database URL with its password replaced by ``***`` (falls back to the text as given)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(str(url)).render_as_string(hide_password=True)
    except ArgumentError:
        return str(url)
