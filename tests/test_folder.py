"""Model folders that were damaged or tampered with are refused, before any large allocation, with
the file and the field named.

Most tests here reseal the folder after damaging it (as a buggy writer would have sealed it), to
reach the checks behind the seal; the seal's own refusals come first."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from safetensors.torch import load_file, save_file

from conftest import TINY_SETTINGS
from sentiment_rnn import ModelError, SentimentClassifier
from sentiment_rnn.folder import SEALED_MODEL_FILES
from sentiment_rnn.manifest import seal


def _edit_config(folder, change, resealed=True):
    path = folder / "config.json"
    config = json.loads(path.read_text())
    change(config)
    path.write_text(json.dumps(config))
    if resealed:
        seal(folder, SEALED_MODEL_FILES)


@pytest.mark.parametrize("change, field", [
    (lambda c: c.update(classes=c["classes"][::-1]), "classes"),  # every label inverted
    (lambda c: c["model"].update(pooling="mean"), "model.pooling"),
    (lambda c: c["text"].update(pipeline=c["text"]["pipeline"][:-1]), "text.pipeline"),
    (lambda c: c["text"].update(stopwords="none"), "text.stopwords"),
    (lambda c: c["tokenizer"].update(max_length=7), "tokenizer.max_length"),
    (lambda c: c["tokenizer"].update(truncation="tail"), "tokenizer.truncation"),
    (lambda c: c.update(extra=1), "extra"),
    (lambda c: c.pop("data"), "data"),
])
def test_an_edit_that_keeps_config_json_valid_is_refused_naming_the_field(tiny_model_dir, change, field):
    _edit_config(tiny_model_dir, change, resealed=False)
    with pytest.raises(ModelError, match=rf"config\.json was edited after saving: field .*{field.replace('.', '[.]')}"):
        SentimentClassifier.load(tiny_model_dir)


def test_config_json_reformatted_is_not_an_edit(tiny_model_dir):
    path = tiny_model_dir / "config.json"
    path.write_text(json.dumps(json.loads(path.read_text()), indent=7))
    SentimentClassifier.load(tiny_model_dir)


@pytest.mark.parametrize("damage, message", [
    (lambda m: m.unlink(), "manifest.json is missing"),
    (lambda m: m.write_text("{}"), "not a sentiment-rnn manifest"),
    (lambda m: m.write_text(json.dumps({**json.loads(m.read_text()), "files": {}})), "edited after saving"),
    (lambda m: m.write_text("[" * 100_000 + "]" * 100_000), "not a readable manifest"),
])
def test_an_absent_emptied_or_edited_manifest_is_a_refusal(tiny_model_dir, damage, message):
    damage(tiny_model_dir / "manifest.json")
    with pytest.raises(ModelError, match=message):
        SentimentClassifier.load(tiny_model_dir)


def test_a_manifest_resealed_without_a_file_is_refused(tiny_model_dir):
    seal(tiny_model_dir, ("config.json", "tokenizer.json", "model.safetensors"))  # metrics.json left out
    with pytest.raises(ModelError, match="does not cover metrics.json"):
        SentimentClassifier.load(tiny_model_dir)


def test_a_format_1_folder_loads_with_a_warning_and_without_its_digests_is_refused(tiny_model_dir):
    from sentiment_rnn.io import sha256_file

    digests = {name: sha256_file(tiny_model_dir / name) for name in ("tokenizer.json", "model.safetensors")}
    expected = SentimentClassifier.load(tiny_model_dir).predict_proba(["a great film"])
    (tiny_model_dir / "manifest.json").unlink()
    _edit_config(tiny_model_dir, lambda c: c.update(format_version=1, files=digests), resealed=False)
    with pytest.warns(UserWarning, match="format 1"):
        assert (SentimentClassifier.load(tiny_model_dir).predict_proba(["a great film"]) == expected).all()
    _edit_config(tiny_model_dir, lambda c: c.update(files={}), resealed=False)
    with pytest.raises(ModelError, match="field 'files' must give the SHA-256"):
        SentimentClassifier.load(tiny_model_dir)


def test_deeply_nested_config_json_is_refused_in_one_line(tiny_model_dir):
    (tiny_model_dir / "config.json").write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(ModelError, match="nested too deeply"):
        SentimentClassifier.load(tiny_model_dir)


@pytest.mark.parametrize("name, variable", [("tokenizer.json", "SENTIMENT_RNN_MAX_TOKENIZER_BYTES"),
                                            ("config.json", "SENTIMENT_RNN_MAX_CONFIG_BYTES")])
def test_files_over_their_size_limit_are_not_read(tiny_model_dir, monkeypatch, name, variable):
    monkeypatch.setenv(variable, "100")
    with pytest.raises(ModelError, match=rf"{name}: \d+ bytes, over the 100-byte limit .*{variable}"):
        SentimentClassifier.load(tiny_model_dir)


def test_a_tokenizer_whose_ids_run_past_the_embedding_is_refused(tiny_model_dir):
    """Same token count as vocab_size, but one id past the embedding: it used to load, then fail
    inside ONNX Runtime's Gather for every review batched with one that held the word."""
    path = tiny_model_dir / "tokenizer.json"
    tokenizer = json.loads(path.read_text())
    vocab = tokenizer["model"]["vocab"]
    word = next(w for w, i in vocab.items() if i == max(vocab.values()))
    vocab[word] = len(vocab) + 50
    path.write_text(json.dumps(tokenizer))
    seal(tiny_model_dir, SEALED_MODEL_FILES)
    with pytest.raises(ModelError, match=rf"tokenizer\.json: token .* has id {len(vocab) + 50}, past the model's"):
        SentimentClassifier.load(tiny_model_dir)


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
    with pytest.raises(ModelError, match="tokenizer.json is not the file this model was saved with"):
        SentimentClassifier.load(tiny_model_dir)
    seal(tiny_model_dir, SEALED_MODEL_FILES)
    with pytest.raises(ModelError, match="belongs to another model"):
        SentimentClassifier.load(tiny_model_dir)


def test_weights_from_another_save_of_the_same_shape_are_refused(tiny_model_dir, tmp_path, tiny_data):
    """What a crash between a save's renames, or a copy from a sibling model, leaves: every check of
    shape passes, only the digests of the manifest tell."""
    other = SentimentClassifier(**{**TINY_SETTINGS, "training": {**TINY_SETTINGS["training"], "epochs": 1, "seed": 7}})
    other.fit(*tiny_data).save(tmp_path / "other")
    shutil.copy(tmp_path / "other" / "model.safetensors", tiny_model_dir / "model.safetensors")
    with pytest.raises(ModelError, match=r"model\.safetensors is not the file this model was saved with"):
        SentimentClassifier.load(tiny_model_dir)


def test_nan_weights_are_refused_and_the_service_does_not_start(tiny_model_dir):
    path = tiny_model_dir / "model.safetensors"
    weights = load_file(path)
    weights["head.1.weight"][0, 0] = float("nan")
    save_file(weights, path)
    seal(tiny_model_dir, SEALED_MODEL_FILES)  # as a training that diverged would have saved it
    with pytest.raises(ModelError, match=r"tensor 'head.1.weight' holds NaN"):
        SentimentClassifier.load(tiny_model_dir)
    result = subprocess.run([sys.executable, "-m", "sentiment_rnn", "serve", str(tiny_model_dir), "--port", "1"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and result.stderr.count("\n") == 1 and "NaN" in result.stderr
