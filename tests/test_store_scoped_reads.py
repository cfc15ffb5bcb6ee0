"""Shard-scoped reads: a generate/score shard reads exactly its own problems' rows, in a fixed number of statements,
on SQLite and PostgreSQL, next to other runs, other tasks with the same source ids and other scorers."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from bon_core.types import Candidate, Problem, ScorerInfo, Step
from db import reads
from db import repository as repo


def _steps(text: str) -> tuple[Step, ...]:
    return (Step(0, f"{text}-a", 0, 1, "correct"), Step(1, f"{text}-b", 1, 2, None))


def _fill(session) -> dict:
    """Run r1 (arith): p0..p5 x 3 samples; run r2 (arith): p0..p2 x 1 sample; run r3 (gsm8k): its own p0, p1."""
    r1 = repo.create_run(session, "r1", "arith", "m", {}, 0)
    r2 = repo.create_run(session, "r2", "arith", "m", {}, 1)
    r3 = repo.create_run(session, "r3", "gsm8k", "m", {}, 0)
    arith = repo.upsert_problems(session, [Problem("arith", f"p{i}", f"q{i}", str(i)) for i in range(6)])
    gsm = repo.upsert_problems(session, [Problem("gsm8k", f"p{i}", f"g{i}", str(i)) for i in range(2)])
    ids1 = repo.upsert_candidates(
        session,
        r1,
        arith,
        [Candidate(f"p{i}", k, f"r1 p{i} s{k}", steps=_steps(f"{i}{k}")) for i in range(6) for k in range(3)],
    )
    ids2 = repo.upsert_candidates(
        session, r2, arith, [Candidate(f"p{i}", 0, f"r2 p{i}", steps=_steps(f"r2{i}")) for i in range(3)]
    )
    ids3 = repo.upsert_candidates(
        session, r3, gsm, [Candidate(f"p{i}", 0, f"r3 p{i}", steps=_steps("g")) for i in range(2)]
    )
    prm = repo.upsert_scorer(session, ScorerInfo("prm", "prm", "1"))
    other = repo.upsert_scorer(session, ScorerInfo("prm", "other", "1"))
    # prm scored r1's p1 sample 0, p4 sample 2 and r2's p1; "other" scored r1's p1 sample 1
    repo.upsert_step_scores(
        session, prm, [(ids1[("p1", 0)], 0, 0.5), (ids1[("p4", 2)], 1, 0.25), (ids2[("p1", 0)], 0, 0.1)]
    )
    repo.upsert_step_scores(session, other, [(ids1[("p1", 1)], 0, 0.9)])
    session.commit()
    return {"r1": r1, "r2": r2, "r3": r3, "ids1": ids1, "ids2": ids2, "ids3": ids3, "prm": prm, "other": other}


def test_shard_reads_return_exactly_the_shards_rows(session):
    s = _fill(session)
    shard = ["p1", "p4", "p9"]  # p9 is stored nowhere
    rows = reads.load_candidate_rows(session, s["r1"], shard)
    assert [(c.problem_id, c.sample_index, c.text) for _, c in rows] == [
        ("p1", 0, "r1 p1 s0"), ("p1", 1, "r1 p1 s1"), ("p1", 2, "r1 p1 s2"),
        ("p4", 0, "r1 p4 s0"), ("p4", 1, "r1 p4 s1"), ("p4", 2, "r1 p4 s2"),
    ]  # fmt: skip
    assert [cid for cid, _ in rows] == [s["ids1"][(p, k)] for p in ("p1", "p4") for k in range(3)]
    assert rows[4][1].steps == (Step(0, "41-a", 0, 1, "correct"), Step(1, "41-b", 1, 2, None))
    assert reads.load_candidates(session, s["r1"], shard) == [c for _, c in rows]
    assert reads.existing_sample_keys(session, s["r1"], shard) == {(p, k) for p in ("p1", "p4") for k in range(3)}
    assert reads.candidate_ids(session, s["r1"], ["p4"]) == {("p4", k): s["ids1"][("p4", k)] for k in range(3)}
    assert reads.scored_candidate_ids(session, s["r1"], s["prm"], shard) == {s["ids1"][("p1", 0)], s["ids1"][("p4", 2)]}
    assert reads.scored_candidate_ids(session, s["r1"], s["prm"], ["p0", "p2"]) == set()
    assert reads.scored_candidate_ids(session, s["r1"], s["other"], shard) == {s["ids1"][("p1", 1)]}
    assert [p.question for p in reads.load_problems(session, run_id=s["r1"], source_ids=shard)] == ["q1", "q4"]
    # another run and another task with the same source ids see only their own rows
    assert [c.text for c in reads.load_candidates(session, s["r2"], ["p1", "p4"])] == ["r2 p1"]
    assert reads.scored_candidate_ids(session, s["r2"], s["prm"], ["p1"]) == {s["ids2"][("p1", 0)]}
    assert [c.text for c in reads.load_candidates(session, s["r3"], ["p1", "p4"])] == ["r3 p1"]
    assert [p.question for p in reads.load_problems(session, run_id=s["r3"], source_ids=["p1"])] == ["g1"]
    # without a shard: the whole run, as before
    assert len(reads.load_candidates(session, s["r1"])) == 18
    assert len(reads.scored_candidate_ids(session, s["r1"], s["prm"])) == 2


def _count_selects(engine):
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    return statements, lambda: event.remove(engine, "before_cursor_execute", record)


def test_large_shard_is_chunked_and_reads_one_statement_per_table_per_chunk(engine, session):
    run = repo.create_run(session, "big", "arith", "m", {}, 0)
    ids = repo.upsert_problems(session, [Problem("arith", f"p{i:04d}", "q", "1") for i in range(1100)])
    repo.upsert_candidates(
        session, run, ids, [Candidate(f"p{i:04d}", 0, f"t{i}", steps=_steps("x")) for i in range(1100)]
    )
    session.commit()
    shard = [f"p{i:04d}" for i in range(0, 1100, 2)] + ["missing"]  # 551 source ids: two chunks of <= 500
    statements, stop = _count_selects(engine)
    try:
        rows = reads.load_candidate_rows(session, run, shard)
        scored = reads.scored_candidate_ids(session, run, 1, shard)
    finally:
        stop()
    assert [c.text for _, c in rows] == [f"t{i}" for i in range(0, 1100, 2)]
    assert all(len(c.steps) == 2 for _, c in rows)
    assert scored == set()
    assert len(statements) == 2 * 2 + 2  # candidates and steps per chunk, then step scores per chunk


def test_shard_reads_cost_a_fixed_number_of_statements_whatever_the_shard(engine, session):
    s = _fill(session)
    counts = []
    for shard in (["p0"], ["p0", "p1", "p2", "p3", "p4", "p5"]):
        statements, stop = _count_selects(engine)
        try:
            reads.load_candidate_rows(session, s["r1"], shard)
            reads.scored_candidate_ids(session, s["r1"], s["prm"], shard)
            reads.load_problems(session, run_id=s["r1"], source_ids=shard)
        finally:
            stop()
        counts.append(len(statements))
    assert counts == [4, 4]  # no statement per problem or per candidate


def test_a_run_holds_problems_of_its_own_task_only(session):
    run = repo.create_run(session, "r1", "arith", "m", {}, 0)
    ids = repo.upsert_problems(session, [Problem("gsm8k", "g1", "q", "1")])
    with pytest.raises(ValueError, match=r"problem\(s\) \['g1'\] are not of task 'arith', the task of run \d+"):
        repo.upsert_candidates(session, run, ids, [Candidate("g1", 0, "t")])


def test_flow_shard_helpers_read_only_what_is_missing(store_url, engine):
    from flows.shard_store import shard_to_score, shard_todo, store_candidates, store_scores

    problems = [Problem("arith", f"p{i}", f"q{i}", str(i)) for i in range(4)]
    with engine.begin() as connection:
        from sqlalchemy.orm import Session

        with Session(connection) as session:
            run = repo.get_or_create_run(session, "flow", "arith", "m", {}, 0)
            repo.upsert_problems(session, problems)
            scorer = repo.upsert_scorer(session, ScorerInfo("prm", "prm", "1"))
    store_candidates(store_url, run, problems[:1], [Candidate("p0", 0, "a", steps=_steps("a"))])
    todo, stored = shard_todo(store_url, run, "arith", ["p0", "p1"], n=1)
    assert ([p.source_id for p in todo], stored) == (["p1"], 2)
    todo, stored = shard_todo(store_url, run, "arith", ["p0"], n=2)  # p0 has sample 0 but not 1
    assert ([p.source_id for p in todo], stored) == (["p0"], 1)

    store_candidates(
        store_url, run, problems[1:2], [Candidate("p1", 0, "b", steps=_steps("b")), Candidate("p1", 1, "c")]
    )
    shard_problems, to_score, stored = shard_to_score(store_url, run, scorer, ["p1"])
    assert [p.source_id for p in shard_problems] == ["p1"]
    assert [(c.problem_id, c.sample_index) for _, c in to_score] == [("p1", 0)]  # sample 1 has no steps
    assert stored == 2
    store_scores(store_url, scorer, to_score, [(0.5, 0.25)])
    assert shard_to_score(store_url, run, scorer, ["p0", "p1"])[1] == [(cid, c) for cid, c in shard_to_score(
        store_url, run, scorer, ["p0"])[1]]  # fmt: skip
    with engine.connect() as connection:
        from sqlalchemy.orm import Session

        with Session(connection) as session:
            scores = reads.load_step_scores(session, run, scorer)
            minimum = reads.load_candidate_scores(session, run, scorer, "min")
    assert scores == {("p1", 0): (0.5, 0.25)}
    assert minimum == {("p1", 0): 0.25}
