"""Which scorer and aggregation a strategy or curve reads comes from the registries (``STRATEGIES``,
``CURVE_METRICS``, ``AGGREGATORS``), never from lists of names: a strategy registered as reading no scorer is
treated as such by the evaluation, whatever its name."""

from __future__ import annotations

import pytest

from bon_core.aggregate import AGGREGATORS
from bon_core.evaluation import evaluate_pools
from bon_core.metrics import CURVE_METRICS, curve_uses_scorer
from bon_core.scorer_choice import (
    DEFAULT_AGGREGATION,
    KIND_AGGREGATION,
    ScoreSet,
    natural_aggregation,
    primary_label,
    primary_score_set,
    reads_scorer,
)
from bon_core.select import STRATEGIES, register
from bon_core.select.registry import build_selection
from bon_core.types import Candidate

POOL = tuple(Candidate("p", i, f"p-{i}", num_tokens=10, answer=a, correct=a == "4") for i, a in enumerate("454"))
SCORES = {("p", 0): 0.1, ("p", 1): 0.9, ("p", 2): 0.2}


def test_curves_read_a_scorer_exactly_when_their_strategy_does():
    assert {m: curve_uses_scorer(m) for m in CURVE_METRICS} == {
        "pass": False,
        "best": True,
        "maj": False,
        "weighted": True,
    }
    assert all(curve_uses_scorer(m) == STRATEGIES[s].uses_scorer() for m, s in CURVE_METRICS.items())
    with pytest.raises(ValueError, match="unknown curve metric 'top'"):
        curve_uses_scorer("top")


def test_reads_scorer_follows_the_registry_and_its_parameters():
    assert reads_scorer("max") and reads_scorer("weighted") and reads_scorer("early_stop")
    assert not reads_scorer("majority") and not reads_scorer("random") and not reads_scorer("oracle")
    assert not reads_scorer("adaptive_n") and reads_scorer("adaptive_n", {"then": "max"})
    assert reads_scorer("not-registered")  # reaches select(), which names the known strategies


def test_primary_score_set_and_label():
    first, second = ScoreSet("prm", "min", {}), ScoreSet("prm", "last", {})
    assert second.label == "prm:last"
    assert primary_score_set([first, second], "prm:last") is second
    assert primary_score_set([first, second], "orm:min") is first  # unknown label: the first
    assert primary_score_set([first, second]) is first
    assert primary_score_set([], "prm:min") is None
    assert primary_label({"prm": ["last", "min"], "orm": ["last"]}) == "prm:last"
    assert primary_label({"prm": []}) == f"prm:{DEFAULT_AGGREGATION}"
    assert primary_label({}) is None


def test_natural_aggregations_are_registered_aggregators():
    assert set(KIND_AGGREGATION.values()) <= set(AGGREGATORS) and DEFAULT_AGGREGATION in AGGREGATORS
    assert (natural_aggregation("prm"), natural_aggregation("orm")) == ("min", "last")
    assert natural_aggregation("ensemble") == DEFAULT_AGGREGATION


def test_a_newly_registered_scorer_free_strategy_is_stored_without_a_scorer():
    @register("first_sample", needs_scores=False)
    def first_sample(candidates, scores, params, normalize):
        return build_selection(candidates, 0, "first_sample", params, used=1, scored=())

    try:
        evaluation = evaluate_pools({"p": POOL}, [ScoreSet("prm", "min", SCORES)], strategies=(("first_sample", {}),))
        assert evaluation.scorer_of == {}
        (point,) = evaluation.selection_points
        assert (point.strategy, point.scorer, point.aggregation, point.value) == ("first_sample", "", "", 1.0)
        no_scorer = evaluate_pools({"p": POOL}, [], strategies=(("first_sample", {}), ("max", {})))
        assert set(no_scorer.selections) == {"first_sample"}
        assert "max skipped: it needs a scorer and none was given" in no_scorer.notes
    finally:
        del STRATEGIES["first_sample"]
