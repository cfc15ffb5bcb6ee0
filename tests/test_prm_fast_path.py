"""The scoring fast path (fused GELU, head only at the step tags, LM read-out only at step tokens, device-sized
length-sorted batches) against a straightforward full-sequence forward, on tiny models built here, per head type."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
import torch
from prm_tiny import char_tokenizer, save_tiny, tiny_bert, tiny_gpt2_lm

from bon_core.device import ACCELERATOR_BATCH_TOKENS, CPU_BATCH_TOKENS, default_batch_tokens
from bon_core.prm import HeadConfig, PRMSpec, load_prm, new_prm
from bon_core.prm.batching import pad_batch
from bon_core.prm.encoding import StepFormat
from bon_core.prm.model import (
    NOT_A_STEP,
    HiddenLikelihoodHead,
    LikelihoodHead,
    TanhGELU,
    fuse_gelu,
    is_causal,
    last_block_mlp,
    mlp_only_at,
)
from bon_core.prm.scorer import prompt_groups

HEADS = ["hidden", "likelihood", "hidden+likelihood"]
NEWLINE = StepFormat(step_tag="\n", special_tag=False, prompt_template="Q: {problem}\n", step_prefix="")
FORMATS = {"special-tag": StepFormat(), "newline-tag": NEWLINE}
# Three candidates of one problem, two of another, one alone: budgets of 64 tokens or less make the first two
# groups share their prompt's forward (``prompt_groups``), the default budget pools everything.
PROBLEMS = ["3+4*(5-2)"] * 3 + ["9-2*3"] * 2 + ["7"]
CANDIDATES = [
    ["5-2=3 -> 3+4*3", "4*3=12 -> 3+12", "3+12=15", "Answer: 15"],
    ["5-2=3 -> 3+4*3", "4*3=13 -> 3+13", "Answer: 16"],
    ["5-2=3", "3+4*3=21"],
    ["2*3=6", "9-6=3"],
    ["2*3=6 -> 9-6", "9-6=3 -> 3", "Answer: 3"],
    ["7"],
]
FLOOR, SCALE = -20.0, 5.0  # the likelihood features' log-probability floor and scale (bon_core.prm.model)


@pytest.fixture(scope="module")
def lm_dir(tmp_path_factory):
    return tiny_gpt2_lm(tmp_path_factory.mktemp("gpt2"), n_embd=32)  # GPT-2's activation is gelu_new


def scoring_prm(lm_dir, inputs: str, fmt: StepFormat, max_length: int = 128):
    """A PRM whose every head weight matters: the likelihood heads start with their MLP's output at 0."""
    spec = PRMSpec(step_format=fmt, head=HeadConfig(inputs=inputs, hidden_dim=16, dropout=0.0), max_length=max_length)
    prm = new_prm(lm_dir, spec=spec, seed=1, device="cpu")
    generator = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for parameter in prm.model.reward_head.parameters():
            parameter.add_(0.3 * torch.randn(parameter.shape, generator=generator))
    return prm


def unfused_base(lm_dir, prm):
    """The PRM's base as transformers loads it (``gelu_new``, eight elementwise ops), with the PRM's weights."""
    from transformers import AutoModel
    from transformers.activations import NewGELUActivation

    base = AutoModel.from_pretrained(lm_dir)
    base.resize_token_embeddings(prm.model.base.get_input_embeddings().weight.shape[0])
    base.load_state_dict(prm.model.base.state_dict())
    assert any(type(m) is NewGELUActivation for m in base.modules())
    return base.eval()


@torch.no_grad()
def reference_scores(lm_dir, prm, problems, candidates) -> list[list[float]]:
    """One candidate at a time, unpadded: the full forward, the LM's log-softmax over the whole vocabulary at every
    position, each step's features by a plain loop over its tokens, the head read at each tag."""
    base, head = unfused_base(lm_dir, prm), prm.model.reward_head.eval()
    scores = []
    for enc in prm.encode(problems, candidates):
        ids = torch.tensor([enc.input_ids])
        hidden = base(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state[0]  # (T, H)
        log_probs = torch.log_softmax(hidden @ base.get_input_embeddings().weight.T, -1)  # (T, V), predicts t+1
        token_lp = [0.0] + [log_probs[t - 1, enc.input_ids[t]].item() for t in range(1, len(enc.input_ids))]
        token_lp = [max(x, FLOOR) for x in token_lp]
        logits, start, so_far = [], enc.body_start, []
        for tag in enc.tag_positions:
            own = token_lp[start : tag + 1]
            so_far += own
            features = torch.tensor([min(own), sum(own) / len(own), min(so_far), sum(so_far) / len(so_far)]) / SCALE
            if isinstance(head, LikelihoodHead):
                logits.append(head(features))
            elif isinstance(head, HiddenLikelihoodHead):
                logits.append(head(hidden[tag], features))
            else:
                logits.append(head(hidden[tag]))
            start = tag + 1
        scores.append(torch.sigmoid(torch.cat(logits)).tolist())
    return scores


def assert_close(a: list[list[float]], b: list[list[float]], tolerance: float = 1e-5) -> None:
    assert [len(x) for x in a] == [len(x) for x in b]
    worst = max(abs(x - y) for ra, rb in zip(a, b, strict=True) for x, y in zip(ra, rb, strict=True))
    assert worst <= tolerance, worst


@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("inputs", HEADS)
def test_scores_equal_a_full_forward_with_the_head_everywhere(lm_dir, inputs, fmt):
    prm = scoring_prm(lm_dir, inputs, FORMATS[fmt])
    assert not any(type(m).__name__ == "NewGELUActivation" for m in prm.model.base.modules())
    assert prm.shares_prompts
    encoded = prm.encode(PROBLEMS, CANDIDATES)
    assert prompt_groups(encoded, prm.batch_tokens) == ([], [0, 1, 2, 3, 4, 5])  # too few tokens to share
    assert prompt_groups(encoded, 64) == ([[0, 1, 2], [3, 4]], [5])
    reference = reference_scores(lm_dir, prm, PROBLEMS, CANDIDATES)
    # one batch of all; prompts shared, their steps in padded batches; one row per batch
    for budget in (None, 64, 1):
        assert_close(prm.score(PROBLEMS, CANDIDATES, max_batch_tokens=budget), reference)


@pytest.mark.parametrize("inputs", ["likelihood", "hidden+likelihood"])
def test_a_first_step_token_at_position_zero_reads_log_probability_zero(lm_dir, inputs):
    # max_length = the body's length: the prompt is truncated away and the first step starts the sequence.
    problems, candidates = ["1+2"], [["12+30=42", "42"]]
    prm = scoring_prm(lm_dir, inputs, NEWLINE, max_length=12)
    (enc,) = prm.encode(problems, candidates)
    assert enc.body_start == 0 and len(enc.input_ids) == 12
    assert_close(prm.score(problems, candidates), reference_scores(lm_dir, prm, problems, candidates))


@pytest.mark.parametrize("inputs", HEADS)
def test_tag_logits_are_the_training_forward_read_at_the_tags(lm_dir, inputs):
    prm = scoring_prm(lm_dir, inputs, NEWLINE)
    encoded = prm.encode(PROBLEMS, CANDIDATES)
    ids, mask = pad_batch([e.input_ids for e in encoded], prm.pad_id)
    step_index = torch.tensor(pad_batch([e.step_index() for e in encoded], NOT_A_STEP)[0])
    tag_mask = torch.zeros(len(ids), len(ids[0]), dtype=torch.bool)
    for row, e in enumerate(encoded):
        tag_mask[row, list(e.tag_positions)] = True
    batch = {"input_ids": torch.tensor(ids), "attention_mask": torch.tensor(mask), "step_index": step_index}
    prm.model.eval()
    with torch.no_grad():
        everywhere = prm.model(**batch)["logits"]  # (B, T): what training reads
        at_tags = prm.model.tag_logits(**batch, tag_mask=tag_mask)
    assert at_tags.shape == (sum(len(c) for c in CANDIDATES),)
    assert torch.allclose(at_tags, everywhere[tag_mask], atol=1e-5)
    first = [i for i, problem in enumerate(PROBLEMS) if problem == PROBLEMS[0]]  # rows that share a prompt
    rows = {k: v[first] for k, v in batch.items()}
    prompt = rows["input_ids"][:1, : encoded[0].body_start]
    with torch.no_grad():
        shared = prm.model.tag_logits(**rows, tag_mask=tag_mask[first], prefix=prm.model.prefix_state(prompt))
        with pytest.raises(ValueError, match="do not extend a prefix"):
            prm.model.tag_logits(**{k: v[:, :3] for k, v in rows.items()}, tag_mask=tag_mask[first, :3],
                                 prefix=prm.model.prefix_state(prompt))  # fmt: skip
    assert torch.allclose(shared, everywhere[first][tag_mask[first]], atol=1e-5)


def test_fuse_gelu_swaps_gelu_new_only_and_keeps_the_function(lm_dir, tmp_path):
    from transformers import AutoModel, BertModel

    base = AutoModel.from_pretrained(lm_dir).eval()
    ids = torch.tensor([[5, 9, 13, 2, 7, 30, 11]])
    with torch.no_grad():
        before = base(input_ids=ids).last_hidden_state
        assert fuse_gelu(base) == base.config.n_layer and fuse_gelu(base) == 0
        after = base(input_ids=ids).last_hidden_state
    assert sum(isinstance(m, TanhGELU) for m in base.modules()) == base.config.n_layer
    assert torch.allclose(before, after, atol=1e-5)
    x = torch.linspace(-6, 6, 1001, requires_grad=True)
    from transformers.activations import NewGELUActivation

    (grad_fused,) = torch.autograd.grad(TanhGELU()(x).sum(), x)
    (grad_new,) = torch.autograd.grad(NewGELUActivation()(x).sum(), x)
    assert torch.allclose(TanhGELU()(x), NewGELUActivation()(x), atol=1e-6)
    assert torch.allclose(grad_fused, grad_new, atol=1e-5)  # training through the swap learns the same
    with torch.no_grad():  # without autograd: x·sigmoid(2u), in place in one buffer, same values; x is untouched
        kept = x.clone()
        assert torch.allclose(TanhGELU()(x), NewGELUActivation()(x), atol=1e-6) and torch.equal(x, kept)
    assert fuse_gelu(BertModel.from_pretrained(tiny_bert(tmp_path / "bert"))) == 0  # exact gelu: already fused
    prm = new_prm(lm_dir, spec=PRMSpec(head=HeadConfig(hidden_dim=8)), device="cpu")
    prm.save_pretrained(tmp_path / "prm")
    assert json.loads((tmp_path / "prm" / "config.json").read_text())["activation_function"] == "gelu_new"


def test_only_a_causal_base_shares_prompts(lm_dir, tmp_path):
    from transformers import AutoModel

    causal, encoder = AutoModel.from_pretrained(lm_dir).train(), AutoModel.from_pretrained(tiny_bert(tmp_path))
    assert is_causal(causal) and causal.training  # the probe runs in eval mode and restores the mode
    assert not is_causal(encoder)
    prm = new_prm(tmp_path, spec=PRMSpec(head=HeadConfig(hidden_dim=8)), device="cpu")
    assert not prm.shares_prompts
    many = ["1+1"] * 8
    steps = [["1+1=2", "2"]] * 8
    assert_close(prm.score(many, steps, max_batch_tokens=1), prm.score(many, steps))


def test_batch_size_is_chosen_by_device_unless_the_spec_sets_it(lm_dir, tmp_path):
    assert default_batch_tokens("cpu") == CPU_BATCH_TOKENS < ACCELERATOR_BATCH_TOKENS
    assert default_batch_tokens(torch.device("cuda")) == ACCELERATOR_BATCH_TOKENS  # no GPU needed to ask
    prm = new_prm(lm_dir, spec=PRMSpec(head=HeadConfig(hidden_dim=8)), device="cpu")
    assert prm.spec.max_batch_tokens is None and prm.batch_tokens == CPU_BATCH_TOKENS
    fixed = type(prm)(prm.model, prm.tokenizer, replace(prm.spec, max_batch_tokens=300), device="cpu")
    assert fixed.batch_tokens == 300
    prm.save_pretrained(tmp_path / "prm")
    spec_file = tmp_path / "prm" / "bon_prm.json"
    assert json.loads(spec_file.read_text())["max_batch_tokens"] is None
    legacy = {**json.loads(spec_file.read_text()), "max_batch_tokens": 16384}  # every earlier file's default
    spec_file.write_text(json.dumps(legacy))
    assert load_prm(tmp_path / "prm", device="cpu").batch_tokens == CPU_BATCH_TOKENS
    assert PRMSpec.from_json_dict({**legacy, "max_batch_tokens": 2048}).max_batch_tokens == 2048
    with pytest.raises(ValueError, match="max_batch_tokens must be >= 1 or None"):
        PRMSpec(max_batch_tokens=0)


def test_published_lm_head_runs_only_at_the_read_columns(tmp_path):
    from transformers import MistralConfig, MistralForCausalLM

    from bon_core.prm.published import keeps_logits_at_positions

    tok = char_tokenizer(extra_tokens=("ки",))
    torch.manual_seed(0)
    small = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2)
    config = MistralConfig(
        vocab_size=len(tok), max_position_embeddings=512, pad_token_id=0, num_key_value_heads=2, **small
    )
    prm = load_prm(save_tiny(MistralForCausalLM(config), tok, tmp_path), format="math-shepherd", device="cpu")
    assert keeps_logits_at_positions(prm.model) and prm.batch_tokens == CPU_BATCH_TOKENS
    plus, minus = tok.encode("+", add_special_tokens=False)[-1], tok.encode("-", add_special_tokens=False)[-1]
    tag = tok.encode("ки", add_special_tokens=False)[-1]
    reference = []
    for problem, steps in zip(PROBLEMS, CANDIDATES, strict=True):
        ids = torch.tensor([tok.encode(problem + " " + "\n".join(f"{s} ки" for s in steps))])
        with torch.no_grad():
            probs = prm.model(input_ids=ids).logits[0][:, [plus, minus]].softmax(-1)[:, 0]
        reference.append(probs[ids[0] == tag].tolist())
    for budget in (None, 1):
        assert_close(prm.score(PROBLEMS, CANDIDATES, max_batch_tokens=budget), reference)


def test_benchmark_flops_count_matmuls_only_where_computed(lm_dir):
    from benchmarks.models import prm_in_memory
    from benchmarks.prm_scoring import arith_candidates, compare, scoring_flops

    prm = prm_in_memory(n_layer=1, n_embd=32, n_head=2, device="cpu")
    result = compare(prm, arith_candidates(2, steps=(8, 8)), "x", "x", None, repeats=1)
    assert result.checks["max_abs_diff"] <= 1e-4 and result.size["steps"] == 16
    encoded = prm.encode(["1+2"], [["1+2=3", "3"]])
    base = prm.model.base
    layer_params = sum(p.numel() for p in base.h.parameters()) + sum(p.numel() for p in base.ln_f.parameters())
    mlp_params = sum(p.numel() for p in base.h[-1].mlp.parameters())  # the last MLP runs at the 2 tags only
    tokens = len(encoded[0].input_ids)
    parts = scoring_flops(prm, encoded)
    assert parts["body"] == 2 * (layer_params - mlp_params) * tokens + 2 * mlp_params * 2  # no wte / wpe: lookups
    assert parts["attention"] == 2 * 2 * 1 * tokens**2 * 32
    assert parts["head"] == 2 * sum(p.numel() for p in prm.model.reward_head.parameters()) * 2
    assert parts["lm_head"] == 0  # a hidden-state head never computes the LM read-out
    # Three candidates of one problem whose steps fill half of a 16-token batch: the prompt is computed once.
    small = type(prm)(prm.model, prm.tokenizer, replace(prm.spec, max_batch_tokens=16), device="cpu")
    group = small.encode(["1+2"] * 3, [["1+2=3", "3"], ["1+2=4"], ["1+2=3", "3", "3"]])
    prompt, lengths = group[0].body_start, [len(e.input_ids) for e in group]
    shared = scoring_flops(small, group)
    steps_tokens = sum(t - prompt for t in lengths)
    assert (
        shared["body"]
        == 2 * layer_params * prompt + 2 * (layer_params - mlp_params) * steps_tokens + 2 * mlp_params * 6
    )
    assert shared["attention"] == 2 * 2 * 32 * (prompt**2 + sum((t - prompt) * t for t in lengths))
    likelihood = scoring_prm(lm_dir, "likelihood", NEWLINE)
    (enc,) = likelihood.encode(["1+2"], [["1+2=3", "3"]])
    vocab, width = likelihood.model.base.get_input_embeddings().weight.shape
    assert scoring_flops(likelihood, [enc])["lm_head"] == 2 * vocab * width * (len(enc.input_ids) - enc.body_start)


def test_the_last_mlp_runs_only_where_read_and_scores_stay_those_of_a_full_forward(lm_dir, tmp_path):
    from transformers import BertModel

    prm = scoring_prm(lm_dir, "hidden", StepFormat())
    base, mlp = prm.model.base.eval(), prm.model.base.h[-1].mlp
    assert last_block_mlp(base) is mlp and last_block_mlp(BertModel.from_pretrained(tiny_bert(tmp_path))) is None
    ids = torch.tensor([[5, 9, 13, 2, 7, 30, 11], [4, 8, 12, 6, 3, 2, 1]])
    rows = torch.zeros(ids.shape, dtype=torch.bool)
    rows[0, 3] = rows[1, 6] = True
    seen = []
    handle = mlp.register_forward_hook(lambda module, args, out: seen.append(out))
    with torch.no_grad():
        full = base(input_ids=ids).last_hidden_state
        with mlp_only_at(mlp, rows):
            narrowed = base(input_ids=ids).last_hidden_state
        again = base(input_ids=ids).last_hidden_state
    handle.remove()
    assert seen[1].shape == (2, 32)  # the MLP computed the 2 read rows only (this hook runs before the widening)
    assert torch.allclose(narrowed[rows], full[rows], atol=1e-6) and not torch.allclose(narrowed, full, atol=1e-3)
    assert torch.equal(again, full)  # the hooks are gone on leaving
    with torch.no_grad(), mlp_only_at(mlp, rows), ThreadPoolExecutor(1) as pool:
        # a model shared by threads: a forward in another thread is not narrowed
        elsewhere = pool.submit(lambda: base(input_ids=ids).last_hidden_state).result()
    assert torch.allclose(elsewhere, full, atol=1e-6)
    reference = reference_scores(lm_dir, prm, PROBLEMS, CANDIDATES)
    for budget in (None, 64):  # pooled, and sharing the prompts' forwards
        assert_close(prm.score(PROBLEMS, CANDIDATES, max_batch_tokens=budget), reference)
