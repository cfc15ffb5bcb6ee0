"""Flows take typed configs (frozen dataclasses), and Prefect's parameter validation turns the JSON object a
deployment sends into the same dataclass: a flow called with a plain dict and one called with the dataclass do the
same thing. A flow given no ``database_url`` uses the store of its process's settings, as a deployed run does."""

from __future__ import annotations

import pytest
from prm_tiny import tiny_gpt2_lm

FAST_GENERATION = {"temperature": 1.0, "max_new_tokens": 24, "seed": 3, "stop": ["\n\n"]}


@pytest.fixture(scope="module")
def policy(tmp_path_factory):
    return str(tiny_gpt2_lm(tmp_path_factory.mktemp("policy")))


@pytest.fixture
def sqlite_store(tmp_path) -> str:
    from db.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'bon.db'}"
    upgrade(url)
    return url


def _stored(url: str, run_name: str) -> tuple[dict, list[tuple[str, int, str]]]:
    from db import reads
    from flows.store import transaction

    with transaction(url) as session:
        run = reads.get_run(session, run_name)
        texts = [(c.problem_id, c.sample_index, c.text) for c in reads.load_candidates(session, run.id)]
        return dict(run.generation_config), sorted(texts)


def test_generate_flow_samples_the_same_from_a_json_object_and_from_the_dataclass(
    prefect_harness, tracking, policy, sqlite_store
):
    from bon_core.types import GenerationConfig
    from flows.generate import generate_flow

    common = {"task_name": "arith", "policy": policy, "n": 2, "limit": 3, "shard_size": 2, "database_url": sqlite_store}
    generate_flow(run_name="from-json", generation=FAST_GENERATION, **common)
    generate_flow(run_name="from-dataclass", generation=GenerationConfig(**{**FAST_GENERATION, "stop": ("\n\n",)}),
                  **common)  # fmt: skip
    json_config, json_texts = _stored(sqlite_store, "from-json")
    typed_config, typed_texts = _stored(sqlite_store, "from-dataclass")
    assert json_config == typed_config
    assert json_config["temperature"] == 1.0 and json_config["stop"] == ["\n\n"] and json_config["top_p"] == 1.0
    assert len(json_texts) == 3 * 2 and json_texts == typed_texts  # same seed, same config: the same samples


def test_generate_flow_without_a_database_url_writes_to_the_store_of_its_settings(
    prefect_harness, tracking, policy, sqlite_store, tmp_path, monkeypatch
):
    import mlflow

    from flows.generate import generate_flow

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BON_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("BON_DATABASE_URL", sqlite_store)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow.get_tracking_uri())
    generate_flow("from-settings", "arith", policy, n=2, limit=2, generation=FAST_GENERATION)
    _, texts = _stored(sqlite_store, "from-settings")
    assert len(texts) == 2 * 2


def test_flow_parameters_validate_json_objects_into_the_config_dataclasses():
    from bon_core.generation.policy import PolicyTrainConfig
    from bon_core.prm import HeadConfig, PRMSpec, PRMTrainConfig, StepFormat
    from bon_core.types import GenerationConfig
    from flows.generate import generate_flow
    from flows.pipeline import DemoConfig, pipeline_flow
    from flows.train import ContrastiveProblems, ReferenceProblems, train_policy_flow, train_prm_flow

    generate = generate_flow.validate_parameters(
        {"run_name": "r", "task_name": "arith", "policy": "p", "generation": FAST_GENERATION}
    )
    assert generate["generation"] == GenerationConfig(temperature=1.0, max_new_tokens=24, seed=3, stop=("\n\n",))

    train = train_prm_flow.validate_parameters({
        "source": "run:r", "base": "b",
        "config": {"max_steps": 4, "select_metric": "best_at_n"},
        "spec": {"max_length": 64, "head": {"inputs": "likelihood"}, "step_format": {"step_tag": "\n"}},
        "lm_problems": {"task": "arith", "split": "train", "limit": 10, "seed": 1},
        "contrastive": {"task": "arith", "split": "train", "limit": 5},
    })  # fmt: skip
    assert train["config"] == PRMTrainConfig(max_steps=4, select_metric="best_at_n")
    assert train["spec"] == PRMSpec(max_length=64, head=HeadConfig(inputs="likelihood"),
                                    step_format=StepFormat(step_tag="\n"))  # fmt: skip
    assert train["lm_problems"] == ReferenceProblems("arith", "train", 10, seed=1)
    assert train["contrastive"] == ContrastiveProblems("arith", "train", 5, seed=0, negatives_per_problem=2)

    policy = train_policy_flow.validate_parameters({"task_name": "arith", "out_dir": "o", "config": {"seed": 2}})
    assert policy["config"] == PolicyTrainConfig(seed=2)
    demo = pipeline_flow.validate_parameters({"database_url": "u", "home": "h", "config": {"n": 4,
                                              "aggregations": ["min", "last"]}})  # fmt: skip
    assert demo["config"] == DemoConfig(n=4, aggregations=("min", "last"))

    # the schema a deployment's form and the server's parameter check use: every config is an optional object
    schema = train_prm_flow.parameters.model_dump()
    assert schema["required"] == ["source", "base"]  # the store, the output folder and the configs have defaults
    assert schema["definitions"]["PRMTrainConfig"]["properties"]["max_steps"]["default"] == 300

    typed = PRMTrainConfig(max_steps=7)
    assert train_prm_flow.validate_parameters({"source": "s", "base": "b", "config": typed})["config"] is typed


def test_an_invalid_json_config_fails_before_the_flow_runs_with_the_configs_own_message():
    from prefect.exceptions import ParameterTypeError

    from flows.generate import generate_flow
    from flows.train import train_prm_flow

    with pytest.raises(ParameterTypeError, match="temperature must be >= 0"):
        generate_flow.validate_parameters(
            {"run_name": "r", "task_name": "arith", "policy": "p", "generation": {"temperature": -1}}
        )
    with pytest.raises(ParameterTypeError, match="max_steps"):
        train_prm_flow.validate_parameters({"source": "s", "base": "b", "config": {"max_steps": "many"}})


def test_the_demos_scorer_settings_validate_into_train_prm_flows_configs(tmp_path):
    from flows.pipeline import DemoConfig, scorer_training
    from flows.train import ContrastiveProblems, ReferenceProblems, train_prm_flow

    demo = DemoConfig.quick()
    training = scorer_training(demo, tmp_path / "checkpoints")
    params = train_prm_flow.validate_parameters({"source": "run:demo-quick-train", "base": "b", **training})
    config, spec = params["config"], params["spec"]
    assert (config.max_steps, config.batch_size, config.select_metric) == (demo.prm_steps, 16, "best_at_n")
    assert config.output_dir == str(tmp_path / "checkpoints") and not config.mask_after_first_error
    assert (spec.head.inputs, spec.head.hidden_dim, spec.step_format.step_tag, spec.max_length) == (
        "likelihood", 16, "\n", 256,
    )  # fmt: skip
    assert params["lm_problems"] == ReferenceProblems("arith", "train", demo.prm_lm_problems, seed=1)
    assert params["contrastive"] == ContrastiveProblems("arith", "train", demo.prm_contrastive_problems, seed=2)
