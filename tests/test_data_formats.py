"""Data as published: JSON arrays (ProcessBench), JSON Lines, parquet, directories mixing them, data sets saved with
``save_to_disk`` and Hub splits (tested offline on a local folder laid out like a Hub repository, which
``datasets.load_dataset`` reads the same way), for the step-data readers and the tasks; and ``--limit``'s
stratified sample."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bon_core.datafiles import DataFileError, expand_sources
from bon_core.stepdata import read_labelled, read_subsets, stratified_subset
from bon_core.tasks import get_task

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def pb_row(subset: str, i: int, label: int) -> dict:
    """A row as ProcessBench publishes it (the six fields, in its order)."""
    return {"id": f"{subset}-{i}", "generator": "Qwen2-7B-Instruct", "problem": f"{subset} problem {i}",
            "steps": [f"step {i}.0", f"step {i}.1", f"step {i}.2"], "final_answer_correct": label == -1,
            "label": label}  # fmt: skip


# As published, wrong solutions come first (label >= 0), then the correct ones (label -1).
GSM8K = [pb_row("gsm8k", 0, 1), pb_row("gsm8k", 1, 0), pb_row("gsm8k", 2, -1)]
MATH = [pb_row("math", 0, 2), pb_row("math", 1, -1)]
HUB_README = """---
configs:
- config_name: {config}
  data_files:
  - split: gsm8k
    path: gsm8k.json
  - split: math
    path: math.json
---
"""


def as_tuples(records) -> list[tuple]:
    return [(r.problem, r.steps, r.labels, r.first_error, r.final_correct, r.metadata["id"]) for r in records]


EXPECTED_GSM8K = [
    ("gsm8k problem 0", ("step 0.0", "step 0.1", "step 0.2"), (1.0, 0.0, None), 1, False, "gsm8k-0"),
    ("gsm8k problem 1", ("step 1.0", "step 1.1", "step 1.2"), (0.0, None, None), 0, False, "gsm8k-1"),
    ("gsm8k problem 2", ("step 2.0", "step 2.1", "step 2.2"), (1.0, 1.0, 1.0), -1, True, "gsm8k-2"),
]


@pytest.fixture
def published(tmp_path) -> Path:
    """ProcessBench's layout: one JSON array per subset, plus the README that makes the folder a Hub-style repo."""
    folder = tmp_path / "ProcessBench"
    folder.mkdir()
    (folder / "gsm8k.json").write_text(json.dumps(GSM8K, indent=2))
    (folder / "math.json").write_text(json.dumps(MATH, indent=2))
    (folder / "README.md").write_text(HUB_README.format(config="default"))
    return folder


def test_processbench_json_arrays_as_published(published):
    records = read_labelled(f"processbench:{published / 'gsm8k.json'}")
    assert as_tuples(records) == EXPECTED_GSM8K
    assert records[0].metadata["line"] is None and records[2].metadata["row"] == 2
    assert records[0].metadata["generator"] == "Qwen2-7B-Instruct"
    subsets = read_subsets(published, "processbench")  # a directory: every .json/.jsonl/.parquet file in it
    assert [(name, len(rows)) for name, rows in subsets] == [("gsm8k", 3), ("math", 2)]
    assert [r.first_error for r in subsets[1][1]] == [2, -1]


def test_jsonl_json_and_parquet_read_the_same_records(tmp_path):
    import datasets

    (tmp_path / "a.jsonl").write_text("".join(json.dumps(row) + "\n" for row in GSM8K))
    (tmp_path / "b.json").write_text(json.dumps(GSM8K))
    datasets.Dataset.from_list(GSM8K).to_parquet(str(tmp_path / "c.parquet"))
    (tmp_path / "notes.txt").write_text("not data")
    subsets = read_subsets(tmp_path, "processbench")
    assert [name for name, _ in subsets] == ["a", "b", "c"]
    for _, records in subsets:
        assert as_tuples(records) == EXPECTED_GSM8K
    assert [r.metadata["line"] for r in subsets[0][1]] == [1, 2, 3]
    assert read_subsets(f"{tmp_path}/*.parquet", "processbench")[0][0] == "c"


def test_saved_dataset_dict_splits(tmp_path):
    import datasets

    saved = tmp_path / "saved"
    datasets.DatasetDict(
        {"gsm8k": datasets.Dataset.from_list(GSM8K), "math": datasets.Dataset.from_list(MATH)}
    ).save_to_disk(str(saved))
    assert [(n, len(r)) for n, r in read_subsets(saved, "processbench")] == [("gsm8k", 3), ("math", 2)]
    only_math = read_subsets(f"processbench:{saved}@math", None)
    assert [(n, [r.metadata["id"] for r in rows]) for n, rows in only_math] == [("math", ["math-0", "math-1"])]
    assert as_tuples(read_labelled(f"{saved}@gsm8k", format="processbench")) == EXPECTED_GSM8K
    with pytest.raises(DataFileError, match=r"no split 'olympiadbench' in .*saved; known splits: gsm8k, math"):
        read_labelled(f"{saved}@olympiadbench", format="processbench")
    single = tmp_path / "single"
    datasets.Dataset.from_list(MATH).save_to_disk(str(single))
    assert [(n, len(r)) for n, r in read_subsets(single, "processbench")] == [("single", 2)]


def test_hub_splits_read_through_load_dataset(published):
    # `hub:NAME@SPLIT,...` calls datasets.load_dataset(NAME, split=SPLIT); a local folder with the Hub repository's
    # README `configs` is resolved exactly like the Hub repository Qwen/ProcessBench, without a network.
    subsets = read_subsets(f"processbench:hub:{published}@math,gsm8k", None)
    assert [name for name, _ in subsets] == ["math", "gsm8k"]
    assert as_tuples(subsets[1][1]) == EXPECTED_GSM8K
    assert subsets[0][1][0].metadata["path"] == f"hub:{published}@math"
    every_split = read_subsets(f"hub:{published}", "processbench")  # no split named: all of them
    assert [(name, len(rows)) for name, rows in every_split] == [("gsm8k", 3), ("math", 2)]
    with pytest.raises(DataFileError, match=rf"hub:{published}@omnimath: cannot be read with datasets"):
        read_labelled(f"hub:{published}@omnimath", format="processbench")


def hub_repo(folder: Path, rows: list[dict]) -> Path:
    """A folder laid out like the Hub repository openai/gsm8k (config ``main``, split ``test``)."""
    folder.mkdir()
    (folder / "test.json").write_text(json.dumps(rows))
    (folder / "README.md").write_text(
        "---\nconfigs:\n- config_name: main\n  data_files:\n  - split: test\n    path: test.json\n---\n"
    )
    return folder


def test_task_loads_hub_split_and_checks_its_rows(tmp_path):
    rows = [{"question": "2+3?", "answer": "2+3=5\n#### 5"}, {"question": "1,000+1?", "answer": "#### 1,001"}]
    repo = hub_repo(tmp_path / "gsm8k-hub", rows)
    problems = get_task("gsm8k", hub_name=str(repo)).load("test", source="hub")
    assert [(p.source_id, p.question, p.reference) for p in problems] == [
        ("test-0", "2+3?", "5"),
        ("test-1", "1,000+1?", "1001"),
    ]
    repo = hub_repo(tmp_path / "bad-hub", [{"question": "q", "answer": 5}])
    with pytest.raises(DataFileError, match=rf"hub:{repo}:main@test, row 1: field 'answer' must be a string"):
        get_task("gsm8k", hub_name=str(repo)).load("test", source="hub")


@pytest.mark.parametrize(
    ("format", "path"),
    [
        ("math-shepherd", DATA / "prm_samples" / "samples_math-shepherd.jsonl"),
        ("prm800k", DATA / "prm_samples" / "samples_prm800k.jsonl"),
        ("prmbench", DATA / "prmbench" / "prm800k_test_p1_4o_circular.jsonl"),
    ],
)
def test_published_step_data_as_json_array_and_parquet(tmp_path, format, path):
    import datasets

    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    (tmp_path / "rows.json").write_text(json.dumps(rows))
    expected = [(r.problem, r.steps, r.labels, r.first_error) for r in read_labelled(path, format=format)]
    assert len(expected) == {"math-shepherd": 7, "prm800k": 6, "prmbench": 179}[format]
    as_json = read_labelled(tmp_path / "rows.json", format=format)
    assert [(r.problem, r.steps, r.labels, r.first_error) for r in as_json] == expected
    if format != "prm800k":  # PRM800K's nested rows do not share one Arrow schema; they stay JSON
        datasets.Dataset.from_list(rows).to_parquet(str(tmp_path / "rows.parquet"))
        as_parquet = read_labelled(tmp_path / "rows.parquet", format=format)
        assert [(r.problem, r.steps, r.labels, r.first_error) for r in as_parquet] == expected


def test_limit_takes_a_stratified_seeded_sample(tmp_path):
    rows = [pb_row("s", i, 0) for i in range(10)] + [pb_row("s", i, -1) for i in range(10, 15)]  # wrong first
    (tmp_path / "s.json").write_text(json.dumps(rows))
    ((_, sample),) = read_subsets(tmp_path / "s.json", "processbench", limit=6, seed=3)
    # 5 of 15 are correct: a 6-sample keeps 2 correct and 4 wrong (the first 6 rows would all be wrong)
    assert sum(r.first_error == -1 for r in sample) == 2 and len(sample) == 6
    ids = [r.metadata["id"] for r in sample]
    assert ids == sorted(ids, key=lambda x: int(x.split("-")[1]))  # file order kept
    assert [r.metadata["id"] for r in read_subsets(tmp_path / "s.json", "processbench", limit=6, seed=3)[0][1]] == ids
    draws = {tuple(r.metadata["id"] for r in stratified_subset(read_labelled(tmp_path / "s.json", "processbench"),
                                                                6, seed)) for seed in range(5)}  # fmt: skip
    assert len(draws) > 1  # the seed matters
    records = read_labelled(tmp_path / "s.json", "processbench")
    assert sum(r.first_error == -1 for r in stratified_subset(records[:10] + records[14:], 2, 0)) == 1  # 1 of 11
    assert stratified_subset(records, 100, 0) == records
    with pytest.raises(ValueError, match="limit must be >= 1"):
        stratified_subset(records, 0)


def test_spec_errors(tmp_path):
    with pytest.raises(DataFileError, match=r"no data file matches .*none\*\.json"):
        expand_sources(f"{tmp_path}/none*.json")
    with pytest.raises(DataFileError, match=r"is not a data set saved with save_to_disk, so it has no splits"):
        expand_sources(f"{tmp_path}@train")
    with pytest.raises(DataFileError, match=r"hub:: no data set name"):
        expand_sources("hub:")
