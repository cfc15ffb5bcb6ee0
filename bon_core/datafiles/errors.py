"""The one error every data loader in bon raises for a file or data set it cannot read as expected."""

from __future__ import annotations


class DataFileError(ValueError):
    """A data file (or a split of a data set) that cannot be read as expected.

    The message names the file, the line or row where known, and what is wrong: not found, not UTF-8, bad JSON,
    an over-long line, a missing field, a field of the wrong type, no rows at all, or a file the ``datasets``
    library cannot open. It is a ``ValueError``, so the command line prints it as one line.
    """
