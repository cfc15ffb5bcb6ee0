"""Published PRM formats on tiny randomly initialised models of the right architecture.

Each adapter is compared with an independent re-implementation of its authors' reference scoring code (one
forward per candidate, or per step for RLHFlow), and must give one score per step, in [0, 1], that moves when a
step changes.
"""

from __future__ import annotations

import pytest
import torch
from prm_tiny import LLAMA_CHAT_TEMPLATE, QWEN_CHAT_TEMPLATE, char_tokenizer, save_tiny

from bon_core.prm import PRM_FORMATS, get_format, load_prm
from bon_core.prm.published import QWEN_SYSTEM

PROBLEM = "3+4*2"
STEPS = ["4*2=8", "3+8=11", "Answer: 11"]
CHANGED = ["4*2=8", "3+8=12", "Answer: 11"]
SMALL = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2)


def _build(directory, tokenizer, config_class, model_class, **extra):
    torch.manual_seed(0)
    config = config_class(vocab_size=len(tokenizer), max_position_embeddings=512, pad_token_id=0, **SMALL, **extra)
    return save_tiny(model_class(config), tokenizer, directory)


def _check(prm, reference_scores):
    (scores,) = prm.score([PROBLEM], [STEPS])
    assert len(scores) == len(STEPS) and all(0.0 <= s <= 1.0 for s in scores)
    assert scores == pytest.approx(reference_scores, abs=1e-5)
    (changed,) = prm.score([PROBLEM], [CHANGED])
    assert changed[0] == pytest.approx(scores[0], abs=1e-6)  # causal: an earlier step cannot see a later one
    assert abs(changed[1] - scores[1]) > 1e-6
    both = prm.score([PROBLEM, PROBLEM], [STEPS[:1], STEPS], max_batch_tokens=10_000)  # padded batch
    assert both[1] == pytest.approx(scores, abs=1e-5) and both[0] == pytest.approx(scores[:1], abs=1e-5)


def test_qwen_prm_reads_two_class_softmax_index_1_at_extra_0(tmp_path):
    from transformers import Qwen2Config, Qwen2ForTokenClassification

    tok = char_tokenizer(special=("<extra_0>", "<|im_start|>", "<|im_end|>"), chat_template=QWEN_CHAT_TEMPLATE)
    path = _build(tmp_path, tok, Qwen2Config, Qwen2ForTokenClassification, num_labels=2)
    # The real checkpoint needs its remote code (offline here); a token-classification head has its output contract.
    prm = load_prm(path, format="qwen-prm", device="cpu", model_class="AutoModelForTokenClassification")
    # Authors' reference: chat template, "<extra_0>".join(steps) + "<extra_0>", softmax, probability index 1. It uses
    # the tokenizer as AutoTokenizer loads it (transformers 5 rebuilds a Qwen2Tokenizer for model type qwen2).
    tok = prm.tokenizer
    messages = [
        {"role": "system", "content": QWEN_SYSTEM},
        {"role": "user", "content": PROBLEM},
        {"role": "assistant", "content": "<extra_0>".join(STEPS) + "<extra_0>"},
    ]
    text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=False)
    ids = torch.tensor([tok.encode(text)])
    with torch.no_grad():
        probs = prm.model(input_ids=ids).logits.softmax(-1)[0, :, 1]
    _check(prm, probs[ids[0] == tok.convert_tokens_to_ids("<extra_0>")].tolist())


def test_math_shepherd_reads_plus_minus_logits_at_ki(tmp_path):
    from transformers import MistralConfig, MistralForCausalLM

    tok = char_tokenizer(extra_tokens=("ки",))
    prm = load_prm(_build(tmp_path, tok, MistralConfig, MistralForCausalLM), format="math-shepherd", device="cpu")
    # Authors' reference: f"{question} {output}", output = "step ки\nstep ки"; softmax over [+, -], index 0.
    text = PROBLEM + " " + "\n".join(f"{s} ки" for s in STEPS)
    ids = torch.tensor([tok.encode(text)])
    plus, minus = tok.encode("+", add_special_tokens=False)[-1], tok.encode("-", add_special_tokens=False)[-1]
    with torch.no_grad():
        probs = prm.model(input_ids=ids).logits[0][:, [plus, minus]].softmax(-1)[:, 0]
    _check(prm, probs[ids[0] == tok.encode("ки", add_special_tokens=False)[-1]].tolist())


def test_rlhflow_one_pass_equals_the_authors_per_step_loop(tmp_path):
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = char_tokenizer(special=("<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"))
    tok.chat_template = LLAMA_CHAT_TEMPLATE
    prm = load_prm(_build(tmp_path, tok, LlamaConfig, LlamaForCausalLM), format="rlhflow", device="cpu")
    plus, minus = tok.encode("+")[-1], tok.encode("-")[-1]
    conversation, reference = [], []
    for k, step in enumerate(STEPS):  # the authors: one forward per step, logits at -3 (just before "+", eot)
        conversation += [{"role": "user", "content": PROBLEM + " " + step if k == 0 else step}]
        conversation += [{"role": "assistant", "content": "+"}]
        ids = torch.tensor([tok.apply_chat_template(conversation, tokenize=True)["input_ids"]])
        with torch.no_grad():
            reference.append(prm.model(input_ids=ids).logits[0, -3, [plus, minus]].softmax(-1)[0].item())
    _check(prm, reference)


def test_skywork_reads_sigmoid_value_head_at_newlines(tmp_path):
    # Skywork's PRMs are Qwen2.5 models; a Llama body keeps the character tokenizer intact on reload (transformers 5
    # replaces it by a Qwen2Tokenizer that drops newlines) and the format does not depend on the body.
    from safetensors.torch import save_file
    from transformers import LlamaConfig, LlamaModel

    tok = char_tokenizer()
    path = _build(tmp_path, tok, LlamaConfig, LlamaModel)
    torch.manual_seed(1)
    v_head = torch.nn.Linear(32, 1)
    save_file({"v_head.summary.weight": v_head.weight.data, "v_head.summary.bias": v_head.bias.data},
              str(path / "value_head.safetensors"))  # fmt: skip
    prm = load_prm(path, format="skywork", device="cpu")
    # Authors' prepare_input: BOS + problem + "\n", then ids(step) + ["\n"] per step, flags at those "\n".
    newline = tok.encode("\n")[-1]
    ids, flags = tok.encode(tok.bos_token + PROBLEM + "\n"), []
    for step in STEPS:
        ids += tok.encode(step) + [newline]
        flags.append(len(ids) - 1)
    with torch.no_grad():
        hidden = prm.model(input_ids=torch.tensor([ids])).last_hidden_state
        values = torch.sigmoid(v_head(hidden)).squeeze(-1)[0]
    _check(prm, values[flags].tolist())


def test_trl_token_classification_reads_last_token_of_each_step(tmp_path):
    from transformers import LlamaConfig, LlamaForTokenClassification

    tok = char_tokenizer()
    path = _build(tmp_path, tok, LlamaConfig, LlamaForTokenClassification, num_labels=2)
    prm = load_prm(path, format="trl-token-classification", device="cpu")
    # TRL PRMTrainer.tokenize_row: [BOS] + prompt, then step + "\n" per step, label at each step's last token.
    ids, last = [tok.bos_token_id] + tok(PROBLEM, add_special_tokens=False)["input_ids"], []
    for step in STEPS:
        ids += tok(step, add_special_tokens=False)["input_ids"] + tok.encode("\n", add_special_tokens=False)
        last.append(len(ids) - 1)
    with torch.no_grad():
        probs = prm.model(input_ids=torch.tensor([ids])).logits.softmax(-1)[0, :, 1]
    _check(prm, probs[last].tolist())


def test_formats_are_chosen_by_name_and_validate_overrides():
    assert sorted(PRM_FORMATS) == ["math-shepherd", "qwen-prm", "rlhflow", "skywork", "trl-token-classification"]
    assert get_format("qwen-prm", step_tag="<x>").step_tag == "<x>"
    with pytest.raises(ValueError, match="unknown PRMFormat fields \\['colour'\\]"):
        get_format("qwen-prm", colour="red")


def test_a_step_holding_the_tag_is_an_error_naming_the_candidate(tmp_path):
    from transformers import MistralConfig, MistralForCausalLM

    tok = char_tokenizer(extra_tokens=("ки",))
    prm = load_prm(_build(tmp_path, tok, MistralConfig, MistralForCausalLM), format="math-shepherd", device="cpu")
    with pytest.raises(ValueError, match="candidate 1 has 2 steps but its math-shepherd input has 3 score positions"):
        prm.score([PROBLEM, PROBLEM], [STEPS, ["a ки b", "c"]])


def test_partly_loaded_checkpoint_is_refused(tmp_path):
    from transformers import MistralConfig, MistralModel

    tok = char_tokenizer(extra_tokens=("ки",))
    path = _build(tmp_path, tok, MistralConfig, MistralModel)  # no LM head in the checkpoint
    with pytest.raises(ValueError, match="weights missing for format 'math-shepherd'"):
        load_prm(path, format="math-shepherd", device="cpu")
