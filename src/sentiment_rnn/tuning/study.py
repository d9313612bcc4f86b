"""A study: trials of the one training (pipeline.train) with settings drawn from a search space,
scored on the validation split carved from the training data (the test split is never read).

Optuna keeps the study: an SQLite file by default, or any database it takes (PostgreSQL...), where
every `tune` process is one worker and any number of them, on any number of machines, share the
study; nothing of ours coordinates them. What each piece does:
- trials are pruned after an epoch whose validation figure is poor against the other trials'
  (Optuna's median or Hyperband pruner, fed by `PruneAfterEpoch`, a callback of the training loop);
- a trial that fails is recorded FAIL and the study goes on; one whose worker was killed stops
  sending heartbeats and is marked FAIL by the next worker that starts a trial;
- MLflow: one parent run for the study (its id kept in the study, so every worker nests under the
  same one) and one nested run per trial, which is a normal training run;
- the best trial's model folder is kept as `OUT/model` (each worker keeps the best of the trials it
  ran), the best settings as `OUT/best.toml`, which `train --config` takes as is.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import ExperimentConfig
from ..errors import ConfigError
from ..training.callbacks import Callback
from .space import SearchSpace

STUDY_FILE = "study.db"
MODEL_FOLDER = "model"
BEST_SETTINGS = "best.toml"
MAX_FAILURES_IN_A_ROW = 3  # a worker whose trials all fail (bad data, a full disk) stops instead of spinning
# Settings that say where the data is: given to `train` again by its own flags, never carried in best.toml.
DATA_LOCATION = ("data.archive", "data.train_file", "data.validation_file", "data.unlabeled_file", "data.limit")


@dataclass
class TuneRequest:
    out: Path
    base_config: str | None = None
    overrides: list[str] = field(default_factory=list)  # --set items of the base (not searched)
    flags: list[str] = field(default_factory=list)  # --archive, --train-file...: data location, not saved
    space: SearchSpace | None = None
    trials: int | None = None
    time_budget_s: float | None = None
    storage: str | None = None
    study_name: str | None = None
    pruner: str = "median"
    heartbeat_s: int = 30
    seed: int | None = None
    tracking_uri: str | None = None
    experiment: str = "sentiment-rnn"
    register: str | None = None
    track: bool = True


def objective_of(base: ExperimentConfig) -> str:
    """What a trial is scored on: the figure early stopping watches (training.monitor), or for
    multi-label data the validation macro-F1 at the thresholds chosen there (the per-label accuracy
    the loop reports is nearly all absent labels)."""
    multilabel = bool(base.data.label_separator or base.data.label_columns)
    return "val_macro_f1" if multilabel else base.training.monitor


def epoch_figure(objective: str, record) -> float | None:
    """The epoch's figure the pruner compares, in the study's direction: the objective itself, or for
    macro-F1 (known only once thresholds are chosen) the validation loss, negated."""
    if objective == "val_macro_f1":
        return None if record.val_loss is None else -record.val_loss
    return getattr(record, objective)


class PruneAfterEpoch(Callback):
    """Reports each epoch's validation figure to the trial; a trial Optuna's pruner stops is ended at
    the start of the next epoch, so the tracker has recorded the epoch that decided it."""

    def __init__(self, trial, objective: str):
        self.trial, self.objective = trial, objective
        self.pruned_after: int | None = None

    def on_epoch_end(self, loop, record) -> None:
        value = epoch_figure(self.objective, record)
        if value is None:
            return
        self.trial.report(float(value), record.epoch)
        if self.trial.should_prune():
            self.pruned_after = record.epoch

    def on_epoch_start(self, loop, epoch: int) -> None:
        if self.pruned_after is not None:
            import optuna

            raise optuna.TrialPruned(f"pruned after epoch {self.pruned_after + 1}")


def parse_duration(text: str) -> float:
    """"30m", "2h", "90s" or a number of seconds."""
    units = {"s": 1, "m": 60, "h": 3600}
    value, unit = (text[:-1], units[text[-1]]) if text and text[-1] in units else (text, 1)
    try:
        seconds = float(value) * unit
    except ValueError:
        raise ConfigError(f"--time-budget {text!r}: expected a duration such as 30m, 2h or 90s") from None
    if seconds <= 0:
        raise ConfigError(f"--time-budget {text!r} must be positive")
    return seconds


def open_study(request: TuneRequest, base: ExperimentConfig):
    import optuna

    monitor = objective_of(base)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = request.storage or f"sqlite:///{(request.out / STUDY_FILE).resolve()}"
    try:
        storage = _storage(url, request.heartbeat_s)
    except Exception as exc:  # noqa: BLE001 - SQLAlchemy/driver errors name nothing a user can act on first
        from ..tracking.store import redacted

        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"--storage {redacted(url)}: cannot open the study database ({reason[:300]})") from None
    pruner = {"median": optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1),
              "hyperband": optuna.pruners.HyperbandPruner(), "none": optuna.pruners.NopPruner()}[request.pruner]
    direction = "minimize" if monitor == "val_loss" else "maximize"
    name = request.study_name or request.out.resolve().name
    try:
        study = optuna.create_study(study_name=name, storage=storage, direction=direction, load_if_exists=True,
                                    sampler=optuna.samplers.TPESampler(seed=request.seed), pruner=pruner)
    except ValueError as exc:  # e.g. an existing study with the other direction
        raise ConfigError(f"study {name!r}: {exc}") from None
    space = [d.setting for d in request.space.dimensions]
    known = study.user_attrs.get("space")
    if known is None:
        study.set_user_attr("space", space)
        study.set_user_attr("monitor", monitor)
        # The first trial is the base settings (where the space holds them): a search then never
        # reports less than what it started from, and its gain is measured on the same validation split.
        study.enqueue_trial(request.space.base_values(base), skip_if_exists=True)
    elif known != space or study.user_attrs.get("monitor") != monitor:
        raise ConfigError(f"study {name!r} searches {known} on {study.user_attrs.get('monitor')}; this command "
                          f"searches {space} on {monitor}: use another --study name, or the study's space")
    return study


SCHEMA_RACE = ("already exists", "duplicate key")  # two workers creating the tables of a new database at once


def _storage(url: str, heartbeat_s: int, attempts: int = 5):
    """Optuna's storage; it creates its tables in a new database, and when several workers start at
    once against one, all but the first find them half made: those wait a moment and try again."""
    import random

    import optuna

    for attempt in range(attempts):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # heartbeats: stable since 2.9
                return optuna.storages.RDBStorage(url, heartbeat_interval=heartbeat_s, grace_period=2 * heartbeat_s)
        except Exception as exc:  # noqa: BLE001 - sqlalchemy's IntegrityError or ProgrammingError, per driver
            if attempt == attempts - 1 or not any(marker in str(exc) for marker in SCHEMA_RACE):
                raise
            time.sleep(0.5 + random.random())


class StudyRuns:
    """The study's MLflow parent run (shared by every worker) and a Tracker per trial nested under it."""

    def __init__(self, request: TuneRequest, study):
        from ..tracking.store import connect

        self.request = request
        self.mlflow = connect(request.tracking_uri, write=True)
        self.client = self.mlflow.tracking.MlflowClient()
        self.parent_id = self._parent_run(self._experiment_id(request.experiment), study, request)

    def _experiment_id(self, name: str) -> str:
        """The experiment's id; two workers may create it at once, and the second then finds it."""
        experiment = self.client.get_experiment_by_name(name)
        if experiment is not None:
            return experiment.experiment_id
        try:
            return self.client.create_experiment(name)
        except Exception as exc:  # noqa: BLE001 - MlflowException wrapping the database's unique violation
            experiment = self.client.get_experiment_by_name(name)
            if experiment is None or not any(marker in str(exc) for marker in SCHEMA_RACE):
                raise
            return experiment.experiment_id

    def _parent_run(self, experiment_id: str, study, request: TuneRequest) -> str:
        """The study's run: the earliest one tagged with its name. A worker that finds none creates
        one and looks again; of two workers that created one at once, both then choose the earlier
        and the other is deleted, so every trial nests under one run."""
        tag = f"tags.sentiment_rnn.study = '{study.study_name}'"

        def earliest():
            found = self.client.search_runs([experiment_id], tag, order_by=["attributes.start_time ASC"], max_results=5)
            return min(found, key=lambda r: (r.info.start_time, r.info.run_id)) if found else None

        existing = earliest()
        if existing is not None:
            self.client.update_run(existing.info.run_id, status="RUNNING")
            return existing.info.run_id
        mine = self.client.create_run(experiment_id, run_name=f"study {study.study_name}",
                                      tags={"sentiment_rnn.study": study.study_name})
        chosen = earliest().info.run_id
        if chosen != mine.info.run_id:
            self.client.delete_run(mine.info.run_id)
            return chosen
        from mlflow.entities import Param

        params = {"space": json.dumps([d.describe() for d in request.space.dimensions]),
                  "space_source": request.space.source, "base_config": request.base_config or "defaults",
                  "base_overrides": json.dumps(request.overrides), "direction": study.direction.name.lower()}
        self.client.log_batch(chosen, params=[Param(k, v) for k, v in params.items()])
        return chosen

    def tracker(self, trial_number: int):
        from ..tracking.runs import Tracker

        return Tracker(self.request.tracking_uri, self.request.experiment, None, parent_run_id=self.parent_id,
                       run_name=f"trial {trial_number}")

    def mark(self, run_id: str | None, state: str) -> None:
        if run_id:
            self.client.set_tag(run_id, "sentiment_rnn.trial_state", state)
            if state == "PRUNED":
                self.client.set_terminated(run_id, "KILLED")

    def finish(self, study, summary: dict, plots: list[Path]) -> None:
        metrics = {k: float(summary[k]) for k in ("trials_complete", "trials_pruned", "trials_failed") if k in summary}
        if summary.get("best"):
            metrics["best_value"] = float(summary["best"]["value"])
            self.client.set_tag(self.parent_id, "sentiment_rnn.best_trial", str(summary["best"]["number"]))
        for name, value in metrics.items():
            self.client.log_metric(self.parent_id, name, value)
        for path in plots:
            self.client.log_artifact(self.parent_id, str(path), "plots")
        self.client.log_dict(self.parent_id, summary, "study.json")
        self.client.set_terminated(self.parent_id, "FINISHED")


def run_study(request: TuneRequest, say=print) -> dict[str, Any]:
    """Run trials until --trials are done in the study or --time-budget is spent; return a summary."""
    import optuna

    request.out.mkdir(parents=True, exist_ok=True)
    base = ExperimentConfig.load(request.base_config, request.overrides + request.flags)  # fails before any trial
    monitor = objective_of(base)
    study = open_study(request, base)
    runs = StudyRuns(request, study) if request.track else None
    worker = f"{socket.gethostname()}:{os.getpid()}"
    started = time.monotonic()
    failures_in_a_row = [0]

    def objective(trial) -> float:
        settings = request.space.suggest(trial)
        trial.set_user_attr("worker", worker)
        config = ExperimentConfig.load(request.base_config, request.overrides + settings + request.flags)
        folder = request.out / "trials" / f"trial-{trial.number:04d}"
        shutil.rmtree(folder, ignore_errors=True)  # a resumed study may reuse a failed trial's folder name
        trial.set_user_attr("folder", str(folder))
        pruning = PruneAfterEpoch(trial, monitor)
        tracker = runs.tracker(trial.number) if runs else None
        from ..pipeline import train

        try:
            _, summary = train(config, folder, callbacks=[pruning], tracker=tracker, overwrite=True)
        except optuna.TrialPruned:
            if runs:
                runs.mark(tracker.last_run_id, "PRUNED")
            raise
        except Exception as exc:  # recorded with the trial (Optuna keeps only its state), and shown
            reason = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
            trial.set_user_attr("error", f"{type(exc).__name__}: {reason}")
            raise
        finally:
            if tracker is not None and tracker.last_run_id:
                trial.set_user_attr("mlflow_run_id", tracker.last_run_id)
        value = summary.get(monitor)
        if value is None:
            raise ConfigError(f"trial {trial.number} has no {monitor}: tuning needs a validation split "
                              f"(training.val_fraction > 0 or --validation-file)")
        if runs:
            runs.mark(tracker.last_run_id, "COMPLETE")
            if summary.get("model_uri"):
                trial.set_user_attr("model_uri", summary["model_uri"])
        return float(value)

    def after_trial(study, trial) -> None:
        state = trial.state.name
        failures_in_a_row[0] = failures_in_a_row[0] + 1 if state == "FAIL" else 0
        _keep_if_best(request.out, study, trial)
        done = _count(study, ("COMPLETE", "PRUNED"))
        best = _best(study)
        if state == "COMPLETE":
            detail = f"{monitor} {trial.value:.4f}"
        elif state == "PRUNED":  # its value is the last epoch figure the pruner saw, not the objective
            detail = f"after epoch {trial.last_step + 1}" if trial.last_step is not None else "before an epoch ended"
        else:
            detail = trial.user_attrs.get("error") or state.lower()
        left = "" if request.time_budget_s is None else \
            f", {max(0.0, request.time_budget_s - (time.monotonic() - started)) / 60:.0f} min left"
        say(f"trial {trial.number} {state.lower()} ({detail}); {done}{f'/{request.trials}' if request.trials else ''} "
            f"done in the study; best {monitor} {best.value:.4f} (trial {best.number}){left}" if best else
            f"trial {trial.number} {state.lower()} ({detail}); no complete trial yet{left}")
        if request.trials is not None and done >= request.trials:
            study.stop()
        if failures_in_a_row[0] >= MAX_FAILURES_IN_A_ROW:
            say(f"stopping this worker: its last {MAX_FAILURES_IN_A_ROW} trials failed")
            study.stop()

    if request.trials is None or _count(study, ("COMPLETE", "PRUNED")) < request.trials:
        study.optimize(objective, timeout=request.time_budget_s, catch=(Exception,), callbacks=[after_trial],
                       gc_after_trial=True)
    summary = _summary(study, request, monitor, worker)
    _write_best_settings(request, summary)
    plots = _plots(study, request.out / "plots")
    (request.out / "study.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    if runs:
        runs.finish(study, summary, plots)
        if request.register and summary.get("best") and summary["best"].get("model_uri"):
            version = runs.mlflow.register_model(summary["best"]["model_uri"], request.register)
            summary["registered_version"] = int(version.version)
    return summary


def _count(study, states: tuple[str, ...]) -> int:
    return sum(t.state.name in states for t in study.get_trials(deepcopy=False))


def _best(study):
    try:
        return study.best_trial
    except ValueError:  # no complete trial
        return None


def _keep_if_best(out: Path, study, trial) -> None:
    """OUT/model holds the best complete trial this worker ran; other trials' folders are removed."""
    folder = Path(trial.user_attrs.get("folder", "")) if trial.user_attrs.get("folder") else None
    if folder is None or not folder.exists():
        return
    best = _best(study)
    if trial.state.name == "COMPLETE" and best is not None and best.number == trial.number:
        target = out / MODEL_FOLDER
        old = out / f".{MODEL_FOLDER}-replaced"
        shutil.rmtree(old, ignore_errors=True)
        if target.exists():
            target.rename(old)
        folder.rename(target)
        shutil.rmtree(old, ignore_errors=True)
        (target / ".training.lock").unlink(missing_ok=True)
        (out / ".model-trial").write_text(str(trial.number), encoding="utf-8")
    else:
        shutil.rmtree(folder, ignore_errors=True)


def _summary(study, request: TuneRequest, monitor: str, worker: str) -> dict[str, Any]:
    trials = study.get_trials(deepcopy=False)
    rows = [{"number": t.number, "state": t.state.name, "value": t.value if t.state.name == "COMPLETE" else None,
             "last_epoch_figure": t.intermediate_values.get(t.last_step) if t.last_step is not None else None,
             "params": t.params,
             "worker": t.user_attrs.get("worker"), **({"error": t.user_attrs["error"]} if "error" in t.user_attrs else {}),
             "seconds": round((t.datetime_complete - t.datetime_start).total_seconds(), 1)
             if t.datetime_complete and t.datetime_start else None} for t in trials]
    best = _best(study)
    kept = request.out / ".model-trial"
    model_trial = int(kept.read_text()) if kept.exists() else None
    return {"study": study.study_name, "direction": study.direction.name.lower(), "monitor": monitor,
            "worker": worker, **{key: sum(t.state.name == state for t in trials) for key, state in
                                 (("trials_complete", "COMPLETE"), ("trials_pruned", "PRUNED"), ("trials_failed", "FAIL"))},
            "best": None if best is None else {"number": best.number, "value": best.value, "params": best.params,
                                               "mlflow_run_id": best.user_attrs.get("mlflow_run_id"),
                                               "model_uri": best.user_attrs.get("model_uri")},
            "model_folder_trial": model_trial, "trials": rows}


def _write_best_settings(request: TuneRequest, summary: dict) -> None:
    """best.toml: the base config and --set items with the best trial's settings, as a config file."""
    if not summary.get("best"):
        return
    import tomllib

    raw: dict[str, dict[str, Any]] = {}
    if request.base_config:
        raw = tomllib.loads(Path(request.base_config).read_text(encoding="utf-8"))
    best = [f"{k}={json.dumps(v)}" for k, v in summary["best"]["params"].items()]
    from ..config import parse_override

    for item in request.overrides + best:
        section, key, value = parse_override(item)
        raw.setdefault(section, {})[key] = value
    lines = [f"# The best settings of study {summary['study']!r} (trial {summary['best']['number']}, "
             f"{summary['monitor']} {summary['best']['value']:.4f}), written by sentiment-rnn tune.",
             "#   sentiment-rnn train --config best.toml --archive ARCHIVE --out MODEL", ""]
    for section, values in raw.items():
        kept = {k: v for k, v in values.items() if f"{section}.{k}" not in DATA_LOCATION and v is not None}
        if kept:
            lines.append(f"[{section}]")
            lines += [f"{key} = {json.dumps(value, ensure_ascii=False)}" for key, value in kept.items()]
            lines.append("")
    from ..io import atomic_write_text

    path = request.out / BEST_SETTINGS
    atomic_write_text(path, "\n".join(lines))
    ExperimentConfig.load(path)  # what train --config will read must load


def _plots(study, folder: Path) -> list[Path]:
    """Optuna's optimisation history and parameter importances (the latter needs two complete trials)."""
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as plots

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, draw in (("optimization_history", plots.plot_optimization_history),
                       ("param_importances", plots.plot_param_importances)):
        if _count(study, ("COMPLETE",)) < (2 if name == "param_importances" else 1):
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Optuna marks its matplotlib plots experimental
            try:
                axis = draw(study)
            except (ValueError, RuntimeError):  # e.g. importances when every trial had the same settings
                continue
        path = folder / f"{name}.png"
        axis.figure.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(axis.figure)
        written.append(path)
    return written
