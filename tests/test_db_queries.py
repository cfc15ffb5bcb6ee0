"""The README's example queries (db/queries.py, run verbatim) and the views return hand-computed rows."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from bon_core.types import Candidate, MetricPoint, Problem, ScorerInfo, Selection, Step
from db import repository as repo
from db.queries import BEST_AT_N, MISSED_SELECTIONS, STEP_SCORE_BY_LABEL

# (problem, sample, answer, correct, step labels, "tiny" step scores)
SAMPLES = [
    ("p1", 0, "3", False, ("correct", "incorrect"), (0.8, 0.3)),
    ("p1", 1, "2", True, ("correct", "correct"), (0.9, 0.7)),
    ("p1", 2, "2", True, (), ()),
    ("p2", 0, "6", True, ("correct", "neutral"), (0.6, 0.5)),
    ("p2", 1, "5", False, ("incorrect",), (0.1,)),
    ("p3", 0, "8", False, (None,), (0.4,)),
    ("p3", 1, "7", False, (), ()),
]


def _steps(labels) -> tuple[Step, ...]:
    return tuple(Step(i, f"s{i}", i, i + 1, label) for i, label in enumerate(labels))


@pytest.fixture
def filled(session):
    """A small literal store: one run, three problems, seven candidates, two scorers."""
    run_id = repo.create_run(session, "r1", "toy", "tiny-gpt", {}, seed=0)
    problems = [Problem("toy", "p1", "q1", "2"), Problem("toy", "p2", "q2", "6"), Problem("toy", "p3", "q3", "9")]
    problem_ids = repo.upsert_problems(session, problems)
    candidates = [
        Candidate(p, i, f"answer {a}", answer=a, correct=c, steps=_steps(labels)) for p, i, a, c, labels, _ in SAMPLES
    ]
    ids = repo.upsert_candidates(session, run_id, problem_ids, candidates)
    tiny = repo.upsert_scorer(session, ScorerInfo("prm", "tiny", "v1"))
    big = repo.upsert_scorer(session, ScorerInfo("prm", "big", "v2"))
    rows = [(ids[(p, i)], k, s) for p, i, _, _, _, scores in SAMPLES for k, s in enumerate(scores)]
    repo.upsert_step_scores(session, tiny, rows)
    repo.upsert_step_scores(session, big, [(ids[("p1", 0)], 0, 0.5)])
    best = {"aggregation": "min"}
    repo.insert_selections(
        session,
        run_id,
        problem_ids,
        [
            Selection("p1", "best_of_n", best, 2, 0, "3", False),  # missed: sample 1 (correct) was among the 2
            Selection("p2", "best_of_n", best, 2, 0, "6", True),
            Selection("p3", "best_of_n", best, 2, 0, "8", False),  # no correct candidate: not a miss
            Selection("p1", "best_of_n", best, 1, 0, "3", False),  # only sample 0 (wrong) available: not a miss
        ],
        scorer_id=tiny,
    )
    repo.insert_selections(
        session,
        run_id,
        problem_ids,
        [
            Selection("p1", "majority", {}, 3, 1, "2", True),
            Selection("p2", "majority", {}, 2, None, None, None),  # no selection while a correct one existed
        ],
    )
    repo.insert_evaluations(
        session,
        run_id,
        tiny,
        [
            MetricPoint("accuracy", 2, 0.33, 0.05, 0.8, "best_of_n", "tiny", "min", method="exact", ci_method="CP"),
            MetricPoint("accuracy", 1, 0.0, 0.0, 0.6, "best_of_n", "tiny", "min"),
            MetricPoint("pass@k", 2, 0.67, 0.2, 0.9, "best_of_n", "tiny", "min"),
        ],
    )
    majority = MetricPoint(
        "accuracy", 3, 0.67, 0.2, 0.94, "majority", method="Monte-Carlo, 200 subsets", ci_method="CP"
    )
    repo.insert_evaluations(session, run_id, None, [majority])
    session.commit()
    return session


def _rows(session, sql: str) -> list[tuple]:
    return [tuple(row) for row in session.execute(text(sql))]


def test_missed_selections_query(filled):
    assert _rows(filled, MISSED_SELECTIONS) == [
        ("r1", "p1", "best_of_n", "tiny", 2, "3", "2", 1),
        ("r1", "p2", "majority", None, 2, None, "6", 1),
    ]


def test_step_score_by_label_query(filled):
    rows = _rows(filled, STEP_SCORE_BY_LABEL)
    assert [r[:4] for r in rows] == [
        ("big", "v2", "correct", 1),
        ("tiny", "v1", "correct", 4),
        ("tiny", "v1", "incorrect", 2),
        ("tiny", "v1", "neutral", 1),
    ]
    assert [r[4:] for r in rows] == [
        pytest.approx((0.5, 0.5, 0.5)),
        pytest.approx((0.75, 0.6, 0.9)),
        pytest.approx((0.2, 0.1, 0.3)),
        pytest.approx((0.5, 0.5, 0.5)),
    ]


def test_best_at_n_query(filled):
    assert _rows(filled, BEST_AT_N) == [
        ("r1", "best_of_n", "tiny", "min", 1, 0.0, 0.0, 0.6, "", ""),
        ("r1", "best_of_n", "tiny", "min", 2, 0.33, 0.05, 0.8, "exact", "CP"),
        ("r1", "majority", "", "", 3, 0.67, 0.2, 0.94, "Monte-Carlo, 200 subsets", "CP"),
    ]


def test_summary_views(filled):
    problems = _rows(
        filled,
        "SELECT source_id, num_candidates, num_graded, num_correct FROM v_problem_summary ORDER BY source_id",
    )
    assert problems == [("p1", 3, 3, 2), ("p2", 2, 2, 1), ("p3", 2, 2, 0)]
    candidates = _rows(
        filled,
        "SELECT source_id, sample_index, num_steps, first_incorrect_step FROM v_candidate_summary "
        "WHERE source_id = 'p1' ORDER BY sample_index",
    )
    assert candidates == [("p1", 0, 2, 1), ("p1", 1, 2, None), ("p1", 2, 0, None)]
