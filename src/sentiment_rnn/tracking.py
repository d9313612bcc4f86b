"""MLflow tracking and registry: the one module that imports mlflow (lazily, never on the predict
path from a model folder).

- `Tracker` is a training `Callback`: parameters, per-epoch and per-N-step metrics, tags, dataset
  inputs with their content digests, plots, the model folder, a pyfunc model and its registration.
- `resolve_model(ref)` turns `runs:/…`, `models:/NAME/VERSION` or `models:/NAME@ALIAS` into a local
  model folder, so predict/evaluate/serve load through our own loader (no pickle).

The default store is `sqlite:///mlflow.db` in the working directory (no server needed);
`--tracking-uri` or `$MLFLOW_TRACKING_URI` point elsewhere.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from .errors import SentimentRNNError
from .training.trainer import Callback, EpochRecord, History, StepRecord

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
DEFAULT_EXPERIMENT = "sentiment-rnn"


class TrackingError(SentimentRNNError):
    """The tracking store cannot be reached, or a run, model or alias does not exist."""


def tracking_uri(uri: str | None = None) -> str:
    return uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


def _mlflow(uri: str | None):
    """Import mlflow configured for `uri`, with fast failure instead of minutes of retries."""
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import logging
    import warnings

    import mlflow

    # MLflow's INFO lines and advice warnings would drown the CLI's own output.
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", category=UserWarning, module=r"mlflow\.")

    resolved = tracking_uri(uri)
    check_reachable(resolved)
    mlflow.set_tracking_uri(resolved)
    return mlflow


def check_reachable(uri: str, timeout: float = 5.0) -> None:
    """A server URI must answer its health check within `timeout`, before any work starts."""
    if not uri.startswith(("http://", "https://")):
        return
    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout) as response:
            response.read()
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TrackingError(f"tracking server {uri} is not reachable ({reason}); start it, fix --tracking-uri, "
                            f"or train with --no-track") from None


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


class Tracker(Callback):
    """One MLflow run for one training."""

    def __init__(self, uri: str | None = None, experiment: str = DEFAULT_EXPERIMENT,
                 register: str | None = None, log_every_steps: int = 20):
        self.mlflow = _mlflow(uri)
        self.uri = tracking_uri(uri)
        self.register = register
        self.log_every_steps = log_every_steps
        self.mlflow.set_experiment(experiment)
        self.run = None
        self._pending: list[StepRecord] = []
        # What the end of the run needs (plots, the pyfunc flavour) is imported while training
        # runs, instead of after it: torch releases the GIL in its kernels, so this overlaps.
        import threading

        threading.Thread(target=_preload_end_of_run_modules, daemon=True).start()

    # ---- run lifecycle ----

    def start(self, params: dict[str, Any]) -> str:
        from . import __version__

        self.run = self.mlflow.start_run()
        self.mlflow.log_params({k: json.dumps(v) if isinstance(v, (list, dict)) else v for k, v in params.items()})
        import tokenizers
        import torch

        tags = {"sentiment_rnn.version": __version__, "torch.version": torch.__version__,
                "tokenizers.version": tokenizers.__version__, "mlflow.version": self.mlflow.__version__}
        commit = git_commit()
        if commit:
            tags["mlflow.source.git.commit"] = commit
        self.mlflow.set_tags(tags)
        return self.run.info.run_id

    def end(self, status: str = "FINISHED") -> None:
        """FINISHED, FAILED or KILLED: a crashed or interrupted run is never left RUNNING."""
        if self.run is not None:
            self._flush_steps()
            self.mlflow.end_run(status=status)
            self.run = None

    # ---- training callbacks ----

    def on_step(self, record: StepRecord) -> None:
        self._pending.append(record)
        if len(self._pending) >= self.log_every_steps:
            self._flush_steps()

    def _flush_steps(self) -> None:
        """Per-step loss and pre-clip gradient norm, sent in one batch call every N steps."""
        if not self._pending or self.run is None:
            return
        from mlflow.entities import Metric

        client = self.mlflow.tracking.MlflowClient()
        now = int(time.time() * 1000)
        metrics = [Metric(name, float(getattr(r, attr)), now, r.step) for r in self._pending
                   for name, attr in (("step_loss", "loss"), ("grad_norm", "grad_norm"))]
        client.log_batch(self.run.info.run_id, metrics=metrics, synchronous=True)
        self._pending = []

    def on_epoch_end(self, record: EpochRecord) -> None:
        values = {"train_loss": record.train_loss, "train_accuracy": record.train_accuracy,
                  "learning_rate": record.learning_rate, "epoch_seconds": record.seconds,
                  "reviews_per_s": record.reviews_per_s}
        if record.val_loss is not None:
            values.update(val_loss=record.val_loss, val_accuracy=record.val_accuracy)
        self.mlflow.log_metrics(values, step=record.epoch)

    def on_train_end(self, history: History) -> None:
        self._flush_steps()

    # ---- datasets, artifacts, model ----

    def log_dataset(self, name: str, digest: str, source: str, rows: int, context: str,
                    columns: dict[str, str] | None = None) -> None:
        """A dataset input with our own content digest, its source, schema and row count."""
        from mlflow.data.dataset_source_registry import resolve_dataset_source
        from mlflow.data.http_dataset_source import HTTPDatasetSource
        from mlflow.data.meta_dataset import MetaDataset
        from mlflow.types import ColSpec, Schema

        class CountedDataset(MetaDataset):
            """MetaDataset (digest only, no data) that also records its row count as the profile."""

            @property
            def profile(self):
                return {"num_rows": rows}

            def to_dict(self):
                return {**super().to_dict(), "profile": json.dumps(self.profile)}

        if source.startswith(("http://", "https://")):
            dataset_source = HTTPDatasetSource(source)
        else:
            try:
                dataset_source = resolve_dataset_source(source)
            except Exception:  # not a path MLflow knows how to describe: keep it as a URL-like label
                dataset_source = HTTPDatasetSource(source)
        schema = Schema([ColSpec(kind, col) for col, kind in (columns or {"text": "string", "label": "string"}).items()])
        dataset = CountedDataset(dataset_source, name=name, digest=digest[:36], schema=schema)
        self.mlflow.log_input(dataset, context=context, tags={"rows": str(rows), "full_digest": digest})

    def log_dict(self, obj: dict, path: str) -> None:
        self.mlflow.log_dict(obj, path)

    def log_metrics(self, values: dict[str, float]) -> None:
        self.mlflow.log_metrics({k: float(v) for k, v in values.items() if v is not None})

    def log_figure(self, figure, path: str) -> None:
        self.mlflow.log_figure(figure, path)

    def log_model(self, model_dir: Path, input_example: list[str]) -> dict[str, Any]:
        """Model folder as run artifacts, plus a pyfunc model (code + folder, no pickle), registered if asked."""
        import pandas as pd
        from mlflow.models import infer_signature

        from . import SentimentClassifier
        from .mlflow_model import MODEL_ARTIFACT, SentimentPyfunc

        self.mlflow.log_artifacts(str(model_dir), artifact_path="model_folder")
        clf = SentimentClassifier.load(model_dir)
        example = pd.DataFrame({"text": input_example})
        wrapper = SentimentPyfunc()
        wrapper.classifier = clf
        signature = infer_signature(example, wrapper.predict(None, example))
        package_dir = Path(__file__).resolve().parent
        info = self.mlflow.pyfunc.log_model(
            name="model",
            python_model=str(package_dir / "mlflow_model.py"),
            artifacts={MODEL_ARTIFACT: str(model_dir)},
            code_paths=[str(package_dir)],
            signature=signature,
            input_example=example,
            pip_requirements=pinned_requirements(),
            registered_model_name=self.register,
        )
        result = {"run_id": self.run.info.run_id, "model_uri": info.model_uri}
        if self.register:
            result["registered_version"] = info.registered_model_version
        return result


def _preload_end_of_run_modules() -> None:
    import importlib

    try:
        import matplotlib

        matplotlib.use("Agg")  # files only, as plots.py does
    except ImportError:
        return
    for name in ("matplotlib.pyplot", "mlflow.pyfunc", "mlflow.models", "pandas"):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a failed preload only means the import happens later
            pass


def pinned_requirements() -> list[str]:
    from importlib.metadata import version

    return [f"{name}=={version(name).split('+')[0]}"
            for name in ("torch", "tokenizers", "safetensors", "numpy", "pandas", "mlflow")]


def ui_hint(uri: str) -> str:
    if uri.startswith(("http://", "https://")):
        return uri
    return f"mlflow ui --backend-store-uri {uri}"


# ---- the registry ---------------------------------------------------------------------------------

def list_models(uri: str | None = None) -> list[dict[str, Any]]:
    mlflow = _mlflow(uri)
    client = mlflow.tracking.MlflowClient()
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
            rows.append({"name": model.name, "version": int(mv.version), "aliases": sorted(aliases_by_version.get(str(mv.version), [])),
                         "run_id": mv.run_id, "status": mv.status, "metrics": metrics})
    return sorted(rows, key=lambda r: (r["name"], r["version"]))


def set_alias(name: str, version: str, alias: str, uri: str | None = None) -> None:
    mlflow = _mlflow(uri)
    client = mlflow.tracking.MlflowClient()
    _check_version(client, name, str(version))
    client.set_registered_model_alias(name, alias, str(version))


def _known_models(client) -> str:
    names = [m.name for m in client.search_registered_models()]
    return ", ".join(names) if names else "(none)"


def _check_version(client, name: str, version: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException:
        raise TrackingError(f"no registered model named {name!r}; registered models: {_known_models(client)}") from None
    versions = sorted(int(v.version) for v in client.search_model_versions(f"name='{name}'"))
    if int(version) not in versions:
        raise TrackingError(f"model {name!r} has no version {version}; versions: {versions}")


def resolve_model(ref: str, uri: str | None = None) -> Path:
    """A local model folder for a folder path, `runs:/RUN_ID/model`, `models:/NAME/VERSION` or `models:/NAME@ALIAS`."""
    if not ref.startswith(("runs:/", "models:/")):
        return Path(ref)
    mlflow = _mlflow(uri)
    from mlflow.exceptions import MlflowException

    client = mlflow.tracking.MlflowClient()
    if ref.startswith("models:/"):
        target = ref[len("models:/"):]
        name, at, alias = target.partition("@")
        if at:
            try:
                client.get_registered_model(name)
            except MlflowException:
                raise TrackingError(f"no registered model named {name!r}; registered models: "
                                    f"{_known_models(client)}") from None
            aliases = client.get_registered_model(name).aliases or {}
            if alias not in aliases:
                raise TrackingError(f"model {name!r} has no alias {alias!r}; aliases: "
                                    f"{', '.join(f'{a} → v{v}' for a, v in sorted(aliases.items())) or '(none)'}")
        else:
            name, _, version = target.partition("/")
            _check_version(client, name, version)
    destination = Path(tempfile.mkdtemp(prefix="sentiment-rnn-model-"))
    try:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=ref, dst_path=str(destination)))
    except MlflowException as exc:
        raise TrackingError(f"cannot fetch {ref}: {exc.message}") from None
    configs = sorted(local.rglob("config.json"), key=lambda p: len(p.parts))
    for config in configs:
        if (config.parent / "model.safetensors").exists():
            return config.parent
    raise TrackingError(f"{ref} does not contain a sentiment-rnn model folder")


def version_of(ref: str, uri: str | None = None) -> tuple[str, str | None]:
    """(name, version) that a `models:/` reference points at now; (run reference, None) for runs:/."""
    if not ref.startswith("models:/"):
        return ref, None
    mlflow = _mlflow(uri)
    client = mlflow.tracking.MlflowClient()
    name, at, alias = ref[len("models:/"):].partition("@")
    if at:
        return name, str(client.get_model_version_by_alias(name, alias).version)
    name, _, version = name.partition("/")
    return name, version
