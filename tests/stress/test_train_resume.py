"""SIGKILL ``bon train-prm`` at random points, re-run it with the same arguments, and compare with an uninterrupted
run: the re-run continues from the newest complete checkpoint (it says from which step), ends at the same step and
saves the same weights (one thread, so the arithmetic is deterministic), and its checkpoints are removed at the end.

Bounded: ``BON_STRESS_KILLS`` kill points (default 3; each costs two ``bon`` invocations), drawn with
``BON_STRESS_SEED`` (default 0). Half of the points wait until the trainer has written a random checkpoint (the kill
then lands anywhere in the next stretch of steps, possibly while the next checkpoint is being written); the others
are times over the uninterrupted run's duration, so some land before any checkpoint (the re-run starts over).
Real processes, the real transformers ``Trainer``, real Prefect (ephemeral) and MLflow under a temporary ``.bon``.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from prm_tiny import tiny_gpt2_lm  # noqa: E402
from stress.processes import INVOCATION_TIMEOUT_S, run_bon, start_bon  # noqa: E402

KILLS = int(os.environ.get("BON_STRESS_KILLS", "3"))
SEED = int(os.environ.get("BON_STRESS_SEED", "0"))
MAX_STEPS, EVAL_STEPS = 60, 4
pytestmark = [pytest.mark.slow, pytest.mark.timeout(INVOCATION_TIMEOUT_S * (1 + 2 * KILLS))]


def _train_args(data: Path, base: Path, out: Path) -> list[str]:
    return ["train-prm", "--data", f"trl:{data}", "--base", str(base), "--out", str(out),
            "--max-steps", str(MAX_STEPS), "--eval-steps", str(EVAL_STEPS), "--max-length", "64",
            "--batch-size", "4", "--no-register"]  # fmt: skip


def _complete_checkpoints(folder: Path) -> list[int]:
    steps = []
    for checkpoint in folder.glob("checkpoint-*"):
        try:
            json.loads((checkpoint / "trainer_state.json").read_text())
        except (OSError, ValueError):
            continue
        steps.append(int(checkpoint.name.rsplit("-", 1)[1]))
    return sorted(steps)


def _kill_during(home: Path, args: list[str], checkpoints: Path, step: int, delay_s: float) -> tuple[str, int | None]:
    """Start ``bon args`` and SIGKILL its process group ``delay_s`` after the folder of checkpoint ``step`` (or a
    later one) appears, complete or not; returns where the kill landed and the newest complete checkpoint left."""
    process = start_bon(home, args, home / "killed.log")
    started, seen = time.monotonic(), None
    while process.poll() is None:
        if seen is None and checkpoints.exists():
            if any(int(c.name.rsplit("-", 1)[1]) >= step for c in checkpoints.glob("checkpoint-*")):
                seen = time.monotonic()
        if seen is not None and time.monotonic() - seen >= delay_s:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            left = _complete_checkpoints(checkpoints) if checkpoints.exists() else []
            return f"killed at {time.monotonic() - started:.1f}s", (left[-1] if left else None)
        time.sleep(0.005)
    assert process.returncode == 0
    return "finished first", None


def _weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return {
        f"{file.name}:{name}": t for file in sorted(folder.glob("*.safetensors")) for name, t in load_file(file).items()
    }


def test_killed_train_prm_resumes_from_its_last_checkpoint(tmp_path):
    import torch

    home = tmp_path / "home"
    home.mkdir()
    rows = [
        {"prompt": f"{a}+{b}", "completions": [f"{a}+{b}={a + b + w}", str(a + b + w)], "labels": [not w] * 2}
        for a in range(6)
        for b in range(6)
        for w in (0, 1)
    ]
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    base = tiny_gpt2_lm(tmp_path / "base")
    run_bon(home, ["init"], home / "init.log")
    reference_s = run_bon(home, _train_args(data, base, tmp_path / "reference"), home / "reference.log")
    reference = _weights(tmp_path / "reference")
    assert not (tmp_path / "reference.checkpoints").exists(), "checkpoints are removed once the model is saved"

    # The steps the uninterrupted run reached (it may stop early) bound where checkpoints appear.
    reached = max(int(m) for m in re.findall(r"training the PRM: (\d+)/", (home / "reference.log").read_text()))
    rng = random.Random(SEED)
    report = []
    for k in range(KILLS):
        out = tmp_path / f"killed-{k}"
        checkpoints = Path(f"{out}.checkpoints")
        # Half of the kills right as a checkpoint folder appears (often while it is being written), half later.
        step = EVAL_STEPS * rng.randint(1, max(1, reached // EVAL_STEPS - 1))
        delay_s = 0.0 if k % 2 == 0 else rng.uniform(0.0, 1.0)
        where, left = _kill_during(home, _train_args(data, base, out), checkpoints, step, delay_s)
        log = home / f"rerun-{k}.log"
        run_bon(home, _train_args(data, base, out), log)
        resumed = re.search(r"resumed from the checkpoint at step (\d+)", log.read_text())
        if where.startswith("killed"):
            # The re-run continues from the newest complete checkpoint the kill left, or starts over without one.
            assert (int(resumed.group(1)) if resumed else None) == left, log.read_text()[-2000:]
        weights = _weights(out)
        assert weights.keys() == reference.keys()
        for name, tensor in weights.items():
            torch.testing.assert_close(tensor, reference[name], atol=1e-5, rtol=1e-5, msg=name)
        assert not checkpoints.exists()
        report.append(f"checkpoint {step} + {delay_s:.2f}s: {where}, resumed from step {left}, weights equal")
    print(f"\nuninterrupted train-prm {reference_s:.1f}s (seed {SEED})\n" + "\n".join(report))
