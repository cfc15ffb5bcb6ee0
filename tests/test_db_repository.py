"""Repository: round trips to bon_core dataclasses, idempotent bulk writes, uniqueness rules, cascading deletes."""

from __future__ import annotations

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from bon_core.types import Candidate, MetricPoint, Problem, ScorerInfo, Selection, Step
from db import repository as repo
from db.models import CandidateRow, StepRow

PROBLEMS = [
    Problem("gsm8k", "p1", "1+1?", "2", solution="1+1=2", metadata={"level": 1}),
    Problem("gsm8k", "p2", "2*3?", "6"),
]


def _candidate(problem: str, index: int, text: str, steps: tuple[Step, ...] = (), **kw) -> Candidate:
    return Candidate(problem_id=problem, sample_index=index, text=text, steps=steps, **kw)


STEPS = (Step(0, "1+1", 0, 3, "correct"), Step(1, "=2", 3, 5, None))
CANDIDATES = [
    _candidate("p1", 0, "1+1=2", STEPS, num_tokens=5, sum_logprob=-1.5, mean_logprob=-0.3),
    _candidate("p1", 1, "1+1=3", (Step(0, "1+1=3", 0, 5, "incorrect"),), finish_reason="length"),
    _candidate("p2", 0, "6"),
]


def _store(session) -> tuple[int, dict[str, int], dict[tuple[str, int], int]]:
    run_id = repo.create_run(session, "r1", "gsm8k", "tiny-gpt", {"temperature": 0.8, "stop": ("\n",)}, seed=3)
    problem_ids = repo.upsert_problems(session, PROBLEMS)
    ids = repo.upsert_candidates(session, run_id, problem_ids, CANDIDATES)
    return run_id, problem_ids, ids


def _count(session, table) -> int:
    return repo.row_counts(session)[table]


def test_runs_create_get_update_and_unique_name(session):
    run_id = repo.create_run(session, "r1", "gsm8k", "tiny-gpt", {"temperature": 0.8, "stop": ("\n",)}, seed=3)
    with pytest.raises(ValueError, match="run 'r1' already exists"):
        repo.create_run(session, "r1", "gsm8k", "tiny-gpt", {}, seed=3)
    same = repo.get_or_create_run(session, "r1", "gsm8k", "tiny-gpt", {"stop": ["\n"], "temperature": 0.8}, 3)
    assert same == run_id
    with pytest.raises(ValueError, match=r"run 'r1' exists with a different seed \(stored 3, given 4\)"):
        repo.get_or_create_run(session, "r1", "gsm8k", "tiny-gpt", {"stop": ["\n"], "temperature": 0.8}, 4)

    repo.update_run(session, run_id, status="finished", mlflow_run_id="abc")
    with pytest.raises(ValueError, match="cannot update run field.* seed; known: status"):
        repo.update_run(session, run_id, seed=1)
    session.commit()
    record = repo.get_run(session, "r1")
    assert (record.id, record.status, record.mlflow_run_id, record.seed) == (run_id, "finished", "abc", 3)
    assert record.generation_config == {"temperature": 0.8, "stop": ["\n"]}
    assert [r.name for r in repo.list_runs(session)] == ["r1"]
    with pytest.raises(ValueError, match="unknown run 'nope'; known: r1"):
        repo.get_run(session, "nope")


def test_problems_upsert_is_idempotent_and_updates(session):
    first = repo.upsert_problems(session, PROBLEMS)
    again = repo.upsert_problems(session, [*PROBLEMS, Problem("gsm8k", "p1", "1+1 = ?", "2")])
    assert first == again and set(first) == {"p1", "p2"}
    assert _count(session, "problems") == 2
    loaded = repo.load_problems(session, task="gsm8k")
    assert [p.question for p in loaded] == ["1+1 = ?", "2*3?"]
    assert repo.load_problems(session, source_ids=["p2"]) == [PROBLEMS[1]]


def test_candidates_round_trip_with_steps(session):
    run_id, _, ids = _store(session)
    assert set(ids) == {("p1", 0), ("p1", 1), ("p2", 0)}
    assert repo.load_candidates(session, run_id) == CANDIDATES
    assert repo.load_candidates(session, run_id, problem_ids=["p2"]) == [CANDIDATES[2]]
    assert repo.existing_sample_keys(session, run_id) == {("p1", 0), ("p1", 1), ("p2", 0)}
    assert [p.source_id for p in repo.load_problems(session, run_id=run_id)] == ["p1", "p2"]


def test_candidate_writes_are_idempotent_and_regrade(session):
    run_id, problem_ids, ids = _store(session)
    graded = _candidate("p2", 0, "6", answer="6", correct=True)
    again = repo.upsert_candidates(session, run_id, problem_ids, [*CANDIDATES, graded])
    assert again == ids
    assert (_count(session, "candidates"), _count(session, "steps")) == (3, 3)
    assert repo.load_candidates(session, run_id, problem_ids=["p2"])[0].correct is True


def test_fewer_steps_replace_stored_steps_and_their_scores(session):
    run_id, problem_ids, ids = _store(session)
    scorer = repo.upsert_scorer(session, ScorerInfo("prm", "tiny", "v1"))
    repo.upsert_step_scores(session, scorer, [(ids[("p1", 0)], 0, 0.9), (ids[("p1", 0)], 1, 0.8)])
    resplit = _candidate("p1", 0, "1+1=2", (Step(0, "1+1=2", 0, 5, "correct"),))
    repo.upsert_candidates(session, run_id, problem_ids, [resplit])
    assert repo.load_candidates(session, run_id, problem_ids=["p1"])[0].steps == resplit.steps
    assert repo.load_step_scores(session, run_id, scorer) == {("p1", 0): (0.9,)}


def test_candidates_need_stored_problems(session):
    run_id = repo.create_run(session, "r1", "gsm8k", "m", {}, 0)
    with pytest.raises(ValueError, match=r"unstored problem\(s\) \['p9'\]"):
        repo.upsert_candidates(session, run_id, {}, [_candidate("p9", 0, "x")])


def test_scores_are_idempotent_and_per_scorer(session):
    run_id, _, ids = _store(session)
    prm = repo.upsert_scorer(session, ScorerInfo("prm", "tiny", "v1", {"layers": 2}))
    assert repo.upsert_scorer(session, ScorerInfo("prm", "tiny", "v1")) == prm
    other = repo.upsert_scorer(session, ScorerInfo("prm", "tiny", "v2"))
    assert other != prm and _count(session, "scorers") == 2

    rows = [(ids[("p1", 0)], 0, 0.9), (ids[("p1", 0)], 1, 0.7), (ids[("p1", 1)], 0, 0.2)]
    repo.upsert_step_scores(session, prm, rows)
    repo.upsert_step_scores(session, prm, [*rows[:2], (ids[("p1", 1)], 0, 0.25)])  # re-score overwrites
    repo.upsert_step_scores(session, other, rows[:1])
    assert _count(session, "step_scores") == 4
    assert repo.load_step_scores(session, run_id, prm) == {("p1", 0): (0.9, 0.7), ("p1", 1): (0.25,)}
    assert repo.scored_candidate_ids(session, run_id, prm) == {ids[("p1", 0)], ids[("p1", 1)]}
    assert repo.scored_candidate_ids(session, run_id, other) == {ids[("p1", 0)]}

    agg = [(ids[("p1", 0)], "min", 0.7), (ids[("p1", 0)], "last", 0.7), (ids[("p1", 1)], "min", 0.25)]
    repo.upsert_candidate_scores(session, prm, agg)
    repo.upsert_candidate_scores(session, prm, agg[:1])
    assert _count(session, "candidate_scores") == 3
    assert repo.load_candidate_scores(session, run_id, prm, "min") == {("p1", 0): 0.7, ("p1", 1): 0.25}


def test_selections_and_evaluations_are_idempotent(session):
    run_id, problem_ids, _ = _store(session)
    prm = repo.upsert_scorer(session, ScorerInfo("prm", "tiny", "v1"))
    picks = [
        Selection("p1", "best_of_n", {"aggregation": "min"}, 2, 0, "2", True, candidates_used=2),
        Selection("p2", "best_of_n", {"aggregation": "min"}, 2, None, None, None),
    ]
    repo.insert_selections(session, run_id, problem_ids, picks, scorer_id=prm)
    repo.insert_selections(session, run_id, problem_ids, picks, scorer_id=prm)
    repo.insert_selections(session, run_id, problem_ids, picks[:1])  # no scorer: a different selection
    assert _count(session, "selections") == 3
    assert repo.load_selections(session, run_id)[:2] == picks

    points = [MetricPoint("accuracy", 1, 0.5, 0.1, 0.9, "best_of_n", "tiny", "min")]
    repo.insert_evaluations(session, run_id, prm, points)
    repo.insert_evaluations(
        session, run_id, prm, [MetricPoint("accuracy", 1, 0.6, 0.2, 0.9, "best_of_n", "tiny", "min")]
    )
    assert repo.load_evaluations(session, run_id) == [
        MetricPoint("accuracy", 1, 0.6, 0.2, 0.9, "best_of_n", "tiny", "min")
    ]


def test_uniqueness_rules_hold_in_the_database(session):
    run_id, problem_ids, ids = _store(session)
    session.commit()
    with pytest.raises(IntegrityError):
        session.execute(
            insert(CandidateRow.__table__).values(
                run_id=run_id, problem_id=problem_ids["p1"], sample_index=0, text="dup"
            )
        )
    session.rollback()
    with pytest.raises(IntegrityError):
        session.execute(
            insert(StepRow.__table__).values(
                candidate_id=ids[("p2", 0)], step_index=0, text="s", char_start=0, char_end=1, label="wrong"
            )
        )
    session.rollback()


def test_deleting_a_run_cascades(session):
    run_id, problem_ids, ids = _store(session)
    other = repo.create_run(session, "r2", "gsm8k", "tiny-gpt", {}, seed=0)
    repo.upsert_candidates(session, other, problem_ids, CANDIDATES[:1])
    prm = repo.upsert_scorer(session, ScorerInfo("prm", "tiny", "v1"))
    repo.upsert_step_scores(session, prm, [(ids[("p1", 0)], 0, 0.9)])
    repo.upsert_candidate_scores(session, prm, [(ids[("p1", 0)], "min", 0.9)])
    repo.insert_selections(session, run_id, problem_ids, [Selection("p1", "first", {}, 1, 0, "2", True)])
    repo.insert_evaluations(session, run_id, None, [MetricPoint("accuracy", 1, 1.0, 0.2, 1.0, "first")])
    session.commit()

    from db.models import RunRow

    session.execute(RunRow.__table__.delete().where(RunRow.__table__.c.id == run_id))
    session.commit()
    counts = repo.row_counts(session)
    assert counts == {
        "problems": 2,
        "runs": 1,
        "scorers": 1,
        "candidates": 1,
        "evaluations": 0,
        "candidate_scores": 0,
        "selections": 0,
        "steps": 2,
        "step_scores": 0,
    }
    assert session.scalar(select(func.count()).select_from(CandidateRow).where(CandidateRow.run_id == other)) == 1


def test_stored_evaluations_carry_the_method_labels_of_their_points(session):
    from sqlalchemy import text

    from bon_core.evaluation import ScoreSet, evaluate_pools, group_pools
    from flows.select_evaluate import store_evaluation

    # 24 candidates, 21 with one answer: the weighted vote is beyond counting by answer class (2^21 sub-sums),
    # so its middle points are Monte-Carlo estimates; the rest of the curves are exact.
    answers = ["2"] * 21 + ["3", "4", None]
    cands = [_candidate("p1", i, f"t{i}", answer=a, correct=a == "2", num_tokens=5) for i, a in enumerate(answers)]
    run_id = repo.create_run(session, "labels", "gsm8k", "tiny-gpt", {}, seed=0)
    repo.upsert_candidates(session, run_id, repo.upsert_problems(session, PROBLEMS[:1]), cands)
    prm = repo.upsert_scorer(session, ScorerInfo("prm", "tiny", "v1"))
    scores = ScoreSet("tiny", "min", {("p1", i): 0.04 * i for i in range(len(cands))})
    evaluation = evaluate_pools(group_pools(cands), [scores], strategies=[("max", {}), ("weighted", {})])
    store_evaluation(session, run_id, PROBLEMS[:1], evaluation, {"tiny": prm})
    session.commit()

    points = {(p.strategy, p.scorer, p.metric, p.n): p for p in (*evaluation.curves, *evaluation.selection_points)}
    labels = {key: (p.method, p.ci_method) for key, p in points.items()}
    assert {p.method for p in points.values()} >= {"exact"}
    assert any(p.method.startswith("Monte-Carlo, 200 random k-subsets") for p in points.values())
    assert all(p.ci_method for p in points.values())
    loaded = repo.load_evaluations(session, run_id)
    assert {(p.strategy, p.scorer, p.metric, p.n): (p.method, p.ci_method) for p in loaded} == labels
    # What a SQL user reads: the table and the summary view name each figure's method.
    for source in ("evaluations", "v_best_at_n"):
        rows = session.execute(text(f"SELECT strategy, scorer, metric, n, method, ci_method FROM {source}")).all()
        assert {(s, sc, m, n): (method, ci) for s, sc, m, n, method, ci in rows} == labels


def test_find_scorer_by_name_or_name_and_version(session):
    from db import reads

    assert "none (run bon score)" in str(pytest.raises(ValueError, reads.find_scorer, session, "tiny").value)
    v1 = repo.upsert_scorer(session, ScorerInfo("prm", "tiny", "v1"))
    v2 = repo.upsert_scorer(session, ScorerInfo("prm", "tiny", "v2"))
    repo.upsert_scorer(session, ScorerInfo("orm", "other", "v1"))
    assert reads.find_scorer(session, "tiny") == v2  # the latest stored version
    assert reads.find_scorer(session, "tiny:v1") == v1
    assert reads.scorer_label(session, v1) == "tiny:v1"
    with pytest.raises(ValueError, match=r"unknown scorer 'tiny:v3'; stored scorers: other, tiny"):
        reads.find_scorer(session, "tiny:v3")
