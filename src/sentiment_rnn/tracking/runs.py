"""`Tracker`: one MLflow run per training, as a training callback. Parameters, per-epoch and
per-N-step metrics, tags, dataset inputs with their content digests, plots, the model folder, a
pyfunc model (tracking/pyfunc.py, logged as code: no pickle) and its registration."""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..training.callbacks import Callback, EpochRecord, StepRecord
from ..version import __version__
from .store import connect, describe_failure, tracking_uri

DEFAULT_EXPERIMENT = "sentiment-rnn"


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
                 register: str | None = None, log_every_steps: int = 20, parent_run_id: str | None = None,
                 run_name: str | None = None):
        self.mlflow = connect(uri, write=True)
        self.parent_run_id, self.run_name = parent_run_id, run_name  # a trial's run nests under its study's
        self.last_run_id: str | None = None
        self.uri = tracking_uri(uri)
        self.register = register
        self.log_every_steps = log_every_steps
        self.mlflow.set_experiment(experiment)
        self.active_run = None
        self._pending: list[StepRecord] = []
        # Why the run stopped being recorded, when the store failed while training ran: training
        # goes on (hours of it must not be lost to a tracking server's restart), the model is
        # saved, and the command then fails naming the store and the run.
        self.lost: str | None = None
        # What the end of the run needs (plots, the pyfunc flavour) is imported while training
        # runs, instead of after it: torch releases the GIL in its kernels, so this overlaps.
        import threading

        threading.Thread(target=_preload_end_of_run_modules, daemon=True).start()

    # ---- run lifecycle ----

    @contextlib.contextmanager
    def run(self, params: dict[str, Any]) -> Iterator[str]:
        """The run, around a block: started with `params`, ended FINISHED when the block ends,
        KILLED on an interrupt (Ctrl-C, SIGTERM), FAILED on any other exception."""
        run_id = self._start(params)
        try:
            yield run_id
        except KeyboardInterrupt:
            self._end("KILLED")
            raise
        except BaseException:
            self._end("FAILED")
            raise
        self._end("FINISHED")

    def _start(self, params: dict[str, Any]) -> str:
        self.active_run = self.mlflow.start_run(run_name=self.run_name, parent_run_id=self.parent_run_id)
        self.last_run_id = self.active_run.info.run_id
        self.mlflow.log_params({k: json.dumps(v) if isinstance(v, (list, dict)) else v for k, v in params.items()})
        import tokenizers
        import torch

        tags = {"sentiment_rnn.version": __version__, "torch.version": torch.__version__,
                "tokenizers.version": tokenizers.__version__, "mlflow.version": self.mlflow.__version__}
        commit = git_commit()
        if commit:
            tags["mlflow.source.git.commit"] = commit
        self.mlflow.set_tags(tags)
        return self.active_run.info.run_id

    def _end(self, status: str) -> None:
        """FINISHED, FAILED or KILLED: a crashed or interrupted run is never left RUNNING (unless
        the store cannot be reached to say so)."""
        if self.active_run is not None:
            self._flush_steps()
            run_id = self.active_run.info.run_id

            def end() -> None:
                try:
                    self.mlflow.end_run(status=status)
                except Exception:  # noqa: BLE001 - e.g. a call the interrupt cut short left the fluent state behind
                    self.mlflow.tracking.MlflowClient().set_terminated(run_id, status)

            self._recorded("ending the run", end, after_loss=True)
            self.active_run = None

    def _recorded(self, what: str, send, after_loss: bool = False) -> None:
        """Send to the store; the first failure stops recording for this run, with one warning."""
        if self.lost and not after_loss:
            return
        try:
            send()
        except Exception as exc:  # noqa: BLE001 - any failure of the store: connection, timeout, server error
            if self.lost is None:
                from .store import redacted

                self.lost = f"{what} failed: {describe_failure(exc)}"
                import warnings

                warnings.warn(f"tracking store {redacted(self.uri)}: {self.lost}; training goes on, the model will be "
                              f"saved, the run stays incomplete", stacklevel=2)

    # ---- training callbacks ----

    def on_step(self, loop, record: StepRecord) -> None:
        self._pending.append(record)
        if len(self._pending) >= self.log_every_steps:
            self._flush_steps()

    def _flush_steps(self) -> None:
        """Per-step loss and pre-clip gradient norm, sent in one batch call every N steps."""
        if not self._pending or self.active_run is None or self.lost:
            return
        from mlflow.entities import Metric

        client = self.mlflow.tracking.MlflowClient()
        now = int(time.time() * 1000)
        metrics = [Metric(name, float(getattr(r, attr)), now, r.step) for r in self._pending
                   for name, attr in (("step_loss", "loss"), ("grad_norm", "grad_norm"))]
        metrics += [Metric(f"step_loss_{name}", value, now, r.step) for r in self._pending
                    for name, value in r.components.items()]
        self._pending = []
        self._recorded("logging step metrics", lambda: client.log_batch(self.active_run.info.run_id, metrics=metrics,
                                                                         synchronous=True))

    def on_epoch_end(self, loop, record: EpochRecord) -> None:
        values = {"train_loss": record.train_loss, "train_accuracy": record.train_accuracy,
                  "learning_rate": record.learning_rate, "epoch_seconds": record.seconds,
                  "reviews_per_s": record.reviews_per_s}
        if record.val_loss is not None:
            values.update(val_loss=record.val_loss, val_accuracy=record.val_accuracy)
        self._recorded(f"logging epoch {record.epoch}", lambda: self.mlflow.log_metrics(values, step=record.epoch))

    def on_train_end(self, loop) -> None:
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

    def log_artifact(self, path: Path, folder: str) -> None:
        self.mlflow.log_artifact(str(path), artifact_path=folder)

    def record(self, training) -> dict[str, Any]:
        """A finished training's datasets, plots, reports and model on this run (record.py)."""
        from .record import record_training

        return record_training(self, training)

    def log_model(self, model_dir: Path, input_example: list[str]) -> dict[str, Any]:
        """Model folder as run artifacts, plus a pyfunc model (code + folder, no pickle), registered if asked."""
        import pandas as pd
        from mlflow.models import infer_signature

        from ..classifier import SentimentClassifier
        from .pyfunc import MODEL_ARTIFACT, SentimentPyfunc

        self.mlflow.log_artifacts(str(model_dir), artifact_path="model_folder")
        clf = SentimentClassifier.load(model_dir)
        example = pd.DataFrame({"text": input_example})
        wrapper = SentimentPyfunc()
        wrapper.classifier = clf
        signature = infer_signature(example, wrapper.predict(None, example))
        package_dir = Path(__file__).resolve().parents[1]
        info = self.mlflow.pyfunc.log_model(
            name="model",
            python_model=str(package_dir / "tracking" / "pyfunc.py"),
            artifacts={MODEL_ARTIFACT: str(model_dir)},
            code_paths=[str(package_dir)],
            signature=signature,
            input_example=example,
            pip_requirements=pinned_requirements(),
            registered_model_name=self.register,
        )
        result = {"run_id": self.active_run.info.run_id, "model_uri": info.model_uri}
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
