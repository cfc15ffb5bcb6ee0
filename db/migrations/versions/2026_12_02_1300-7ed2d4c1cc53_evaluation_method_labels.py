"""Evaluation method labels: ``evaluations.method`` and ``evaluations.ci_method``, also shown by ``v_best_at_n``.

Why: every evaluation figure is computed one way (``exact``, or a Monte-Carlo estimate with its standard error)
and its interval another (e.g. Clopper-Pearson over 300 problems); without the labels in the table, SQL users
cannot tell an exact figure from an estimate. Rows stored before this revision get '' (not recorded).
``v_best_at_n`` names its columns, so it keeps working as it was, but it is recreated to show the two labels;
the view is dropped while the table changes, since SQLite's batch mode rebuilds the table under it.

Revision ID: 7ed2d4c1cc53
Revises: 8d4e61b0c2a5
Create Date: 2026-12-02 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "7ed2d4c1cc53"
down_revision: str | None = "8d4e61b0c2a5"
branch_labels: str | None = None
depends_on: str | None = None

# Frozen copies: a migration must keep meaning what it meant when written, whatever the code does later.
BEST_AT_N_BEFORE = """
    SELECT e.run_id, r.name AS run_name, e.strategy, e.scorer, e.scorer_id, sc.version AS scorer_version,
           e.aggregation, e.metric, e.n, e.value, e.ci_low, e.ci_high, e.policy_tokens, e.scorer_tokens
    FROM evaluations e
    JOIN runs r ON r.id = e.run_id
    LEFT JOIN scorers sc ON sc.id = e.scorer_id
"""
BEST_AT_N_AFTER = """
    SELECT e.run_id, r.name AS run_name, e.strategy, e.scorer, e.scorer_id, sc.version AS scorer_version,
           e.aggregation, e.metric, e.n, e.value, e.ci_low, e.ci_high, e.policy_tokens, e.scorer_tokens,
           e.method, e.ci_method
    FROM evaluations e
    JOIN runs r ON r.id = e.run_id
    LEFT JOIN scorers sc ON sc.id = e.scorer_id
"""


def upgrade() -> None:
    """Add the two label columns ('' on existing rows) and show them in ``v_best_at_n``."""
    op.execute("DROP VIEW v_best_at_n")
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("method", sa.String(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("ci_method", sa.String(), server_default="", nullable=False))
    op.execute(f"CREATE VIEW v_best_at_n AS {BEST_AT_N_AFTER.strip()}")


def downgrade() -> None:
    """Revert this revision exactly."""
    op.execute("DROP VIEW v_best_at_n")
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.drop_column("ci_method")
        batch_op.drop_column("method")
    op.execute(f"CREATE VIEW v_best_at_n AS {BEST_AT_N_BEFORE.strip()}")
