"""The hostile corpus (tests/hostile/*.txt) graded through HumanEval and the real subprocess sandbox, in parallel
batches mixed with honest candidates: every attack is contained and gets the classification its header names, none
passes, nothing it tried reached the host (files, network, environment, processes), and the honest candidates in
the batch grade exactly as they do alone."""

from __future__ import annotations

import os
import secrets
import socket
from pathlib import Path

import pytest

from bon_core.sandbox import SandboxLimits
from bon_core.sandbox.subprocess_sandbox import SubprocessSandbox
from bon_core.tasks import get_task
from bon_core.types import Problem

HOSTILE = Path(__file__).parent / "hostile"
REPO = Path(__file__).resolve().parents[1]
LIMITS = SandboxLimits(timeout_s=3, cpu_s=2, memory_mb=256, max_processes=24, max_file_mb=8, max_open_files=128)
# HumanEval/2, verbatim.
PROMPT = (
    "\n\ndef truncate_number(number: float) -> float:\n"
    '    """ Given a positive floating point number, it can be decomposed into\n'
    "    and integer part (largest integer smaller than given number) and decimals\n"
    "    (leftover part always smaller than 1).\n\n"
    "    Return the decimal part of the number.\n"
    "    >>> truncate_number(3.5)\n    0.5\n"
    '    """\n'
)
TEST = (
    "\n\nMETADATA = {\n    'author': 'jt',\n    'dataset': 'test'\n}\n\n\n"
    "def check(candidate):\n"
    "    assert candidate(3.5) == 0.5\n"
    "    assert abs(candidate(1.33) - 0.33) < 1e-6\n"
    "    assert abs(candidate(123.456) - 0.456) < 1e-6\n"
)
PROBLEM = Problem(
    task="humaneval",
    source_id="HumanEval/2",
    question=PROMPT,
    reference="    return number % 1.0\n",
    metadata={"test": TEST, "entry_point": "truncate_number"},
)
HONEST = {
    "honest_modulo": ("    return number % 1.0\n", "passed", "passed"),
    "honest_int": ("    return number - int(number)\n", "passed", "passed"),
    "honest_wrong": ("    return number\n", "failed", "AssertionError"),
}
SANDBOX_UIDS = range(200_000, 1_200_000)


def _corpus(fill: dict[str, str]) -> dict[str, tuple[str, set[str]]]:
    corpus = {}
    for path in sorted(HOSTILE.glob("*.txt")):
        text = path.read_text()
        attack, expect = text.splitlines()[:2]
        assert attack.startswith("# attack: ") and expect.startswith("# expect: "), path.name
        for placeholder, value in fill.items():
            text = text.replace(placeholder, value)
        corpus[path.stem] = (text, set(expect.removeprefix("# expect: ").split("|")))
    return corpus


def _sandbox_processes() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            status = (entry / "status").read_text() if entry.name.isdigit() else ""
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields and int(fields["Uid"].split()[0]) in SANDBOX_UIDS and not fields["State"].strip().startswith("Z"):
            pids.append(int(entry.name))
    return pids


@pytest.fixture
def listener():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    yield server
    server.close()


def test_hostile_corpus_is_contained_and_classified(listener, monkeypatch, capsys):
    sandbox = SubprocessSandbox()
    if not sandbox.can_isolate:
        pytest.skip("needs root with unshare, setpriv and mount: without them the sandbox does not isolate")
    token = secrets.token_hex(8)
    secret_name, secret = f"BON_HOSTILE_SECRET_{token.upper()}", f"s3cr3t-{token}"
    monkeypatch.setenv(secret_name, secret)
    outside = Path("/tmp") / f"bon-hostile-outside-{token}"
    project_write = REPO / f"bon-hostile-{token}.txt"
    fill = {
        "__BON_PORT__": str(listener.getsockname()[1]),
        "__BON_OUTSIDE__": str(outside),
        "__BON_PROJECT_WRITE__": str(project_write),
        "__BON_PROJECT_FILE__": str(REPO / "pyproject.toml"),
        "__BON_SECRET_NAME__": secret_name,
    }
    corpus = _corpus(fill)
    assert len(corpus) >= 25
    task = get_task("humaneval", data_dir=REPO / "tests", limits=LIMITS, max_workers=2)

    alone = dict(zip(HONEST, task.run_tests([t for t, _, _ in HONEST.values()], [PROBLEM] * len(HONEST)), strict=True))
    names = [*corpus]
    for i, honest in enumerate(HONEST):  # spread the honest candidates through the batch
        names.insert(1 + i * len(names) // len(HONEST), honest)
    texts = [corpus[n][0] if n in corpus else HONEST[n][0] for n in names]
    results = dict(zip(names, task.run_tests(texts, [PROBLEM] * len(names)), strict=True))

    with capsys.disabled():
        print(f"\n{'candidate':28} {'status':10} detail")
        for name in names:
            print(f"{name:28} {results[name].status:10} {results[name].detail[:80]}")
    wrong = {n: (r.status, r.detail) for n, r in results.items() if n in corpus and r.status not in corpus[n][1]}
    assert wrong == {}
    assert [n for n in corpus if results[n].passed] == []
    for name, (_, status, detail) in HONEST.items():
        assert (
            (results[name].status, results[name].detail) == (status, detail) == (alone[name].status, alone[name].detail)
        )
    with capsys.disabled():
        print(f"hostile candidates contained: {len(corpus)}/{len(corpus)}; honest ones as alone: {len(HONEST)}")

    assert _sandbox_processes() == []  # daemons, fork bombs and sleepers are all gone
    with pytest.raises(BlockingIOError):  # no connection ever reached the listener
        listener.accept()
    assert not outside.exists() and not project_write.exists()
    assert not Path("/tmp/bon-hostile-env.txt").exists()
    project_text = (REPO / "pyproject.toml").read_text()
    for name, result in results.items():
        assert secret not in result.stdout + result.stderr, name
        assert project_text[:200] not in result.stdout, name
    assert os.environ[secret_name] == secret  # the parent is unharmed
