"""bon_core: the pure, importable logic of bon (tasks, generation, PRMs, selection, metrics).

Nothing here talks to a database, Prefect or MLflow; functions take and return the plain dataclasses of
:mod:`bon_core.types`.
"""

__version__ = "0.1.0"
