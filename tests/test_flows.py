"""The flows end to end on a real store (SQLite and PostgreSQL), a real Prefect test harness, a real MLflow store
in a temporary folder and real tiny transformer models: generate → train PRM → register → score → select/evaluate.
"""

from __future__ import annotations

import uuid

import pytest
from prm_tiny import tiny_gpt2_lm
from sqlalchemy import func, select, text

FAST_GENERATION = {"temperature": 1.0, "max_new_tokens": 24, "seed": 3}
TINY_PRM_TRAINING = {"max_steps": 4, "batch_size": 4, "eval_steps": 2, "learning_rate": 1e-3}


@pytest.fixture(scope="module")
def policy(tmp_path_factory):
    return str(tiny_gpt2_lm(tmp_path_factory.mktemp("policy")))


def _count(url: str, sql: str, **params) -> int:
    from db.engine import make_engine

    engine = make_engine(url)
    with engine.connect() as connection:
        value = connection.execute(text(sql), params).scalar_one()
    engine.dispose()
    return value


def test_pipeline_pieces_store_register_score_and_evaluate(prefect_harness, tracking, policy, store_url, tmp_path):
    import mlflow

    from flows.generate import generate_flow
    from flows.score import score_flow
    from flows.select_evaluate import select_evaluate_flow
    from flows.train import train_prm_flow

    tag = uuid.uuid4().hex[:6]
    train_run, val_run, test_run, registry = f"train-{tag}", f"val-{tag}", f"test-{tag}", f"prm-{tag}"
    for name, split, limit in ((train_run, "train", 6), (val_run, "validation", 3), (test_run, "test", 4)):
        generate_flow(name, "arith", policy, n=4, split=split, limit=limit, generation=FAST_GENERATION,
                      shard_size=2, database_url=store_url)  # fmt: skip
    run_count = "SELECT COUNT(*) FROM candidates c JOIN runs r ON r.id = c.run_id WHERE r.name = :name"
    assert _count(store_url, run_count, name=test_run) == 16
    labelled = "SELECT COUNT(*) FROM steps s JOIN candidates c ON c.id = s.candidate_id WHERE s.label IS NOT NULL"
    assert _count(store_url, labelled) > 0  # arith labels every step exactly

    trained = train_prm_flow(
        f"run:{train_run}", policy, str(tmp_path / "prm"), database_url=store_url, validation_run=val_run,
        register_as=registry, config=TINY_PRM_TRAINING,
    )  # fmt: skip
    assert trained.registered_version == "1" and trained.promoted  # the first version becomes champion
    assert 0.0 <= trained.val_best_at_n <= 1.0

    scorer_id = score_flow(store_url, test_run, f"models:/{registry}@champion")
    steps_of_run = (
        "SELECT COUNT(*) FROM steps s JOIN candidates c ON c.id = s.candidate_id "
        "JOIN runs r ON r.id = c.run_id WHERE r.name = :name"
    )
    scores_of_run = (
        "SELECT COUNT(*) FROM step_scores x JOIN candidates c ON c.id = x.candidate_id "
        "JOIN runs r ON r.id = c.run_id WHERE r.name = :name AND x.scorer_id = :scorer"
    )
    assert _count(store_url, scores_of_run, name=test_run, scorer=scorer_id) == _count(
        store_url, steps_of_run, name=test_run
    )
    version = _count(store_url, "SELECT COUNT(*) FROM scorers WHERE id = :id AND version = :v", id=scorer_id,
                     v=f"{registry}/1")  # fmt: skip
    assert version == 1  # the stored scorer names its registry version
    assert score_flow(store_url, test_run, f"models:/{registry}/1") == scorer_id  # re-run: same scorer, no new rows

    report = select_evaluate_flow(store_url, test_run, {registry: ["min", "last"]}, primary=f"{registry}:min",
                                  out_dir=str(tmp_path / "results"))  # fmt: skip
    assert report.num_problems == 4 and report.n == 4
    assert "| max |" in report.markdown and "| majority |" in report.markdown
    assert all((tmp_path / "results" / test_run / f).exists() for f in ("accuracy_vs_n.png", "results.csv"))
    evaluations = "SELECT COUNT(*) FROM evaluations e JOIN runs r ON r.id = e.run_id WHERE r.name = :name"
    assert _count(store_url, evaluations, name=test_run) >= 4 * 3
    selections = "SELECT COUNT(DISTINCT strategy) FROM selections s JOIN runs r ON r.id = s.run_id WHERE r.name = :n"
    assert _count(store_url, selections, n=test_run) >= 8
    runs = mlflow.search_runs(
        search_all_experiments=True, filter_string=f"tags.mlflow.runName = 'select-evaluate:{test_run}'"
    )
    assert len(runs) == 1 and "metrics.majority.accuracy" in runs.columns

    generated = mlflow.search_runs(
        search_all_experiments=True, filter_string=f"tags.mlflow.runName = 'generate:{test_run}'"
    )
    assert len(generated) == 1 and generated["metrics.new_candidates"][0] == 16
    assert generated["params.n"][0] == "4" and generated["tags.git.commit"][0]
    stored_link = "SELECT COUNT(*) FROM runs WHERE name = :name AND mlflow_run_id = :mlflow_run"
    assert _count(store_url, stored_link, name=test_run, mlflow_run=generated["run_id"][0]) == 1
    scored = mlflow.search_runs(
        search_all_experiments=True, filter_string=f"tags.mlflow.runName = 'score:{test_run}:{registry}'",
        order_by=["attributes.start_time ASC"],
    )  # fmt: skip
    with_steps = (
        "SELECT COUNT(DISTINCT c.id) FROM candidates c JOIN steps s ON s.candidate_id = c.id "
        "JOIN runs r ON r.id = c.run_id WHERE r.name = :name"
    )
    # every candidate with steps scored once; the re-run found nothing left to score
    assert list(scored["metrics.new_candidates_scored"]) == [_count(store_url, with_steps, name=test_run), 0]
    assert set(scored["params.scorer_version"]) == {f"{registry}/1"}


def test_promotion_rule_keeps_the_better_champion(prefect_harness, tracking, policy, tmp_path):
    from bon_core.prm import new_prm
    from flows.registry import Benchmark, log_prm, promote_if_better, register
    from flows.tracking import tracked_run

    prm_dir = tmp_path / "prm"
    new_prm(policy).save_pretrained(prm_dir)
    name = f"promo-{uuid.uuid4().hex[:6]}"
    decisions = []
    for metric in (0.5, 0.4, 0.6, 0.6):
        with tracked_run("register"):
            benchmark = Benchmark("val-run", 8, "best_at_n:min", metric)
            version = register(log_prm(prm_dir), name, benchmark)
            decisions.append(promote_if_better(name, version, benchmark))
    assert [d.promoted for d in decisions] == [True, False, True, False]  # ties do not replace the champion
    assert decisions[1].champion_version == "1" and decisions[1].champion.value == pytest.approx(0.5)
    assert decisions[3].champion_version == "3"


def _generate_script(url: str, policy: str, run: str, limit: int) -> str:
    return (
        "from flows.generate import run_generate\n"
        f"run_generate(database_url={url!r}, run_name={run!r}, task_name='arith', policy={policy!r}, n=4, "
        f"split='test', limit={limit}, generation={FAST_GENERATION!r}, shard_size=1)\n"
    )


@pytest.mark.slow
def test_killed_generate_resumes_to_the_uninterrupted_result(policy, tmp_path):
    """A generate killed mid-run and re-run with the same arguments ends with exactly the rows and texts of an
    uninterrupted run: none missing, none duplicated."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from db.engine import make_engine
    from db.migrate import upgrade
    from db.models import CandidateRow

    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180", "PREFECT_LOGGING_LEVEL": "WARNING"}  # fmt: skip
    env["BON_HOME"] = str(tmp_path / "home")  # the generate flow's MLflow run goes to home/mlflow.db
    for name in ("PREFECT_API_URL", "MLFLOW_TRACKING_URI", "BON_MLFLOW_TRACKING_URI"):
        env.pop(name, None)
    limit, total = 10, 40
    killed, reference = f"sqlite:///{tmp_path / 'killed.db'}", f"sqlite:///{tmp_path / 'reference.db'}"
    for url in (killed, reference):
        upgrade(url)
    count = "SELECT COUNT(*) FROM candidates"

    process = subprocess.Popen([sys.executable, "-c", _generate_script(killed, policy, "r", limit)], env=env,
                               start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and _count(killed, count) < 8:
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    partial = _count(killed, count)
    assert 0 < partial < total, f"the kill should land mid-run, found {partial} of {total} rows"

    for url in (killed, reference):
        subprocess.run([sys.executable, "-c", _generate_script(url, policy, "r", limit)], env=env, check=True)

    def texts(url: str) -> list[tuple[int, int, str]]:
        engine = make_engine(url)
        with engine.connect() as connection:
            rows = connection.execute(
                select(CandidateRow.problem_id, CandidateRow.sample_index, CandidateRow.text).order_by(
                    CandidateRow.problem_id, CandidateRow.sample_index
                )
            ).all()
            assert connection.execute(select(func.count()).select_from(CandidateRow)).scalar_one() == total
        engine.dispose()
        return [tuple(r) for r in rows]

    assert texts(killed) == texts(reference)
