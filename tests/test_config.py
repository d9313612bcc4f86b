from dataclasses import asdict

import pytest

from conftest import ROOT
from sentiment_rnn import ConfigError, ExperimentConfig, ModelConfig, SentimentClassifier
from sentiment_rnn.config import parse_override


def test_override_values_are_read_as_toml():
    assert parse_override("model.hidden_size=128") == ("model", "hidden_size", 128)
    assert parse_override("model.cell=lstm") == ("model", "cell", "lstm")
    assert parse_override("model.bidirectional=false") == ("model", "bidirectional", False)
    assert parse_override("data.limit=none") == ("data", "limit", None)
    assert parse_override('text.pipeline=["lowercase"]') == ("text", "pipeline", ["lowercase"])


def test_same_names_in_file_cli_and_python(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[model]\ncell = "lstm"\nhidden_size = 32\n[training]\nlearning_rate = 1\n')
    config = ExperimentConfig.load(path, ["model.hidden_size=48"])
    assert config.model == ModelConfig(cell="lstm", hidden_size=48)
    assert config.training.learning_rate == 1.0  # int accepted for a float setting
    assert config.flat()["model.hidden_size"] == 48
    params = SentimentClassifier(model={"cell": "lstm", "hidden_size": 48}).get_params()
    assert {k.removeprefix("model__"): v for k, v in params.items() if k.startswith("model__")} == asdict(config.model)


@pytest.mark.parametrize("override, message", [
    ("model.cel=gru", r"unknown setting\(s\) \['model.cel'\]"),
    ("model.cell=transformer", r"model.cell must be one of 'rnn', 'lstm', 'gru', 'none', got 'transformer'"),
    ("model.hidden_size=0", r"model.hidden_size must be >= 1, got 0"),
    ("model.hidden_size=big", r"model.hidden_size must be int, got 'big'"),
    ("training.val_fraction=0.9", r"training.val_fraction must be between 0.0 and 0.5"),
    ("text.pipeline=[\"shout\"]", r"unknown rule\(s\) \['shout'\]"),
    ("nosection.x=1", r"unknown section 'nosection'"),
    ("hidden_size=3", r"expects SECTION.KEY=VALUE"),
])
def test_bad_settings_are_named(override, message):
    with pytest.raises(ConfigError, match=message):
        ExperimentConfig.load(None, [override])


def test_bad_toml_names_the_file(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[model\n")
    with pytest.raises(ConfigError, match="broken.toml: invalid TOML"):
        ExperimentConfig.load(path)
    with pytest.raises(ConfigError, match="does not exist"):
        ExperimentConfig.load(tmp_path / "missing.toml")


def test_shipped_configs_load():
    root = ROOT / "configs"
    seed = ExperimentConfig.load(root / "seed.toml")
    assert seed.model.cell == "lstm" and seed.model.num_layers == 2 and seed.model.hidden_size == 64
    assert seed.text.stopwords == "nltk" and seed.tokenizer.vocab_size == 0 and seed.tokenizer.max_length == 512
    assert ExperimentConfig.load(root / "default.toml") == ExperimentConfig()
