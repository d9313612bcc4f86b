"""The CLI as users run it: real subprocesses, exit codes, one-line errors, JSON outputs."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest

from sentiment_rnn import SentimentClassifier
from sentiment_rnn.config import DataConfig
from sentiment_rnn.pipeline import load_reviews

TINY = ["--set", "tokenizer.min_frequency=1", "--set", "model.embedding_dim=16", "--set", "model.hidden_size=16",
        "--set", "training.batch_size=8", "--set", "training.learning_rate=0.01", "--set", "training.val_fraction=0.25"]


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sentiment_rnn", *args], capture_output=True, text=True,
                          input=stdin, env={**os.environ, "PYTHONWARNINGS": "ignore"}, timeout=300)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from conftest import write_imdb_archive

    root = tmp_path_factory.mktemp("cli")
    archive = write_imdb_archive(root / "aclImdb_v1.tar.gz", per_class=16)
    os.environ["SENTIMENT_RNN_CACHE"] = str(root / "cache")
    out = root / "model"
    result = run("train", "--archive", str(archive), "--out", str(out), "--epochs", "6", "--seed", "3", "--quiet", "--no-track", *TINY)
    assert result.returncode == 0, result.stderr
    assert "saved model to" in result.stdout
    return archive, out


def test_train_writes_a_model_folder_and_checkpoints(trained):
    _, out = trained
    assert (out / "config.json").exists() and (out / "checkpoints" / "last" / "progress.json").exists()
    config = json.loads((out / "config.json").read_text())
    assert config["training"]["seed"] == 3 and config["training"]["epochs"] == 6
    assert config["data"]["digest"] and config["data"]["source"] == "imdb:train"


def test_evaluate_json(trained):
    archive, out = trained
    result = run("evaluate", str(out), "--archive", str(archive), "--split", "test", "--limit", "20", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    reviews = load_reviews(DataConfig(archive=str(archive)), "test", limit=20, seed=42)  # --seed's default
    expected = SentimentClassifier.load(out).score(reviews.texts, reviews.labels)
    assert report["n"] == 20 and report["accuracy"] == expected
    assert set(report["per_class"]) == {"negative", "positive"}
    assert report["confusion_matrix"]["labels"] == ["negative", "positive"] and "roc_auc" in report


def test_evaluate_human_readable(trained):
    archive, out = trained
    result = run("evaluate", str(out), "--archive", str(archive))
    assert result.returncode == 0 and "accuracy" in result.stdout and "confusion matrix" in result.stdout


def test_predict_json_lines(trained):
    _, out = trained
    result = run("predict", str(out), "--json", "first review: a great film", "second review: awful")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["text"] for r in lines] == ["first review: a great film", "second review: awful"]
    for r in lines:
        assert r["label"] in ("negative", "positive")
        assert set(r["probabilities"]) == {"negative", "positive"}
        assert abs(sum(r["probabilities"].values()) - 1) < 1e-5


def test_predict_file_to_csv_and_jsonl(trained, tmp_path):
    _, out = trained
    source = tmp_path / "in.csv"
    source.write_text('review,id\n"great, wonderful",1\n"line one\nline two awful",2\n')
    result = run("predict", str(out), "--input", str(source), "--output", str(tmp_path / "o.csv"))
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(open(tmp_path / "o.csv")))
    assert [r["text"] for r in rows] == ["great, wonderful", "line one\nline two awful"]
    assert set(rows[0]) == {"text", "label", "score", "p_negative", "p_positive"}
    result = run("predict", str(out), "--input", "-", "--output", str(tmp_path / "o.jsonl"), stdin="good\n\nbad\n")
    assert result.returncode == 0, result.stderr
    assert [json.loads(x)["text"] for x in open(tmp_path / "o.jsonl")] == ["good", "", "bad"]


def test_usage_errors_exit_2(trained):
    _, out = trained
    assert run("train").returncode == 2  # --out missing
    assert run("frobnicate").returncode == 2
    result = run("predict", str(out))
    assert result.returncode == 2 and "give either texts" in result.stderr


def test_failures_exit_1_with_one_line(trained, tmp_path):
    archive, out = trained
    cases = [
        (("predict", str(tmp_path / "nope"), "x"), "model folder"),
        (("train", "--no-track", "--archive", str(archive), "--out", str(tmp_path / "m"), "--set", "model.cell=transformer"),
         "model.cell must be one of"),
        (("train", "--no-track", "--archive", str(tmp_path / "missing.tar.gz"), "--out", str(tmp_path / "m")),
         "missing.tar.gz: IMDB archive or folder does not exist"),
        (("predict", str(out), "--input", str(tmp_path / "none.csv"), "--output", str(tmp_path / "o.jsonl")),
         "none.csv: input file does not exist"),
    ]
    for args, message in cases:
        result = run(*args)
        assert result.returncode == 1, (args, result.stderr)
        assert message in result.stderr
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    result = run("predict", str(tmp_path / "nope"), "x", "--debug")
    assert result.returncode == 1 and "Traceback" in result.stderr


def test_serve_on_a_busy_port_says_so_in_one_line_with_its_exit_code(trained):
    import socket

    _, out = trained
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = run("serve", str(out), "--port", str(port))
    assert result.returncode == 3, result.stderr
    assert result.stderr.strip() == (f"error: cannot listen on 127.0.0.1:{port} (Address already in use); choose "
                                     f"another --port or --host, or stop what holds it")
    assert "serving" not in result.stderr


def test_evaluate_on_user_file_with_unknown_label(trained, tmp_path):
    _, out = trained
    path = tmp_path / "e.csv"
    path.write_text("review,sentiment\ngreat,positive\nmeh,neutral\n")
    result = run("evaluate", str(out), "--file", str(path))
    assert result.returncode == 1 and "labels ['neutral'] are not classes of this model" in result.stderr


def test_help_has_examples():
    for command in ("train", "evaluate", "predict", "serve", "models", "data"):
        result = run(command, "--help")
        assert result.returncode == 0 and "examples:" in result.stdout


def test_failed_output_write_leaves_no_partial_file(trained, tmp_path):
    _, out = trained
    source = tmp_path / "in.jsonl"
    source.write_text('{"review": "good"}\n{"review": 5}\n')
    result = run("predict", str(out), "--input", str(source), "--output", str(tmp_path / "o.jsonl"))
    assert result.returncode == 1 and "in.jsonl, line 2: text is not a string (int)" in result.stderr
    assert not (tmp_path / "o.jsonl").exists() and not list(tmp_path.glob(".o.jsonl*"))


def test_rows_dropped_on_purpose_are_reported(tmp_path):
    path = tmp_path / "d.csv"
    rows = [f"great film {i},positive" for i in range(6)] + [f"awful film {i},negative" for i in range(6)]
    path.write_text("review,sentiment\n" + "\n".join(rows) + "\n,negative\n   ,positive\n")
    result = run("train", "--train-file", str(path), "--out", str(tmp_path / "m"), "--no-track", "--quiet",
                 "--epochs", "1", "--set", "data.skip_empty=true", *TINY)
    assert result.returncode == 0, result.stderr
    assert "dropped 2 row(s) on purpose (empty text" in result.stdout


def test_small_limits_and_unwritable_outputs_fail_at_once_with_the_fix(imdb_archive, tmp_path):
    result = run("train", "--archive", str(imdb_archive), "--out", str(tmp_path / "m"), "--limit", "10", "--no-track",
                 *TINY, "--set", "training.val_fraction=0.1")
    assert result.returncode == 1 and "no review is left for validation" in result.stderr
    assert "at least 6 reviews per class, or set training.val_fraction = 0" in result.stderr
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = run("train", "--archive", str(imdb_archive), "--out", str(blocker / "m"), "--no-track", *TINY)
    assert result.returncode == 1 and "cannot write the model folder here" in result.stderr
    assert "Traceback" not in result.stderr


def test_predict_reads_a_text_column_when_there_is_no_review_column(tiny_model_dir, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("id,text\n1,a great film\n2,an awful film\n")
    result = run("predict", str(tiny_model_dir), "--input", str(path), "--output", str(tmp_path / "out.jsonl"))
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["text"] for line in (tmp_path / "out.jsonl").read_text().splitlines()] == \
        ["a great film", "an awful film"]
    path.write_text("id,body\n1,a great film\n")
    result = run("predict", str(tiny_model_dir), "--input", str(path))
    assert result.returncode == 1
    assert "missing text column 'review' or 'text'; the file has ['id', 'body'] (set --text-column" in result.stderr


def test_a_trained_model_is_never_replaced_without_asking(trained, tmp_path):
    archive, out = trained
    before = (out / "model.safetensors").read_bytes()
    result = run("train", "--archive", str(archive), "--out", str(out), "--epochs", "1", "--no-track", *TINY)
    assert result.returncode == 1 and "already holds a trained model: pass --overwrite" in result.stderr
    assert (out / "model.safetensors").read_bytes() == before


def test_two_trainings_into_one_folder_the_second_is_refused(imdb_archive, tmp_path):
    import fcntl

    out = tmp_path / "m"
    out.mkdir()
    with open(out / ".training.lock", "a+") as held:  # what a running training holds
        fcntl.flock(held, fcntl.LOCK_EX)
        held.write("4242")
        held.flush()
        result = run("train", "--archive", str(imdb_archive), "--out", str(out), "--no-track", *TINY)
    assert result.returncode == 1 and "another training is writing this model folder (process 4242)" in result.stderr
    assert not (out / "config.json").exists()


def test_every_flag_the_package_mentions_exists():
    """Messages and help suggest only flags that exist (one once suggested --text-column to `train`,
    which had none); the bad-input catalogue checks each refusal against its own command's flags."""
    import re
    from pathlib import Path

    import sentiment_rnn
    from sentiment_rnn import cli

    parser = cli.build_parser()
    ours = {option for sub in parser.commands.values() for action in sub._actions for option in action.option_strings}
    for sub in parser.commands.values():  # nested commands (models list, data prepare)
        for action in sub._actions:
            if isinstance(action.choices, dict):
                ours |= {o for nested in action.choices.values() for a in nested._actions for o in a.option_strings}
    others = {"--nproc-per-node", "--nnodes", "--node-rank", "--rdzv-backend", "--rdzv-endpoint",  # torchrun's
              "--backend-store-uri", "--help", "--version"}  # mlflow ui's; argparse's own
    source = Path(sentiment_rnn.__file__).parent  # the whole package: messages come from everywhere
    mentioned = {flag: path.relative_to(source) for path in source.rglob("*.py")
                 for flag in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", path.read_text())}
    unknown = {flag: str(path) for flag, path in mentioned.items() if flag not in ours | others}
    assert not unknown, unknown
