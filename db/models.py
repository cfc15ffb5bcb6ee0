"""The tables of bon's store, as SQLAlchemy 2.0 typed models.

Candidates are stored once per run and scored by any number of scorers, so a new PRM is compared on old
candidates without regenerating them. Every row below ``runs`` cascades on delete: deleting a run deletes its
candidates, steps, scores, selections and evaluations. Relationships are ``lazy="raise"``: the repository
loads what it needs with explicit queries, never by accident in a loop.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# JSONB on PostgreSQL (indexable, comparable), plain JSON text elsewhere.
JsonType = JSON().with_variant(postgresql.JSONB(), "postgresql")
Timestamp = DateTime(timezone=True)


class Base(DeclarativeBase):
    """Declarative base with a naming convention, so constraint names are stable across dialects and migrations."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _now_default() -> Any:
    return func.current_timestamp()


class RunRow(Base):
    """One generation run: which task, policy model, sampling config and seed produced its candidates."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    task: Mapped[str] = mapped_column(String(100))
    policy: Mapped[str] = mapped_column(String(500))
    generation_config: Mapped[dict[str, Any]] = mapped_column(JsonType)
    seed: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), server_default="created")
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=_now_default())
    updated_at: Mapped[datetime] = mapped_column(Timestamp, server_default=_now_default(), onupdate=_now_default())
    mlflow_run_id: Mapped[str | None] = mapped_column(String(64))
    prefect_flow_run_id: Mapped[str | None] = mapped_column(String(64))

    candidates: Mapped[list[CandidateRow]] = relationship(
        back_populates="run", lazy="raise", cascade="all, delete-orphan", passive_deletes=True
    )


class ProblemRow(Base):
    """One problem of a task; ``source_id`` is unique within ``task`` and shared by every run on that task."""

    __tablename__ = "problems"
    __table_args__ = (UniqueConstraint("task", "source_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task: Mapped[str] = mapped_column(String(100))
    source_id: Mapped[str] = mapped_column(String(200))
    question: Mapped[str] = mapped_column(Text)
    reference: Mapped[str] = mapped_column(Text)
    solution: Mapped[str | None] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JsonType)


class CandidateRow(Base):
    """One sampled solution; ``(run, problem, sample_index)`` is unique, which makes generation resumable."""

    __tablename__ = "candidates"
    __table_args__ = (
        UniqueConstraint("run_id", "problem_id", "sample_index"),
        Index(None, "problem_id"),
        CheckConstraint("finish_reason IN ('stop', 'length', 'error')", name="finish_reason"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id", ondelete="CASCADE"))
    sample_index: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    answer: Mapped[str | None] = mapped_column(Text)
    correct: Mapped[bool | None] = mapped_column(Boolean)
    num_tokens: Mapped[int] = mapped_column(Integer, server_default="0")
    sum_logprob: Mapped[float | None] = mapped_column(Float)
    mean_logprob: Mapped[float | None] = mapped_column(Float)
    finish_reason: Mapped[str] = mapped_column(String(10), server_default="stop")
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=_now_default())

    run: Mapped[RunRow] = relationship(back_populates="candidates", lazy="raise")
    steps: Mapped[list[StepRow]] = relationship(lazy="raise", cascade="all, delete-orphan", passive_deletes=True)


class StepRow(Base):
    """One reasoning step: its text, its character span ``[char_start, char_end)`` and its gold label if known."""

    __tablename__ = "steps"
    __table_args__ = (CheckConstraint("label IN ('correct', 'incorrect', 'neutral')", name="label"),)

    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id", ondelete="CASCADE"), primary_key=True)
    step_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    char_start: Mapped[int] = mapped_column(Integer)
    char_end: Mapped[int] = mapped_column(Integer)
    label: Mapped[str | None] = mapped_column(String(10))


class ScorerRow(Base):
    """A scorer's identity (PRM, ORM, ensemble, heuristic): enough to find the exact model again."""

    __tablename__ = "scorers"
    __table_args__ = (UniqueConstraint("kind", "name", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(300))
    config: Mapped[dict[str, Any]] = mapped_column(JsonType)
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=_now_default())


class StepScoreRow(Base):
    """A scorer's score of one step; unique per ``(candidate, step_index, scorer)``."""

    __tablename__ = "step_scores"
    __table_args__ = (
        ForeignKeyConstraint(
            ["candidate_id", "step_index"], ["steps.candidate_id", "steps.step_index"], ondelete="CASCADE"
        ),
        Index(None, "scorer_id"),
    )

    candidate_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    step_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    scorer_id: Mapped[int] = mapped_column(ForeignKey("scorers.id", ondelete="CASCADE"), primary_key=True)
    score: Mapped[float] = mapped_column(Float)


class CandidateScoreRow(Base):
    """A candidate-level score: a scorer's step scores aggregated (min, prod, last, mean, ...), or an ORM's score."""

    __tablename__ = "candidate_scores"
    __table_args__ = (Index(None, "scorer_id"),)

    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id", ondelete="CASCADE"), primary_key=True)
    scorer_id: Mapped[int] = mapped_column(ForeignKey("scorers.id", ondelete="CASCADE"), primary_key=True)
    aggregation: Mapped[str] = mapped_column(String(50), primary_key=True)
    score: Mapped[float] = mapped_column(Float)


class SelectionRow(Base):
    """The outcome of one selection strategy on one problem's first ``n`` candidates.

    ``config_key`` is the canonical JSON of ``(params, scorer_id)``; it takes their place in the uniqueness rule
    because JSON values and NULLs do not compare portably across SQLite and PostgreSQL.
    """

    __tablename__ = "selections"
    __table_args__ = (
        UniqueConstraint("run_id", "problem_id", "strategy", "n", "config_key"),
        Index(None, "problem_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id", ondelete="CASCADE"))
    scorer_id: Mapped[int | None] = mapped_column(ForeignKey("scorers.id", ondelete="CASCADE"))
    strategy: Mapped[str] = mapped_column(String(100))
    params: Mapped[dict[str, Any]] = mapped_column(JsonType)
    config_key: Mapped[str] = mapped_column(String(1000))
    n: Mapped[int] = mapped_column(Integer)
    candidate_id: Mapped[int | None] = mapped_column(ForeignKey("candidates.id", ondelete="CASCADE"))
    sample_index: Mapped[int | None] = mapped_column(Integer)
    answer: Mapped[str | None] = mapped_column(Text)
    correct: Mapped[bool | None] = mapped_column(Boolean)
    candidates_used: Mapped[int] = mapped_column(Integer, server_default="0")
    tokens_used: Mapped[int] = mapped_column(Integer, server_default="0")
    scorer_calls: Mapped[int] = mapped_column(Integer, server_default="0")
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=_now_default())


class EvaluationRow(Base):
    """One evaluation figure of a run: ``metric`` at ``n`` for a strategy (and scorer/aggregation), with a 95% CI.

    ``scorer`` is the scorer's label as the evaluation named it ('' when the strategy uses none); ``scorer_id``
    links to the stored scorer where there is one. ``method`` says how ``value`` was computed (``exact``, or a
    Monte-Carlo label with its standard error) and ``ci_method`` how the interval was ('' when not recorded,
    e.g. rows written before these columns existed).
    """

    __tablename__ = "evaluations"
    __table_args__ = (UniqueConstraint("run_id", "strategy", "scorer", "aggregation", "metric", "n"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    scorer_id: Mapped[int | None] = mapped_column(ForeignKey("scorers.id", ondelete="CASCADE"))
    strategy: Mapped[str] = mapped_column(String(100))
    scorer: Mapped[str] = mapped_column(String(200))
    aggregation: Mapped[str] = mapped_column(String(50))
    metric: Mapped[str] = mapped_column(String(100))
    n: Mapped[int] = mapped_column(Integer)
    value: Mapped[float] = mapped_column(Float)
    ci_low: Mapped[float] = mapped_column(Float)
    ci_high: Mapped[float] = mapped_column(Float)
    policy_tokens: Mapped[float] = mapped_column(Float, server_default="0")
    scorer_tokens: Mapped[float] = mapped_column(Float, server_default="0")
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=_now_default())
    # Unbounded VARCHAR: labels are free text (a Monte-Carlo label names its draws and standard error).
    method: Mapped[str] = mapped_column(String(), server_default="")
    ci_method: Mapped[str] = mapped_column(String(), server_default="")


TABLES: tuple[str, ...] = tuple(Base.metadata.tables)
