"""The hf backend on a tiny real GPT-2: reproducible, batch-independent sampling with a shared prompt cache."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, GPT2Config, GPT2LMHeadModel

from bon_core.generation import get_backend
from bon_core.generation.char_tokenizer import build_char_tokenizer
from bon_core.types import GenerationConfig

PROMPTS = ["Q: 1+2\n", "Q: 3*4-(5+6)\n", "Q: 7*8\n", "Q: 9-1-2-3+4\n"]
CONFIG = GenerationConfig(temperature=1.0, max_new_tokens=16, seed=3, batch_size=64)


@pytest.fixture(scope="module")
def backend():
    torch.manual_seed(0)
    tok = build_char_tokenizer()
    config = GPT2Config(vocab_size=len(tok), n_positions=64, n_embd=32, n_layer=2, n_head=2, eos_token_id=2)
    return get_backend("hf", model=GPT2LMHeadModel(config), tokenizer=tok)


def texts(results):
    return [[s.text for s in samples] for samples in results]


def test_batched_shared_prefix_equals_one_at_a_time(backend):
    batched = backend.generate(PROMPTS, 4, CONFIG)
    alone = [backend.generate([p], 4, CONFIG)[0] for p in PROMPTS]
    assert texts(batched) == texts(alone)
    for a, b in zip(batched, alone, strict=True):
        for x, y in zip(a, b, strict=True):
            assert x.num_tokens == y.num_tokens and x.sum_logprob == pytest.approx(y.sum_logprob, abs=1e-4)
    # four distinct samples per prompt (a random model over 100 characters does not repeat itself)
    assert all(len(set(t)) == 4 for t in texts(batched))


def test_sample_index_fixes_the_text_whatever_the_batch(backend):
    full = backend.generate(PROMPTS, 4, CONFIG)
    # other order, other batch size, samples 2..3 only (an interrupted run resumed at sample_offset=2)
    resumed = backend.generate(PROMPTS[::-1], 2, replace(CONFIG, batch_size=3), sample_offset=2)[::-1]
    assert [[s.sample_index for s in r] for r in resumed] == [[2, 3]] * 4
    assert texts(resumed) == [t[2:] for t in texts(full)]
    assert texts(backend.generate(PROMPTS, 4, replace(CONFIG, seed=4))) != texts(full)


def test_records_tokens_logprobs_and_finish_reason(backend):
    (samples,) = backend.generate(PROMPTS[:1], 3, CONFIG)
    for s in samples:
        assert s.finish_reason in ("stop", "length")
        assert 1 <= s.num_tokens <= 16 and s.sum_logprob < 0
        assert s.mean_logprob == pytest.approx(s.sum_logprob / s.num_tokens)
        if s.finish_reason == "length":
            assert s.num_tokens == 16
    stopped = backend.generate(PROMPTS, 8, replace(CONFIG, stop=("a", "e", "i", "o")))
    flat = [s for r in stopped for s in r]
    assert all(not any(c in s.text for c in "aeio") for s in flat)
    assert any(s.finish_reason == "stop" and s.num_tokens < 16 for s in flat)


def test_greedy_is_deterministic_and_ignores_seed(backend):
    greedy = replace(CONFIG, do_sample=False)
    assert texts(backend.generate(PROMPTS, 2, greedy)) == texts(backend.generate(PROMPTS, 2, replace(greedy, seed=9)))
    assert all(len(set(t)) == 1 for t in texts(backend.generate(PROMPTS, 2, greedy)))


def test_top_k_one_equals_greedy(backend):
    greedy = texts(backend.generate(PROMPTS, 1, replace(CONFIG, do_sample=False)))
    assert texts(backend.generate(PROMPTS, 1, replace(CONFIG, top_k=1))) == greedy
    assert texts(backend.generate(PROMPTS, 1, replace(CONFIG, top_p=1e-6))) == greedy


def test_beam_search_and_diverse_beam_refusal(backend):
    beams = backend.generate(PROMPTS[:2], 3, replace(CONFIG, do_sample=False, num_beams=3))
    assert [len(b) for b in beams] == [3, 3]
    assert all(s.sum_logprob < 0 for b in beams for s in b)
    with pytest.raises(ValueError, match="group-beam-search"):
        backend.generate(PROMPTS, 2, replace(CONFIG, num_beams=4, num_beam_groups=2, diversity_penalty=0.5))
    with pytest.raises(ValueError, match="at most num_beams"):
        backend.generate(PROMPTS, 5, replace(CONFIG, do_sample=False, num_beams=3))


def test_loads_from_path_and_unknown_backend(backend, tmp_path):
    backend.model.save_pretrained(tmp_path)
    backend.tokenizer.save_pretrained(tmp_path)
    assert AutoTokenizer.from_pretrained(tmp_path).decode([54, 31]) == "Q:"
    AutoModelForCausalLM.from_pretrained(tmp_path)
    loaded = get_backend("hf", model=str(tmp_path))
    assert texts(loaded.generate(PROMPTS, 2, CONFIG)) == texts(backend.generate(PROMPTS, 2, CONFIG))
    with pytest.raises(ValueError, match="unknown generation backend 'vllm'; known: hf, openai"):
        get_backend("vllm")
    with pytest.raises(ValueError, match="cannot load causal LM"):
        get_backend("hf", model=str(tmp_path / "missing"))
