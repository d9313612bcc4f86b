"""Registered models: list them, point an alias at a version, and resolve a model reference
(a folder, `runs:/RUN_ID/model`, `models:/NAME/VERSION`, `models:/NAME@ALIAS`) to a local model
folder, so that predict, evaluate and serve load through our own loader (no pickle)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import TrackingError
from .store import connect, existing_store

REFERENCE_PREFIXES = ("runs:/", "models:/")


@dataclass(frozen=True)
class ResolvedModel:
    folder: Path
    name: str | None = None  # registered name (models:/), the run reference (runs:/), else None
    version: str | None = None  # the version a models:/ reference points at now


def resolve(ref: str, uri: str | None = None) -> ResolvedModel:
    """The local model folder for any model reference; plain folders never touch MLflow."""
    if not ref.startswith(REFERENCE_PREFIXES):
        return ResolvedModel(Path(ref))
    uri = existing_store(uri)
    mlflow = connect(uri)
    client = mlflow.tracking.MlflowClient()
    name, version = ref, None
    if ref.startswith("models:/"):
        name, at, alias = ref[len("models:/"):].partition("@")
        if at:
            aliases = _registered(client, name).aliases or {}
            if alias not in aliases:
                raise TrackingError(f"model {name!r} has no alias {alias!r}; aliases: "
                                    f"{', '.join(f'{a} → v{v}' for a, v in sorted(aliases.items())) or '(none)'}")
            version = str(aliases[alias])
        else:
            name, _, version = name.partition("/")
            _check_version(client, name, version)
    # A registered version and a run's artifacts never change: fetch each once into the cache.
    pinned = f"models:/{name}/{version}" if ref.startswith("models:/") else ref
    return ResolvedModel(_download(mlflow, pinned, uri), name, version)


def _download(mlflow, ref: str, uri: str) -> Path:
    """The model folder of `ref`, fetched once into $SENTIMENT_RNN_CACHE/models and reused after."""
    import hashlib
    import os
    import shutil

    from mlflow.exceptions import MlflowException

    from ..data.cache import cache_dir

    root = cache_dir() / "models"
    target = root / hashlib.sha256(f"{uri}\n{ref}".encode()).hexdigest()[:24]
    if not target.exists():
        root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".fetch-", dir=root))
        try:
            mlflow.artifacts.download_artifacts(artifact_uri=ref, dst_path=str(staging))
            os.replace(staging, target)  # whole or not at all
        except MlflowException as exc:
            raise TrackingError(f"cannot fetch {ref}: {exc.message}") from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    for config in sorted(target.rglob("config.json"), key=lambda p: len(p.parts)):
        if (config.parent / "model.safetensors").exists():
            return config.parent
    raise TrackingError(f"{ref} does not contain a sentiment-rnn model folder")


def list_models(uri: str | None = None) -> list[dict[str, Any]]:
    client = connect(existing_store(uri)).tracking.MlflowClient()
    rows = []
    for model in client.search_registered_models():
        aliases_by_version: dict[str, list[str]] = {}
        for alias, version in (model.aliases or {}).items():
            aliases_by_version.setdefault(str(version), []).append(alias)
        for mv in client.search_model_versions(f"name='{model.name}'"):
            metrics = {}
            if mv.run_id:
                try:
                    run_metrics = client.get_run(mv.run_id).data.metrics
                    metrics = {k: run_metrics[k] for k in ("val_accuracy", "test_accuracy") if k in run_metrics}
                except Exception:  # the run may have been deleted; the version stays listable
                    pass
            rows.append({"name": model.name, "version": int(mv.version),
                         "aliases": sorted(aliases_by_version.get(str(mv.version), [])),
                         "run_id": mv.run_id, "status": mv.status, "metrics": metrics})
    return sorted(rows, key=lambda r: (r["name"], r["version"]))


def set_alias(name: str, version: str, alias: str, uri: str | None = None) -> None:
    client = connect(existing_store(uri)).tracking.MlflowClient()
    _check_version(client, name, str(version))
    client.set_registered_model_alias(name, alias, str(version))


def _registered(client, name: str):
    from mlflow.exceptions import MlflowException

    try:
        return client.get_registered_model(name)
    except MlflowException:
        names = [m.name for m in client.search_registered_models()]
        raise TrackingError(f"no registered model named {name!r}; registered models: "
                            f"{', '.join(names) if names else '(none)'}") from None


def _check_version(client, name: str, version: str) -> None:
    _registered(client, name)
    if not version.isdigit():
        raise TrackingError(f"model version must be a number (models:/{name}/3, or models:/{name}@ALIAS), "
                            f"got {version!r}")
    versions = sorted(int(v.version) for v in client.search_model_versions(f"name='{name}'"))
    if int(version) not in versions:
        raise TrackingError(f"model {name!r} has no version {version}; versions: {versions}")


def record_on_model_run(ref: str, uri: str | None, report: dict, artifact: str, metrics: dict[str, float]) -> str:
    """Log a report about a model (e.g. `sentiment-rnn check`) on the MLflow run that made it: the run
    of a runs:/RUN_ID/... reference, or of the version a models:/ reference points at. The run id."""
    uri = existing_store(uri)
    mlflow = connect(uri)
    client = mlflow.tracking.MlflowClient()
    if ref.startswith("runs:/"):
        run_id = ref[len("runs:/"):].split("/", 1)[0]
    else:
        name, at, alias = ref[len("models:/"):].partition("@")
        if at:
            run_id = client.get_model_version_by_alias(name, alias).run_id
        else:
            name, _, version = name.partition("/")
            run_id = client.get_model_version(name, version).run_id
    client.log_dict(run_id, report, artifact)
    for key, value in metrics.items():
        client.log_metric(run_id, key, value)
    return run_id
