"""SIGKILL ``bon generate`` and ``bon score`` at random points, re-run them, and compare the store with an
uninterrupted run: same candidates (texts, answers, steps, labels) for the same seeds, same scores, no duplicates,
and at every kill a candidate's steps (and a candidate's scores) are either all stored or not at all.

Bounded: ``BON_STRESS_KILLS`` kill points per command (default 3; each costs two ``bon`` invocations), drawn with
``BON_STRESS_SEED`` (default 0). Half of the points are times after the start, drawn over the uninterrupted run's
duration; the other half wait until the store holds a random number of the rows the command writes, so the kill
lands between or inside later shards' writes. Real processes, a real SQLite store, real Prefect (ephemeral) and
MLflow under a temporary ``.bon``.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from prm_tiny import tiny_gpt2_lm  # noqa: E402
from stress.processes import INVOCATION_TIMEOUT_S, run_bon, start_bon  # noqa: E402

KILLS = int(os.environ.get("BON_STRESS_KILLS", "3"))
SEED = int(os.environ.get("BON_STRESS_SEED", "0"))
N, LIMIT = 3, 4
# One problem per shard: every problem is its own transaction, so kills land between and inside commits.
GENERATE = ["generate", "--task", "arith", "-n", str(N), "--limit", str(LIMIT), "--max-new-tokens", "24",
            "--shard-size", "1"]  # fmt: skip
SCORE = ["score", "--shard-size", "1", "--run"]
AGGREGATIONS = 5  # min, prod, last, mean, sum
# Each kill point costs four `bon` invocations (kill and re-run, for generate and for score), plus three for setup.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(INVOCATION_TIMEOUT_S * (3 + 4 * KILLS))]


def _bon(home: Path, *args: str) -> float:
    return run_bon(home, list(args), home / "bon.log")


def _query(db: Path, sql: str, *params) -> list[tuple]:
    for _ in range(200):
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as connection:
                return connection.execute(sql, params).fetchall()
        except sqlite3.OperationalError:  # locked by the writer, or not created yet
            time.sleep(0.02)
    raise AssertionError(f"could not read {db}")


CANDIDATE_ROWS = "SELECT COUNT(*) FROM candidates c JOIN runs r ON r.id = c.run_id WHERE r.name = ?"
SCORE_ROWS = (
    "SELECT COUNT(*) FROM candidate_scores cs JOIN candidates c ON c.id = cs.candidate_id "
    "JOIN runs r ON r.id = c.run_id WHERE r.name = ?"
)


def _kill_during(home: Path, args: list[str], point: tuple[str, float], count_sql: str, run: str) -> str:
    """Start ``bon args``, SIGKILL its whole process group at ``point``; say where the kill landed."""
    db = home / ".bon" / "bon.db"
    process = start_bon(home, args, home / "killed.log")
    kind, value = point
    started = time.monotonic()
    while process.poll() is None:
        elapsed = time.monotonic() - started
        rows = _query(db, count_sql, run)[0][0] if kind == "rows" and db.exists() else 0
        if (kind == "time" and elapsed >= value) or (kind == "rows" and rows >= value):
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return f"killed at {elapsed:.1f}s"
        time.sleep(0.02)
    assert process.returncode == 0
    return "finished first"


def _candidates(db: Path, run: str) -> dict:
    rows = _query(
        db,
        "SELECT p.source_id, c.sample_index, c.text, c.answer, c.correct, "
        "(SELECT COUNT(*) FROM steps s WHERE s.candidate_id = c.id) FROM candidates c "
        "JOIN problems p ON p.id = c.problem_id JOIN runs r ON r.id = c.run_id WHERE r.name = ?",
        run,
    )
    steps = _query(
        db,
        "SELECT p.source_id, c.sample_index, s.step_index, s.text, s.char_start, s.char_end, s.label FROM steps s "
        "JOIN candidates c ON c.id = s.candidate_id JOIN problems p ON p.id = c.problem_id "
        "JOIN runs r ON r.id = c.run_id WHERE r.name = ? ORDER BY s.step_index",
        run,
    )
    out = {(sid, i): (text, answer, correct, []) for sid, i, text, answer, correct, _ in rows}
    assert len(out) == len(rows), "duplicate candidates"
    for sid, i, *step in steps:
        out[(sid, i)][3].append(tuple(step))
    return {key: (*value[:3], tuple(value[3])) for key, value in out.items()}


def _scores(db: Path, run: str) -> dict:
    steps = _query(
        db,
        "SELECT p.source_id, c.sample_index, ss.step_index, ss.score FROM step_scores ss "
        "JOIN candidates c ON c.id = ss.candidate_id JOIN problems p ON p.id = c.problem_id "
        "JOIN runs r ON r.id = c.run_id WHERE r.name = ? ORDER BY ss.step_index",
        run,
    )
    aggregates = _query(
        db,
        "SELECT p.source_id, c.sample_index, cs.aggregation, cs.score FROM candidate_scores cs "
        "JOIN candidates c ON c.id = cs.candidate_id JOIN problems p ON p.id = c.problem_id "
        "JOIN runs r ON r.id = c.run_id WHERE r.name = ?",
        run,
    )
    out: dict = {}
    for sid, i, _, score in steps:
        out.setdefault((sid, i), ([], {}))[0].append(score)
    for sid, i, how, score in aggregates:
        out.setdefault((sid, i), ([], {}))[1][how] = score
    return out


def _points(rng: random.Random, seconds: float, rows: int) -> list[tuple[str, float]]:
    """Alternate row-count points over the rows written and time points over most of the uninterrupted duration."""
    return [
        ("rows", rng.randint(1, rows - 1)) if k % 2 == 0 else ("time", rng.uniform(0.5, 0.9 * seconds))
        for k in range(KILLS)
    ]


def test_killed_generate_and_score_resume_to_the_uninterrupted_rows(tmp_path):
    from bon_core.prm import new_prm

    home = tmp_path / "home"
    home.mkdir()
    policy = tiny_gpt2_lm(tmp_path / "policy")
    new_prm(str(policy)).save_pretrained(tmp_path / "prm")
    db = home / ".bon" / "bon.db"
    _bon(home, "init")
    generate_s = _bon(home, *GENERATE, "--policy", str(policy), "--run", "reference")
    prm = ["--prm", str(tmp_path / "prm")]
    score_s = _bon(home, *SCORE, "reference", *prm)
    reference, reference_scores = _candidates(db, "reference"), _scores(db, "reference")
    assert len(reference) == N * LIMIT and len(reference_scores) == len([c for c in reference.values() if c[3]])
    step_counts = {key: len(c[3]) for key, c in reference.items()}

    rng = random.Random(SEED)
    report, killed = [], {"generate": 0, "score": 0}
    for k, point in enumerate(_points(rng, generate_s, N * LIMIT)):
        run = f"killed-{k}"
        where = _kill_during(home, [*GENERATE, "--policy", str(policy), "--run", run], point, CANDIDATE_ROWS, run)
        partial = _candidates(db, run)
        # What a kill left behind: whole candidates with all their steps, nothing else.
        assert {key: len(c[3]) for key, c in partial.items()} == {key: step_counts[key] for key in partial}
        assert all(reference[key] == c for key, c in partial.items())
        _bon(home, *GENERATE, "--policy", str(policy), "--run", run)
        assert _candidates(db, run) == reference
        killed["generate"] += where.startswith("killed")
        report.append(f"generate {point[0]}={point[1]:.1f}: {where}, {len(partial)}/{len(reference)} kept, 0 lost")

        scored_rows = len(reference_scores) * AGGREGATIONS
        score_point = _points(rng, score_s, scored_rows)[k]
        where = _kill_during(home, [*SCORE, run, *prm], score_point, SCORE_ROWS, run)
        partial_scores = _scores(db, run)
        for key, (steps, aggregates) in partial_scores.items():  # all of a candidate's scores, or none
            assert len(steps) == step_counts[key] and len(aggregates) == AGGREGATIONS, key
        _bon(home, *SCORE, run, *prm)
        final = _scores(db, run)
        assert final.keys() == reference_scores.keys()
        for key, (steps, aggregates) in final.items():
            assert steps == pytest.approx(reference_scores[key][0], abs=1e-5)
            assert aggregates == pytest.approx(reference_scores[key][1], abs=1e-5)
        killed["score"] += where.startswith("killed")
        report.append(
            f"score {score_point[0]}={score_point[1]:.1f}: {where}, {len(partial_scores)}/{len(final)} kept, 0 lost"
        )
    print(f"\nuninterrupted: generate {generate_s:.1f}s, score {score_s:.1f}s (seed {SEED})")
    print("\n".join(report))
    print(
        f"kills survived: {killed['generate']} of {KILLS} generate points, {killed['score']} of {KILLS} score points "
        "(the rest finished first); rows lost: 0; duplicates: 0"
    )
    assert killed["generate"] + killed["score"] >= KILLS  # most points must really interrupt a run
