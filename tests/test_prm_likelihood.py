"""The likelihood head: a PRM that reads the policy's own text and scores a step by how likely its base LM finds it."""

from __future__ import annotations

import pytest
import torch
from prm_tiny import char_tokenizer, save_tiny, tiny_gpt2_lm
from test_prm_train import corrupted_arith_examples, held_out_auroc

from bon_core.prm import HeadConfig, PRMSpec, PRMTrainConfig, load_prm, new_prm, train_prm
from bon_core.prm.encoding import StepFormat

NEWLINE = StepFormat(step_tag="\n", special_tag=False, prompt_template="Q: {problem}\n", step_prefix="")
SPEC = PRMSpec(step_format=NEWLINE, head=HeadConfig(inputs="likelihood", hidden_dim=16, dropout=0.0), max_length=128)
PROBLEM, STEPS = "3+4*2", ["4*2=8 -> 3+8", "3+8=11 -> 11", "Answer: 11"]


@pytest.fixture(scope="module")
def lm_dir(tmp_path_factory):
    return tiny_gpt2_lm(tmp_path_factory.mktemp("policy"), n_embd=64)


def test_newline_tag_reads_exactly_the_policy_text(lm_dir):
    prm = new_prm(lm_dir, spec=SPEC, device="cpu")
    (encoded,) = prm.encode([PROBLEM], [STEPS])
    text = "Q: 3+4*2\n" + "".join(step + "\n" for step in STEPS)
    assert list(encoded.input_ids) == prm.tokenizer(text, add_special_tokens=False)["input_ids"]
    newline = prm.tokenizer("\n", add_special_tokens=False)["input_ids"][0]
    assert "\n" not in prm.tokenizer.all_special_tokens  # the tag stayed ordinary text
    assert [encoded.input_ids[p] for p in encoded.tag_positions] == [newline] * 3
    assert encoded.tag_positions[0] == len("Q: 3+4*2\n") + len(STEPS[0])  # the prompt's newline is not a tag
    index = encoded.step_index()
    assert index[: encoded.body_start] == [-1] * len("Q: 3+4*2\n")
    assert index[encoded.body_start : encoded.tag_positions[0] + 1] == [0] * (len(STEPS[0]) + 1)
    assert index[encoded.tag_positions[1] + 1 :] == [2] * (len(STEPS[2]) + 1)


def test_features_are_the_min_and_mean_log_probability_of_each_step(lm_dir):
    from transformers import AutoModelForCausalLM

    from bon_core.prm.model import step_likelihood_features, token_log_probs

    prm = new_prm(lm_dir, spec=SPEC, device="cpu")
    (encoded,) = prm.encode([PROBLEM], [STEPS])
    ids = torch.tensor([encoded.input_ids])
    lm = AutoModelForCausalLM.from_pretrained(lm_dir).eval()
    with torch.no_grad():
        reference = torch.log_softmax(lm(ids).logits[0, :-1], -1).gather(-1, ids[0, 1:, None]).squeeze(-1)
        hidden = prm.model.base(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state
        _, log_probs = token_log_probs(prm.model.base, hidden, ids)
        features = step_likelihood_features(log_probs, torch.tensor([encoded.step_index()]))
    start = encoded.body_start
    for step, tag in enumerate(encoded.tag_positions):
        own = reference[start - 1 : tag]  # log p of the step's tokens and its tag
        so_far = reference[encoded.body_start - 1 : tag]  # ... and of every step up to this one
        expected = [own.min(), own.mean(), so_far.min(), so_far.mean()]
        assert (features[0, tag] * 5).tolist() == pytest.approx([x.item() for x in expected], abs=1e-4), step
        start = tag + 1
    assert features[0, : encoded.body_start].abs().sum().item() == 0.0  # the prompt is no step


def test_likelihood_prm_round_trips_and_scores_every_step(lm_dir, tmp_path):
    prm = new_prm(lm_dir, spec=SPEC, seed=3, device="cpu")
    scores = prm.score([PROBLEM, "9-2"], [STEPS, ["9-2=7 -> 7", "Answer: 7"]])
    assert [len(s) for s in scores] == [3, 2]
    prm.save_pretrained(tmp_path / "prm")
    assert load_prm(tmp_path / "prm").score([PROBLEM, "9-2"], [STEPS, ["9-2=7 -> 7", "Answer: 7"]]) == scores


def test_bad_tag_or_untied_base_is_a_clear_error(lm_dir, tmp_path):
    from transformers import GPT2Config, GPT2Model

    with pytest.raises(ValueError, match="exactly one token"):
        new_prm(lm_dir, spec=PRMSpec(step_format=StepFormat(step_tag="::", special_tag=False)), device="cpu")
    tokenizer = char_tokenizer()
    untied = GPT2Model(GPT2Config(vocab_size=len(tokenizer), n_embd=16, n_layer=1, n_head=2, tie_word_embeddings=False))
    prm = new_prm(save_tiny(untied, tokenizer, tmp_path / "untied"), spec=SPEC, device="cpu")
    with pytest.raises(ValueError, match="tied input/output embeddings"):
        prm.score([PROBLEM], [STEPS])


@pytest.mark.slow
def test_step_labels_train_only_the_head_and_the_lm_loss_trains_the_base(lm_dir):
    train, test = corrupted_arith_examples("train", 1200, seed=0), corrupted_arith_examples("test", 200, seed=1)
    config = PRMTrainConfig(max_steps=150, eval_steps=50, batch_size=16, learning_rate=2e-3, spec=SPEC)
    before = {k: v.clone() for k, v in new_prm(lm_dir, spec=SPEC, device="cpu").model.base.state_dict().items()}

    labels_only, _ = train_prm(train, config, lm_dir)
    after = labels_only.model.base.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # detached features: the base did not move

    with_lm, report = train_prm(train, PRMTrainConfig(**{**config.__dict__, "lm_loss_weight": 1.0}), lm_dir)
    assert any(not torch.equal(before[k], v) for k, v in with_lm.model.base.state_dict().items())
    # The base learned arith as a language model, so its likelihood now tells a corrupted step from a right one.
    assert held_out_auroc(with_lm, test) > held_out_auroc(labels_only, test) + 0.1
    assert held_out_auroc(with_lm, test) > 0.7 and report.best_val_auroc > 0.7


def test_reference_solutions_are_unlabelled_lm_text_and_need_an_lm_loss(lm_dir):
    from bon_core.prm.records import reference_examples
    from bon_core.tasks import get_task

    examples = reference_examples(get_task("arith"), "train", limit=5, seed=1)
    assert len(examples) == 5
    assert all(e.labels == (None,) * len(e.steps) and e.steps[-1].startswith("Answer:") for e in examples)
    train = corrupted_arith_examples("train", 40, seed=0)
    with pytest.raises(ValueError, match="lm_loss_weight"):
        train_prm(train, PRMTrainConfig(max_steps=2, spec=SPEC), lm_dir, lm_examples=examples)
    config = PRMTrainConfig(max_steps=4, eval_steps=2, batch_size=8, lm_loss_weight=1.0, spec=SPEC)
    _, report = train_prm(train, config, lm_dir, lm_examples=examples)
    assert report.train_examples == 36 + 5  # the reference solutions join the training set, for the LM loss only
