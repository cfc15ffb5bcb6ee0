"""End-to-end smoke test: ``bon demo --quick`` in a throw-away directory, then check that the store holds every
kind of row and that the MLflow registry holds both scorers with their ``champion`` alias.

Run by ``.ci/run`` after the test suite: ``.venv/bin/python scripts/smoke_demo.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

TABLES = ("runs", "problems", "candidates", "steps", "scorers", "step_scores", "candidate_scores", "selections",
          "evaluations")  # fmt: skip


def main() -> int:
    bon = Path(sys.executable).with_name("bon")
    data_dir = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    with tempfile.TemporaryDirectory(prefix="bon-smoke-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BON_", "MLFLOW_", "PREFECT_"))}
        env["BON_DATA_DIR"] = str(data_dir)
        subprocess.run([str(bon), "demo", "--quick"], cwd=tmp, env=env, check=True)
        # the PRM-vs-ORM study on the quick demo's stored runs, at its smallest useful size
        study = [str(bon), "study", "prm-vs-orm", "--prefix", "demo-quick", "--seeds", "2", "--budgets", "0.5,1"]
        subprocess.run(study, cwd=tmp, env=env, check=True)
        results = Path(tmp) / ".bon" / "models" / "demo-quick" / "study" / "results"
        plots = sorted(p.name for p in results.glob("*.png"))
        assert plots == ["study-best-at-k.png", "study-sample-efficiency.png"], plots

        import sqlite3

        with sqlite3.connect(Path(tmp) / ".bon" / "bon.db") as db:
            counts = {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}
            example = db.execute("SELECT COUNT(*) FROM v_best_at_n").fetchone()[0]
            study_rows = db.execute(
                "SELECT COUNT(*) FROM evaluations WHERE scorer LIKE 'study-%' AND metric = 'accuracy'"
            ).fetchone()[0]
            paired_rows = db.execute(
                "SELECT COUNT(*) FROM evaluations "
                "WHERE metric IN ('prm_minus_orm_accuracy', 'paired_accuracy_difference')"
            ).fetchone()[0]
        print("study rows:", study_rows, "paired rows:", paired_rows)
        assert study_rows > 0 and paired_rows > 0, "the study or the demo's paired comparison stored no evaluations"
        print("rows:", counts, "v_best_at_n:", example)
        missing = [t for t, n in counts.items() if n == 0]
        assert not missing, f"bon demo --quick left these tables empty: {missing}"
        assert example > 0, "the README's best@N query returns no rows"

        import mlflow
        from mlflow import MlflowClient

        mlflow.set_tracking_uri(f"sqlite:///{Path(tmp) / '.bon' / 'mlflow.db'}")
        client = MlflowClient()
        for name in ("bon-prm-quick", "bon-orm-quick"):
            champion = client.get_model_version_by_alias(name, "champion")
            print(f"registry: {name} champion = version {champion.version}")
        runs = mlflow.search_runs(search_all_experiments=True)
        names = set(runs["tags.mlflow.runName"])
        expected = {
            "pipeline:demo-quick",
            "train-policy",
            "generate:demo-quick-train",
            "train-prm",
            "train-orm",
            "score:demo-quick-test:bon-prm-quick",
            "score:demo-quick-test:bon-orm-quick",
            "study-prm-vs-orm:demo-quick-test",
            "select-evaluate:demo-quick-test",
        }
        assert expected <= names, f"MLflow runs missing: {expected - names}"
    print("smoke test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
