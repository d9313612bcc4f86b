"""Knowledge distillation from a trained teacher (training.teacher; objectives.distillation_loss)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from conftest import TINY_SETTINGS
from sentiment_rnn import ConfigError, DataError, ExperimentConfig, ModelConfig, SentimentClassifier
from sentiment_rnn.models import SentimentNet
from sentiment_rnn.training.objectives import distillation_loss, soften

# Reviews the teacher answers but the labelled data never shows: what the student can only learn from it.
UNLABELED = [f"{opening} . {subject} was {verdict}" for opening in ("a film", "the show", "my evening")
             for subject in ("the plot", "the cast") for verdict in ("great", "awful", "superb", "boring", "fine", "bad")]


def _student(teacher_dir, **training):
    settings = {**TINY_SETTINGS, "model": {"embedding_dim": 8, "hidden_size": 8, "ngrams": 0},
                "training": {**TINY_SETTINGS["training"], "epochs": 16, "val_fraction": 0, **training}}
    return SentimentClassifier(**settings)


def test_the_loss_is_zero_at_the_teacher_and_positive_elsewhere():
    torch.manual_seed(0)
    net = SentimentNet(ModelConfig(embedding_dim=4, hidden_size=4), 10, 2)
    logits = torch.tensor([[1.5], [-0.3]])
    same = net.probabilities(logits)
    for temperature in (1.0, 2.0):
        assert float(distillation_loss(net, logits, same, temperature)) == pytest.approx(0, abs=1e-6)
    other = torch.tensor([[0.1, 0.9], [0.8, 0.2]])
    student = torch.sigmoid(logits.squeeze(-1))
    by_hand = np.mean([t * np.log(t / s) + (1 - t) * np.log((1 - t) / (1 - s))
                       for t, s in zip([0.9, 0.2], student.tolist())])
    assert float(distillation_loss(net, logits, other, 1.0)) == pytest.approx(by_hand, rel=1e-5)
    # at T the teacher is softened the way the student's logits are: sigmoid(z / T)
    torch.testing.assert_close(soften(same, 2.0), net.probabilities(logits / 2.0))


def test_a_student_learns_the_teacher_s_answers_on_unlabeled_reviews(tiny_data, tiny_model_dir):
    teacher = SentimentClassifier.load(tiny_model_dir, "torch")
    target = teacher.predict_proba(UNLABELED)[:, 1]
    alone = _student(tiny_model_dir).fit(*tiny_data, unlabeled=UNLABELED)
    taught = _student(tiny_model_dir, teacher=str(tiny_model_dir), distillation_weight=2.0).fit(
        *tiny_data, unlabeled=UNLABELED)
    gap = {name: float(np.abs(clf.predict_proba(UNLABELED)[:, 1] - target).mean())
           for name, clf in (("alone", alone), ("taught", taught))}
    assert gap["taught"] < 0.6 * gap["alone"], gap  # measured: 0.157 alone, 0.072 taught
    assert set(taught.history_.steps[-1].components) == {"cross_entropy", "distillation", "distillation_unlabeled"}
    info = taught.data_info_["teacher"]
    assert info["n_answers"] == len(UNLABELED) + len(tiny_data[0])
    assert info["sha256"] == json.loads((tiny_model_dir / "manifest.json").read_text())["files"]["model.safetensors"]


def test_a_teacher_must_read_the_same_cleaned_reviews_and_know_the_same_classes(tiny_data, tiny_model_dir):
    other_cleaning = _student(tiny_model_dir, teacher=str(tiny_model_dir))
    other_cleaning.text = {"pipeline": ["lowercase"]}
    with pytest.raises(ConfigError, match=r"differ from this model's in text.pipeline"):
        other_cleaning.fit(*tiny_data)
    texts, labels = tiny_data
    with pytest.raises(DataError, match=r"its classes \['negative', 'positive'\] are not this data's"):
        _student(tiny_model_dir, teacher=str(tiny_model_dir)).fit(texts, ["good" if x == "positive" else "bad"
                                                                          for x in labels])


def test_settings_have_one_name_in_toml_set_and_python(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[training]\nteacher = "models/best"\ndistillation_temperature = 2\n')
    config = ExperimentConfig.load(path, ["training.distillation_weight=0.5"])
    assert config.training.distills and config.training.uses_unlabeled
    assert config.training.distillation_temperature == 2.0
    assert not ExperimentConfig.load(path, ["training.distillation_weight=0"]).training.distills
    with pytest.raises(ConfigError, match="training.distillation_temperature must be >= 0.05"):
        ExperimentConfig.load(None, ["training.distillation_temperature=0"])


def test_an_ensemble_of_teachers_teaches_its_averaged_answers(tiny_data, tiny_model_dir, tmp_path):
    from sentiment_rnn.training.teacher import teacher_answers
    from sentiment_rnn.config import TextConfig
    from sentiment_rnn.text.cleaning import Cleaner

    other = SentimentClassifier(**{**TINY_SETTINGS, "training": {**TINY_SETTINGS["training"], "seed": 7, "epochs": 3}})
    other.fit(*tiny_data).save(tmp_path / "other")
    folders = [str(tiny_model_dir), str(tmp_path / "other")]
    text = TextConfig(**TINY_SETTINGS["text"])
    cleaned = Cleaner.from_config(text).many(UNLABELED)
    answers, info = teacher_answers(folders, text, ["negative", "positive"], cleaned[:5], cleaned[5:])
    expected = np.mean([SentimentClassifier.load(f).predict_proba(UNLABELED) for f in folders], axis=0)
    np.testing.assert_allclose(np.concatenate([answers.train, answers.unlabeled]), expected, atol=1e-6)
    assert [t["path"] for t in info["ensemble"]] == [str(tmp_path / "model"), str(tmp_path / "other")]
    config = ExperimentConfig.load(None, [f"training.teacher={json.dumps(folders)}"])
    assert config.training.teacher == folders and config.training.distills
