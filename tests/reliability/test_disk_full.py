"""A disk that fills up while training or writing predictions: a clear error naming the file, and
everything written before it intact (no half-replaced model, no partial output file)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import TINY_SETTINGS, tiny_reviews


@pytest.fixture
def small_disk(tmp_path):
    """A real file system of a few hundred KiB (tmpfs), which fills up like any full disk."""

    def mount(kib: int) -> Path:
        point = tmp_path / f"disk{kib}"
        point.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={kib}k", "tmpfs", str(point)], capture_output=True)
        if done.returncode != 0:
            if os.environ.get("CI"):
                pytest.fail(f"CI runs as root and must be able to mount a tmpfs: {done.stderr.decode()}")
            pytest.skip("mounting a small file system needs root")
        mounted.append(point)
        return point

    mounted: list[Path] = []
    yield mount
    for point in mounted:
        subprocess.run(["umount", str(point)], check=True)


def fill(folder: Path, leave_kib: int) -> None:
    """Take all but `leave_kib` KiB of the file system with a ballast file."""
    stats = os.statvfs(folder)
    free = stats.f_bavail * stats.f_frsize
    (folder / "ballast").write_bytes(b"\0" * max(0, free - leave_kib * 1024))


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sentiment_rnn", *args], capture_output=True, text=True, cwd=cwd)


def test_saving_over_a_model_on_a_full_disk_keeps_the_old_model_whole(small_disk, _trained_model_dir, tiny_data):
    from sentiment_rnn import SentimentClassifier
    from sentiment_rnn.errors import OutputError

    disk = small_disk(1024)
    old = disk / "model"
    SentimentClassifier.load(_trained_model_dir).save(old)
    before = digests(old)
    bigger = SentimentClassifier(**{**TINY_SETTINGS, "model": {"embedding_dim": 64, "hidden_size": 64},
                                    "training": {**TINY_SETTINGS["training"], "epochs": 1}}).fit(*tiny_data)
    fill(disk, leave_kib=40)  # the old model's 21 KiB of weights would fit; the new one's 150 KiB do not
    with pytest.raises(OutputError, match=r"model\.safetensors: no space left on the device"):
        bigger.save(old)
    assert digests(old) == before  # every file of the old model, byte for byte
    assert [p.name for p in old.iterdir() if p.name.endswith(".tmp")] == []  # no partial files left
    texts = ["a great film", "an awful film"]
    expected = SentimentClassifier.load(_trained_model_dir).predict_proba(texts)
    assert (SentimentClassifier.load(old).predict_proba(texts) == expected).all()


def test_training_onto_a_full_disk_names_the_file_and_leaves_no_partial_checkpoint(small_disk, tmp_path):
    texts, labels = tiny_reviews(60)
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps({"review": t, "sentiment": s}) + "\n" for t, s in zip(texts, labels)))
    disk = small_disk(64)  # holds the first checkpoint's weights (21 KiB), not its optimizer state (48 KiB)
    settings = ["--set", "model.embedding_dim=16", "--set", "model.hidden_size=16", "--set", "tokenizer.min_frequency=1",
                "--set", "model.pretrained_embeddings=", "--epochs", "2", "--no-track", "--quiet"]
    done = cli("train", "--train-file", str(train), "--out", str(disk / "m"), *settings)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    message = done.stderr.strip().splitlines()[-1]
    assert message.startswith(f"error: {disk / 'm' / 'checkpoints'}/last.new/") and "no space left on the device" in message
    assert not (disk / "m" / "checkpoints" / "last.new").exists()  # the half-written checkpoint is gone


def test_predictions_onto_a_full_disk_keep_the_earlier_output(small_disk, tiny_model_dir, tmp_path):
    few, many = tmp_path / "few.csv", tmp_path / "many.csv"
    few.write_text("review\n" + "a great film and a wonderful story\n" * 10)
    many.write_text("review\n" + "a great film and a wonderful story\n" * 5000)
    disk = small_disk(256)
    output = disk / "predictions.jsonl"
    assert cli("predict", str(tiny_model_dir), "--input", str(few), "--output", str(output)).returncode == 0
    earlier = output.read_bytes()
    done = cli("predict", str(tiny_model_dir), "--input", str(many), "--output", str(output))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip() == (f"error: {output}: no space left on the device ({done.stderr.split('(')[1].split(')')[0]}); "
                                   f"nothing was replaced and no partial file was left")
    assert output.read_bytes() == earlier
    assert sorted(p.name for p in disk.iterdir()) == ["predictions.jsonl"]


def test_training_onto_a_disk_already_full_names_the_folder_and_leaves_nothing(small_disk, tmp_path):
    texts, labels = tiny_reviews(60)
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps({"review": t, "sentiment": s}) + "\n" for t, s in zip(texts, labels)))
    disk = small_disk(64)
    fill(disk, leave_kib=0)
    done = cli("train", "--train-file", str(train), "--out", str(disk / "m"), "--set", "model.pretrained_embeddings=",
               "--no-track", "--quiet")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and str(disk / "m") in lines[0] and "space" in lines[0].lower(), done.stderr
    assert not (disk / "m").exists()  # no empty model folder left behind


def test_a_read_only_tracking_store_is_refused_before_training(small_disk, tmp_path):
    import sqlite3

    disk = small_disk(256)
    sqlite3.connect(disk / "mlflow.db").execute("CREATE TABLE t (x)").connection.close()
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
    texts, labels = tiny_reviews(20)
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps({"review": t, "sentiment": s}) + "\n" for t, s in zip(texts, labels)))
    done = cli("train", "--train-file", str(train), "--out", str(tmp_path / "m"), "--quiet",
               "--tracking-uri", f"sqlite:///{disk / 'mlflow.db'}")
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1, done.stderr
    assert f"tracking store sqlite:///{disk / 'mlflow.db'} does not accept writes" in lines[0]
    assert "Read-only file system" in lines[0] and "--no-track" in lines[0]
    assert not (tmp_path / "m").exists()
