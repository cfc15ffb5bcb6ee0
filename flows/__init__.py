"""Prefect 3 flows that wire :mod:`bon_core` to the store (``db/``) and to MLflow, and the ``bon`` CLI."""
