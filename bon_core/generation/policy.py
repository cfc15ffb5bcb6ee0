"""The demo policy: a tiny GPT-2 with a character tokenizer, trained on a task's gold solutions on CPU.

Its purpose is a policy that is right often but not always and makes realistic step errors, so that Best-of-N has
something to select from. Training uses transformers ``Trainer`` (checkpoints in ``out_dir/checkpoints``; a rerun with
the same ``out_dir`` resumes from the last one); the loss covers the solution tokens and the final ``<eos>`` only.
The saved directory loads with ``AutoModelForCausalLM.from_pretrained`` and ``AutoTokenizer.from_pretrained``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from bon_core.types import GenerationConfig, Problem

ProgressFn = Callable[[int, int, float | None], None]  # (step, max_steps, last logged loss)


@dataclass(frozen=True)
class PolicyTrainConfig:
    """Model size and training budget. ``quick()`` trains in well under a minute; the default in a few minutes.
    Each field's ``help`` is its command-line help."""

    n_layer: int = field(default=3, metadata={"help": "Transformer layers."})
    n_embd: int = field(default=128, metadata={"help": "Width of the hidden states."})
    n_head: int = field(default=4, metadata={"help": "Attention heads (must divide n_embd)."})
    # the longest prompt + gold solution of the default difficulty fits
    n_positions: int = field(default=160, metadata={"help": "Longest sequence (prompt + solution), in tokens."})
    # a few minutes of training on endless fresh problems never overfits
    dropout: float = field(default=0.0, metadata={"help": "Dropout probability."})
    train_problems: int = field(default=20000, metadata={"help": "Training problems (fresh, with gold solutions)."})
    # On the default arith difficulty, 1200 steps (~3.5 min on 2 idle cores) give a greedy accuracy of ~28% and
    # 2000 steps ~75%; 1600 aims between: right often but not always, with realistic step errors.
    max_steps: int = field(default=1600, metadata={"help": "Optimiser steps."})
    batch_size: int = field(default=32, metadata={"help": "Solutions per optimiser step."})
    learning_rate: float = field(default=3e-3, metadata={"help": "Peak learning rate."})
    warmup_steps: int = field(default=50, metadata={"help": "Steps of linear warmup."})
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW weight decay."})
    eval_problems: int = field(default=200, metadata={"help": "Held-out problems for the greedy accuracy."})
    eval_split: str = field(default="test", metadata={"help": "Split of the held-out problems."})
    save_steps: int = field(default=500, metadata={"help": "Steps between checkpoints (a rerun resumes)."})
    seed: int = field(default=0, metadata={"help": "Training seed."})
    device: str | None = field(default=None, metadata={"help": "Device to train on (default: the best available)."})

    def __post_init__(self) -> None:
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be a multiple of n_head ({self.n_head})")
        for name in ("n_layer", "n_positions", "train_problems", "max_steps", "batch_size", "save_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")

    @classmethod
    def quick(cls, **overrides: Any) -> PolicyTrainConfig:
        """A small, fast budget (for smoke runs and CI)."""
        return replace(
            cls(n_layer=2, n_embd=64, n_head=2, train_problems=4000, max_steps=300, eval_problems=100), **overrides
        )


@dataclass(frozen=True)
class PolicyReport:
    """What training produced: where the model is and how good it is (greedy, on held-out problems)."""

    out_dir: str
    greedy_accuracy: float
    process_accuracy: float  # every step correct and the expression fully reduced
    num_eval: int
    train_steps: int
    train_seconds: float
    final_loss: float | None
    num_parameters: int


def _examples(task, problems: list[Problem], tokenizer, max_len: int) -> list[dict[str, list[int]]]:
    rows = []
    for p in problems:
        prompt = tokenizer(task.format_prompt(p), add_special_tokens=False)["input_ids"]
        target = tokenizer(p.solution, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        ids = (prompt + target)[:max_len]
        rows.append({"input_ids": ids, "labels": ([-100] * len(prompt) + target)[:max_len]})
    return rows


def _collate(pad_id: int):
    import torch

    def collate(rows: list[dict[str, list[int]]]) -> dict[str, Any]:
        width = max(len(r["input_ids"]) for r in rows)
        pad = [width - len(r["input_ids"]) for r in rows]
        return {
            "input_ids": torch.tensor([r["input_ids"] + [pad_id] * k for r, k in zip(rows, pad, strict=True)]),
            "labels": torch.tensor([r["labels"] + [-100] * k for r, k in zip(rows, pad, strict=True)]),
            "attention_mask": torch.tensor(
                [[1] * len(r["input_ids"]) + [0] * k for r, k in zip(rows, pad, strict=True)]
            ),
        }

    return collate


def _progress_callback(progress: ProgressFn):
    from transformers import TrainerCallback

    class Progress(TrainerCallback):
        loss: float | None = None

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                self.loss = float(logs["loss"])

        def on_step_end(self, args, state, control, **kwargs):
            progress(state.global_step, state.max_steps, self.loss)

    return Progress()


def evaluate_greedy(task, model_or_path: Any, problems: list[Problem], tokenizer: Any = None, device=None) -> dict:
    """Greedy accuracy and process accuracy of a policy on ``problems`` (answers checked by ``task``)."""
    from bon_core.generation.hf_backend import HFBackend

    backend = HFBackend(model_or_path, tokenizer, device=device)
    n_pos = getattr(backend.model.config, "n_positions", 256)
    prompts = [task.format_prompt(p) for p in problems]
    config = GenerationConfig(do_sample=False, temperature=0.0, max_new_tokens=n_pos // 2, batch_size=256)
    outputs = backend.generate(prompts, 1, config)
    correct = process = 0
    for problem, (sample,) in zip(problems, outputs, strict=True):
        correct += task.grade(sample.text, problem).correct
        check = getattr(task, "check_solution", None)
        process += bool(check and check(sample.text, problem).process_correct)
    total = max(len(problems), 1)
    return {"greedy_accuracy": correct / total, "process_accuracy": process / total, "num_eval": len(problems)}


def evaluate_sampling(
    task,
    model_or_path: Any,
    problems: list[Problem],
    n: int = 16,
    temperature: float = 0.8,
    seed: int = 0,
    tokenizer: Any = None,
    device=None,
) -> dict:
    """Sampled-pool statistics: pass@1 (mean per-sample accuracy), pass@n, majority-vote accuracy, how often samples
    agree with their pool's majority answer, and the share of right-answer-wrong-process samples."""
    from collections import Counter

    from bon_core.generation.hf_backend import HFBackend

    backend = HFBackend(model_or_path, tokenizer, device=device)
    n_pos = getattr(backend.model.config, "n_positions", 256)
    config = GenerationConfig(temperature=temperature, max_new_tokens=n_pos // 2, seed=seed, batch_size=256)
    pools = backend.generate([task.format_prompt(p) for p in problems], n, config)
    per_sample = any_correct = majority = agree = rawp = 0.0
    for problem, pool in zip(problems, pools, strict=True):
        grades = [task.grade(s.text, problem) for s in pool]
        answers = [task.normalize_answer(g.answer) for g in grades]
        top, count = Counter(answers).most_common(1)[0]
        per_sample += sum(g.correct for g in grades) / n
        any_correct += any(g.correct for g in grades)
        majority += task.answers_equal(top, problem.reference)
        agree += count / n
        check = getattr(task, "check_solution", None)
        if check:
            rawp += sum(check(s.text, problem).right_answer_wrong_process for s in pool) / n
    total = max(len(problems), 1)
    return {
        "pass@1": per_sample / total,
        f"pass@{n}": any_correct / total,
        f"maj@{n}": majority / total,
        "majority_agreement": agree / total,
        "right_answer_wrong_process": rawp / total,
        "num_problems": len(problems),
    }


def train_policy(
    task, out_dir: str | Path, config: PolicyTrainConfig | None = None, progress: ProgressFn | None = None
):
    """Train the demo policy on ``task``'s train split, save it to ``out_dir`` and report its greedy accuracy."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, PrinterCallback, Trainer, TrainingArguments, set_seed

    from bon_core.device import pick_device
    from bon_core.generation.char_tokenizer import build_char_tokenizer

    config = config or PolicyTrainConfig()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    set_seed(config.seed)
    tokenizer = build_char_tokenizer()
    train = task.load("train", limit=config.train_problems, seed=config.seed)
    if not train or any(p.solution is None for p in train):
        raise ValueError(f"task {task.name!r} has no gold solutions to train a policy on")
    model = GPT2LMHeadModel(
        GPT2Config(
            vocab_size=len(tokenizer),
            n_positions=config.n_positions,
            n_embd=config.n_embd,
            n_layer=config.n_layer,
            n_head=config.n_head,
            resid_pdrop=config.dropout,
            embd_pdrop=config.dropout,
            attn_pdrop=config.dropout,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
    )
    device = pick_device(config.device)
    args = TrainingArguments(
        output_dir=str(out / "checkpoints"),
        max_steps=config.max_steps,
        per_device_train_batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        lr_scheduler_type="cosine",
        warmup_steps=config.warmup_steps,
        weight_decay=config.weight_decay,
        logging_steps=max(1, min(50, config.max_steps // 10)),
        save_steps=config.save_steps,
        save_total_limit=1,
        report_to="none",
        use_cpu=device.type == "cpu",
        remove_unused_columns=False,
        disable_tqdm=True,
        seed=config.seed,
        dataloader_num_workers=0,
    )
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=_examples(task, train, tokenizer, config.n_positions),
        data_collator=_collate(tokenizer.pad_token_id),
        callbacks=[_progress_callback(progress)] if progress else None,
    )
    trainer.remove_callback(PrinterCallback)  # no log dicts on stdout; ``progress`` reports them
    has_checkpoint = any((out / "checkpoints").glob("checkpoint-*"))
    started = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=True if has_checkpoint else None)
    seconds = time.perf_counter() - started
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    problems = task.load(config.eval_split, limit=config.eval_problems, seed=config.seed)
    with torch.no_grad():
        scores = evaluate_greedy(task, model, problems, tokenizer, device=str(device))
    report = PolicyReport(
        out_dir=str(out),
        train_steps=int(result.global_step),
        train_seconds=round(seconds, 1),
        final_loss=losses[-1] if losses else None,
        num_parameters=sum(p.numel() for p in model.parameters()),
        **scores,
    )
    (out / "policy_report.json").write_text(json.dumps({**asdict(report), "config": asdict(config)}, indent=2))
    return report
