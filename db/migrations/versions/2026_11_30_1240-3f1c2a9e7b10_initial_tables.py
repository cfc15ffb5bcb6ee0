"""Initial tables: runs, problems, candidates, steps, scorers, step/candidate scores, selections, evaluations.

Why: bon stores every sampled candidate and every step score once, so that any number of scorers and selection
strategies can be compared on the same candidates without regenerating them. Every row hangs off a run or a
problem with ON DELETE CASCADE, so deleting a run removes everything it produced.

Revision ID: 3f1c2a9e7b10
Revises:
Create Date: 2026-11-30 12:40:54.745147
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "3f1c2a9e7b10"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "problems",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task", sa.String(length=100), nullable=False),
        sa.Column("source_id", sa.String(length=200), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("solution", sa.Text(), nullable=True),
        sa.Column(
            "metadata", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_problems")),
        sa.UniqueConstraint("task", "source_id", name=op.f("uq_problems_task_source_id")),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("task", sa.String(length=100), nullable=False),
        sa.Column("policy", sa.String(length=500), nullable=False),
        sa.Column(
            "generation_config",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="created", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
        sa.Column("mlflow_run_id", sa.String(length=64), nullable=True),
        sa.Column("prefect_flow_run_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
        sa.UniqueConstraint("name", name=op.f("uq_runs_name")),
    )
    op.create_table(
        "scorers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=300), nullable=False),
        sa.Column(
            "config", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scorers")),
        sa.UniqueConstraint("kind", "name", "version", name=op.f("uq_scorers_kind_name_version")),
    )
    op.create_table(
        "candidates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("problem_id", sa.Integer(), nullable=False),
        sa.Column("sample_index", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("correct", sa.Boolean(), nullable=True),
        sa.Column("num_tokens", sa.Integer(), server_default="0", nullable=False),
        sa.Column("sum_logprob", sa.Float(), nullable=True),
        sa.Column("mean_logprob", sa.Float(), nullable=True),
        sa.Column("finish_reason", sa.String(length=10), server_default="stop", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
        sa.CheckConstraint("finish_reason IN ('stop', 'length', 'error')", name=op.f("ck_candidates_finish_reason")),
        sa.ForeignKeyConstraint(
            ["problem_id"], ["problems.id"], name=op.f("fk_candidates_problem_id_problems"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_candidates_run_id_runs"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_candidates")),
        sa.UniqueConstraint(
            "run_id", "problem_id", "sample_index", name=op.f("uq_candidates_run_id_problem_id_sample_index")
        ),
    )
    with op.batch_alter_table("candidates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_candidates_problem_id"), ["problem_id"], unique=False)

    op.create_table(
        "evaluations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("scorer_id", sa.Integer(), nullable=True),
        sa.Column("strategy", sa.String(length=100), nullable=False),
        sa.Column("scorer", sa.String(length=200), nullable=False),
        sa.Column("aggregation", sa.String(length=50), nullable=False),
        sa.Column("metric", sa.String(length=100), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("ci_low", sa.Float(), nullable=False),
        sa.Column("ci_high", sa.Float(), nullable=False),
        sa.Column("policy_tokens", sa.Float(), server_default="0", nullable=False),
        sa.Column("scorer_tokens", sa.Float(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_evaluations_run_id_runs"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["scorer_id"], ["scorers.id"], name=op.f("fk_evaluations_scorer_id_scorers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluations")),
        sa.UniqueConstraint(
            "run_id",
            "strategy",
            "scorer",
            "aggregation",
            "metric",
            "n",
            name=op.f("uq_evaluations_run_id_strategy_scorer_aggregation_metric_n"),
        ),
    )
    op.create_table(
        "candidate_scores",
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("scorer_id", sa.Integer(), nullable=False),
        sa.Column("aggregation", sa.String(length=50), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["candidates.id"],
            name=op.f("fk_candidate_scores_candidate_id_candidates"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["scorer_id"], ["scorers.id"], name=op.f("fk_candidate_scores_scorer_id_scorers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("candidate_id", "scorer_id", "aggregation", name=op.f("pk_candidate_scores")),
    )
    with op.batch_alter_table("candidate_scores", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_candidate_scores_scorer_id"), ["scorer_id"], unique=False)

    op.create_table(
        "selections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("problem_id", sa.Integer(), nullable=False),
        sa.Column("scorer_id", sa.Integer(), nullable=True),
        sa.Column("strategy", sa.String(length=100), nullable=False),
        sa.Column(
            "params", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("config_key", sa.String(length=1000), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=True),
        sa.Column("sample_index", sa.Integer(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("correct", sa.Boolean(), nullable=True),
        sa.Column("candidates_used", sa.Integer(), server_default="0", nullable=False),
        sa.Column("tokens_used", sa.Integer(), server_default="0", nullable=False),
        sa.Column("scorer_calls", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
        sa.ForeignKeyConstraint(
            ["candidate_id"], ["candidates.id"], name=op.f("fk_selections_candidate_id_candidates"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["problem_id"], ["problems.id"], name=op.f("fk_selections_problem_id_problems"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_selections_run_id_runs"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["scorer_id"], ["scorers.id"], name=op.f("fk_selections_scorer_id_scorers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_selections")),
        sa.UniqueConstraint(
            "run_id",
            "problem_id",
            "strategy",
            "n",
            "config_key",
            name=op.f("uq_selections_run_id_problem_id_strategy_n_config_key"),
        ),
    )
    with op.batch_alter_table("selections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_selections_problem_id"), ["problem_id"], unique=False)

    op.create_table(
        "steps",
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("step_index", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("char_start", sa.Integer(), nullable=False),
        sa.Column("char_end", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=10), nullable=True),
        sa.CheckConstraint("label IN ('correct', 'incorrect', 'neutral')", name=op.f("ck_steps_label")),
        sa.ForeignKeyConstraint(
            ["candidate_id"], ["candidates.id"], name=op.f("fk_steps_candidate_id_candidates"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("candidate_id", "step_index", name=op.f("pk_steps")),
    )
    op.create_table(
        "step_scores",
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("step_index", sa.Integer(), nullable=False),
        sa.Column("scorer_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["candidate_id", "step_index"],
            ["steps.candidate_id", "steps.step_index"],
            name=op.f("fk_step_scores_candidate_id_step_index_steps"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["scorer_id"], ["scorers.id"], name=op.f("fk_step_scores_scorer_id_scorers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("candidate_id", "step_index", "scorer_id", name=op.f("pk_step_scores")),
    )
    with op.batch_alter_table("step_scores", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_step_scores_scorer_id"), ["scorer_id"], unique=False)


def downgrade() -> None:
    """Revert this revision exactly."""
    with op.batch_alter_table("step_scores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_step_scores_scorer_id"))

    op.drop_table("step_scores")
    op.drop_table("steps")
    with op.batch_alter_table("selections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_selections_problem_id"))

    op.drop_table("selections")
    with op.batch_alter_table("candidate_scores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_candidate_scores_scorer_id"))

    op.drop_table("candidate_scores")
    op.drop_table("evaluations")
    with op.batch_alter_table("candidates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_candidates_problem_id"))

    op.drop_table("candidates")
    op.drop_table("scorers")
    op.drop_table("runs")
    op.drop_table("problems")
