"""``bon generate`` end to end on a tiny random policy saved to disk (JSONL output and the printed tables)."""

from __future__ import annotations

import json

import torch
from transformers import GPT2Config, GPT2LMHeadModel
from typer.testing import CliRunner

from bon_core.generation.char_tokenizer import build_char_tokenizer
from flows.cli import app


def save_policy(path):
    torch.manual_seed(0)
    tok = build_char_tokenizer()
    GPT2LMHeadModel(GPT2Config(vocab_size=len(tok), n_positions=64, n_embd=32, n_layer=1, n_head=2)).save_pretrained(
        path
    )
    tok.save_pretrained(path)


def test_generate_writes_jsonl_and_prints_tables(tmp_path):
    save_policy(tmp_path / "policy")
    out = tmp_path / "c.jsonl"
    args = ["generate", "--policy", str(tmp_path / "policy"), "-n", "3", "--limit", "2", "--max-new-tokens", "8"]
    result = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 6 and [r["sample_index"] for r in rows] == [0, 1, 2, 0, 1, 2]
    assert {"question", "reference", "text", "steps", "correct", "mean_logprob"} <= set(rows[0])
    printed = CliRunner().invoke(app, args)
    assert printed.exit_code == 0 and "pass@3" in printed.output and rows[0]["question"] in printed.output


def test_generate_names_a_missing_policy(tmp_path):
    result = CliRunner().invoke(app, ["generate", "--policy", str(tmp_path / "nope")])
    assert result.exit_code != 0 and "no such directory" in str(result.exception)
