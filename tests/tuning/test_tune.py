"""`sentiment-rnn tune`: real Optuna studies (SQLite, and PostgreSQL with two worker processes), real
MLflow stores, real trainings on tiny data."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from conftest import tiny_reviews
from sentiment_rnn.config import ExperimentConfig
from sentiment_rnn.errors import ConfigError
from sentiment_rnn.tuning.space import SearchSpace

optuna = pytest.importorskip("optuna")
POSTGRES = os.environ.get("SENTIMENT_RNN_TEST_POSTGRES")
SPACE = """
[model]
hidden_size = {low = 4, high = 16}
cell = ["lstm", "gru"]
[training]
learning_rate = {low = 0.005, high = 0.05, log = true}
"""
TINY = ["--set", "tokenizer.min_frequency=1", "--set", "model.embedding_dim=8", "--set", "model.ngrams=0",
        "--set", "training.val_fraction=0.25", "--set", "training.batch_size=16", "--set", "training.baseline=false",
        "--set", "model.pretrained_embeddings=\"\""]


@pytest.fixture(scope="module")
def reviews_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tune-data") / "reviews.csv"
    texts, labels = tiny_reviews(40)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["review", "sentiment"])
        writer.writerows(zip(texts, labels))
    return path


def tune(*args: str, cwd: Path, wait: bool = True):
    cmd = [sys.executable, "-m", "sentiment_rnn", "tune", *args]
    if not wait:
        return subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)


def write_space(folder: Path) -> Path:
    path = folder / "space.toml"
    path.write_text(SPACE, encoding="utf-8")
    return path


def test_a_three_trial_study_in_sqlite_tracks_nests_and_writes_a_config_train_takes(reviews_csv, tmp_path):
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    out = tmp_path / "study"
    result = tune("--train-file", str(reviews_csv), "--space", str(write_space(tmp_path)), "--trials", "3",
                  "--out", str(out), "--tracking-uri", store, "--register", "tuned", "--set", "training.epochs=3",
                  *TINY, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "registered tuned version 1" in result.stdout
    assert "trial 2 complete" in result.stderr and "3/3 done" in result.stderr
    study = optuna.load_study(study_name="study", storage=f"sqlite:///{out / 'study.db'}")
    trials = study.get_trials()
    assert [t.number for t in trials] == [0, 1, 2]
    assert {t.state.name for t in trials} <= {"COMPLETE", "PRUNED"}
    assert all(4 <= t.params["model.hidden_size"] <= 16 for t in trials)

    # best.toml is a config file `train --config` takes as is, with the best trial's settings
    best = json.loads((out / "study.json").read_text())["best"]
    config = ExperimentConfig.load(out / "best.toml")
    assert config.model.hidden_size == best["params"]["model.hidden_size"]
    assert config.model.cell == best["params"]["model.cell"]
    assert config.training.epochs == 3 and config.model.embedding_dim == 8
    assert config.data.train_file is None  # where the data is stays on the command line

    # OUT/model is the best trial's model folder, and predicts
    from sentiment_rnn import SentimentClassifier

    clf = SentimentClassifier.load(out / "model")
    assert clf.predict(["a great film"])[0] in ("positive", "negative")
    assert not any((out / "trials").glob("trial-*"))  # the other trials' folders are gone

    # MLflow: one parent run for the study, one nested run per trial, plots on the parent
    from mlflow.tracking import MlflowClient

    client = MlflowClient(store)
    experiment = client.get_experiment_by_name("sentiment-rnn")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if r.data.tags.get("sentiment_rnn.study") == "study"]
    assert len(parents) == 1
    parent = parents[0]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(children) == 3
    assert {r.data.params["model.hidden_size"] for r in children} == {str(t.params["model.hidden_size"]) for t in trials}
    assert all("val_accuracy" in r.data.metrics for r in children)
    assert parent.info.status == "FINISHED" and parent.data.metrics["best_value"] == pytest.approx(best["value"])
    plots = {a.path for a in client.list_artifacts(parent.info.run_id, "plots")}
    assert "plots/optimization_history.png" in plots
    version = client.get_model_version("tuned", "1")  # the best trial's model, registered from its nested run
    assert version.run_id == best["mlflow_run_id"]

    # the same command resumes the study by name: one more trial to reach 4
    again = tune("--train-file", str(reviews_csv), "--space", str(write_space(tmp_path)), "--trials", "4",
                 "--out", str(out), "--tracking-uri", store, "--set", "training.epochs=3", *TINY, cwd=tmp_path)
    assert "trial 3 " in again.stderr and "4/4 done" in again.stderr
    assert again.returncode == 0, again.stderr[-3000:]
    assert len(optuna.load_study(study_name="study", storage=f"sqlite:///{out / 'study.db'}").get_trials()) == 4
    assert len(client.search_runs([experiment.experiment_id],
                                  f"tags.mlflow.parentRunId = '{parent.info.run_id}'")) == 4


def test_a_killed_workers_trial_is_marked_failed_and_the_study_goes_on(reviews_csv, tmp_path):
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    common = ["--train-file", str(reviews_csv), "--space", str(write_space(tmp_path)), "--storage", storage,
              "--study", "shared", "--heartbeat", "1", "--no-track", *TINY]
    # a worker whose trial trains long enough to be killed in the middle of it
    slow = tune(*common, "--trials", "1", "--out", str(tmp_path / "a"), "--set", "training.epochs=2000",
                "--set", "training.early_stopping_patience=0", "--pruner", "none", cwd=tmp_path, wait=False)
    deadline = time.monotonic() + 120
    running = []
    while time.monotonic() < deadline and not running:
        time.sleep(0.5)
        try:
            running = optuna.load_study(study_name="shared", storage=storage).get_trials(
                states=(optuna.trial.TrialState.RUNNING,))
        except KeyError:  # the study is not created yet
            pass
    assert running, "the first worker never started a trial"
    time.sleep(2)  # into its training
    slow.send_signal(signal.SIGKILL)
    slow.wait(timeout=30)
    time.sleep(3)  # past the grace period (twice the heartbeat)

    second = tune(*common, "--trials", "2", "--out", str(tmp_path / "b"), "--set", "training.epochs=2", cwd=tmp_path)
    assert second.returncode == 0, second.stderr[-3000:]
    trials = optuna.load_study(study_name="shared", storage=storage).get_trials()
    states = {t.number: t.state.name for t in trials}
    assert states[running[0].number] == "FAIL"
    assert sum(state in ("COMPLETE", "PRUNED") for state in states.values()) == 2


@pytest.fixture
def postgres_databases():
    if not POSTGRES:
        if os.environ.get("CI"):
            pytest.fail("CI must export SENTIMENT_RNN_TEST_POSTGRES (see scripts/start-postgres)")
        pytest.skip("set SENTIMENT_RNN_TEST_POSTGRES=postgresql://... (scripts/start-postgres prints it)")
    import psycopg

    names = [f"tune_{what}_{uuid.uuid4().hex[:8]}" for what in ("study", "mlflow")]
    admin = psycopg.connect(POSTGRES, autocommit=True)
    for name in names:
        admin.execute(f"CREATE DATABASE {name}")
    base = POSTGRES.rsplit("/", 1)[0]
    yield [f"{base}/{name}" for name in names]
    for name in names:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.close()


def test_two_workers_share_one_study_on_postgresql_and_one_mlflow_parent_run(reviews_csv, tmp_path, postgres_databases):
    study_db, mlflow_db = postgres_databases
    from mlflow.tracking import MlflowClient

    MlflowClient(mlflow_db).search_experiments()  # the store's schema, made once before the workers race for it
    common = ["--train-file", str(reviews_csv), "--space", str(write_space(tmp_path)), "--storage", study_db,
              "--study", "team", "--trials", "6", "--tracking-uri", mlflow_db, "--set", "training.epochs=12",
              "--pruner", "none", *TINY]  # trials long enough that the second worker, started with the first, gets some
    workers = [tune(*common, "--out", str(tmp_path / f"worker{i}"), cwd=tmp_path, wait=False) for i in range(2)]
    outputs = [w.communicate(timeout=600) for w in workers]
    for worker, (_, err) in zip(workers, outputs):
        assert worker.returncode == 0, err[-3000:]
    trials = optuna.load_study(study_name="team", storage=study_db).get_trials()
    numbers = [t.number for t in trials]
    assert len(numbers) == len(set(numbers)) and 6 <= len(numbers) <= 7  # a worker may start one as the other ends
    assert len({t.user_attrs["worker"] for t in trials}) == 2  # both workers ran trials of the one study
    client = MlflowClient(mlflow_db)
    experiment = client.get_experiment_by_name("sentiment-rnn")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if r.data.tags.get("sentiment_rnn.study") == "team"]
    assert len(parents) == 1
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parents[0].info.run_id]
    assert len(children) == len(trials)


def test_search_spaces_are_checked_against_the_settings(tmp_path):
    def load(text: str):
        path = tmp_path / "s.toml"
        path.write_text(text, encoding="utf-8")
        return SearchSpace.load(path)

    assert [d.setting for d in SearchSpace.load().dimensions]  # the shipped default space loads
    with pytest.raises(ConfigError, match="unknown setting model.hiden_size"):
        load("[model]\nhiden_size = {low = 8, high = 16}\n")
    with pytest.raises(ConfigError, match=r"model.cell = 'banana' is not allowed"):
        load('[model]\ncell = ["lstm", "banana"]\n')
    with pytest.raises(ConfigError, match="low < high"):
        load("[model]\nhidden_size = {low = 64, high = 8}\n")
    with pytest.raises(ConfigError, match="log range needs low > 0"):
        load("[model]\ndropout = {low = 0.0, high = 0.5, log = true}\n")
    with pytest.raises(ConfigError, match="model.hidden_size = 0 is not allowed"):
        load("[model]\nhidden_size = {low = 0, high = 8}\n")
    with pytest.raises(ConfigError, match="not a settings section"):
        load("[modle]\nhidden_size = [8]\n")
    assert load("[model]\nhidden_size = {low = 8, high = 16}\n").dimensions[0].integer


def test_tune_needs_a_budget_and_names_a_bad_storage(reviews_csv, tmp_path):
    result = tune("--train-file", str(reviews_csv), "--out", str(tmp_path / "s"), cwd=tmp_path)
    assert result.returncode == 2 and "give --trials N, --time-budget DURATION" in result.stderr
    result = tune("--train-file", str(reviews_csv), "--out", str(tmp_path / "s"), "--time-budget", "soon", cwd=tmp_path)
    assert "--time-budget 'soon'" in result.stderr and "Traceback" not in result.stderr
    result = tune("--train-file", str(reviews_csv), "--out", str(tmp_path / "s"), "--trials", "1", "--no-track",
                  "--storage", "postgresql://nobody:secret@127.0.0.1:1/none", cwd=tmp_path)
    assert result.returncode != 0 and "cannot open the study database" in result.stderr
    assert "secret" not in result.stderr and "Traceback" not in result.stderr


def test_multi_label_studies_score_trials_on_validation_macro_f1(tmp_path):
    texts, labels = tiny_reviews(30)
    path = tmp_path / "tags.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["review", "tags"])
        for i, (text, label) in enumerate(zip(texts, labels)):
            writer.writerow([text, label + (",plot" if "plot" in text else "") + (",long" if i % 3 == 0 else "")])
    out = tmp_path / "study"
    result = tune("--train-file", str(path), "--label-column", "tags", "--label-separator", ",", "--space",
                  str(write_space(tmp_path)), "--trials", "2", "--out", str(out), "--tracking-uri",
                  f"sqlite:///{tmp_path / 'mlflow.db'}", "--set", "training.epochs=3", *TINY, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((out / "study.json").read_text())
    assert summary["trials_complete"] == 2  # a tracked multi-label training used to fail at its report
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("sentiment-rnn").experiment_id],
                              "tags.sentiment_rnn.trial_state = 'COMPLETE'")
    assert len(runs) == 2 and all("validation_micro_f1" in r.data.metrics for r in runs)
    assert summary["monitor"] == "val_macro_f1" and summary["direction"] == "maximize"
    metrics = json.loads((out / "model" / "metrics.json").read_text())["training"]
    assert summary["best"]["value"] == pytest.approx(metrics["val_macro_f1"])
    assert 0.0 < summary["best"]["value"] <= 1.0
