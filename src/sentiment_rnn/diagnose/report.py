"""`sentiment-rnn diagnose` start to finish: the models to measure (a trained one, or a small
fresh model of each cell with last-state and with max pooling, trained on the user's reviews),
the measurements (gradient_flow.py, memory.py, an exploding-gradient run with and without
clipping), then one JSON file with every number plotted and the PNG plots."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..classifier import SentimentClassifier
from ..errors import ConfigError
from ..io import atomic_write_json
from ..models import SentimentNet
from ..training.callbacks import Callback
from ..training.gradient_flow import equal_length_sample, gradient_flow, ratio, sample_length
from .memory import ARTICLE_SENTENCE, memory

CELLS = ("rnn", "lstm", "gru")
POOLINGS = ("last", "max")
# Small fresh models: the lesson is in the cells, not the size, and all six train in minutes on 2 cores.
FRESH_SETTINGS = {
    "tokenizer": {"max_length": 400, "vocab_size": 10_000},
    "model": {"embedding_dim": 64, "hidden_size": 64, "bidirectional": False, "pretrained_embeddings": "",
              "dropout": 0.0},
    "training": {"epochs": 2, "val_fraction": 0.1, "early_stopping_patience": 0},
}
RATIO_DISTANCES = (10, 50, 100, 300)


@dataclasses.dataclass
class DiagnoseConfig:
    cells: tuple[str, ...] = CELLS
    limit: int = 2000  # reviews the fresh models train on
    sample: int = 256  # reviews whose gradients are averaged
    length: int = 400  # tokens each sampled review is cut to (fewer when the reviews are shorter)
    text: str = ARTICLE_SENTENCE
    epochs: int = 2
    seed: int = 1


def diagnose(texts: list[str], labels: list[str], config: DiagnoseConfig, out: Path,
             model: SentimentClassifier | None = None, progress=print) -> dict[str, Any]:
    """texts/labels: the user's training reviews (the fresh models train on `config.limit` of them;
    the gradients are measured on `config.sample` others)."""
    if model is not None and not model.network_.recurrent:
        raise ConfigError("diagnose looks inside a recurrent network, and this model has none (model.cell = "
                          "'none': the wide n-gram part alone)")
    started = time.perf_counter()
    rng = np.random.default_rng(config.seed)
    order = rng.permutation(len(texts))
    train_index, sample_index = order[:config.limit], order[config.limit:]
    # Every review not trained on is a candidate: with stopwords removed few IMDB reviews reach 400 tokens.
    sample_texts = [texts[i] for i in sample_index]
    sample_labels = [labels[i] for i in sample_index]
    result: dict[str, Any] = {"gradient_flow": {}, "accuracy": {}, "memory_by_model": {}}
    if model is not None:
        name = f"{model.model_config_.cell} ({model.model_config_.pooling} pooling, the given model)"
        result["gradient_flow"][model.model_config_.cell] = _flows(model, sample_texts, sample_labels, config, progress)
        result["memory"] = memory(model, config.text)
        result["memory_by_model"][name] = result["memory"]
    else:
        train_texts, train_labels = [texts[i] for i in train_index], [labels[i] for i in train_index]
        for cell in config.cells:
            entry = None
            for pooling in POOLINGS:
                progress(f"training a fresh {cell} with {pooling} pooling on {len(train_texts)} reviews")
                clf = _fresh(cell, pooling, config).fit(train_texts, train_labels)
                name = f"{cell} ({pooling} pooling)"
                last = clf.history_.epochs[-1] if clf.history_.epochs else None  # patience 0: every epoch runs
                result["accuracy"][name] = last.val_accuracy if last else None
                flows = _flows(clf, sample_texts, sample_labels, config, progress)
                if pooling == "last":
                    entry = flows
                    result["memory_by_model"][name] = memory(clf, config.text)
                else:
                    entry["max_pooling"] = flows
            result["gradient_flow"][cell] = entry
        first = f"{'lstm' if 'lstm' in config.cells else config.cells[0]} (last pooling)"
        result["memory"] = result["memory_by_model"][first]
        progress("an exploding-gradient run, with and without clipping")
        result["clipping"] = clipping_demo(train_texts, train_labels, config)
    result["ratios"] = {cell: {f"{d}_steps_back": ratio(flow["norm"], d) for d in RATIO_DISTANCES}
                        for cell, flow in result["gradient_flow"].items()}
    result["settings"] = dataclasses.asdict(config)
    result["seconds"] = round(time.perf_counter() - started, 1)
    out.mkdir(parents=True, exist_ok=True)
    from . import plots

    result["plots"] = plots.write_all(result, out)
    atomic_write_json(out / "diagnose.json", result)
    return result


def _fresh(cell: str, pooling: str, config: DiagnoseConfig) -> SentimentClassifier:
    settings = {section: dict(values) for section, values in FRESH_SETTINGS.items()}
    settings["model"].update(cell=cell, pooling=pooling)
    settings["training"].update(epochs=config.epochs, seed=config.seed)
    return SentimentClassifier(**settings)


def _flows(clf: SentimentClassifier, texts: list[str], labels: list[str], config: DiagnoseConfig,
           progress) -> dict[str, Any]:
    """Gradient flow of the trained network and of a fresh one of the same settings (at initialisation)."""
    sequences = clf.encode(texts)
    targets = [clf.classes_.index(label) if label in clf.classes_ else 0 for label in labels]
    length = sample_length(sequences, config.length, config.sample)
    ids, target = equal_length_sample(sequences, targets, length, config.sample, config.seed)
    progress(f"  gradient flow over {len(ids)} reviews of {length} tokens")
    trained = gradient_flow(clf.network_, ids, target)
    torch.manual_seed(config.seed)
    fresh = SentimentNet(clf.model_config_, clf.tokenizer_.vocab_size, len(clf.classes_))
    at_init = gradient_flow(fresh, ids, target)
    return {**trained, "norm_at_init": at_init["norm"], "input_norm_at_init": at_init["input_norm"]}


class _ScaleRecurrentWeights(Callback):
    """A training callback that multiplies every recurrent weight matrix at the start: a large
    recurrent initialisation, the classic way to make gradients explode."""

    def __init__(self, factor: float):
        self.factor = factor

    def on_train_start(self, loop) -> None:
        with torch.no_grad():
            for module in loop.model.modules():
                if isinstance(module, torch.nn.RNNBase):
                    for name, weight in module.named_parameters():
                        if name.startswith("weight_hh"):
                            weight.mul_(self.factor)


def clipping_demo(texts: list[str], labels: list[str], config: DiagnoseConfig, factor: float = 4.0,
                  learning_rate: float = 0.01, reviews: int = 600) -> dict[str, Any]:
    """A vanilla RNN with its recurrent weights ×`factor`, one epoch with `clip_norm` 0 (off) and 1:
    the pre-clip gradient norm and the loss at every step."""
    runs = {}
    for clip in (0.0, 1.0):
        settings = {section: dict(values) for section, values in FRESH_SETTINGS.items()}
        settings["model"].update(cell="rnn", pooling="last")
        settings["training"].update(epochs=1, seed=config.seed, clip_norm=clip, learning_rate=learning_rate,
                                    val_fraction=0.0, batch_size=32)
        clf = SentimentClassifier(**settings).fit(texts[:reviews], labels[:reviews],
                                                  callbacks=[_ScaleRecurrentWeights(factor)])
        steps = clf.history_.steps
        runs["clipped" if clip else "unclipped"] = {
            "clip_norm": clip, "grad_norm": [float(s.grad_norm) for s in steps], "loss": [float(s.loss) for s in steps]}
    return {"cell": "rnn", "recurrent_weight_factor": factor, "learning_rate": learning_rate, **runs}


def log_to_mlflow(result: dict[str, Any], out: Path, uri: str | None) -> str:
    """One MLflow run in the experiment "sentiment-rnn-diagnose": the JSON, the plots, the ratios."""
    from ..tracking.runs import Tracker

    tracker = Tracker(uri, "sentiment-rnn-diagnose")
    with tracker.run({k: v for k, v in result["settings"].items() if k != "text"}) as run_id:
        tracker.log_dict(result, "diagnose/diagnose.json")
        for name in result["plots"].values():
            tracker.log_artifact(out / name, "diagnose")
        tracker.log_metrics({f"{cell}_ratio_{d}": v for cell, ratios in result["ratios"].items()
                             for d, v in ratios.items() if v is not None})
    return run_id
