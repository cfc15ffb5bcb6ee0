"""The promotion gate of the PRM registry against a real MLflow store: a version becomes ``champion`` only when it
was evaluated on the same benchmark run, N and metric as the champion and beats it; the logged pyfunc model carries
a signature, an input example, ``bon_core`` as code and pinned requirements, and scores like the PRM itself."""

from __future__ import annotations

import pytest
from prm_tiny import tiny_gpt2_lm


@pytest.fixture(scope="module")
def tiny_prm(tmp_path_factory):
    from bon_core.prm import new_prm

    root = tmp_path_factory.mktemp("gate")
    prm_dir = root / "prm"
    new_prm(str(tiny_gpt2_lm(root / "base"))).save_pretrained(prm_dir)
    return prm_dir


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """A fresh MLflow store (SQLite) with the ``bon`` experiment for this module; the tracking URI is reset after."""
    import mlflow

    from flows.runtime import configure_mlflow
    from flows.settings import Settings

    configure_mlflow(Settings(home=tmp_path_factory.mktemp("registry") / ".bon", mlflow_tracking_uri=None))
    yield
    mlflow.set_tracking_uri(None)


@pytest.fixture(scope="module")
def model_uri(registry, tiny_prm):
    """The tiny PRM logged once; every registration below makes a new version of the same logged model."""
    from flows.registry import log_prm
    from flows.tracking import tracked_run

    with tracked_run("log"):
        return log_prm(tiny_prm)


def _register(uri, name, benchmark):
    from flows.registry import promote_if_better, register
    from flows.tracking import tracked_run

    with tracked_run("register"):
        version = register(uri, name, benchmark)
        return promote_if_better(name, version, benchmark)


def test_gate_compares_only_the_same_run_n_and_metric(model_uri):
    from mlflow import MlflowClient

    from flows.registry import Benchmark, promotion_reason

    val = Benchmark("full-validation", 16, "best_at_n:min", 0.70)
    decisions = [
        _register(model_uri, "gate-prm", val),  # v1: first champion
        _register(model_uri, "gate-prm", Benchmark("quick-validation", 8, "best_at_n:min", 0.95)),  # v2: other run
        _register(model_uri, "gate-prm", Benchmark("full-validation", 8, "best_at_n:min", 0.95)),  # v3: other N
        _register(model_uri, "gate-prm", Benchmark("full-validation", 16, "step_auroc", 0.95)),  # v4: other metric
        _register(model_uri, "gate-prm", None),  # v5: no validation run at all
        _register(model_uri, "gate-prm", Benchmark("full-validation", 16, "best_at_n:min", 0.70)),  # v6: a tie
        _register(model_uri, "gate-prm", Benchmark("full-validation", 16, "best_at_n:min", 0.72)),  # v7: better
    ]
    assert [d.promoted for d in decisions] == [True, False, False, False, False, False, True]
    client = MlflowClient()
    assert str(client.get_model_version_by_alias("gate-prm", "champion").version) == "7"
    assert (
        "on run 'quick-validation'" in decisions[1].reason and "only the same run, N and metric" in decisions[1].reason
    )
    assert "at N=8" in decisions[2].reason and "step_auroc" in decisions[3].reason
    assert (
        decisions[4].reason == "gate-prm v5 not promoted: it was evaluated on no benchmark run (give a validation run)"
    )
    assert "0.7000 <= 0.7000" in decisions[5].reason
    # the benchmark and the reason are tags of the version itself, so the registry UI shows them
    tags = client.get_model_version("gate-prm", "3").tags
    assert tags["bon.benchmark.run"] == "full-validation" and tags["bon.benchmark.n"] == "8"
    assert tags["bon.benchmark.metric"] == "best_at_n:min" and tags["bon.benchmark.value"] == "0.950000"
    assert promotion_reason("gate-prm", "7").startswith(
        "gate-prm v7 promoted to champion: best_at_n:min 0.7200 > 0.7000"
    )


def test_a_champion_without_benchmark_tags_is_never_replaced_silently(model_uri):
    from mlflow import MlflowClient

    from flows.registry import Benchmark, register

    legacy = register(model_uri, "legacy-prm", None)
    MlflowClient().set_registered_model_alias("legacy-prm", "champion", legacy)
    decision = _register(model_uri, "legacy-prm", Benchmark("val", 4, "best_at_n:min", 0.9))
    assert not decision.promoted and "records no benchmark to compare with" in decision.reason
    assert str(MlflowClient().get_model_version_by_alias("legacy-prm", "champion").version) == "1"


def test_logged_pyfunc_has_signature_example_code_and_pinned_requirements(model_uri, tiny_prm):
    from importlib.metadata import version
    from pathlib import Path

    import mlflow
    import pandas as pd
    from mlflow.types.schema import DataType

    from bon_core.prm import load_prm

    uri = model_uri
    info = mlflow.models.get_model_info(uri)
    problem, steps = info.signature.inputs.inputs
    assert (problem.name, problem.type, steps.name, str(steps.type)) == (
        "problem",
        DataType.string,
        "steps",
        "Array(string)",
    )
    local = Path(mlflow.artifacts.download_artifacts(uri))
    assert (local / "serving_input_example.json").is_file()
    assert (local / "code" / "bon_core" / "prm" / "io.py").is_file()
    requirements = (local / "requirements.txt").read_text().split()
    assert f"torch=={version('torch').split('+')[0]}" in requirements
    assert f"transformers=={version('transformers')}" in requirements
    assert not any(r == "bon" or r.startswith("bon=") for r in requirements)  # bon_core travels as code
    model = mlflow.pyfunc.load_model(uri)
    frame = pd.DataFrame({"problem": ["1+2", "2*3"], "steps": [["1+2=3", "3"], ["2*3=6"]]})
    expected = load_prm(tiny_prm).score(["1+2", "2*3"], [["1+2=3", "3"], ["2*3=6"]])
    got = model.predict(frame)
    assert [len(s) for s in got] == [2, 1]
    flat = [float(x) for s in got for x in s]
    assert flat == pytest.approx([x for s in expected for x in s], abs=1e-6)
