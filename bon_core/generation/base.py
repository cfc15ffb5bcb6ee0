"""The generation interface shared by every backend."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from bon_core.types import Candidate, FinishReason, GenerationConfig, Problem


@dataclass(frozen=True)
class GeneratedText:
    """One sampled continuation of a prompt.

    ``sum_logprob``/``mean_logprob`` are over the sampled tokens under the model's own (temperature 1, unfiltered)
    distribution; ``None`` where a server does not report log-probabilities.
    """

    sample_index: int
    text: str
    num_tokens: int
    sum_logprob: float | None
    mean_logprob: float | None
    finish_reason: FinishReason

    def to_candidate(self, problem_id: str) -> Candidate:
        """The store's record for this sample (grading and steps are filled later by the task)."""
        return Candidate(
            problem_id=problem_id,
            sample_index=self.sample_index,
            text=self.text,
            num_tokens=self.num_tokens,
            sum_logprob=self.sum_logprob,
            mean_logprob=self.mean_logprob,
            finish_reason=self.finish_reason,
        )


@runtime_checkable
class GenerationBackend(Protocol):
    """``generate(prompts, n, config)`` returns, per prompt, ``n`` samples with indices ``sample_offset ..``."""

    def generate(
        self, prompts: Sequence[str], n: int, config: GenerationConfig, sample_offset: int = 0
    ) -> list[list[GeneratedText]]: ...


def sample_seed(seed: int, prompt: str, sample_index: int) -> int:
    """The random seed of one sample: a stable hash of ``(seed, prompt, sample_index)`` (not Python's ``hash``)."""
    digest = hashlib.sha256(f"{seed}\x00{sample_index}\x00{prompt}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def candidates_for(problem: Problem, samples: Sequence[GeneratedText], task=None) -> list[Candidate]:
    """Turn one prompt's samples into Candidates, graded and step-split (step-labelled where it can) by ``task``."""
    out = []
    for sample in samples:
        candidate = sample.to_candidate(problem.source_id)
        if task is not None:
            grade = task.grade(sample.text, problem)
            steps = task.label_steps(sample.text, problem) or task.split_steps(sample.text)
            candidate = Candidate(
                **{**candidate.__dict__, "answer": grade.answer, "correct": grade.correct, "steps": tuple(steps)}
            )
        out.append(candidate)
    return out


def check_request(prompts: Sequence[str], n: int) -> None:
    if n < 1:
        raise ValueError(f"n (samples per prompt) must be >= 1, got {n}")
    if isinstance(prompts, str):
        raise ValueError("prompts must be a sequence of strings, not one string")
