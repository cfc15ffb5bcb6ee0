"""Training the PRM and the ORM on arith steps labelled by the task's exact checker; records and label policy."""

from __future__ import annotations

import math
import random

import pytest
from prm_tiny import tiny_gpt2_lm

from bon_core.prm import (
    HeadConfig,
    PRMSpec,
    PRMTrainConfig,
    StepLabelledExample,
    from_candidate,
    from_labelled_solution,
    new_prm,
    train_prm,
    validation_auroc,
)
from bon_core.prm.train import prepare_examples
from bon_core.tasks import get_task
from bon_core.tasks.arith import ArithDifficulty
from bon_core.types import Candidate, Problem, Step

EASY = ArithDifficulty(min_ops=2, max_ops=3, max_operand=5, operators=("+", "*"), paren_prob=0.3, max_value=60)
SPEC = PRMSpec(head=HeadConfig(hidden_dim=64, dropout=0.0), max_length=128)


def corrupted_arith_examples(split: str, count: int, seed: int) -> list[StepLabelledExample]:
    """Gold arith solutions, half with one step's result corrupted (an extra digit or off by one), labelled by
    the arith task's exact step checker."""
    task = get_task("arith")
    rng = random.Random(seed)
    examples = []
    for problem in task.load(split, limit=count, seed=seed, difficulty=EASY):
        lines = problem.solution.splitlines()
        steps = [line for line in lines if not line.startswith("Answer:")]
        if rng.random() < 0.5:
            i = rng.randrange(len(steps))
            reduction, _, rest = steps[i].partition(" -> ")
            left, result = reduction.split("=")
            wrong = result + str(rng.randint(1, 9)) if rng.random() < 0.5 else str(int(result) + rng.choice([-1, 1]))
            steps[i] = f"{left}={wrong} -> {rest}"
        text = "\n".join(steps) + f"\nAnswer: {problem.reference}"
        labelled = task.label_steps(text, problem)
        labels = tuple(1.0 if s.label == "correct" else 0.0 for s in labelled)
        examples.append(StepLabelledExample(problem.question, tuple(s.text for s in labelled), labels))
    return examples


def held_out_auroc(prm, examples) -> float:
    scores = prm.score([e.problem for e in examples], [list(e.steps) for e in examples])
    masked = prepare_examples(examples, PRMTrainConfig())  # judge steps up to the first error, as in training
    return validation_auroc(
        [s for row in scores for s in row], [x if x is not None else -100.0 for e in masked for x in e.labels]
    )


@pytest.fixture(scope="module")
def arith_data():
    return corrupted_arith_examples("train", 2000, seed=0), corrupted_arith_examples("test", 200, seed=1)


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory):
    return tiny_gpt2_lm(tmp_path_factory.mktemp("policy"), n_embd=64)


def _config(kind: str, max_steps: int = 200) -> PRMTrainConfig:
    return PRMTrainConfig(
        kind=kind,
        max_steps=max_steps,
        eval_steps=50,
        batch_size=16,
        learning_rate=2e-3,
        early_stopping_patience=4,
        spec=SPEC,
    )


@pytest.mark.slow
def test_trained_prm_beats_chance_and_the_untrained_prm(arith_data, base_dir):
    train, test = arith_data
    untrained = held_out_auroc(new_prm(base_dir, spec=SPEC, seed=0), test)
    logged = []
    prm, report = train_prm(train, _config("prm"), base_dir, on_log=lambda step, total, logs: logged.append(step))
    trained = held_out_auroc(prm, test)
    assert trained > 0.6 and trained > untrained + 0.1, (trained, untrained)
    assert report.kind == "prm" and 0 < report.steps <= 200 and report.best_val_auroc > 0.6
    assert report.train_losses[-1][1] < report.train_losses[0][1]
    assert len(report.val_aurocs) >= 1 and logged and max(logged) == report.steps
    assert report.train_examples + report.val_examples == 2000


@pytest.mark.slow
def test_orm_trains_on_the_same_data(arith_data, base_dir):
    train, test = arith_data
    orm, report = train_prm(train, _config("orm", max_steps=60), base_dir)
    assert orm.spec.kind == "orm" and report.kind == "orm" and report.steps > 0
    assert report.train_losses[-1][1] < report.train_losses[0][1]
    scores = orm.score([e.problem for e in test[:3]], [list(e.steps) for e in test[:3]])
    assert [len(s) for s in scores] == [len(e.steps) for e in test[:3]]  # an ORM still scores every step


def test_label_policy_masks_after_first_error_and_orm_keeps_only_the_outcome():
    ex = StepLabelledExample("p", ("a", "b", "c", "d"), (1.0, 0.7, 0.2, 1.0))
    assert prepare_examples([ex], PRMTrainConfig())[0].labels == (1.0, 1.0, 0.0, None)
    soft = PRMTrainConfig(label_mode="soft", mask_after_first_error=False)
    assert prepare_examples([ex], soft)[0].labels == (1.0, 0.7, 0.2, 1.0)
    assert prepare_examples([ex], PRMTrainConfig(kind="orm"))[0].labels == (None, None, None, 0.0)
    good = StepLabelledExample("p", ("a", "b"), (1.0, None), final_correct=True)
    assert prepare_examples([good], PRMTrainConfig(kind="orm"))[0].labels == (None, 1.0)


def test_validation_auroc_ignores_unlabelled_positions_and_is_undefined_for_one_class():
    # positives score 0.9 and 0.4, negatives 0.5 and 0.1: 3 of the 4 pairs are ordered right -> 0.75
    assert validation_auroc([0.9, 0.4, 0.5, 0.1, 5.0], [1.0, 1.0, 0.0, 0.0, -100.0]) == pytest.approx(0.75)
    assert math.isnan(validation_auroc([0.3, 0.2], [1.0, 1.0]))  # undefined, not 0.5


def test_records_from_candidates_and_labelled_solutions():
    from bon_core.stepdata.record import LabelledSolution

    problem = Problem(task="arith", source_id="p", question="1+2", reference="3")
    steps = (Step(0, "1+2=3", 0, 5, "correct"), Step(1, "hmm", 6, 9, "neutral"), Step(2, "3", 10, 11, "incorrect"))
    cand = Candidate(problem_id="p", sample_index=0, text="", steps=steps, correct=False)
    assert from_candidate(problem, cand).labels == (1.0, None, 0.0)
    assert from_candidate(problem, cand, neutral_label=1.0).labels == (1.0, 1.0, 0.0)
    solution = LabelledSolution("q", ("s1", "s2"), (1.0, 0.0), first_error=1, final_correct=False, source="t")
    record = from_labelled_solution(solution)
    assert (record.problem, record.steps, record.labels, record.final_correct) == ("q", ("s1", "s2"), (1.0, 0.0), False)
    with pytest.raises(ValueError, match="2 steps but 1 labels"):
        StepLabelledExample("q", ("a", "b"), (1.0,))


@pytest.mark.slow
def test_training_resumes_from_its_own_checkpoints_only(arith_data, base_dir, tmp_path):
    from dataclasses import replace

    train = arith_data[0][:300]
    config = replace(_config("prm", max_steps=20), eval_steps=10, early_stopping_patience=10, output_dir=str(tmp_path))
    _, first = train_prm(train, config, base_dir)
    # At the end the trainer keeps the best checkpoint (and the last, if another): the newest one is resumed.
    kept = max(int(p.name.rsplit("-", 1)[1]) for p in tmp_path.glob("checkpoint-*"))
    assert first.resumed_from_step is None and first.steps == 20
    _, again = train_prm(train, config, base_dir)
    assert again.resumed_from_step == kept and again.steps == 20
    assert [s for s, _ in again.val_aurocs] == [10, 20]  # the whole run's curve, before and after the resume
    assert [v for _, v in again.val_aurocs] == pytest.approx([v for _, v in first.val_aurocs], abs=1e-6)
    # Another config (or other examples) never continues from these checkpoints: they are cleared first.
    _, other = train_prm(train, replace(config, learning_rate=1e-3), base_dir)
    assert other.resumed_from_step is None
    _, fewer = train_prm(train[:200], replace(config, learning_rate=1e-3), base_dir)
    assert fewer.resumed_from_step is None
    _, fresh = train_prm(train[:200], replace(config, learning_rate=1e-3, resume=False), base_dir)
    assert fresh.resumed_from_step is None
