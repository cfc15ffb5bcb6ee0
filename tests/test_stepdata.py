"""Step-labelled data readers and writers, on the real files in ../shared/data (expected values read by hand)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bon_core.datafiles import DataFileError
from bon_core.stepdata import LabelledSolution, read_labelled, write_labelled

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PRM800K = DATA / "prm_samples" / "samples_prm800k.jsonl"
SHEPHERD = DATA / "prm_samples" / "samples_math-shepherd.jsonl"


def test_prm800k_follows_the_chosen_path():
    records = read_labelled(f"prm800k:{PRM800K}")
    assert [len(r.steps) for r in records] == [6, 7, 5, 7, 8, 12]
    first = records[0]
    assert first.problem.startswith("Three pencils and a jumbo eraser cost")
    assert first.steps[1] == "We have $3p+e=1.24$ and $5p+e=1.82$."  # the human completion
    assert first.steps[5] == "That means a pencil costs 29 cents.\n\n# Answer\n\n29"  # chosen_completion 4
    assert first.labels == (1.0,) * 6 and first.first_error == -1 and first.final_correct is True
    found_error = records[1]  # phase 2: neutral step 1, the pre-generated step 6 rated -1
    assert found_error.labels == (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0)
    assert found_error.first_error == 6 and found_error.final_correct is None
    assert found_error.metadata["ratings"] == (1, 0, 1, 1, 1, 1, -1)
    assert records[4].metadata["finish_reason"] == "give_up" and records[4].final_correct is None


@pytest.mark.parametrize(
    ("neutral", "labels", "first_error"),
    [
        ("positive", (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0), 6),
        ("negative", (1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0), 1),
        ("skip", (1.0, None, 1.0, 1.0, 1.0, 1.0, 0.0), 6),
    ],
)
def test_prm800k_neutral_policy(neutral, labels, first_error):
    record = read_labelled(PRM800K, format="prm800k", neutral=neutral)[1]
    assert record.labels == labels and record.first_error == first_error


def test_math_shepherd_tags_and_signs():
    records = read_labelled(f"math-shepherd:{SHEPHERD}")
    assert len(records) == 7
    first = records[0]
    assert first.problem.endswith("than clarinet lessons in a year?")
    assert first.steps[0] == "Janet spends 3 hours + 5 hours = <<3+5=8>>8 hours per week on music lessons."
    assert first.labels == (1.0, 1.0, 1.0, 1.0, 0.0) and first.first_error == 4 and first.final_correct is False
    assert records[4].labels == (1.0, 0.0, 0.0, 0.0, 0.0) and records[4].first_error == 1
    assert records[1].labels == (0.0, 0.0, 0.0) and records[1].first_error == 0
    keep = read_labelled(SHEPHERD, format="math-shepherd", strip_step_prefix=False)[0]
    assert keep.steps[0].startswith("Step 1: Janet spends")


def test_prmbench_modified_and_original():
    path = DATA / "prmbench" / "prm800k_test_p1_4o_circular.jsonl"
    records = read_labelled(f"prmbench:{path}")
    assert len(records) == 90 + 89  # line 54 names error step 34 of a 33-step process: its modified record is skipped
    modified, original = records[0], records[1]
    assert modified.metadata["variant"] == "modified" and modified.metadata["idx"] == "prm_test_p1_0"
    assert modified.steps[2] == "3. Assume a pencil costs 29 cents. Then verify this against the original equations."
    assert modified.labels == (1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0)  # error_steps [3, 4, 5], 1-based
    assert modified.first_error == 2
    assert original.metadata["variant"] == "original" and original.labels == (1.0,) * 6
    assert original.first_error == -1
    with pytest.raises(ValueError, match=r"circular\.jsonl, line 54: error_steps \[16, 34\] out of range"):
        read_labelled(path, format="prmbench", invalid="error")
    only_modified = read_labelled(path, format="prmbench", include_original=False)
    assert len(only_modified) == 89


def test_prmbench_glob_spec():
    records = read_labelled(f"prmbench:{DATA / 'prmbench'}/prm800k_test_p1_4o_c*.jsonl", include_original=False)
    # rows naming error steps past the end: circular line 54; confidence lines 28, 38, 40, 55, 66, 77, 87;
    # counterfactual lines 27, 45 (checked by hand with a separate script)
    assert len(records) == (90 - 1) + (90 - 7) + (90 - 2)
    assert [r.metadata["path"].rsplit("_", 1)[-1] for r in (records[0], records[89], records[-1])] == [
        "circular.jsonl",
        "confidence.jsonl",
        "counterfactual.jsonl",
    ]


def test_trl_round_trip(tmp_path):
    records = read_labelled(PRM800K, format="prm800k", neutral="skip")
    out = tmp_path / "trl.jsonl"
    assert write_labelled(records, out, format="trl") == 6
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    # record 1 has an unlabelled (neutral, skipped) step 1: TRL keeps only step 0 before it
    assert rows[1]["completions"] == [
        "I notice that there are three groups of people: Democrats, Republicans, and Independent."
    ]
    assert rows[1]["labels"] == [True]
    assert set(rows[0]) == {"prompt", "completions", "labels"} and rows[0]["labels"] == [True] * 6
    back = read_labelled(f"trl:{out}")
    assert back[0].steps == records[0].steps and back[0].labels == records[0].labels and back[0].source == "trl"
    write_labelled(records, out, format="trl", unlabelled="negative")
    assert json.loads(out.read_text().splitlines()[1])["labels"] == [True, False, True, True, True, True, False]


def test_processbench_round_trip(tmp_path):
    records = read_labelled(SHEPHERD, format="math-shepherd")
    out = tmp_path / "pb.jsonl"
    write_labelled(records, out, format="processbench")
    row = json.loads(out.read_text().splitlines()[4])
    assert row["label"] == 1 and row["final_answer_correct"] is False and len(row["steps"]) == 5
    back = read_labelled(out, format="processbench")
    assert back[4].labels == (1.0, 0.0, None, None, None)  # after the first error: unknown
    assert back[0].first_error == 4 and back[0].labels == (1.0, 1.0, 1.0, 1.0, 0.0)


def test_errors_name_file_line_and_field(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "p", "completions": ["a"], "labels": [true]}\n{"prompt": "p", "completions": ["a"]}\n')
    with pytest.raises(DataFileError, match=r"bad\.jsonl, line 2: missing required field 'labels'"):
        read_labelled(f"trl:{bad}")
    bad.write_text('{"problem": "p", "steps": ["a", "b"], "label": 2}\n')
    with pytest.raises(DataFileError, match=r"line 1: label 2 is not -1 or a step index < 2"):
        read_labelled(bad, format="processbench")
    with pytest.raises(DataFileError, match=r"no data file matches"):
        read_labelled(f"prmbench:{tmp_path}/none*.jsonl")
    with pytest.raises(ValueError, match=r"no format for .*known: prm800k, math-shepherd, prmbench, trl"):
        read_labelled(bad)
    with pytest.raises(ValueError, match=r"unknown step-data format 'csv'"):
        read_labelled(bad, format="csv")


def test_record_validates_itself():
    with pytest.raises(ValueError, match=r"2 steps but 1 labels"):
        LabelledSolution("p", ("a", "b"), (1.0,), -1, None, "test")
    with pytest.raises(ValueError, match=r"labels must be 1.0, 0.0 or None, got 0.5"):
        LabelledSolution("p", ("a",), (0.5,), -1, None, "test")
