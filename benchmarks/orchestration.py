"""6. Orchestration overhead: the same scoring work as plain Python (``score_shard.fn`` over the shards) vs the
Prefect ``score`` flow (ephemeral API, thread task runner), on a seeded SQLite store.

Each repetition works on a fresh copy of the seeded database (a new file), so both always score every candidate.
The overhead is (flow time / plain time - 1); correctness: both store the same step scores.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from benchmarks.harness import BenchResult, check, time_interleaved, timing_dict

# full: what the issue measures against, a default `bon score` (shard size 64) on 100 problems x 16 candidates.
SIZES = {"quick": {"problems": 8, "shard_size": 4}, "full": {"problems": 100, "shard_size": 64}}


def unavailable() -> str | None:
    """Why this benchmark cannot run here (``None`` when it can)."""
    import importlib.util

    # find_spec, not import: Prefect must not be imported before run() sets its environment.
    if importlib.util.find_spec("flows.score") is None:
        return "the Prefect score flow (flows/score.py) does not exist yet"
    return None


def _seed(url: str, problems: int) -> None:
    from benchmarks.compute_savings import simulated_pools
    from db import repository as repo
    from db.engine import make_engine, session_factory
    from db.migrate import upgrade

    upgrade(url)
    engine = make_engine(url)
    pools = simulated_pools(problems)
    with session_factory(engine).begin() as session:
        run_id = repo.create_run(session, "bench", "arith", "policy", {}, 0)
        ids = repo.upsert_problems(session, [p for p, *_ in pools])
        repo.upsert_candidates(session, run_id, ids, [c for _, cands, *_ in pools for c in cands])
    engine.dispose()


def _step_scores(url: str) -> list[tuple]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT candidate_id, step_index, score FROM step_scores ORDER BY 1, 2")).all()
    engine.dispose()
    return [(c, s, round(v, 5)) for c, s, v in rows]


def run(quick: bool) -> list[BenchResult]:
    """Plain Python vs the Prefect flow doing the same scoring."""
    import os

    from benchmarks.models import tiny_prm

    size = SIZES["quick" if quick else "full"]
    with tempfile.TemporaryDirectory(prefix="bon-bench-orch-") as folder:
        root = Path(folder)
        os.environ.setdefault("PREFECT_HOME", str(root / "prefect"))
        os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
        os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
        tiny_prm(root / "base").save_pretrained(root / "prm")
        seeded = root / "seed.db"
        _seed(f"sqlite:///{seeded}", size["problems"])

        from flows.runtime import ephemeral_flow_settings, shards
        from flows.score import run_score, score_shard, scorer_identity

        model = str(root / "prm")
        urls: dict[str, str] = {}

        def fresh(label: str, rep: int) -> str:
            # A new file per repetition: a store reused under one path keeps its scores (its WAL and the cached
            # engine outlive a copy over the file), and the next repetition would find nothing left to score.
            path = root / f"{label}-{rep + 1}.db"
            shutil.copy(seeded, path)
            urls[label] = f"sqlite:///{path}"
            return urls[label]

        def plain(rep: int) -> None:
            from db import reads, repository
            from flows.store import transaction

            url = fresh("plain", rep)
            path, info = scorer_identity(model, "bon")
            with transaction(url) as session:
                run = reads.get_run(session, "bench")
                scorer_id = repository.upsert_scorer(session, info)
                source_ids = [p.source_id for p in reads.load_problems(session, run_id=run.id)]
            for shard in shards(source_ids, size["shard_size"]):
                score_shard.fn(url, run.id, scorer_id, path, "bon", shard)

        def flow(rep: int) -> None:
            # as `bon score` runs it: the CLI enters ephemeral_flow_settings for the whole command
            with ephemeral_flow_settings():
                run_score(database_url=fresh("flow", rep), run_name="bench", model_uri=model,
                          shard_size=size["shard_size"])  # fmt: skip

        timing = time_interleaved(plain, flow, 5)
        plain_scores, flow_scores = _step_scores(urls["plain"]), _step_scores(urls["flow"])
        check(len(plain_scores) > 0, "plain scoring stored no step scores")
        check(plain_scores == flow_scores, "the flow and plain Python stored different step scores")
    overhead = timing.ours_median / timing.baseline_median - 1
    return [
        BenchResult(
            name="orchestration",
            title=f"Orchestration overhead (score, {size['problems']} problems x 16)",
            baseline="plain Python (score_shard.fn per shard)",
            ours="Prefect score flow (ephemeral)",
            ratio=overhead,
            target=0.20,
            unit="%",
            higher_is_better=False,
            size={**size, "step_scores": len(plain_scores)},
            metrics={"plain s": round(timing.baseline_median, 2), "flow s": round(timing.ours_median, 2)},
            checks={"same_step_scores": True},
            timing=timing_dict(timing),
            note="overhead = flow time / plain time - 1; the first (untimed) flow run starts the ephemeral server",
        )
    ]
