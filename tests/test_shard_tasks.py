"""The two mapped tasks on their own: ``generate_shard.fn`` and ``score_shard.fn`` called directly (no flow, no
Prefect server) on a real SQLite store migrated to head, with a tiny GPT-2 policy and a tiny PRM built from it.
Each writes only its shard's rows, and a second call with the same arguments writes nothing new."""

from __future__ import annotations

import pytest
from prm_tiny import tiny_gpt2_lm
from sqlalchemy import text

FAST_GENERATION = {"temperature": 1.0, "max_new_tokens": 24, "seed": 3}
CANDIDATES = (
    "SELECT p.source_id, c.sample_index, c.id, c.text FROM candidates c JOIN problems p ON p.id = c.problem_id "
    "WHERE c.run_id = :run ORDER BY p.source_id, c.sample_index"
)
STEPS = "SELECT s.candidate_id, s.step_index, s.text FROM steps s ORDER BY s.candidate_id, s.step_index"
STEP_SCORES = (
    "SELECT candidate_id, step_index, score FROM step_scores WHERE scorer_id = :scorer "
    "ORDER BY candidate_id, step_index"
)
CANDIDATE_SCORES = (
    "SELECT candidate_id, aggregation, score FROM candidate_scores WHERE scorer_id = :scorer "
    "ORDER BY candidate_id, aggregation"
)


def _rows(url: str, sql: str, **params) -> list[tuple]:
    from db.engine import make_engine

    engine = make_engine(url)
    with engine.connect() as connection:
        rows = [tuple(r) for r in connection.execute(text(sql), params).all()]
    engine.dispose()
    return rows


@pytest.fixture(scope="module")
def policy(tmp_path_factory) -> str:
    return str(tiny_gpt2_lm(tmp_path_factory.mktemp("policy")))


@pytest.fixture(scope="module")
def prm(policy, tmp_path_factory) -> str:
    from bon_core.prm import new_prm

    path = tmp_path_factory.mktemp("prm") / "prm"
    new_prm(policy).save_pretrained(path)
    return str(path)


@pytest.fixture
def problems():
    from bon_core.tasks import get_task

    return get_task("arith").load("test", limit=3)


@pytest.fixture
def store(tmp_path, problems) -> tuple[str, int]:
    """A fresh SQLite store at head holding an empty run ``r`` over ``problems``: (URL, run id)."""
    from db import repository
    from db.engine import make_engine, session_factory
    from db.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'bon.db'}"
    upgrade(url)
    engine = make_engine(url)
    with session_factory(engine).begin() as session:
        run_id = repository.get_or_create_run(session, "r", "arith", "tiny", FAST_GENERATION, 3)
        repository.upsert_problems(session, problems)
    engine.dispose()
    return url, run_id


def test_generate_shard_writes_its_shard_once(store, problems, policy):
    from bon_core.tasks import get_task
    from bon_core.types import GenerationConfig
    from db.engine import make_engine
    from flows.generate import generate_shard

    url, run_id = store
    shard, n = [p.source_id for p in problems[:2]], 2
    config = GenerationConfig(**FAST_GENERATION)

    def generate() -> int:
        return generate_shard.fn(url, run_id, "arith", {}, policy, "hf", None, shard, n, config)

    assert generate() == len(shard) * n
    candidates = _rows(url, CANDIDATES, run=run_id)
    assert [(sid, i) for sid, i, _, _ in candidates] == sorted((sid, i) for sid in shard for i in range(n))
    # every candidate is stored with the steps the task splits its text into (labelled where the task can)
    arith, by_id = get_task("arith"), {p.source_id: p for p in problems}
    steps = _rows(url, STEPS)
    assert steps
    for sid, _, cid, body in candidates:
        expected = arith.label_steps(body, by_id[sid]) or arith.split_steps(body)
        assert [t for c, _, t in steps if c == cid] == [s.text for s in expected]

    assert generate() == 0  # nothing missing: no model call, no write
    assert _rows(url, CANDIDATES, run=run_id) == candidates
    assert _rows(url, STEPS) == steps

    # a problem missing one sample is generated again, to the same seeded texts
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM candidates WHERE id = :id"), {"id": candidates[1][2]})
    engine.dispose()
    assert generate() == n
    again = _rows(url, CANDIDATES, run=run_id)
    assert [(sid, i, body) for sid, i, _, body in again] == [(sid, i, body) for sid, i, _, body in candidates]


def _seed_candidates(url: str, run_id: int, problems) -> None:
    """Per problem: its gold solution, the solution with a wrong answer, and (first problem only) an empty text,
    which has no steps to score."""
    from bon_core.generation.base import GeneratedText, candidates_for
    from bon_core.tasks import get_task
    from db import repository
    from db.engine import make_engine, session_factory

    arith = get_task("arith")
    candidates = []
    for k, p in enumerate(problems):
        texts = [p.solution, p.solution.rsplit("Answer:", 1)[0] + "Answer: 999"] + ([""] if k == 0 else [])
        samples = [GeneratedText(i, t, len(t), None, None, "stop") for i, t in enumerate(texts)]
        candidates += candidates_for(p, samples, arith)
    engine = make_engine(url)
    with session_factory(engine).begin() as session:
        ids = repository.upsert_problems(session, problems)
        repository.upsert_candidates(session, run_id, ids, candidates)
    engine.dispose()


def test_score_shard_scores_every_step_of_its_shard_once(store, problems, prm):
    from bon_core.aggregate import aggregate
    from bon_core.types import ScorerInfo
    from db import repository
    from db.engine import make_engine, session_factory
    from flows.score import AGGREGATIONS, score_shard

    url, run_id = store
    _seed_candidates(url, run_id, problems)
    engine = make_engine(url)
    with session_factory(engine).begin() as session:
        scorer_id = repository.upsert_scorer(session, ScorerInfo(kind="prm", name="tiny", version="1"))
    engine.dispose()
    shard = [p.source_id for p in problems[:2]]

    def score() -> int:
        return score_shard.fn(url, run_id, scorer_id, prm, "bon", shard)

    # the shard's candidates with steps: two per problem (the empty text has none)
    assert score() == 4
    in_shard = {cid: body for sid, _, cid, body in _rows(url, CANDIDATES, run=run_id) if sid in shard and body}
    steps = _rows(url, STEPS)
    step_scores = _rows(url, STEP_SCORES, scorer=scorer_id)
    assert [(c, i) for c, i, _ in step_scores] == [(c, i) for c, i, _ in steps if c in in_shard]
    candidate_scores = _rows(url, CANDIDATE_SCORES, scorer=scorer_id)
    assert {(c, how) for c, how, _ in candidate_scores} == {(c, how) for c in in_shard for how in AGGREGATIONS}
    for cid, how, value in candidate_scores:
        assert value == pytest.approx(aggregate([s for c, _, s in step_scores if c == cid], how))

    assert score() == 0  # everything in the shard is scored: no model call, no write
    assert _rows(url, STEP_SCORES, scorer=scorer_id) == step_scores
    assert _rows(url, CANDIDATE_SCORES, scorer=scorer_id) == candidate_scores
