"""Bad data files fail with one documented error, DataFileError, naming the file, the line or row and what is
wrong — for every task loader (gsm8k, math, humaneval) and every step-data format — and the CLI prints it as one
line."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bon_core.datafiles import DataFileError
from bon_core.datafiles import text as datafile_text
from bon_core.stepdata import read_labelled
from bon_core.tasks import get_task

ROOT = Path(__file__).resolve().parents[1]
BON = Path(sys.executable).parent / "bon"

# name: (file name the loader reads, a valid row, a required field, how to load the folder holding the file)
LOADERS = {
    "gsm8k": (
        "test.jsonl",
        {"question": "1+1?", "answer": "1+1=2\n#### 2"},
        "answer",
        lambda d: get_task("gsm8k", data_dir=d).load("test"),
    ),
    "math": (
        "test.jsonl",
        {"problem": "1+1?", "answer": "2", "solution": "\\boxed{2}"},
        "problem",
        lambda d: get_task("math", data_dir=d).load("test"),
    ),
    "humaneval": (
        "HumanEval.jsonl.gz",
        {
            "task_id": "t/0",
            "prompt": "def f():\n",
            "canonical_solution": "    return 1\n",
            "test": "def check(f):\n    assert f() == 1\n",
            "entry_point": "f",
        },  # fmt: skip
        "entry_point",
        lambda d: get_task("humaneval", data_dir=d).load("test"),
    ),
    "prm800k": (
        "data.jsonl",
        {
            "question": {"problem": "1+1?"},
            "label": {"steps": [{"completions": [{"text": "2", "rating": 1}], "chosen_completion": 0}]},
        },  # fmt: skip
        "label",
        lambda d: read_labelled(d / "data.jsonl", format="prm800k"),
    ),
    "math-shepherd": (
        "data.jsonl",
        {"input": "1+1? Step 1: 1+1=2 ки", "label": "1+1? Step 1: 1+1=2 +"},
        "input",
        lambda d: read_labelled(d / "data.jsonl", format="math-shepherd"),
    ),
    "prmbench": (
        "data.jsonl",
        {
            "idx": "x-0",
            "modified_question": "q",
            "modified_process": ["a", "b"],
            "error_steps": [2],
            "original_question": "q",
            "original_process": ["a", "c"],
        },  # fmt: skip
        "error_steps",
        lambda d: read_labelled(d / "data.jsonl", format="prmbench"),
    ),
    "trl": (
        "data.jsonl",
        {"prompt": "p", "completions": ["a", "b"], "labels": [True, False]},
        "labels",
        lambda d: read_labelled(d / "data.jsonl", format="trl"),
    ),
    "processbench": (
        "data.jsonl",
        {
            "id": "g-0",
            "generator": "m",
            "problem": "p",
            "steps": ["a", "b"],
            "final_answer_correct": False,
            "label": 1,
        },  # fmt: skip
        "steps",
        lambda d: read_labelled(d / "data.jsonl", format="processbench"),
    ),
}
# For each loader, a field and a value of the wrong JSON type, with what the message says is expected.
WRONG_TYPES = {
    "gsm8k": ("question", 5, "a string, got integer 5"),
    "math": ("answer", ["2"], "a string, got list ['2']"),
    "humaneval": ("prompt", None, None),  # null: reported as missing (below)
    "prm800k": ("question", "1+1?", "an object, got string '1+1?'"),
    "math-shepherd": ("label", 3.5, "a string, got number 3.5"),
    "prmbench": ("error_steps", ["2"], "a list of integers, got list ['2']"),
    "trl": ("labels", [1, 0], "a list of booleans, got list [1, 0]"),
    "processbench": ("label", "1", "an integer, got string '1'"),
}


def write_lines(path: Path, lines: list[bytes]) -> None:
    data = b"".join(line + b"\n" for line in lines)
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)


def good(name: str) -> bytes:
    return json.dumps(LOADERS[name][1]).encode()


@pytest.fixture(params=list(LOADERS))
def loader(request, tmp_path):
    """(name, path of the file the loader reads, load())."""
    file_name, _, _, load = LOADERS[request.param]
    return request.param, tmp_path / file_name, lambda: load(tmp_path)


def test_a_good_file_loads(loader):
    name, path, load = loader
    write_lines(path, [good(name)])
    assert len(load()) >= 1


def test_bad_json(loader):
    name, path, load = loader
    write_lines(path, [good(name), b'{"question": "unterminated'])
    with pytest.raises(DataFileError, match=rf"{path.name}, line 2: not valid JSON \(Unterminated string"):
        load()


def test_missing_field(loader):
    name, path, load = loader
    row = dict(LOADERS[name][1])
    field = LOADERS[name][2]
    del row[field]
    write_lines(path, [good(name), good(name), json.dumps(row).encode()])
    with pytest.raises(DataFileError, match=rf"{path.name}, line 3: missing required field '{field}'$"):
        load()


def test_wrong_type(loader):
    name, path, load = loader
    field, value, expected = WRONG_TYPES[name]
    write_lines(path, [json.dumps({**LOADERS[name][1], field: value}).encode()])
    message = f"field '{field}' must be {expected}" if expected else f"missing required field '{field}'"
    with pytest.raises(DataFileError, match=re.escape(f"{path.name}, line 1: {message}")):
        load()


def test_empty_file(loader):
    _, path, load = loader
    write_lines(path, [])
    with pytest.raises(DataFileError, match=rf"{path.name}: no rows \(empty file or data set\)"):
        load()
    write_lines(path, [b"", b"   "])  # blank lines only
    with pytest.raises(DataFileError, match=r"no rows"):
        load()


def test_not_utf8(loader):
    name, path, load = loader
    write_lines(path, [good(name), b'{"question": "caf\xe9"}'])  # Latin-1 e-acute
    with pytest.raises(DataFileError, match=rf"{path.name}, line 2: not UTF-8 \(byte 0xe9 at byte 18 of the line\)"):
        load()


def test_huge_line(loader, monkeypatch):
    name, path, load = loader
    monkeypatch.setattr(datafile_text, "MAX_LINE_BYTES", 2**20)  # 1 MiB, so the test file stays small
    write_lines(path, [good(name), b'{"question": "' + b"x" * 2**20 + b'"}'])
    with pytest.raises(DataFileError, match=rf"{path.name}, line 2: longer than 1 MiB \(not one JSON object per"):
        load()


def test_huge_line_at_the_real_limit(tmp_path):
    path = tmp_path / "test.jsonl"
    with open(path, "wb") as handle:
        handle.write(json.dumps(LOADERS["gsm8k"][1]).encode() + b"\n")
        handle.write(b"[" * (datafile_text.MAX_LINE_BYTES + 1))
    with pytest.raises(DataFileError, match=r"test\.jsonl, line 2: longer than 64 MiB"):
        get_task("gsm8k", data_dir=tmp_path).load("test")


def test_not_an_object_and_not_gzip(tmp_path):
    path = tmp_path / "test.jsonl"
    write_lines(path, [json.dumps(LOADERS["gsm8k"][1]).encode(), b"[1, 2]"])
    with pytest.raises(DataFileError, match=r"test\.jsonl, line 2: expected a JSON object, got list"):
        get_task("gsm8k", data_dir=tmp_path).load("test")
    (tmp_path / "HumanEval.jsonl.gz").write_bytes(b"plain text, not gzip\n")
    with pytest.raises(DataFileError, match=r"HumanEval\.jsonl\.gz: cannot be read \(Not a gzipped file"):
        get_task("humaneval", data_dir=tmp_path).load("test")


def test_json_array_errors_name_the_line_or_row(tmp_path):
    path = tmp_path / "pb.json"
    row = LOADERS["processbench"][1]
    path.write_text("[\n" + json.dumps(row) + ",\n" + json.dumps({**row, "steps": "a"}) + "\n]\n")
    with pytest.raises(DataFileError, match=r"pb\.json, row 2: field 'steps' must be a list of strings, got string"):
        read_labelled(path, format="processbench")
    path.write_text("[\n" + json.dumps(row) + ",\n{oops}\n]\n")
    with pytest.raises(DataFileError, match=r"pb\.json, line 3: not valid JSON"):
        read_labelled(path, format="processbench")
    path.write_text("[]")
    with pytest.raises(DataFileError, match=r"pb\.json: no rows"):
        read_labelled(path, format="processbench")


def test_bad_parquet_and_unknown_suffix(tmp_path):
    (tmp_path / "pb.parquet").write_bytes(b"garbage")
    with pytest.raises(DataFileError, match=r"pb\.parquet: cannot be read with datasets \(ArrowInvalid: "):
        read_labelled(tmp_path / "pb.parquet", format="processbench")
    (tmp_path / "pb.csv").write_text("a,b\n")
    with pytest.raises(DataFileError, match=r"pb\.csv: unknown data file type; expected one of \.jsonl, "):
        read_labelled(tmp_path / "pb.csv", format="processbench")


def test_gsm8k_reference_without_a_number_names_the_line(tmp_path):
    write_lines(tmp_path / "test.jsonl", [good("gsm8k"), json.dumps({"question": "q", "answer": "none"}).encode()])
    with pytest.raises(DataFileError, match=r"test\.jsonl, line 2: no number in field 'answer'"):
        get_task("gsm8k", data_dir=tmp_path).load("test")


def test_format_checks_name_the_line(tmp_path):
    path = tmp_path / "data.jsonl"
    write_lines(path, [json.dumps({"prompt": "p", "completions": ["a"], "labels": [True, False]}).encode()])
    with pytest.raises(DataFileError, match=r"data\.jsonl, line 1: 1 completions but 2 labels"):
        read_labelled(path, format="trl")
    steps = [{"completions": [{"text": "2", "rating": 1}], "chosen_completion": 3}]
    write_lines(path, [json.dumps({"question": {"problem": "p"}, "label": {"steps": steps}}).encode()])
    with pytest.raises(DataFileError, match=r"line 1, step 0: chosen_completion 3 is not an index of its completions"):
        read_labelled(path, format="prm800k")
    steps = [{"completions": [{"text": 2, "rating": 1}], "chosen_completion": 0}]
    write_lines(path, [json.dumps({"question": {"problem": "p"}, "label": {"steps": steps}}).encode()])
    with pytest.raises(DataFileError, match=r"line 1, step 0: a completion's 'text' has the wrong type, got integer 2"):
        read_labelled(path, format="prm800k")


def run_bon(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BON_")} | env
    return subprocess.run([str(BON), *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=300)


def test_cli_prints_a_bad_file_as_one_line(tmp_path):
    (tmp_path / "gsm8k").mkdir()
    write_lines(tmp_path / "gsm8k" / "test.jsonl", [json.dumps({"question": 5, "answer": ["#### 1"]}).encode()])
    result = run_bon(["tasks", "show", "gsm8k", "--limit", "1"], tmp_path, BON_DATA_DIR=str(tmp_path))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'gsm8k' / 'test.jsonl'}, line 1: field 'question' must be a string, got integer 5"
    ]
    bad = tmp_path / "pb.json"
    bad.write_bytes(b'[{"problem": "p", "steps": ["caf\xe9"], "label": -1}]')
    result = run_bon(["eval-prm", "--data", str(bad), "--format", "processbench", "--prm", str(tmp_path)], tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"error: {bad}, line 1: not UTF-8 (byte 0xe9 at byte 33 of the line)"]
