"""The benchmarks at tiny sizes: the two methods of each must agree; timings are never asserted."""

from __future__ import annotations

import pytest

from benchmarks import check_names
from benchmarks.harness import BenchResult, markdown_table, time_interleaved


@pytest.fixture(autouse=True)
def one_torch_thread():
    # The CI machine's 2 cores are shared: two intra-op threads thrash and make these tests several times slower.
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_time_interleaved_alternates_order_and_passes_repetition_index():
    calls = []
    timing = time_interleaved(lambda r: calls.append(("a", r)), lambda r: calls.append(("b", r)), repeats=3)
    assert calls == [("a", -1), ("b", -1), ("a", 0), ("b", 0), ("b", 1), ("a", 1), ("a", 2), ("b", 2)]
    assert len(timing.baseline_s) == len(timing.ours_s) == 3


def test_unknown_benchmark_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown benchmark 'nope'; known: prm_scoring, generation"):
        check_names(["nope"])
    assert check_names(["curves", "prm_scoring"]) == ["prm_scoring", "curves"]


def test_markdown_table_row_and_target_met():
    result = BenchResult("x", "X", "naive", "ours", ratio=12.345, target=10.0, metrics={"rows/s": 5})
    saving = BenchResult("s", "S", "fixed", "early", ratio=0.25, target=0.30, unit="%")
    lines = markdown_table([result, saving]).splitlines()
    assert lines[2] == "| X | naive | ours | 12.3x | >= 10x | yes | rows/s=5 |"
    assert lines[3] == "| S | fixed | early | 25% | >= 30% | no |  |"


def test_store_writes_store_the_same_rows_per_row_and_bulk(tmp_path):
    from benchmarks.store_writes import compare_on
    from db.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'bench.db'}"
    upgrade(url)
    result = compare_on(url, "sqlite", n_rows=80, baseline_rows=5, repeats=1)
    assert result.checks == {"same_rows": True, "row_count": 80, "idempotent": True}
    assert result.ratio > 0


def test_exact_best_at_k_lies_within_the_monte_carlo_ci():
    from benchmarks.curves import compare, synthetic_pools

    pools = synthetic_pools(12, 8)
    result = compare("best", pools, repeats=1)
    assert result.checks["within_ci"] is True
    assert sorted(result.checks["values"]) == [1, 2, 4, 8]


def test_prm_one_pass_equals_per_step_loop():
    from benchmarks import prm_scoring

    (result,) = prm_scoring.run(quick=True)
    assert result.checks["max_abs_diff"] <= 1e-4
    assert result.size["candidates"] == 16


def test_batched_generation_gives_the_texts_of_separate_calls():
    from benchmarks import generation

    (result,) = generation.run(quick=True)
    assert result.checks == {"same_texts": True, "compared_samples": 8}


def test_compute_savings_reports_each_strategy_against_fixed_n():
    from benchmarks.compute_savings import _cost, simulated_pools

    pools = simulated_pools(10)
    # every simulated candidate with no injected error is the reference solution, hence correct
    assert all(c.correct == (c.text == p.solution) for p, cands, _, _ in pools for c in cands)
    fixed_acc, fixed_tokens = _cost(pools, "max", {})
    _, rerank_tokens = _cost(pools, "rerank", {"k": 4})
    # rerank generates the same 16 candidates but the PRM reads 4 of them instead of 16
    assert rerank_tokens < fixed_tokens
    assert 0.0 <= fixed_acc <= 1.0


def test_store_scaling_times_one_shard_of_each_size_through_the_flows_store_functions():
    from benchmarks.store_scaling import PHASES, measure

    result = measure("sqlite", (32, 64, 128), shard=16, repeats=1)
    assert result.checks == {"scored_per_shard": 256, "nothing_to_generate": True}
    assert result.name == "store_scaling_sqlite" and result.unit == "exp" and result.target == 1.1
    assert [len(per_size) for per_size in result.timing["wall_s_per_phase"]] == [1, 1, 1]
    assert all(len(times) == len(PHASES) for per_size in result.timing["wall_s_per_phase"] for times in per_size)
    assert len(result.timing["load_average_before"]) == 3
