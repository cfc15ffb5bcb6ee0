"""3. Store writes: one ORM object + one commit per step-score row (the naive way) vs bon's bulk idempotent upsert.

Both write the same ``(candidate_id, step_index, score)`` rows of a fresh scorer per repetition into a migrated
store (SQLite file, and a fresh PostgreSQL database that is dropped afterwards). The per-row baseline is too slow
to write all rows five times inside the time budget, so it writes the first ``baseline_rows`` of them and both are
compared in rows/s. Correctness: the rows read back are identical for both methods, and re-upserting does not
duplicate a row.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path

from benchmarks.harness import BenchResult, check, time_interleaved, timing_dict

PG_ADMIN_URL = os.environ.get("BON_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
STEPS_PER_CANDIDATE = 8
# Rows the per-row baseline writes per repetition: SQLite syncs the file on every commit (~60 rows/s here).
SIZES = {
    "quick": {"rows": 4_000, "baseline_rows": {"sqlite": 30, "postgresql": 100}},
    "full": {"rows": 100_000, "baseline_rows": {"sqlite": 300, "postgresql": 1_000}},
}


@contextmanager
def sqlite_store():
    """A migrated SQLite store in a temporary folder."""
    from db.migrate import upgrade

    with tempfile.TemporaryDirectory(prefix="bon-bench-") as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        upgrade(url)
        yield url


@contextmanager
def postgres_store(admin_url: str = PG_ADMIN_URL):
    """A fresh, migrated PostgreSQL database ``bon_bench_<random>``, dropped on exit."""
    import psycopg
    from sqlalchemy.engine import make_url

    from db.migrate import upgrade

    name = f"bon_bench_{uuid.uuid4().hex[:10]}"
    libpq = admin_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(libpq, autocommit=True, connect_timeout=3) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        upgrade(url)
        yield url
    finally:
        with psycopg.connect(libpq, autocommit=True, connect_timeout=3) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_available(admin_url: str = PG_ADMIN_URL) -> bool:
    """Whether the PostgreSQL server at ``admin_url`` answers."""
    try:
        import psycopg

        with psycopg.connect(admin_url.replace("postgresql+psycopg://", "postgresql://", 1), connect_timeout=3):
            return True
    except Exception:
        return False


def _seed_steps(engine, n_rows: int) -> list[tuple[int, int, float]]:
    """Store the candidates and steps the scores refer to; return the ``(candidate_id, step, score)`` rows."""
    from bon_core.types import Candidate, Problem, Step
    from db import repository as repo
    from db.engine import session_factory

    n_candidates = -(-n_rows // STEPS_PER_CANDIDATE)
    problems = [Problem("arith", f"p{i}", f"{i}+1", str(i + 1)) for i in range(-(-n_candidates // 16))]
    candidates = [
        Candidate(
            problem_id=f"p{c // 16}",
            sample_index=c % 16,
            text="x",
            steps=tuple(Step(s, f"s{s}", 0, 1) for s in range(STEPS_PER_CANDIDATE)),
        )
        for c in range(n_candidates)
    ]
    with session_factory(engine).begin() as session:
        run_id = repo.create_run(session, "bench", "arith", "policy", {}, 0)
        ids = repo.upsert_problems(session, problems)
        cids = repo.upsert_candidates(session, run_id, ids, candidates)
    ordered = sorted(cids.values())
    rows = [(cid, s, ((cid * 31 + s * 7) % 1000) / 1000) for cid in ordered for s in range(STEPS_PER_CANDIDATE)]
    return rows[:n_rows]


def _scorer(engine, label: str) -> int:
    from bon_core.types import ScorerInfo
    from db import repository as repo
    from db.engine import session_factory

    with session_factory(engine).begin() as session:
        return repo.upsert_scorer(session, ScorerInfo("prm", f"bench-{label}", "1"))


def _read(engine, scorer_id: int) -> list[tuple[int, int, float]]:
    from sqlalchemy import select

    from db.models import StepScoreRow

    with engine.connect() as conn:
        stmt = (
            select(StepScoreRow.candidate_id, StepScoreRow.step_index, StepScoreRow.score)
            .where(StepScoreRow.scorer_id == scorer_id)
            .order_by(StepScoreRow.candidate_id, StepScoreRow.step_index)
        )
        return [tuple(r) for r in conn.execute(stmt)]


def compare_on(url: str, dialect: str, n_rows: int, baseline_rows: int, repeats: int) -> BenchResult:
    """Time per-row ORM commits against the bulk upsert on the store at ``url``."""
    from sqlalchemy.orm import Session

    from db import repository as repo
    from db.engine import make_engine, session_factory
    from db.models import StepScoreRow

    engine = make_engine(url)
    try:
        rows = _seed_steps(engine, n_rows)
        base_rows = rows[:baseline_rows]
        scorers = {(m, r): _scorer(engine, f"{m}{r}") for m in ("naive", "bulk") for r in range(-1, repeats)}
        factory = session_factory(engine)

        def naive(rep: int) -> None:
            sid = scorers[("naive", rep)]
            with Session(engine) as session:
                for cid, step, score in base_rows:
                    session.add(StepScoreRow(candidate_id=cid, step_index=step, scorer_id=sid, score=score))
                    session.commit()

        def bulk(rep: int) -> None:
            with factory.begin() as session:
                repo.upsert_step_scores(session, scorers[("bulk", rep)], rows)

        timing = time_interleaved(naive, bulk, repeats)
        stored_naive = _read(engine, scorers[("naive", repeats - 1)])
        stored_bulk = _read(engine, scorers[("bulk", repeats - 1)])
        check(len(stored_bulk) == n_rows, f"{dialect}: bulk upsert stored {len(stored_bulk)} rows, expected {n_rows}")
        check(stored_naive == stored_bulk[:baseline_rows], f"{dialect}: per-row and bulk writes stored different rows")
        check(stored_bulk == sorted(rows), f"{dialect}: bulk upsert stored rows that differ from the input")
        with factory.begin() as session:  # idempotent: writing the same rows again adds nothing
            repo.upsert_step_scores(session, scorers[("bulk", repeats - 1)], rows)
        check(len(_read(engine, scorers[("bulk", repeats - 1)])) == n_rows, f"{dialect}: re-upsert duplicated rows")
    finally:
        engine.dispose()
    naive_rate = baseline_rows / timing.baseline_median
    bulk_rate = n_rows / timing.ours_median
    return BenchResult(
        name=f"store_writes_{dialect}",
        title=f"Store writes ({dialect})",
        baseline="1 ORM object + 1 commit per row",
        ours="bulk idempotent upsert",
        ratio=bulk_rate / naive_rate,
        target=20.0,
        size={"rows": n_rows, "baseline_rows": baseline_rows, "repeats": repeats},
        metrics={"rows/s ours": round(bulk_rate), "rows/s naive": round(naive_rate), "rows": n_rows},
        checks={"same_rows": True, "row_count": n_rows, "idempotent": True},
        timing=timing_dict(timing),
        note="ratio of rows/s; the naive baseline writes the first baseline_rows rows per repetition",
    )


def run(quick: bool) -> list[BenchResult]:
    """Store-write comparison on SQLite, and on PostgreSQL when its server answers."""
    size = SIZES["quick" if quick else "full"]
    results = []
    with sqlite_store() as url:
        results.append(compare_on(url, "sqlite", size["rows"], size["baseline_rows"]["sqlite"], 5))
    if postgres_available():
        with postgres_store() as url:
            results.append(compare_on(url, "postgresql", size["rows"], size["baseline_rows"]["postgresql"], 5))
    return results
