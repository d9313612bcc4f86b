"""The model card (MODEL/README.md): Hugging Face layout with a model-index, written from what the
folder records at save, updated by evaluate and check, sealed with the folder."""

from __future__ import annotations

import json
import subprocess
import sys

import yaml

from sentiment_rnn import SentimentClassifier


def front_matter(card: str) -> dict:
    assert card.startswith("---\n")
    return yaml.safe_load(card.split("---\n")[1])


def test_every_saved_model_has_a_card_that_evaluate_and_check_extend(tiny_model_dir, tiny_data, tmp_path):
    card = (tiny_model_dir / "README.md").read_text()
    meta = front_matter(card)
    assert meta["library_name"] == "sentiment-rnn" and meta["language"] == "en"
    results = meta["model-index"][0]["results"]
    assert results[0]["dataset"]["split"].startswith("validation") and results[0]["metrics"][0]["type"] == "accuracy"
    for section in ("## Intended use and limits", "## Training data", "## Settings", "## Results", "## Calibration",
                    "## int8 engine", "## Behavioural checks", "## Speed"):
        assert section in card
    assert "More information needed" not in card and "TODO" not in card
    assert "Temperature" in card and "labels agree on" in card
    manifest = json.loads((tiny_model_dir / "manifest.json").read_text())
    assert "README.md" in manifest["files"]

    texts, labels = tiny_data
    data = tmp_path / "test.jsonl"
    data.write_text("".join(json.dumps({"review": t, "sentiment": label}) + "\n" for t, label in zip(texts, labels)))
    for args in (["evaluate", str(tiny_model_dir), "--file", str(data), "--json"],
                 ["check", str(tiny_model_dir), "--max-cases", "5", "--json"]):
        done = subprocess.run([sys.executable, "-m", "sentiment_rnn", *args], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    card = (tiny_model_dir / "README.md").read_text()
    splits = [r["dataset"]["split"] for r in front_matter(card)["model-index"][0]["results"]]
    assert splits[-1] == "file" and "negation" in card and "reviews/s" in card
    manifest = json.loads((tiny_model_dir / "manifest.json").read_text())
    assert {"evaluations.json", "checks.json", "README.md"} <= set(manifest["files"])
    SentimentClassifier.load(tiny_model_dir)  # sealed again: it loads
