"""The MLflow model registry for PRMs/ORMs: log, register, promote to ``champion``, resolve a model URI.

Promotion compares like with like. Every registered version carries, as tags, the benchmark it was evaluated on
(:class:`Benchmark`: the stored run, N, the metric's name and its value). A new version becomes ``champion`` only
if there is no champion yet, or the champion was evaluated on the same run, N and metric and the new value is
strictly higher. A version without a benchmark (no validation run), or whose benchmark differs from the
champion's, is registered but not promoted; the reason is stored on the version as the tag ``bon.promotion``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHAMPION = "champion"
PROMOTION_TAG = "bon.promotion"
_BENCHMARK_TAGS = ("bon.benchmark.run", "bon.benchmark.n", "bon.benchmark.metric", "bon.benchmark.value")
_PYFUNC_CODE = Path(__file__).with_name("prm_pyfunc.py")
_BON_CORE = Path(__file__).resolve().parent.parent / "bon_core"
# Third-party packages that bon_core.prm and the pyfunc import when a PRM is loaded and scored.
_SERVING_PACKAGES = ("torch", "transformers", "safetensors", "numpy", "pandas", "mlflow")


@dataclass(frozen=True)
class Benchmark:
    """What a model version was evaluated on (``run``, ``n``, ``metric``) and the ``value`` it reached."""

    run: str
    n: int
    metric: str
    value: float

    def tags(self) -> dict[str, str]:
        return dict(zip(_BENCHMARK_TAGS, (self.run, str(self.n), self.metric, f"{self.value:.6f}"), strict=True))

    @classmethod
    def from_tags(cls, tags: dict[str, str]) -> Benchmark | None:
        """The benchmark recorded on a model version, or None when it has none (or an incomplete one)."""
        if not all(tag in tags for tag in _BENCHMARK_TAGS):
            return None
        run, n, metric, value = (tags[tag] for tag in _BENCHMARK_TAGS)
        return cls(run, int(n), metric, float(value))

    def describe(self) -> str:
        return f"{self.metric} = {self.value:.4f} at N={self.n} on run {self.run!r}"

    def comparable(self, other: Benchmark) -> bool:
        return (self.run, self.n, self.metric) == (other.run, other.n, other.metric)


@dataclass(frozen=True)
class Promotion:
    """The outcome of the promotion rule for one registered version, with the reason in words."""

    name: str
    version: str
    candidate: Benchmark | None
    champion_version: str | None
    champion: Benchmark | None
    promoted: bool
    reason: str


def pyfunc_signature() -> Any:
    """Input: ``problem`` (string) and ``steps`` (array of strings); output: the step scores (array of doubles)."""
    from mlflow.models import ModelSignature
    from mlflow.types.schema import Array, ColSpec, DataType, Schema

    inputs = Schema([ColSpec(DataType.string, "problem"), ColSpec(Array(DataType.string), "steps")])
    return ModelSignature(inputs=inputs, outputs=Schema([ColSpec(Array(DataType.double), "step_scores")]))


def serving_requirements() -> list[str]:
    """The serving packages pinned to the versions installed here (local build tags such as ``+cpu`` dropped).
    bon itself is not one: ``bon_core`` travels inside the model as code."""
    from importlib.metadata import version

    return [f"{name}=={version(name).split('+')[0]}" for name in _SERVING_PACKAGES]


def log_prm(prm_dir: str | Path, artifact_name: str = "prm") -> str:
    """Log the PRM saved in ``prm_dir`` as a pyfunc model in the active run, with a signature, an input example,
    ``bon_core`` as code and pinned requirements (what ``mlflow models serve`` installs); returns its model URI."""
    import mlflow
    import pandas as pd

    info = mlflow.pyfunc.log_model(
        name=artifact_name,
        python_model=str(_PYFUNC_CODE),
        artifacts={"prm": str(prm_dir)},
        code_paths=[str(_BON_CORE)],
        signature=pyfunc_signature(),
        input_example=pd.DataFrame({"problem": ["3+4*2"], "steps": [["4*2=8", "3+8=11"]]}),
        # Explicit requirements: MLflow's inference of them imports and probes the model, which is slow.
        pip_requirements=serving_requirements(),
    )
    return info.model_uri


def register(model_uri: str, name: str, benchmark: Benchmark | None) -> str:
    """Register ``model_uri`` as a new version of ``name``, tagged with the benchmark it was evaluated on. The tags
    are created with the version in one call, so a version never exists with half its benchmark."""
    import mlflow

    return str(mlflow.register_model(model_uri, name, tags=benchmark.tags() if benchmark else None).version)


def _current_champion(client: Any, name: str) -> tuple[str | None, Benchmark | None]:
    from mlflow.exceptions import MlflowException

    try:
        current = client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return None, None  # no champion yet
    return str(current.version), Benchmark.from_tags(current.tags)


def decide(
    name: str, version: str, candidate: Benchmark | None, champion_version: str | None, champion: Benchmark | None
) -> Promotion:
    """The promotion rule itself (no registry access): promote only on a like-with-like improvement."""
    v = f"{name} v{version}"
    if candidate is None:
        promoted, reason = False, f"{v} not promoted: it was evaluated on no benchmark run (give a validation run)"
    elif champion_version is None:
        promoted, reason = True, f"{v} promoted to {CHAMPION} (no champion yet): {candidate.describe()}"
    elif champion is None:
        promoted, reason = (
            False,
            (
                f"{v} not promoted: {CHAMPION} v{champion_version} records no benchmark to compare with; "
                f"set the alias by hand if {v} should replace it"
            ),
        )
    elif not candidate.comparable(champion):
        promoted, reason = (
            False,
            (
                f"{v} not promoted: it was evaluated as {candidate.describe()}, but {CHAMPION} v{champion_version} as "
                f"{champion.describe()}; only the same run, N and metric are compared"
            ),
        )
    elif candidate.value > champion.value:
        promoted, reason = (
            True,
            (
                f"{v} promoted to {CHAMPION}: {candidate.metric} {candidate.value:.4f} > {champion.value:.4f} of "
                f"v{champion_version} (N={candidate.n}, run {candidate.run!r})"
            ),
        )
    else:
        promoted, reason = (
            False,
            (
                f"{v} not promoted: {candidate.metric} {candidate.value:.4f} <= {champion.value:.4f} of {CHAMPION} "
                f"v{champion_version} (N={candidate.n}, run {candidate.run!r})"
            ),
        )
    return Promotion(name, str(version), candidate, champion_version, champion, promoted, reason)


def promote_if_better(name: str, version: str, benchmark: Benchmark | None) -> Promotion:
    """Apply the promotion rule to version ``version`` of ``name``; records the reason on the version (tag
    ``bon.promotion``) and, when an MLflow run is active, the decision and both values on that run."""
    import mlflow
    from mlflow import MlflowClient

    client = MlflowClient()
    champion_version, champion = _current_champion(client, name)
    decision = decide(name, str(version), benchmark, champion_version, champion)
    if decision.promoted:
        client.set_registered_model_alias(name, CHAMPION, str(version))
    client.set_model_version_tag(name, str(version), PROMOTION_TAG, decision.reason)
    if mlflow.active_run() is not None:
        if benchmark is not None:
            mlflow.log_metric("promotion.candidate_value", benchmark.value)
        if champion is not None:
            mlflow.log_metric("promotion.champion_value", champion.value)
        mlflow.set_tags(
            {
                "promotion.promoted": str(decision.promoted),
                "promotion.version": str(version),
                "promotion.previous_champion": str(champion_version),
                "promotion.reason": decision.reason[:5000],
            }
        )
    return decision


def promotion_reason(name: str, version: str) -> str | None:
    """The reason the promotion rule gave for version ``version`` of ``name`` (None if it was never applied)."""
    from mlflow import MlflowClient

    return MlflowClient().get_model_version(name, str(version)).tags.get(PROMOTION_TAG)


def check_model_uri(uri: str) -> None:
    """Fail with a one-line ValueError when ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION`` is not in the
    registry (before any flow starts); other references are left to :func:`resolve_model_path`."""
    if not uri.startswith("models:/"):
        return
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    ref = uri[len("models:/") :]
    name, alias = ref.split("@", 1) if "@" in ref else (ref.rsplit("/", 1) + [""])[:2]
    if not name:
        raise ValueError(f"{uri}: expected models:/NAME@ALIAS or models:/NAME/VERSION")
    client = MlflowClient()
    try:
        client.get_registered_model(name)
    except MlflowException:
        known = sorted(m.name for m in client.search_registered_models())
        raise ValueError(f"{uri}: no registered model {name!r}; registered: {', '.join(known) or 'none'}") from None
    try:
        if "@" in ref:
            client.get_model_version_by_alias(name, alias)
        else:
            client.get_model_version(name, alias)
    except MlflowException:
        what = f"alias {alias!r}" if "@" in ref else f"version {alias!r}"
        raise ValueError(f"{uri}: model {name!r} has no {what}") from None


def resolve_model_path(uri: str) -> tuple[str, str]:
    """Turn a scorer reference into ``(local_path_or_hub_id, version_label)``.

    ``models:/NAME@ALIAS`` and ``models:/NAME/VERSION`` are downloaded from the registry (the label is
    ``NAME/VERSION``); a local directory is returned as is (label ``path@sha256-prefix``); anything else is taken
    as a Hub id (label: the id).
    """
    if uri.startswith("models:/"):
        import mlflow
        from mlflow import MlflowClient

        ref = uri[len("models:/") :]
        client = MlflowClient()
        if "@" in ref:
            name, alias = ref.split("@", 1)
            version = client.get_model_version_by_alias(name, alias).version
        else:
            name, version = ref.rsplit("/", 1)
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}/{version}"))
        # MLflow keeps the logged directory's own name under artifacts/ (not the artifact key).
        found = sorted(p.parent for p in (local / "artifacts").glob("*/bon_prm.json"))
        if not found:
            raise ValueError(f"{uri} is not a bon PRM: no bon_prm.json under {local / 'artifacts'}")
        return str(found[0]), f"{name}/{version}"
    path = Path(uri)
    if path.exists():
        from flows.fingerprint import directory_fingerprint

        return str(path.resolve()), f"{path.resolve()}@{directory_fingerprint(path)[:12]}"
    return uri, uri
