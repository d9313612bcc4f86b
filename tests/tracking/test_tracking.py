"""Tracking on a real MLflow store (SQLite file in a temporary folder): runs, datasets, artifacts,
registry, aliases, loading by name, pickle-free pyfunc, and failure statuses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from conftest import write_imdb_archive

TINY = ["--set", "tokenizer.min_frequency=1", "--set", "model.embedding_dim=8", "--set", "model.hidden_size=8",
        "--set", "training.batch_size=8", "--set", "training.val_fraction=0.25", "--set", "training.log_every_steps=2"]


def run(*args: str, cwd, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sentiment_rnn", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})}, timeout=300)


@pytest.fixture(scope="module")
def tracked(tmp_path_factory):
    root = tmp_path_factory.mktemp("tracking")
    os.environ["SENTIMENT_RNN_CACHE"] = str(root / "cache")
    archive = write_imdb_archive(root / "a.tar.gz", per_class=16)
    uri = f"sqlite:///{root / 'mlflow.db'}"
    result = run("train", "--archive", str(archive), "--out", str(root / "m"), "--tracking-uri", uri,
                 "--experiment", "exp", "--register", "tiny", "--epochs", "3", "--quiet", *TINY, cwd=root)
    assert result.returncode == 0, result.stderr
    return root, archive, uri, result.stdout


def client(uri):
    import mlflow

    mlflow.set_tracking_uri(uri)
    return mlflow.tracking.MlflowClient()


def test_run_records_params_metrics_tags_and_says_where_to_look(tracked):
    root, _, uri, stdout = tracked
    assert "MLflow run" in stdout and f"mlflow ui --backend-store-uri {uri}" in stdout
    run_id = stdout.split("MLflow run ")[1].split()[0]
    r = client(uri).get_run(run_id)
    assert r.info.status == "FINISHED"
    assert r.data.params["model.cell"] == "lstm" and r.data.params["training.epochs"] == "3"
    assert {"train_loss", "val_loss", "val_accuracy", "learning_rate", "reviews_per_s", "epoch_seconds",
            "step_loss", "grad_norm", "validation_accuracy"} <= set(r.data.metrics)
    assert len(client(uri).get_metric_history(run_id, "val_accuracy")) == 3
    assert r.data.tags["sentiment_rnn.version"] and r.data.tags["torch.version"]


def test_datasets_are_inputs_with_digests(tracked):
    root, _, uri, stdout = tracked
    run_id = stdout.split("MLflow run ")[1].split()[0]
    inputs = client(uri).get_run(run_id).inputs.dataset_inputs
    by_context = {next(t.value for t in i.tags if t.key == "mlflow.data.context"): i for i in inputs}
    assert set(by_context) == {"raw", "cleaned", "training"}
    config = json.loads((root / "m" / "config.json").read_text())
    raw_tags = {t.key: t.value for t in by_context["raw"].tags}
    assert raw_tags["full_digest"] == config["data"]["digest"] and raw_tags["rows"] == "32"
    assert by_context["cleaned"].dataset.digest == config["data"]["cleaned_digest"][:36]
    assert by_context["training"].dataset.digest == config["data"]["tokenized_digest"][:36]
    assert json.loads(by_context["raw"].dataset.profile) == {"num_rows": 32}


def test_artifacts_plots_and_model(tracked):
    _, _, uri, stdout = tracked
    run_id = stdout.split("MLflow run ")[1].split()[0]
    c = client(uri)
    paths = {a.path for a in c.list_artifacts(run_id, "plots")}
    assert paths == {"plots/learning_curves.png", "plots/gradient_norm.png", "plots/confusion_matrix_validation.png",
                     "plots/roc_curve_validation.png", "plots/reliability_validation.png"}
    assert {a.path for a in c.list_artifacts(run_id, "model_folder")} >= {
        "model_folder/config.json", "model_folder/tokenizer.json", "model_folder/model.safetensors"}
    assert {a.path for a in c.list_artifacts(run_id, "reports")} == {"reports/classification_report_validation.json",
                                                                     "reports/baseline_validation.json"}
    metrics = c.get_run(run_id).data.metrics
    assert 0.0 <= metrics["baseline_val_accuracy"] <= 1.0 and "baseline_val_macro_f1" in metrics


def test_registry_alias_and_predict_by_alias(tracked):
    root, _, uri, _ = tracked
    listed = json.loads(run("models", "list", "--tracking-uri", uri, "--json", cwd=root).stdout)
    assert [(m["name"], m["version"]) for m in listed] == [("tiny", 1)]
    result = run("models", "alias", "tiny", "1", "champion", "--tracking-uri", uri, cwd=root)
    assert result.returncode == 0, result.stderr
    assert json.loads(run("models", "list", "--tracking-uri", uri, "--json", cwd=root).stdout)[0]["aliases"] == ["champion"]
    local = json.loads(run("predict", str(root / "m"), "--json", "some review", cwd=root).stdout)
    for ref in ("models:/tiny@champion", "models:/tiny/1"):
        result = run("predict", ref, "--tracking-uri", uri, "--json", "some review", cwd=root)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == local
    run_id = listed[0]["run_id"]
    result = run("predict", f"runs:/{run_id}/model", "--tracking-uri", uri, "--json", "some review", cwd=root)
    assert json.loads(result.stdout) == local


def test_check_results_are_logged_on_the_run_that_made_the_model(tracked):
    root, _, uri, _ = tracked
    listed = json.loads(run("models", "list", "--tracking-uri", uri, "--json", cwd=root).stdout)
    run_id = listed[0]["run_id"]
    result = run("check", "models:/tiny/1", "--tracking-uri", uri, "--max-cases", "5", "--json", cwd=root)
    assert result.returncode == 0, result.stderr
    c = client(uri)
    assert "checks/behaviour.json" in {a.path for a in c.list_artifacts(run_id, "checks")}
    logged = c.get_run(run_id).data.metrics
    report = json.loads(result.stdout)
    negation = next(t for t in report["tests"] if t["name"].startswith("negation: not + positive"))
    assert logged["check_negation_not_positive_word_is_negative"] == negation["failure_rate"]


def test_mlflow_tracking_uri_env_is_honoured(tracked):
    root, _, uri, _ = tracked
    result = run("predict", "models:/tiny/1", "--json", "x", cwd=root / "m", env={"MLFLOW_TRACKING_URI": uri})
    assert result.returncode == 0, result.stderr


def test_unknown_model_or_alias_lists_what_exists(tracked):
    root, _, uri, _ = tracked
    result = run("predict", "models:/nosuch@champion", "--tracking-uri", uri, "x", cwd=root)
    assert result.returncode == 1 and "no registered model named 'nosuch'; registered models: tiny" in result.stderr
    result = run("predict", "models:/tiny@nosuch", "--tracking-uri", uri, "x", cwd=root)
    assert result.returncode == 1 and "model 'tiny' has no alias 'nosuch'" in result.stderr
    result = run("models", "alias", "tiny", "7", "x", "--tracking-uri", uri, cwd=root)
    assert result.returncode == 1 and "has no version 7; versions: [1]" in result.stderr


def test_pyfunc_loads_with_pickle_disabled(tracked):
    root, _, uri, _ = tracked
    code = ("import mlflow, pandas as pd; mlflow.set_tracking_uri(%r);"
            "m = mlflow.pyfunc.load_model('models:/tiny/1');"
            "out = m.predict(pd.DataFrame({'text': ['a great film', 'awful']}));"
            "print(out.to_json(orient='records'))") % uri
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root,
                            env={**os.environ, "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "false"}, timeout=300)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(rows) == 2 and {"label", "p_negative", "p_positive"} == set(rows[0])


def test_no_track_writes_nothing(tmp_path, imdb_archive):
    result = run("train", "--archive", str(imdb_archive), "--out", str(tmp_path / "m"), "--no-track", "--epochs", "1",
                 "--quiet", *TINY, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "mlruns").exists()


def test_default_store_is_sqlite_in_working_directory(tmp_path, imdb_archive):
    result = run("train", "--archive", str(imdb_archive), "--out", str(tmp_path / "m"), "--epochs", "1", "--quiet",
                 *TINY, cwd=tmp_path, env={"MLFLOW_TRACKING_URI": ""})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "mlflow.db").exists()
    assert "Warning" not in result.stderr  # e.g. MLflow's advice to type-hint `predict`, once printed three times


def test_unreachable_server_fails_fast_before_training(tmp_path, imdb_archive):
    started = time.monotonic()
    result = run("train", "--archive", str(imdb_archive), "--out", str(tmp_path / "m"), "--tracking-uri",
                 "http://127.0.0.1:9", cwd=tmp_path)
    assert result.returncode == 1
    assert "tracking server http://127.0.0.1:9 is not reachable" in result.stderr
    assert time.monotonic() - started < 60 and not (tmp_path / "m").exists()


def test_unreachable_database_fails_fast_and_keeps_its_password(tmp_path, imdb_archive):
    result = run("train", "--archive", str(imdb_archive), "--out", str(tmp_path / "m"), "--tracking-uri",
                 "postgresql://user:s3cret@127.0.0.1:9/mlflow", cwd=tmp_path)
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert "tracking database postgresql://user:***@127.0.0.1:9/mlflow is not reachable" in result.stderr
    assert "s3cret" not in result.stderr and not (tmp_path / "m").exists()


def test_lookups_create_no_store_and_fetch_each_model_once(tracked, tmp_path):
    root, _, uri, _ = tracked
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run("predict", "models:/tiny/1", "x", cwd=empty, env={"MLFLOW_TRACKING_URI": ""})  # the default store
    assert result.returncode == 1 and "no tracking store at mlflow.db" in result.stderr
    assert list(empty.iterdir()) == []  # no mlflow.db appeared
    result = run("predict", "models:/tiny/abc", "--tracking-uri", uri, "x", cwd=root)
    assert result.returncode == 1 and "model version must be a number" in result.stderr
    assert run("models", "alias", "tiny", "1", "champion", "--tracking-uri", uri, cwd=root).returncode == 0
    cache = tmp_path / "cache" / "models"  # this test's $SENTIMENT_RNN_CACHE
    for _ in range(2):
        assert run("predict", "models:/tiny@champion", "--tracking-uri", uri, "x", cwd=root).returncode == 0
        assert run("predict", "models:/tiny/1", "--tracking-uri", uri, "x", cwd=root).returncode == 0
    assert len([p for p in cache.iterdir() if not p.name.startswith(".")]) == 1  # the alias pins version 1


def test_failed_run_is_marked_failed(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("review,sentiment\ngood,positive\n,negative\n")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = run("train", "--train-file", str(bad), "--out", str(tmp_path / "m"), "--tracking-uri", uri, cwd=tmp_path)
    assert result.returncode == 1 and "bad.csv, line 3: text is empty" in result.stderr
    runs = client(uri).search_runs([client(uri).get_experiment_by_name("sentiment-rnn").experiment_id])
    assert [r.info.status for r in runs] == ["FAILED"]


def test_interrupted_run_is_marked_killed(tmp_path, imdb_archive):
    from sentiment_rnn import ExperimentConfig
    from sentiment_rnn.pipeline import train
    from sentiment_rnn.tracking.runs import Tracker
    from sentiment_rnn.training.callbacks import Callback

    class Interrupt(Callback):
        def on_epoch_end(self, loop, record):
            raise KeyboardInterrupt

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    config = ExperimentConfig.load(None, [f"data.archive={str(imdb_archive)!r}", "tokenizer.min_frequency=1"])
    with pytest.raises(KeyboardInterrupt):
        train(config, tmp_path / "m", callbacks=[Interrupt()], tracker=Tracker(uri, "exp"))
    runs = client(uri).search_runs([client(uri).get_experiment_by_name("exp").experiment_id])
    assert [r.info.status for r in runs] == ["KILLED"]


def test_sigterm_ends_the_run_killed_not_running(tmp_path, imdb_archive):
    import signal

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    out = tmp_path / "m"
    proc = subprocess.Popen([sys.executable, "-m", "sentiment_rnn", "train", "--archive", str(imdb_archive), "--out",
                             str(out), "--tracking-uri", uri, "--epochs", "500", "--quiet", *TINY,
                             "--set", "training.early_stopping_patience=0"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out / "checkpoints" / "last" / "progress.json").exists():  # the run is under way
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[1]
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143 and "terminated" in stderr
    runs = client(uri).search_runs([client(uri).get_experiment_by_name("sentiment-rnn").experiment_id])
    assert [r.info.status for r in runs] == ["KILLED"], stderr[-2000:]  # what train said, if it stayed RUNNING


def test_data_prepare_reuses_by_digest(tmp_path, imdb_archive):
    first = run("data", "prepare", "--archive", str(imdb_archive), "--json", cwd=tmp_path)
    second = run("data", "prepare", "--archive", str(imdb_archive), "--json", cwd=tmp_path)
    other = run("data", "prepare", "--archive", str(imdb_archive), "--set", 'text.pipeline=["lowercase"]', "--json",
                cwd=tmp_path)
    a, b, c = (json.loads(r.stdout) for r in (first, second, other))
    assert not a["reused"] and b["reused"] and b["cleaned_digest"] == a["cleaned_digest"]
    assert not c["reused"] and c["cleaned_digest"] != a["cleaned_digest"] and c["raw_digest"] == a["raw_digest"]
    info = json.loads(run("data", "info", "--json", cwd=tmp_path).stdout)
    assert {row["kind"] for row in info} == {"imdb", "cleaned"}


def test_predict_from_folder_never_imports_mlflow(tracked):
    root, _, _, _ = tracked
    code = ("import sys; from sentiment_rnn.cli import main; main(['predict', sys.argv[1], 'x']);"
            "assert 'mlflow' not in sys.modules, 'mlflow imported'")
    result = subprocess.run([sys.executable, "-c", code, str(root / "m")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
