"""The MLflow model registry for PRMs/ORMs: log, register, promote to ``champion``, resolve a model URI.

Promotion rule: a new version gets the ``champion`` alias only if its validation best@N beats the current
champion's (or there is no champion yet). Each version carries its validation figure as the tag
``val_best_at_n`` so the comparison needs no re-evaluation of the champion.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CHAMPION = "champion"
VAL_METRIC_TAG = "val_best_at_n"
_PYFUNC_CODE = Path(__file__).with_name("prm_pyfunc.py")


@dataclass(frozen=True)
class Promotion:
    """The outcome of the promotion rule for one registered version."""

    name: str
    version: str
    candidate_metric: float
    champion_version: str | None
    champion_metric: float | None
    promoted: bool


def log_prm(prm_dir: str | Path, artifact_name: str = "prm") -> str:
    """Log the PRM saved in ``prm_dir`` as a pyfunc model in the active run; returns its model URI."""
    import logging

    import mlflow

    pyfunc_logger = logging.getLogger("mlflow.pyfunc")
    level = pyfunc_logger.level
    pyfunc_logger.setLevel(logging.ERROR)  # "cannot infer a signature": by design, the input is a DataFrame of lists
    try:
        info = mlflow.pyfunc.log_model(
            name=artifact_name,
            python_model=str(_PYFUNC_CODE),
            artifacts={"prm": str(prm_dir)},
            # Explicit requirements: MLflow's inference of them imports and probes the model, which is slow.
            pip_requirements=["torch", "transformers", "bon"],
        )
    finally:
        pyfunc_logger.setLevel(level)
    return info.model_uri


def register(model_uri: str, name: str, val_metric: float) -> str:
    """Register ``model_uri`` as a new version of ``name``, tagged with its validation best@N."""
    import mlflow
    from mlflow import MlflowClient

    version = mlflow.register_model(model_uri, name).version
    MlflowClient().set_model_version_tag(name, version, VAL_METRIC_TAG, f"{val_metric:.6f}")
    return str(version)


def promote_if_better(name: str, version: str, val_metric: float) -> Promotion:
    """Apply the promotion rule; logs the decision and both numbers to the active MLflow run if any."""
    import mlflow
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient()
    champion_version: str | None = None
    champion_metric: float | None = None
    try:
        current = client.get_model_version_by_alias(name, CHAMPION)
        champion_version = str(current.version)
        tag = current.tags.get(VAL_METRIC_TAG)
        champion_metric = float(tag) if tag is not None else None
    except MlflowException:
        pass  # no champion yet

    promoted = champion_version is None or champion_metric is None or val_metric > champion_metric
    if promoted:
        client.set_registered_model_alias(name, CHAMPION, version)
    decision = Promotion(name, str(version), val_metric, champion_version, champion_metric, promoted)
    if mlflow.active_run() is not None:
        mlflow.log_metric("promotion.candidate_val_best_at_n", val_metric)
        if champion_metric is not None:
            mlflow.log_metric("promotion.champion_val_best_at_n", champion_metric)
        mlflow.set_tags(
            {
                "promotion.promoted": str(promoted),
                "promotion.version": str(version),
                "promotion.previous_champion": str(champion_version),
            }
        )
    return decision


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
