"""Data location and validation shared by the real-benchmark tasks."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from bon_core.datafiles import DataFileError, Schema, read_rows
from bon_core.tasks import get_task
from bon_core.tasks.data import resolve_data_dir

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def test_default_data_dir_is_shared_data_relative_to_cwd(monkeypatch):
    monkeypatch.delenv("BON_DATA_DIR", raising=False)
    assert resolve_data_dir("gsm8k") == Path("../shared/data/gsm8k")


def test_env_var_is_read_when_the_task_is_built(monkeypatch, tmp_path):
    monkeypatch.setenv("BON_DATA_DIR", str(tmp_path))
    assert get_task("gsm8k").data_dir == tmp_path / "gsm8k"
    assert get_task("math").data_dir == tmp_path / "math500"
    assert get_task("gsm8k", data_dir=DATA / "gsm8k").data_dir == DATA / "gsm8k"


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(DataFileError, match=r"data file .*nowhere\.jsonl does not exist"):
        read_rows(tmp_path / "nowhere.jsonl", Schema({"question": str}))
    with pytest.raises(DataFileError, match=r"data file .*test\.jsonl does not exist"):
        get_task("gsm8k", data_dir=tmp_path).load("test")


def test_row_without_required_field_names_file_line_and_field(tmp_path):
    path = tmp_path / "test.jsonl"
    path.write_text('{"question": "1+1?", "answer": "#### 2"}\n{"question": "2+2?"}\n')
    with pytest.raises(ValueError, match=r"test\.jsonl, line 2: missing required field 'answer'"):
        get_task("gsm8k", data_dir=tmp_path).load("test")


def test_bad_json_line_is_reported(tmp_path):
    path = tmp_path / "test.jsonl"
    path.write_text('{"problem": "x", "answer": "1"}\n{oops\n')
    with pytest.raises(ValueError, match=r"line 2: not valid JSON"):
        get_task("math", data_dir=tmp_path).load()


def test_gzip_rows_are_validated(tmp_path):
    with gzip.open(tmp_path / "HumanEval.jsonl.gz", "wt") as handle:
        handle.write(json.dumps({"task_id": "t/0", "prompt": "def f():\n", "test": "", "entry_point": "f"}) + "\n")
    with pytest.raises(ValueError, match=r"line 1: missing required field 'canonical_solution'"):
        get_task("humaneval", data_dir=tmp_path).load()


def test_unknown_split_lists_known_ones():
    with pytest.raises(ValueError, match=r"unknown split 'dev' for task gsm8k; known splits: train, test"):
        get_task("gsm8k", data_dir=DATA / "gsm8k").load("dev")


def test_limit_keeps_the_first_rows():
    rows = read_rows(DATA / "gsm8k" / "test.jsonl", Schema({"question": str, "answer": str}), limit=2)
    assert [row.data["question"][:18] for row in rows] == ["Janet’s ducks lay ", "A robe takes 2 bol"]
    assert [(row.line, row.index) for row in rows] == [(1, 0), (2, 1)]
    problems = get_task("gsm8k", data_dir=DATA / "gsm8k").load("test", limit=2)
    assert [(p.source_id, p.reference) for p in problems] == [("test-0", "18"), ("test-1", "3")]
