"""8. Store scaling: the store time of one generate + score shard as the run grows, on SQLite and PostgreSQL.

One store per size (1k, 4k and 16k problems x 16 candidates x 4 steps, every step scored and every candidate
aggregated five ways; filled with set-based SQL, which is setup, not measured). Per repetition, the sizes are
timed in turn (order rotated every repetition, so load from other processes hits all alike); each time is one
shard of 64 problems (16 at the quick size) through the flows' own store functions (:mod:`flows.shard_store`):

- generate side: ``shard_todo`` on a stored shard (finds nothing to do), then ``store_candidates`` of as many new
  problems x 16 candidates with their steps (deleted again, untimed, so the run keeps its size);
- score side: ``shard_to_score`` of a stored shard for a new scorer (64 x 16 candidates to score), then
  ``store_scores`` of their step scores and aggregates.

Reported: wall and CPU seconds per shard and per phase (medians; CPU is this process only, not the PostgreSQL
server's) and the
exponent of a full run's store time in the number of problems, ``1 + slope`` of log per-shard time over log
problems (1 = linear: a shard costs the same whatever the size of the run; reading the whole run per shard gives 2).
"""

from __future__ import annotations

import math
import os
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from benchmarks.harness import BenchResult, check
from bon_core.aggregate import AGGREGATORS

SIZES = {
    "quick": {"problems": (32, 64, 128), "shard": 16, "repeats": 2},
    "full": {"problems": (1_000, 4_000, 16_000), "shard": 64, "repeats": 5},
}
SAMPLES, STEPS = 16, 4
PHASES = ("generate read", "generate write", "score read", "score write")
AGGREGATIONS = tuple(AGGREGATORS)


def _numbers(n: int) -> str:
    return " UNION ALL ".join(f"SELECT {i} AS i" for i in range(n))


def fill(url: str, problems: int) -> tuple[int, list[str]]:
    """Store run ``bench`` of ``problems`` problems x 16 candidates x 4 steps, scored by scorer ``fill``; return
    the run id and the problems' source ids in order."""
    from sqlalchemy import text

    from bon_core.types import Problem, ScorerInfo
    from db import repository as repo
    from db.engine import make_engine, session_factory

    ids = [f"p{i:06d}" for i in range(problems)]
    engine = make_engine(url)
    with session_factory(engine).begin() as session:
        run = repo.create_run(session, "bench", "arith", "policy", {}, 0)
        repo.upsert_problems(session, [Problem("arith", s, f"{i}+1", str(i + 1)) for i, s in enumerate(ids)])
        scorer = repo.upsert_scorer(session, ScorerInfo("prm", "fill", "1"))
        params = {"run": run, "scorer": scorer, "correct": True}
        statements = [
            "INSERT INTO candidates (run_id, problem_id, sample_index, text, answer, correct, num_tokens,"
            " finish_reason) SELECT :run, p.id, s.i, 'candidate text', '1', :correct, 24, 'stop'"
            f" FROM problems p CROSS JOIN ({_numbers(SAMPLES)}) s",
            "INSERT INTO steps (candidate_id, step_index, text, char_start, char_end)"
            f" SELECT c.id, s.i, 'a step', s.i, s.i + 1 FROM candidates c CROSS JOIN ({_numbers(STEPS)}) s"
            " WHERE c.run_id = :run",
            "INSERT INTO step_scores (candidate_id, step_index, scorer_id, score) SELECT st.candidate_id,"
            " st.step_index, :scorer, 0.5 FROM steps st JOIN candidates c ON c.id = st.candidate_id"
            " WHERE c.run_id = :run",
            "INSERT INTO candidate_scores (candidate_id, scorer_id, aggregation, score)"
            " SELECT c.id, :scorer, a.name, 0.5 FROM candidates c CROSS JOIN ("
            + " UNION ALL ".join(f"SELECT '{a}' AS name" for a in AGGREGATIONS)
            + ") a WHERE c.run_id = :run",
        ]
        for sql in statements:
            session.execute(text(sql), {k: v for k, v in params.items() if f":{k}" in sql})
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))  # what autovacuum does to a table this size soon after it is filled
    engine.dispose()
    return run, ids


def shard_cycle(url: str, run: int, shard: list[str], rep: int) -> tuple[list[float], float, int]:
    """One generate + one score shard's store work; returns (wall s per phase of :data:`PHASES`, CPU s, candidates
    scored)."""
    from bon_core.types import Candidate, Problem, ScorerInfo, Step
    from db import repository as repo
    from flows.shard_store import shard_to_score, shard_todo, store_candidates, store_scores
    from flows.store import run_transaction

    scorer = run_transaction(url, lambda s: repo.upsert_scorer(s, ScorerInfo("prm", f"rep{rep}", "1")), what="scorer")
    new = [Problem("arith", f"new{rep}-{i:03d}", "1+1", "2") for i in range(len(shard))]
    candidates = [
        Candidate(p.source_id, k, "new text", steps=tuple(Step(s, "a step", s, s + 1) for s in range(STEPS)))
        for p in new
        for k in range(SAMPLES)
    ]
    marks, cpu = [time.perf_counter()], time.process_time()
    todo, _ = shard_todo(url, run, "arith", shard, SAMPLES)
    marks.append(time.perf_counter())
    store_candidates(url, run, new, candidates)
    marks.append(time.perf_counter())
    _, to_score, _ = shard_to_score(url, run, scorer, shard)
    marks.append(time.perf_counter())
    store_scores(url, scorer, to_score, [[0.25] * len(c.steps) for _, c in to_score])
    marks.append(time.perf_counter())
    cpu = time.process_time() - cpu
    check(todo == [], f"{url}: a fully stored shard should need no generation, got {len(todo)} problems")
    _drop_problems(url, [p.source_id for p in new])
    return [b - a for a, b in zip(marks[:-1], marks[1:], strict=True)], cpu, len(to_score)


def _drop_problems(url: str, source_ids: list[str]) -> None:
    from sqlalchemy import delete

    from db.models import ProblemRow
    from flows.store import run_transaction

    # Deleting the problems cascades to their candidates, steps and scores.
    run_transaction(url, lambda s: s.execute(delete(ProblemRow).where(ProblemRow.source_id.in_(source_ids))), what="x")


def _stores(dialect: str, count: int, stack: ExitStack) -> list[str]:
    from benchmarks.store_writes import postgres_store
    from db.migrate import upgrade

    if dialect == "postgresql":
        return [stack.enter_context(postgres_store()) for _ in range(count)]
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bon-bench-scaling-")))
    urls = [f"sqlite:///{folder / f'size{i}.db'}" for i in range(count)]
    for url in urls:
        upgrade(url)
    return urls


def exponent(problems: list[int], seconds: list[float]) -> float:
    """``1 + slope`` of log per-shard seconds over log problems: the exponent of a full run's time."""
    xs, ys = [math.log(p) for p in problems], [math.log(s) for s in seconds]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return 1 + sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)


def measure(dialect: str, problems: tuple[int, ...], shard: int, repeats: int) -> BenchResult:
    """Fill one store per size, then time shard cycles interleaved over the sizes."""
    load_before = os.getloadavg()
    with ExitStack() as stack:
        urls = _stores(dialect, len(problems), stack)
        filled = [fill(url, p) for url, p in zip(urls, problems, strict=True)]
        phases: list[list[list[float]]] = [[] for _ in problems]
        cpus: list[list[float]] = [[] for _ in problems]
        order = list(range(len(problems)))
        for rep in range(-1, repeats):  # -1: warm-up (engines, caches), not recorded
            for i in order:
                run, ids = filled[i]
                first = (len(ids) - shard) // 2  # a shard from the middle of the run
                times, cpu, scored = shard_cycle(urls[i], run, ids[first : first + shard], rep)
                check(scored == shard * SAMPLES, f"{dialect}: scored {scored} of {shard * SAMPLES} candidates")
                if rep >= 0:
                    phases[i].append(times)
                    cpus[i].append(cpu)
            order = order[1:] + order[:1]
        from flows.store import _engine

        _engine.cache_clear()  # the flows' cached engines point at stores about to be dropped
    wall = [statistics.median(sum(t) for t in per_size) for per_size in phases]
    cpu = [statistics.median(c) for c in cpus]
    by_phase = {
        name: "/".join(f"{1000 * statistics.median(t[k] for t in per_size):.0f}" for per_size in phases)
        for k, name in enumerate(PHASES)
    }
    exp, cpu_exp = exponent(list(problems), wall), exponent(list(problems), cpu)
    sizes = "/".join(f"{p // 1000}k" if p >= 1000 else str(p) for p in problems)
    return BenchResult(
        name=f"store_scaling_{dialect}",
        title=f"Store scaling, {dialect} ({sizes} problems x {SAMPLES}, shard {shard})",
        baseline=f"{problems[0]} problems",
        ours="/".join(str(p) for p in problems[1:]) + " problems",
        ratio=exp,
        target=1.1,
        unit="exp",
        higher_is_better=False,
        size={"problems": list(problems), "samples": SAMPLES, "steps": STEPS, "shard": shard, "repeats": repeats},
        metrics={
            "exponent (wall)": round(exp, 3),
            "exponent (CPU)": round(cpu_exp, 3),
            "wall ms/shard": "/".join(f"{1000 * w:.0f}" for w in wall),
            "CPU ms/shard": "/".join(f"{1000 * c:.0f}" for c in cpu),
            **{f"{name} ms": value for name, value in by_phase.items()},
        },
        checks={"scored_per_shard": shard * SAMPLES, "nothing_to_generate": True},
        timing={
            "phases": list(PHASES),
            "wall_s_per_phase": [[[round(x, 6) for x in t] for t in per_size] for per_size in phases],
            "cpu_s": [[round(x, 6) for x in c] for c in cpus],
            "load_average_before": list(load_before),
            "load_average_after": list(os.getloadavg()),
            "threads": {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"), "store_writer_threads": 1},
        },
        note="exponent = 1 + slope of log(per-shard store time) over log(problems), wall clock (CPU: this process "
        "only, not the PostgreSQL server's); medians over interleaved repetitions",
    )


def run(quick: bool) -> list[BenchResult]:
    """Store scaling on SQLite, and on PostgreSQL when its server answers."""
    from benchmarks.store_writes import postgres_available

    size = SIZES["quick" if quick else "full"]
    results = [measure("sqlite", size["problems"], size["shard"], size["repeats"])]
    if postgres_available():
        results.append(measure("postgresql", size["problems"], size["shard"], size["repeats"]))
    return results
