"""Compute accounting, one definition: scorer tokens = prompt + candidate (policy tokens) per candidate the scorer
read; strategies without a scorer record none; early_stop's threshold is a quantile of validation scores.

The last test runs ``select_evaluate`` on a real SQLite store, a real Prefect test harness and a real MLflow store.
"""

from __future__ import annotations

import json
import math

import pytest
from sqlalchemy import text

from bon_core.evaluation import ScoreSet, evaluate_pools
from bon_core.select import calibrate_threshold, scorer_input_tokens, select
from bon_core.types import Candidate, Problem

ANSWERS = ["7", "8", "7", "8", "9"]
SCORES = [0.6, 0.9, 0.3, 0.5, 0.9]


def make_pool(answers=ANSWERS, tokens=(10, 20, 30, 40, 50), pid="p", reference="7"):
    return [
        Candidate(pid, i, f"t{i}", num_tokens=t, answer=a, correct=a == reference)
        for i, (a, t) in enumerate(zip(answers, tokens, strict=True))
    ]


def test_scorer_tokens_include_the_prompt():
    assert scorer_input_tokens(13, Candidate("p", 0, "x", num_tokens=66)) == 79
    s = select(make_pool(), SCORES, "max", prompt_tokens=13)
    assert (s.scorer_calls, s.scorer_tokens, s.tokens_used) == (5, 150 + 5 * 13, 150)
    s = select(make_pool(), SCORES, "weighted", prompt_tokens=13)
    assert (s.scorer_calls, s.scorer_tokens) == (5, 215)


def test_budget_strategies_count_only_what_the_scorer_read():
    s = select(make_pool(), SCORES, "early_stop", {"threshold": 0.85}, prompt_tokens=13)
    assert (s.candidates_used, s.scorer_calls, s.scorer_tokens) == (2, 2, 10 + 20 + 2 * 13)
    s = select(make_pool(), SCORES, "rerank", {"k": 2, "cheap_scores": [1, 2, 3, 4, 5]}, prompt_tokens=13)
    assert (s.scorer_calls, s.scorer_tokens) == (2, 50 + 40 + 2 * 13)  # the kept samples 4 and 3
    s = select(make_pool(), SCORES, "adaptive_n", {"n0": 2, "agree": 1.0, "then": "max"}, prompt_tokens=13)
    assert (s.candidates_used, s.scorer_calls, s.scorer_tokens) == (5, 5, 215)  # 7 vs 8 disagree: all five


@pytest.mark.parametrize("strategy", ["majority", "random", "oracle", "adaptive_n"])
def test_strategies_without_a_scorer_record_zero_scorer_compute(strategy):
    s = select(make_pool(), SCORES, strategy, prompt_tokens=13)
    assert (s.scorer_calls, s.scorer_tokens) == (0, 0)


def test_prompt_tokens_must_be_a_count():
    with pytest.raises(ValueError, match="prompt_tokens must be an integer >= 0, got -1"):
        select(make_pool(), SCORES, "max", prompt_tokens=-1)


def test_curves_and_selections_use_the_same_scorer_tokens():
    pools = {
        "p1": tuple(make_pool(["1", "2"], (66, 66), pid="p1", reference="1")),
        "p2": tuple(make_pool(["3", "3"], (20, 40), pid="p2", reference="3")),
    }
    scores = ScoreSet("prm", "min", {("p1", 0): 0.2, ("p1", 1): 0.7, ("p2", 0): 0.5, ("p2", 1): 0.1})
    strategies = (("max", {}), ("majority", {}))
    evaluation = evaluate_pools(pools, [scores], strategies=strategies, prompt_tokens={"p1": 13, "p2": 7})
    points = {(p.strategy, p.n): p for p in evaluation.curves}
    # per candidate: p1 79, 79; p2 27, 47 -> mean over problems of their means (79 + 37) / 2 = 58, times k
    assert points[("max", 2)].scorer_tokens == 116.0 and points[("max", 1)].scorer_tokens == 58.0
    assert points[("majority", 2)].scorer_tokens == 0.0
    chosen = {p.strategy: p for p in evaluation.selection_points}
    assert chosen["max"].scorer_tokens == (158 + 74) / 2  # all of each pool read, prompt included
    assert chosen["majority"].scorer_tokens == 0.0
    assert chosen["max"].policy_tokens == (132 + 60) / 2
    assert "scorer tokens = prompt + candidate tokens (policy tokenizer) per candidate the scorer read" in (
        evaluation.notes
    )
    unknown = evaluate_pools(pools, [scores], strategies=strategies)
    assert {p.strategy: p.scorer_tokens for p in unknown.selection_points} == {
        "max": 96.0,
        "majority": 0.0,
    }  # candidates only
    assert any("prompt length unknown, not counted" in n for n in unknown.notes)
    with pytest.raises(ValueError, match=r"prompt_tokens has no entry for problem\(s\) \['p2'\]"):
        evaluate_pools(pools, [scores], strategies=strategies, prompt_tokens={"p1": 13})


def test_threshold_is_a_quantile_of_validation_scores():
    validation = [[0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8, 0.9, 1.0]]
    assert math.isclose(calibrate_threshold(validation, 0.9), 0.91)  # position 8.1 of 0..9: 0.9 + 0.1 * 0.1
    assert calibrate_threshold(validation, 0.0) == 0.1 and calibrate_threshold(validation, 1.0) == 1.0
    with pytest.raises(ValueError, match="hold no candidate scores"):
        calibrate_threshold([[], []])
    with pytest.raises(ValueError, match="contain NaN"):
        calibrate_threshold([[0.1, float("nan")]])
    with pytest.raises(ValueError, match=r"threshold quantile must be a number in \[0, 1\], got 1.5"):
        calibrate_threshold(validation, 1.5)


def test_evaluation_calibrates_early_stop_on_validation_or_skips_it():
    pools = {"p": tuple(make_pool())}
    scores = ScoreSet("prm", "min", {("p", i): s for i, s in enumerate(SCORES)})
    strategies = (("early_stop", {}),)
    skipped = evaluate_pools(pools, [scores], strategies=strategies)
    assert "early_stop" not in skipped.selections
    assert "early_stop skipped: no validation scores to calibrate its threshold on" in skipped.notes
    validation = [[0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8]]  # quantile 0.5 = 0.45: stop at sample 0 (0.6)
    evaluation = evaluate_pools(
        pools, [scores], strategies=strategies, validation_scores=validation, threshold_quantile=0.5
    )
    (chosen,) = evaluation.selections["early_stop"]
    assert math.isclose(chosen.params["threshold"], 0.45)
    assert (chosen.sample_index, chosen.candidates_used, chosen.scorer_calls) == (0, 1, 1)
    assert "early_stop threshold 0.4500 = quantile 0.5 of 8 validation candidate scores (2 problems)" in (
        evaluation.notes
    )


def test_compute_savings_benchmark_counts_the_prompt_and_chooses_on_validation():
    from benchmarks.compute_savings import _cost, choose, simulated_pools

    candidates = make_pool()
    pools = [(None, candidates, SCORES, 13)]
    assert _cost(pools, "max", {}) == (0.0, 150 + 150 + 5 * 13)  # picks sample 1 ("8"): wrong
    assert _cost(pools, "majority", {}) == (1.0, 150.0)  # no scorer tokens at all
    points = [({"k": 1}, 0.9, 10.0), ({"k": 2}, 0.95, 20.0), ({"k": 4}, 0.95, 30.0)]
    assert choose(points, 0.95) == ({"k": 2}, 0.95, 20.0)  # cheapest reaching the target
    assert choose(points, 0.99) == ({"k": 2}, 0.95, 20.0)  # none reaches it: the most accurate (first of ties)
    validation, test = simulated_pools(5, seed=1, split="validation"), simulated_pools(5, seed=0, split="test")
    assert not {p.source_id for p, *_ in validation} & {p.source_id for p, *_ in test}


# --- the flow -------------------------------------------------------------------------------------------------


def _seed_run(session, name, policy, problems, pools, scorer_id):
    """Store a run of handmade candidates and their ``min`` scores: ``pools`` maps source id -> [(answer,
    tokens, score)]."""
    from db import reads
    from db import repository as repo

    run_id = repo.create_run(session, name, "arith", policy, {}, 0)
    ids = repo.upsert_problems(session, problems)
    by_id = {p.source_id: p for p in problems}
    candidates = [
        Candidate(pid, i, f"{pid}-{i}", num_tokens=t, answer=a, correct=a == by_id[pid].reference)
        for pid, rows in pools.items()
        for i, (a, t, _) in enumerate(rows)
    ]
    repo.upsert_candidates(session, run_id, ids, candidates)
    cids = reads.candidate_ids(session, run_id)
    rows = [(cids[(pid, i)], "min", s) for pid, rows in pools.items() for i, (_, _, s) in enumerate(rows)]
    repo.upsert_candidate_scores(session, scorer_id, rows)


def test_select_evaluate_records_scorer_compute_and_calibrated_threshold(prefect_harness, tracking, tmp_path):
    from bon_core.generation.char_tokenizer import build_char_tokenizer
    from bon_core.types import ScorerInfo
    from db import repository as repo
    from db.engine import make_engine, session_factory
    from db.migrate import upgrade
    from flows.select_evaluate import select_evaluate_flow

    url = f"sqlite:///{tmp_path}/store.db"
    upgrade(url)
    policy = tmp_path / "policy"
    build_char_tokenizer().save_pretrained(policy)  # one token per character: "Q: 2+3*4\n" is 9 tokens
    test_problems = [Problem("arith", "a1", "2+3*4", "14"), Problem("arith", "a2", "9-4", "5")]
    val_problems = [Problem("arith", "v1", "1+1", "2"), Problem("arith", "v2", "2*3", "6")]
    engine = make_engine(url)
    with session_factory(engine).begin() as session:
        scorer_id = repo.upsert_scorer(session, ScorerInfo("prm", "acct-prm", "1"))
        test_pools = {
            "a1": [("14", 10, 0.2), ("15", 20, 0.9), ("14", 30, 0.3), ("15", 40, 0.4)],  # tie 14/15
            "a2": [("5", 10, 0.5), ("5", 10, 0.6), ("6", 10, 0.1), ("7", 10, 0.2)],
        }
        _seed_run(session, "acct-test", str(policy), test_problems, test_pools, scorer_id)
        val_pools = {
            "v1": [("2", 5, 0.1), ("2", 5, 0.2), ("3", 5, 0.3), ("2", 5, 0.4)],
            "v2": [("6", 5, 0.5), ("6", 5, 0.6), ("6", 5, 0.7), ("5", 5, 0.8)],
        }
        _seed_run(session, "acct-val", str(policy), val_problems, val_pools, scorer_id)

    with pytest.raises(ValueError, match="validation run 'acct-test' has no 'last' scores from scorer 'acct-prm'"):
        select_evaluate_flow(url, "acct-test", {"acct-prm": ["last"]}, validation_run="acct-test")

    report = select_evaluate_flow(url, "acct-test", {"acct-prm": ["min"]}, validation_run="acct-val",
                                  out_dir=str(tmp_path / "results"))  # fmt: skip
    # quantile 0.9 of the 8 validation scores 0.1..0.8: position 6.3 -> 0.73
    assert "early_stop threshold 0.7300 = quantile 0.9 of 8 validation candidate scores (2 problems)" in report.notes
    assert "Notes:" in report.markdown and "lowest sample index" in report.markdown

    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT s.strategy, p.source_id, s.scorer_id, s.sample_index, s.candidates_used, s.scorer_calls, "
                "s.params FROM selections s JOIN problems p ON p.id = s.problem_id ORDER BY 1, 2"
            )
        ).all()
        evaluations = dict(
            conn.execute(
                text("SELECT strategy, scorer_tokens FROM evaluations WHERE metric = 'selection_accuracy'")
            ).all()
        )
        majority = conn.execute(
            text("SELECT metric, value FROM evaluations WHERE strategy = 'majority' AND n = 4 ORDER BY metric")
        ).all()
    engine.dispose()
    chosen = {(r[0], r[1]): r[2:] for r in rows}
    # majority: no scorer recorded, no calls; the 14/15 tie goes to sample 0 (14), not to the scorer's 15
    assert chosen[("majority", "a1")][:4] == (None, 0, 4, 0)
    assert chosen[("majority", "a2")][:4] == (None, 0, 4, 0)
    # the stored majority selection equals the maj@k curve at k = n (both right on a1 and a2) ...
    assert [tuple(r) for r in majority] == [("accuracy", 1.0), ("selection_accuracy", 1.0)]
    # ... while the scorer-tie-broken variant follows the scorer to 15 on a1, and records it
    assert chosen[("majority_tiebreak", "a1")][:4] == (scorer_id, 1, 4, 4)
    assert chosen[("random", "a1")][0] is None and chosen[("oracle", "a1")][0] is None
    assert chosen[("max", "a1")][:4] == (scorer_id, 1, 4, 4)
    # early_stop at 0.73: a1 stops at sample 1 (0.9) after 2; a2 never clears it, so max over all 4 (sample 1)
    assert chosen[("early_stop", "a1")][:4] == (scorer_id, 1, 2, 2)
    assert chosen[("early_stop", "a2")][:4] == (scorer_id, 1, 4, 4)
    params = chosen[("early_stop", "a1")][4]
    assert math.isclose((json.loads(params) if isinstance(params, str) else params)["threshold"], 0.73)
    # scorer tokens per problem: prompts "Q: 2+3*4\n" = 9 and "Q: 9-4\n" = 7 tokens
    assert evaluations["majority"] == 0.0 and evaluations["random"] == 0.0 and evaluations["oracle"] == 0.0
    assert evaluations["max"] == ((100 + 4 * 9) + (40 + 4 * 7)) / 2  # 102
    assert evaluations["early_stop"] == ((10 + 20 + 2 * 9) + (40 + 4 * 7)) / 2  # 58
