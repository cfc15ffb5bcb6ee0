"""Repository reads: rows of the store returned as ``bon_core`` dataclasses (or plain dicts keyed by sample).

Candidates are keyed by ``(problem source_id, sample_index)`` everywhere outside the database, as in
:class:`bon_core.types.Candidate`. Import these through :mod:`db.repository`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, exists, func, select
from sqlalchemy.orm import Session, aliased

from bon_core.types import Candidate, MetricPoint, Problem, Selection, Step
from db.models import (
    Base,
    CandidateRow,
    CandidateScoreRow,
    EvaluationRow,
    ProblemRow,
    RunRow,
    ScorerRow,
    SelectionRow,
    StepRow,
    StepScoreRow,
)

_IN_CHUNK = 500  # bound the number of parameters of one IN (...) list
_CANDIDATE_COLUMNS = (
    "id",
    "problem_id",
    "sample_index",
    "text",
    "num_tokens",
    "sum_logprob",
    "mean_logprob",
    "finish_reason",
    "answer",
    "correct",
)


@dataclass(frozen=True)
class RunRecord:
    """A stored run, as plain data."""

    id: int
    name: str
    task: str
    policy: str
    generation_config: dict[str, Any]
    seed: int
    status: str
    created_at: datetime
    updated_at: datetime
    mlflow_run_id: str | None
    prefect_flow_run_id: str | None


def _record(row: RunRow) -> RunRecord:
    return RunRecord(
        id=row.id,
        name=row.name,
        task=row.task,
        policy=row.policy,
        generation_config=dict(row.generation_config),
        seed=row.seed,
        status=row.status,
        created_at=row.created_at,
        updated_at=row.updated_at,
        mlflow_run_id=row.mlflow_run_id,
        prefect_flow_run_id=row.prefect_flow_run_id,
    )


def list_runs(session: Session) -> list[RunRecord]:
    """All runs, oldest first."""
    return [_record(r) for r in session.execute(select(RunRow).order_by(RunRow.id)).scalars()]


def get_run(session: Session, run: int | str) -> RunRecord:
    """The run with id or name ``run``; ValueError naming the known runs if there is none."""
    column = RunRow.id if isinstance(run, int) else RunRow.name
    row = session.execute(select(RunRow).where(column == run)).scalar_one_or_none()
    if row is None:
        known = session.scalars(select(RunRow.name).order_by(RunRow.id).limit(20)).all()
        raise ValueError(f"unknown run {run!r}; known: {', '.join(known) or 'none (generate one first)'}")
    return _record(row)


def find_scorer(session: Session, label: str) -> int:
    """The id of the stored scorer ``NAME`` (its latest stored version) or ``NAME:VERSION``; ValueError naming the
    stored scorers if there is none."""
    name, _, version = label.partition(":")
    stmt = select(ScorerRow.id).where(ScorerRow.name == name)
    if version:
        stmt = stmt.where(ScorerRow.version == version)
    found = session.scalars(stmt.order_by(ScorerRow.id.desc())).first()
    if found is None:
        known = sorted(set(session.scalars(select(ScorerRow.name))))
        raise ValueError(f"unknown scorer {label!r}; stored scorers: {', '.join(known) or 'none (run bon score)'}")
    return found


def scorer_label(session: Session, scorer_id: int) -> str:
    """``NAME:VERSION`` of the stored scorer ``scorer_id`` (what :func:`find_scorer` reads back)."""
    row = session.get(ScorerRow, scorer_id)
    if row is None:
        raise ValueError(f"no stored scorer with id {scorer_id}")
    return f"{row.name}:{row.version}"


def _filtered(stmt: Select, column, values: Collection[Any] | None) -> Iterator[Select]:
    """``stmt`` as is, or once per chunk of ``values`` with ``column IN chunk`` (bound parameters)."""
    if values is None:
        yield stmt
        return
    values = sorted(set(values))
    for start in range(0, len(values), _IN_CHUNK):
        yield stmt.where(column.in_(values[start : start + _IN_CHUNK]))


def _in_run(stmt: Select, run_id: int, source_ids: Collection[str] | None) -> Iterator[Select]:
    """``stmt`` (over ``candidates``) restricted to run ``run_id`` and, when given, to the problems with these source
    ids: one statement per chunk of 500 of them.

    A run's problems are of the run's task (:func:`db.repository.upsert_candidates` enforces it), so the source
    ids are looked up through the ``(task, source_id)`` index and the candidates through ``(run_id, problem_id)``:
    the cost follows the shard, not the size of the run or of the store.
    """
    stmt = stmt.where(CandidateRow.run_id == run_id)
    if source_ids is None:
        yield stmt
        return
    shard = aliased(ProblemRow)  # not the outer query's problems (which would correlate)
    run_task = select(RunRow.task).where(RunRow.id == run_id).scalar_subquery()
    values = sorted(set(source_ids))
    for start in range(0, len(values), _IN_CHUNK):
        chunk = values[start : start + _IN_CHUNK]
        wanted = select(shard.id).where(shard.task == run_task, shard.source_id.in_(chunk))
        yield stmt.where(CandidateRow.problem_id.in_(wanted))


def candidate_ids(
    session: Session, run_id: int, problem_ids: Collection[str] | None = None
) -> dict[tuple[str, int], int]:
    """``{(source_id, sample_index): candidate id}`` for a run, optionally only for some problems (by source id)."""
    base = select(ProblemRow.source_id, CandidateRow.sample_index, CandidateRow.id).join(
        ProblemRow, ProblemRow.id == CandidateRow.problem_id
    )
    out: dict[tuple[str, int], int] = {}
    for stmt in _in_run(base, run_id, problem_ids):
        out.update({(s, i): cid for s, i, cid in session.execute(stmt)})
    return out


def existing_sample_keys(
    session: Session, run_id: int, problem_ids: Collection[str] | None = None
) -> set[tuple[str, int]]:
    """The ``(source_id, sample_index)`` pairs already stored for a run (what a resumed run skips), optionally
    only for some problems (by source id)."""
    return set(candidate_ids(session, run_id, problem_ids))


def load_problems(
    session: Session, task: str | None = None, source_ids: Collection[str] | None = None, run_id: int | None = None
) -> list[Problem]:
    """Stored problems, in insertion order: of a task, with given source ids, and/or with candidates in a run."""
    base = select(ProblemRow).order_by(ProblemRow.id)
    if task is not None:
        base = base.where(ProblemRow.task == task)
    if run_id is not None:
        in_run = select(CandidateRow.id).where(CandidateRow.run_id == run_id, CandidateRow.problem_id == ProblemRow.id)
        base = base.where(exists(in_run))
        if task is None and source_ids is not None:  # the run's problems are of its task: use (task, source_id)
            base = base.where(ProblemRow.task == select(RunRow.task).where(RunRow.id == run_id).scalar_subquery())
    rows = [row for stmt in _filtered(base, ProblemRow.source_id, source_ids) for row in session.scalars(stmt)]
    rows.sort(key=lambda r: r.id)
    return [
        Problem(
            task=r.task,
            source_id=r.source_id,
            question=r.question,
            reference=r.reference,
            solution=r.solution,
            metadata=dict(r.meta),
        )
        for r in rows
    ]


def load_candidate_rows(
    session: Session, run_id: int, problem_ids: Collection[str] | None = None
) -> list[tuple[int, Candidate]]:
    """``(candidate id, candidate with its steps)`` pairs of a run, ordered by problem (insertion order) then sample
    index; ``problem_ids`` optionally restricts to some problems, by source id.

    Two statements per chunk of 500 problems (candidates, then their steps), whatever the size of the run.
    """
    c = CandidateRow.__table__.c  # plain column tuples: no ORM identity map for a run's worth of rows
    base = select(ProblemRow.source_id, *(c[name] for name in _CANDIDATE_COLUMNS)).join(
        ProblemRow, ProblemRow.id == c.problem_id
    )
    rows = [row for stmt in _in_run(base, run_id, problem_ids) for row in session.execute(stmt)]
    rows.sort(key=lambda r: (r.problem_id, r.sample_index))
    st = StepRow.__table__.c
    step_base = (
        select(st.candidate_id, st.step_index, st.text, st.char_start, st.char_end, st.label)
        .join(CandidateRow, CandidateRow.id == st.candidate_id)
        .join(ProblemRow, ProblemRow.id == CandidateRow.problem_id)
        .order_by(st.candidate_id, st.step_index)
    )
    steps: dict[int, list[Step]] = defaultdict(list)
    for stmt in _in_run(step_base, run_id, problem_ids):
        for candidate_id, *fields in session.execute(stmt):
            steps[candidate_id].append(Step(*fields))
    return [
        (
            r.id,
            Candidate(
                problem_id=r.source_id,
                sample_index=r.sample_index,
                text=r.text,
                num_tokens=r.num_tokens,
                sum_logprob=r.sum_logprob,
                mean_logprob=r.mean_logprob,
                finish_reason=r.finish_reason,
                answer=r.answer,
                correct=r.correct,
                steps=tuple(steps.get(r.id, ())),
            ),
        )
        for r in rows
    ]


def load_candidates(session: Session, run_id: int, problem_ids: Collection[str] | None = None) -> list[Candidate]:
    """A run's candidates with their steps, ordered by problem (insertion order) then sample index.

    ``problem_ids`` optionally restricts to some problems, by source id.
    """
    return [candidate for _, candidate in load_candidate_rows(session, run_id, problem_ids)]


def load_step_scores(session: Session, run_id: int, scorer_id: int) -> dict[tuple[str, int], tuple[float, ...]]:
    """One scorer's step scores for a run: ``{(source_id, sample_index): scores in step order}``."""
    stmt = (
        select(ProblemRow.source_id, CandidateRow.sample_index, StepScoreRow.score)
        .join(CandidateRow, CandidateRow.id == StepScoreRow.candidate_id)
        .join(ProblemRow, ProblemRow.id == CandidateRow.problem_id)
        .where(CandidateRow.run_id == run_id, StepScoreRow.scorer_id == scorer_id)
        .order_by(StepScoreRow.candidate_id, StepScoreRow.step_index)
    )
    scores: dict[tuple[str, int], list[float]] = defaultdict(list)
    for source_id, sample_index, score in session.execute(stmt):
        scores[(source_id, sample_index)].append(score)
    return {key: tuple(values) for key, values in scores.items()}


def load_candidate_scores(
    session: Session, run_id: int, scorer_id: int, aggregation: str
) -> dict[tuple[str, int], float]:
    """One scorer's candidate-level scores under ``aggregation``: ``{(source_id, sample_index): score}``."""
    stmt = (
        select(ProblemRow.source_id, CandidateRow.sample_index, CandidateScoreRow.score)
        .join(CandidateRow, CandidateRow.id == CandidateScoreRow.candidate_id)
        .join(ProblemRow, ProblemRow.id == CandidateRow.problem_id)
        .where(
            CandidateRow.run_id == run_id,
            CandidateScoreRow.scorer_id == scorer_id,
            CandidateScoreRow.aggregation == aggregation,
        )
    )
    return {(s, i): score for s, i, score in session.execute(stmt)}


def scored_candidate_ids(
    session: Session, run_id: int, scorer_id: int, problem_ids: Collection[str] | None = None
) -> set[int]:
    """Ids of the run's candidates that have at least one step score from ``scorer_id`` (what scoring skips),
    optionally only for some problems (by source id)."""
    scored = select(StepScoreRow.candidate_id).where(
        StepScoreRow.candidate_id == CandidateRow.id, StepScoreRow.scorer_id == scorer_id
    )
    base = select(CandidateRow.id).where(exists(scored))
    return {cid for stmt in _in_run(base, run_id, problem_ids) for cid in session.scalars(stmt)}


def load_selections(session: Session, run_id: int) -> list[Selection]:
    """A run's stored selections, in insertion order."""
    stmt = (
        select(ProblemRow.source_id, SelectionRow)
        .join(ProblemRow, ProblemRow.id == SelectionRow.problem_id)
        .where(SelectionRow.run_id == run_id)
        .order_by(SelectionRow.id)
    )
    return [
        Selection(
            problem_id=source_id,
            strategy=s.strategy,
            params=dict(s.params),
            n=s.n,
            sample_index=s.sample_index,
            answer=s.answer,
            correct=s.correct,
            candidates_used=s.candidates_used,
            tokens_used=s.tokens_used,
            scorer_calls=s.scorer_calls,
        )
        for source_id, s in session.execute(stmt)
    ]


def load_evaluations(session: Session, run_id: int) -> list[MetricPoint]:
    """A run's evaluation figures, in insertion order."""
    stmt = select(EvaluationRow).where(EvaluationRow.run_id == run_id).order_by(EvaluationRow.id)
    return [
        MetricPoint(
            metric=e.metric,
            n=e.n,
            value=e.value,
            ci_low=e.ci_low,
            ci_high=e.ci_high,
            strategy=e.strategy,
            scorer=e.scorer,
            aggregation=e.aggregation,
            policy_tokens=e.policy_tokens,
            scorer_tokens=e.scorer_tokens,
            method=e.method,
            ci_method=e.ci_method,
        )
        for e in session.scalars(stmt)
    ]


def row_counts(session: Session) -> dict[str, int]:
    """Number of rows in every table of the store, in dependency order."""
    return {
        table.name: session.scalar(select(func.count()).select_from(table)) for table in Base.metadata.sorted_tables
    }
