"""The demo-policy trainer: a few steps on arith produce a loadable model whose parameters changed."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from bon_core.generation.policy import PolicyTrainConfig, train_policy
from bon_core.tasks.arith import ArithTask


def test_tiny_training_run_saves_a_loadable_changed_model(tmp_path):
    config = PolicyTrainConfig.quick(
        n_embd=32, n_positions=64, train_problems=64, max_steps=4, batch_size=8, warmup_steps=0, eval_problems=4
    )
    report = train_policy(ArithTask(), tmp_path, config)
    assert report.train_steps == 4 and report.num_eval == 4 and 0.0 <= report.greedy_accuracy <= 1.0
    assert json.loads((tmp_path / "policy_report.json").read_text())["train_steps"] == 4

    tok = AutoTokenizer.from_pretrained(tmp_path)
    model = AutoModelForCausalLM.from_pretrained(tmp_path)
    assert tok.decode(tok("Q: 1+2\n")["input_ids"]) == "Q: 1+2\n"
    # LayerNorms start at weight 1 / bias 0: after 4 optimiser steps they no longer are
    assert not torch.equal(model.transformer.ln_f.weight, torch.ones_like(model.transformer.ln_f.weight))
    assert not torch.equal(model.transformer.h[0].ln_1.bias, torch.zeros_like(model.transformer.h[0].ln_1.bias))
    assert report.final_loss is not None and report.num_parameters == sum(p.numel() for p in model.parameters())

    # the PRM helper's path: add a step tag and grow the embeddings
    tok.add_special_tokens({"additional_special_tokens": ["<step>"]})
    model.resize_token_embeddings(len(tok))
    ids = tok("1+2=3<step>", add_special_tokens=False)["input_ids"]
    assert len(ids) == 6 and ids[-1] == len(tok) - 1
    assert model(input_ids=torch.tensor([ids])).logits.shape[-1] >= len(tok)


def test_bad_config_fails_clearly():
    with pytest.raises(ValueError, match="multiple of n_head"):
        PolicyTrainConfig(n_embd=30, n_head=4)
    with pytest.raises(ValueError, match="max_steps must be >= 1"):
        PolicyTrainConfig(max_steps=0)
