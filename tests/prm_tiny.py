"""Tiny, randomly initialised models and tokenizers for the PRM tests, built and saved locally (no downloads)."""

from __future__ import annotations

from pathlib import Path

import torch

from bon_core.generation.char_tokenizer import build_char_tokenizer

QWEN_CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
# The Llama-3 layout: header, blank line, content, end of turn (so the answer token sits at -2).
LLAMA_CHAT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<|start_header_id|>{{ m['role'] }}<|end_header_id|>\n\n"
    "{{ m['content'] }}<|eot_id|>{% endfor %}"
)


def char_tokenizer(extra_tokens: tuple[str, ...] = (), special: tuple[str, ...] = (), chat_template: str | None = None):
    """The project's character tokenizer plus whole-word ``extra_tokens`` / special tokens and a chat template."""
    tokenizer = build_char_tokenizer()
    if extra_tokens:
        tokenizer.add_tokens(list(extra_tokens))
    if special:
        tokenizer.add_special_tokens({"additional_special_tokens": list(special)})
    if chat_template is not None:
        tokenizer.chat_template = chat_template
    return tokenizer


def save_tiny(model, tokenizer, directory: Path) -> Path:
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def tiny_gpt2_lm(directory: Path, seed: int = 0, n_embd: int = 32) -> Path:
    """A GPT-2 causal LM checkpoint (like the policy) over the character tokenizer."""
    from transformers import GPT2Config, GPT2LMHeadModel

    tokenizer = char_tokenizer()
    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=len(tokenizer), n_embd=n_embd, n_layer=2, n_head=2, n_positions=256,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )  # fmt: skip
    return save_tiny(GPT2LMHeadModel(config), tokenizer, directory)


def tiny_bert(directory: Path, seed: int = 0) -> Path:
    """A BERT encoder checkpoint whose tokenizer adds ``[CLS]`` / ``[SEP]`` around every text."""
    from tokenizers import processors
    from transformers import BertConfig, BertModel

    tokenizer = char_tokenizer(special=("[CLS]", "[SEP]"))
    tokenizer.cls_token, tokenizer.sep_token = "[CLS]", "[SEP]"
    cls_id, sep_id = tokenizer.convert_tokens_to_ids(["[CLS]", "[SEP]"])
    tokenizer.backend_tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)]
    )
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=256, pad_token_id=tokenizer.pad_token_id,
    )  # fmt: skip
    return save_tiny(BertModel(config), tokenizer, directory)
