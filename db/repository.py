"""Repository functions: bulk, idempotent writes that take ``bon_core`` dataclasses (reads live in :mod:`db.reads`).

Every function takes a Session and never commits: the caller owns the transaction
(``with session_factory(engine).begin() as session: ...``). Writes are dialect upserts
(``INSERT ... ON CONFLICT``) executed as executemany over chunks of rows, so re-inserting an existing
(run, problem, sample_index), (candidate, step) or (candidate, step, scorer) never duplicates a row.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bon_core.types import STEP_LABELS, Candidate, MetricPoint, Problem, ScorerInfo, Selection
from db.errors import StoreError
from db.models import (
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
from db.reads import (  # noqa: F401  (re-exported: db.repository is the one import for callers)
    RunRecord,
    candidate_ids,
    existing_sample_keys,
    get_run,
    list_runs,
    load_candidate_rows,
    load_candidate_scores,
    load_candidates,
    load_evaluations,
    load_problems,
    load_selections,
    load_step_scores,
    row_counts,
    scored_candidate_ids,
)

CHUNK_SIZE = 1000
RUN_UPDATABLE_FIELDS = ("status", "mlflow_run_id", "prefect_flow_run_id")


def _chunks(rows: Sequence[dict[str, Any]], size: int = CHUNK_SIZE) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _insert(session: Session, table: Table):
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        return sqlite.insert(table)
    if dialect == "postgresql":
        return postgresql.insert(table)
    raise StoreError(f"unsupported database dialect '{dialect}'; bon's store runs on sqlite and postgresql")


def _upsert(
    session: Session, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str], update_cols: Sequence[str]
) -> int:
    """INSERT rows; on a conflict over ``keys`` update ``update_cols`` (or skip when empty). Returns len(rows).

    Rows are written in key order, so concurrent writers of overlapping rows lock them in the same order and
    cannot deadlock each other on these rows.
    """
    if not rows:
        return 0
    rows = sorted(rows, key=lambda row: tuple(row[k] for k in keys))
    stmt = _insert(session, table)
    if update_cols:
        stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_={c: stmt.excluded[c] for c in update_cols})
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
    for chunk in _chunks(rows):
        session.execute(stmt, list(chunk))
    return len(rows)


def to_json(value: Any) -> Any:
    """A JSON-ready copy of ``value`` (dataclasses become dicts, tuples lists); raises ValueError if not JSON-able."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    try:
        return json.loads(json.dumps(value, sort_keys=True))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"value is not JSON-serialisable: {exc}") from None


def canonical_key(value: Any) -> str:
    """Canonical JSON text of ``value`` (sorted keys, no spaces): equal configs give equal keys."""
    return json.dumps(to_json(value), sort_keys=True, separators=(",", ":"))


# --- runs -----------------------------------------------------------------------------------------------------


def create_run(
    session: Session,
    name: str,
    task: str,
    policy: str,
    generation_config: Mapping[str, Any] | Any,
    seed: int,
    *,
    status: str = "created",
    mlflow_run_id: str | None = None,
    prefect_flow_run_id: str | None = None,
) -> int:
    """Insert a new run and return its id; ValueError if a run with ``name`` exists (names are unique)."""
    existing = session.scalar(select(RunRow.id).where(RunRow.name == name))
    if existing is not None:
        raise ValueError(f"run '{name}' already exists (id {existing}); choose another name or resume that run")
    row = RunRow(
        name=name,
        task=task,
        policy=policy,
        generation_config=to_json(generation_config),
        seed=seed,
        status=status,
        mlflow_run_id=mlflow_run_id,
        prefect_flow_run_id=prefect_flow_run_id,
    )
    session.add(row)
    session.flush()
    return row.id


def get_or_create_run(
    session: Session, name: str, task: str, policy: str, generation_config: Mapping[str, Any] | Any, seed: int, **extra
) -> int:
    """Return the id of run ``name``, creating it if absent.

    An existing run must match ``task``, ``policy``, ``generation_config`` and ``seed``: resuming a run with other
    settings would mix incomparable candidates, so that raises ValueError naming the differences.
    """
    row = session.execute(select(RunRow).where(RunRow.name == name)).scalar_one_or_none()
    if row is None:
        # INSERT ... ON CONFLICT DO NOTHING: when another process creates the same run at the same moment, this
        # waits for it and then reads its row instead of failing on the unique name.
        values = {"name": name, "task": task, "policy": policy, "generation_config": to_json(generation_config)}
        values.update(seed=seed, **{k: v for k, v in extra.items() if v is not None})
        _upsert(session, RunRow.__table__, [values], ["name"], [])
        row = session.execute(select(RunRow).where(RunRow.name == name)).scalar_one()
    given = {"task": task, "policy": policy, "generation_config": to_json(generation_config), "seed": seed}
    stored = {"task": row.task, "policy": row.policy, "generation_config": row.generation_config, "seed": row.seed}
    diffs = [f"{key} (stored {stored[key]!r}, given {given[key]!r})" for key in given if stored[key] != given[key]]
    if diffs:
        raise ValueError(f"run '{name}' exists with a different " + "; ".join(diffs) + "; use a new run name")
    return row.id


def update_run(session: Session, run_id: int, **fields: Any) -> None:
    """Set ``status``, ``mlflow_run_id`` and/or ``prefect_flow_run_id`` of a run (``updated_at`` follows)."""
    unknown = sorted(set(fields) - set(RUN_UPDATABLE_FIELDS))
    if unknown:
        raise ValueError(f"cannot update run field(s) {', '.join(unknown)}; known: {', '.join(RUN_UPDATABLE_FIELDS)}")
    if not fields:
        return
    result = session.execute(update(RunRow.__table__).where(RunRow.__table__.c.id == run_id).values(**fields))
    if result.rowcount == 0:
        raise ValueError(f"unknown run id {run_id}")


# --- problems and candidates ----------------------------------------------------------------------------------


def upsert_problems(session: Session, problems: Sequence[Problem]) -> dict[str, int]:
    """Insert or update problems (keyed by task + source_id) and return ``{source_id: problem id}``."""
    tasks_by_source: dict[str, str] = {}
    for problem in problems:
        if tasks_by_source.setdefault(problem.source_id, problem.task) != problem.task:
            raise ValueError(
                f"problem source_id '{problem.source_id}' appears under two tasks; upsert one task at a time"
            )
    rows = [
        {
            "task": p.task,
            "source_id": p.source_id,
            "question": p.question,
            "reference": p.reference,
            "solution": p.solution,
            "metadata": to_json(dict(p.metadata)),
        }
        for p in problems
    ]
    _upsert(
        session, ProblemRow.__table__, rows, ["task", "source_id"], ["question", "reference", "solution", "metadata"]
    )
    ids: dict[str, int] = {}
    for task in set(tasks_by_source.values()):
        wanted = [s for s, t in tasks_by_source.items() if t == task]
        for start in range(0, len(wanted), CHUNK_SIZE):
            stmt = select(ProblemRow.source_id, ProblemRow.id).where(
                ProblemRow.task == task, ProblemRow.source_id.in_(wanted[start : start + CHUNK_SIZE])
            )
            ids.update(dict(session.execute(stmt).tuples().all()))
    return ids


_CANDIDATE_VALUES = ("text", "answer", "correct", "num_tokens", "sum_logprob", "mean_logprob", "finish_reason")


def upsert_candidates(
    session: Session, run_id: int, problem_ids: Mapping[str, int], candidates: Sequence[Candidate]
) -> dict[tuple[str, int], int]:
    """Insert or update candidates of a run, with their steps, and return ``{(source_id, sample_index): id}``.

    ``problem_ids`` maps each candidate's ``problem_id`` (a source id) to its stored problem id, as returned by
    :func:`upsert_problems`. Re-upserting a candidate updates its values (e.g. after grading); when it carries
    steps, those replace the stored ones (steps beyond the new count are deleted, with their scores).
    """
    missing = sorted({c.problem_id for c in candidates} - set(problem_ids))
    if missing:
        raise ValueError(f"candidates refer to unstored problem(s) {missing[:5]}; call upsert_problems first")
    rows = []
    for c in candidates:
        row = {name: getattr(c, name) for name in _CANDIDATE_VALUES}
        row.update(run_id=run_id, problem_id=problem_ids[c.problem_id], sample_index=c.sample_index)
        rows.append(row)
    _upsert(session, CandidateRow.__table__, rows, ["run_id", "problem_id", "sample_index"], _CANDIDATE_VALUES)
    stored = candidate_ids(session, run_id, problem_ids={c.problem_id for c in candidates})
    foreign = sorted({c.problem_id for c in candidates if (c.problem_id, c.sample_index) not in stored})
    if foreign:
        # Shard reads find a run's problems through the run's task, so a run holds the problems of one task only.
        task = session.scalar(select(RunRow.task).where(RunRow.id == run_id))
        raise ValueError(f"problem(s) {foreign[:5]} are not of task {task!r}, the task of run {run_id}; "
                         "a run holds the problems of its own task only")  # fmt: skip
    ids = {(c.problem_id, c.sample_index): stored[(c.problem_id, c.sample_index)] for c in candidates}
    _write_steps(session, ids, candidates)
    return ids


def _write_steps(session: Session, ids: Mapping[tuple[str, int], int], candidates: Sequence[Candidate]) -> None:
    step_rows, step_counts = [], []
    for c in candidates:
        if not c.steps:
            continue
        cid = ids[(c.problem_id, c.sample_index)]
        step_counts.append({"cid": cid, "count": len(c.steps)})
        for step in c.steps:
            if step.label is not None and step.label not in STEP_LABELS:
                raise ValueError(f"step label {step.label!r} is not one of {', '.join(STEP_LABELS)}")
            step_rows.append(
                {
                    "candidate_id": cid,
                    "step_index": step.index,
                    "text": step.text,
                    "char_start": step.start,
                    "char_end": step.end,
                    "label": step.label,
                }
            )
    table = StepRow.__table__
    _upsert(session, table, step_rows, ["candidate_id", "step_index"], ["text", "char_start", "char_end", "label"])
    if step_counts:
        stale = delete(table).where(table.c.candidate_id == bindparam("cid"), table.c.step_index >= bindparam("count"))
        for chunk in _chunks(step_counts):
            session.execute(stale, list(chunk))


# --- scorers and scores ---------------------------------------------------------------------------------------


def upsert_scorer(session: Session, info: ScorerInfo) -> int:
    """Return the id of the scorer ``(kind, name, version)``, inserting it (with its config) if new."""
    row = {"kind": info.kind, "name": info.name, "version": info.version, "config": to_json(dict(info.config))}
    _upsert(session, ScorerRow.__table__, [row], ["kind", "name", "version"], [])
    return session.scalar(
        select(ScorerRow.id).where(
            ScorerRow.kind == info.kind, ScorerRow.name == info.name, ScorerRow.version == info.version
        )
    )


def upsert_step_scores(session: Session, scorer_id: int, rows: Iterable[tuple[int, int, float]]) -> int:
    """Write ``(candidate_id, step_index, score)`` rows of one scorer; an existing score is overwritten.

    The steps must be stored already. Returns the number of rows written.
    """
    dicts = [{"candidate_id": c, "step_index": i, "scorer_id": scorer_id, "score": float(s)} for c, i, s in rows]
    return _upsert(session, StepScoreRow.__table__, dicts, ["candidate_id", "step_index", "scorer_id"], ["score"])


def upsert_candidate_scores(session: Session, scorer_id: int, rows: Iterable[tuple[int, str, float]]) -> int:
    """Write ``(candidate_id, aggregation, score)`` rows of one scorer; an existing score is overwritten."""
    dicts = [{"candidate_id": c, "scorer_id": scorer_id, "aggregation": a, "score": float(s)} for c, a, s in rows]
    return _upsert(session, CandidateScoreRow.__table__, dicts, ["candidate_id", "scorer_id", "aggregation"], ["score"])


# --- selections and evaluations -------------------------------------------------------------------------------


def insert_selections(
    session: Session,
    run_id: int,
    problem_ids: Mapping[str, int],
    selections: Sequence[Selection],
    scorer_id: int | None = None,
) -> int:
    """Write selections of a run (made with ``scorer_id``, if any); re-writing the same
    (problem, strategy, params, n, scorer) replaces the earlier outcome. Returns the number of rows written."""
    missing = sorted({s.problem_id for s in selections} - set(problem_ids))
    if missing:
        raise ValueError(f"selections refer to unstored problem(s) {missing[:5]}; call upsert_problems first")
    known = candidate_ids(session, run_id, problem_ids={s.problem_id for s in selections})
    rows = []
    for s in selections:
        candidate_id = None
        if s.sample_index is not None:
            candidate_id = known.get((s.problem_id, s.sample_index))
            if candidate_id is None:
                raise ValueError(f"selection picks sample {s.sample_index} of problem '{s.problem_id}', not stored")
        params = to_json(dict(s.params))
        rows.append(
            {
                "run_id": run_id,
                "problem_id": problem_ids[s.problem_id],
                "scorer_id": scorer_id,
                "strategy": s.strategy,
                "params": params,
                "config_key": canonical_key({"params": params, "scorer_id": scorer_id}),
                "n": s.n,
                "candidate_id": candidate_id,
                "sample_index": s.sample_index,
                "answer": s.answer,
                "correct": s.correct,
                "candidates_used": s.candidates_used,
                "tokens_used": s.tokens_used,
                "scorer_calls": s.scorer_calls,
            }
        )
    keys = ["run_id", "problem_id", "strategy", "n", "config_key"]
    values = [c for c in rows[0] if c not in keys] if rows else []
    return _upsert(session, SelectionRow.__table__, rows, keys, values)


def insert_evaluations(session: Session, run_id: int, scorer_id: int | None, points: Sequence[MetricPoint]) -> int:
    """Write evaluation figures of a run, with how each was computed (``method``, ``ci_method``); the same
    (strategy, scorer, aggregation, metric, n) is replaced."""
    rows = [
        {
            "run_id": run_id,
            "scorer_id": scorer_id,
            "strategy": p.strategy,
            "scorer": p.scorer,
            "aggregation": p.aggregation,
            "metric": p.metric,
            "n": p.n,
            "value": float(p.value),
            "ci_low": float(p.ci_low),
            "ci_high": float(p.ci_high),
            "policy_tokens": float(p.policy_tokens),
            "scorer_tokens": float(p.scorer_tokens),
            "method": p.method,
            "ci_method": p.ci_method,
        }
        for p in points
    ]
    keys = ["run_id", "strategy", "scorer", "aggregation", "metric", "n"]
    values = ["scorer_id", "value", "ci_low", "ci_high", "policy_tokens", "scorer_tokens", "method", "ci_method"]
    return _upsert(session, EvaluationRow.__table__, rows, keys, values)
