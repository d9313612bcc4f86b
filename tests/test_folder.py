"""Model folders that were damaged or tampered with are refused, before any large allocation, with
the file and the field named."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from safetensors.torch import load_file, save_file

from conftest import TINY_SETTINGS
from sentiment_rnn import ModelError, SentimentClassifier


def _edit_config(folder, change):
    path = folder / "config.json"
    config = json.loads(path.read_text())
    change(config)
    path.write_text(json.dumps(config))


@pytest.mark.parametrize("content, message", [
    ("[1, 2]", "config.json: expected a JSON object, got list"),
    ("{", "config.json: invalid JSON"),
])
def test_config_that_is_not_an_object(tiny_model_dir, content, message):
    (tiny_model_dir / "config.json").write_text(content)
    with pytest.raises(ModelError, match=message):
        SentimentClassifier.load(tiny_model_dir)


def test_config_that_is_not_utf8(tiny_model_dir):
    (tiny_model_dir / "config.json").write_bytes(b'{"classes": "\xff"}')
    with pytest.raises(ModelError, match="config.json: not UTF-8"):
        SentimentClassifier.load(tiny_model_dir)


@pytest.mark.parametrize("change, message", [
    (lambda c: c.pop("classes"), "field 'classes' must be a list"),
    (lambda c: c.update(classes=["only"]), "field 'classes' must be a list"),
    (lambda c: c.update(classes=["a", "a"]), "field 'classes' must be a list"),
    (lambda c: c.update(vocab_size="many"), "field 'vocab_size' must be an integer"),
    (lambda c: c.pop("model"), "field 'model' must be an object of settings"),
    (lambda c: c["model"].update(hidden_size="big"), "model.hidden_size must be int"),
    (lambda c: c["model"].update(cell="transformer"), "model.cell must be one of"),
    (lambda c: c["model"].update(embedding_dim=10**9), r"tensor 'embedding.weight' has shape \[\d+, 16\], the "
                                                       r"settings make \[\d+, 1000000000\]"),
    (lambda c: c["model"].update(hidden_size=32), "does not match .*config.json: tensor"),
    (lambda c: c["model"].update(num_layers=3), "missing tensors"),
    (lambda c: c.update(vocab_size=c["vocab_size"] + 1), "tokenizer.json has .* tokens but .* says vocab_size"),
])
def test_every_field_is_checked_before_the_network_is_built(tiny_model_dir, change, message):
    _edit_config(tiny_model_dir, change)
    with pytest.raises(ModelError, match=message):
        SentimentClassifier.load(tiny_model_dir)


def test_a_tokenizer_from_another_model_is_refused(tiny_model_dir, tmp_path, tiny_data):
    other = SentimentClassifier(**{**TINY_SETTINGS, "training": {**TINY_SETTINGS["training"], "epochs": 1}})
    other.fit([t + " extra words here" for t in tiny_data[0]], tiny_data[1]).save(tmp_path / "other")
    shutil.copy(tmp_path / "other" / "tokenizer.json", tiny_model_dir / "tokenizer.json")
    with pytest.raises(ModelError, match="belongs to another model"):
        SentimentClassifier.load(tiny_model_dir)


def test_weights_from_another_save_of_the_same_shape_are_refused(tiny_model_dir, tmp_path, tiny_data):
    """What a crash between a save's renames, or a copy from a sibling model, leaves: every check of
    shape passes, only the digests recorded in config.json tell."""
    other = SentimentClassifier(**{**TINY_SETTINGS, "training": {**TINY_SETTINGS["training"], "epochs": 1, "seed": 7}})
    other.fit(*tiny_data).save(tmp_path / "other")
    shutil.copy(tmp_path / "other" / "model.safetensors", tiny_model_dir / "model.safetensors")
    with pytest.raises(ModelError, match=r"model\.safetensors is not the file .*config\.json was saved with"):
        SentimentClassifier.load(tiny_model_dir)


def test_nan_weights_are_refused_and_the_service_does_not_start(tiny_model_dir):
    path = tiny_model_dir / "model.safetensors"
    weights = load_file(path)
    weights["head.1.weight"][0, 0] = float("nan")
    save_file(weights, path)
    with pytest.raises(ModelError, match=r"tensor 'head.1.weight' holds NaN"):
        SentimentClassifier.load(tiny_model_dir)
    result = subprocess.run([sys.executable, "-m", "sentiment_rnn", "serve", str(tiny_model_dir), "--port", "1"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and result.stderr.count("\n") == 1 and "NaN" in result.stderr
