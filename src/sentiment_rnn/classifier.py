"""`SentimentClassifier`: the scikit-learn–style estimator that ties cleaning, tokenizer and network.

    clf = SentimentClassifier(model=ModelConfig(cell="lstm")).fit(texts, labels)
    clf.predict_proba(["What a film!"])      # columns in clf.classes_ order
    clf.save("my-model"); SentimentClassifier.load("my-model")

A saved model is a folder: `config.json` (every setting, class names, library versions, data
digest), `tokenizer.json`, `model.safetensors`, `metrics.json`. No pickle anywhere.
"""

from __future__ import annotations

import dataclasses
import json
import platform
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .config import ModelConfig, TextConfig, TokenizerConfig, TrainingConfig, build_section
from .errors import ConfigError, DataError, ModelError
from .io import atomic_write_json
from .models import SentimentNet
from .models.weight_drop import add_weight_dropout, remove_weight_dropout
from .text.cleaning import Cleaner
from .text.fused import FusedEncoder
from .text.tokenizer import TextTokenizer
from .training.batching import collate, sorted_batches
from .training.trainer import Callback, Encoded, History, Trainer

FORMAT_VERSION = 1
PREDICT_BATCH = 256


def _section(name: str, value: Any, cls: type) -> Any:
    if value is None:
        return cls()
    if isinstance(value, cls):
        return value
    if isinstance(value, dict):
        return build_section(name, value, origin="SentimentClassifier")
    raise ConfigError(f"{name} must be a {cls.__name__} or a dict, got {type(value).__name__}")


def _sequences_digest(sequences: list[np.ndarray]) -> str:
    """Content digest of the token ids the model was trained on (the tokenized dataset)."""
    import hashlib

    digest = hashlib.sha256()
    for ids in sequences:
        digest.update(ids.astype("<i8").tobytes() + b"\n")
    return digest.hexdigest()


def _natural_order(labels: set[str]) -> list[str]:
    """Numeric labels in numeric order ("2" before "10"), others alphabetically."""
    if all(label.lstrip("-").isdigit() for label in labels):
        return sorted(labels, key=int)
    return sorted(labels)


class SentimentClassifier:
    def __init__(self, text: TextConfig | dict | None = None, tokenizer: TokenizerConfig | dict | None = None,
                 model: ModelConfig | dict | None = None, training: TrainingConfig | dict | None = None):
        self.text = _section("text", text, TextConfig)
        self.tokenizer = _section("tokenizer", tokenizer, TokenizerConfig)
        self.model = _section("model", model, ModelConfig)
        self.training = _section("training", training, TrainingConfig)

    # ---- learned state (set by fit or load) ----
    classes_: list[str]
    tokenizer_: TextTokenizer
    network_: SentimentNet
    history_: History | None
    data_info_: dict[str, Any]

    @property
    def cleaner(self) -> Cleaner:
        return Cleaner.from_config(self.text)

    def fit(self, texts: Sequence[str], labels: Sequence[Any], *,
            validation: tuple[Sequence[str], Sequence[Any]] | None = None,
            callbacks: list[Callback] | None = None, checkpoint_dir: str | Path | None = None,
            resume: bool = False, data_info: dict[str, Any] | None = None,
            rank: int = 0, world_size: int = 1, texts_are_clean: bool = False) -> SentimentClassifier:
        """Train on `texts`/`labels`. Without `validation`, `training.val_fraction` of the data is held
        out (stratified, seeded) for early stopping and the best-epoch choice. `texts_are_clean`:
        the texts (and validation texts) already went through this model's cleaning pipeline."""
        cfg = self.training
        labels = [str(label) for label in labels]
        if len(texts) != len(labels):
            raise DataError(f"fit got {len(texts)} texts but {len(labels)} labels")
        classes = _natural_order(set(labels))
        if len(classes) < 2:
            raise DataError(f"fit needs at least two classes, got {classes}")
        if validation is None and cfg.val_fraction > 0:
            from .data.dataset import Reviews

            train_part, val_part = Reviews(list(texts), labels, "fit").split_stratified(cfg.val_fraction, cfg.seed)
            texts, labels = train_part.texts, train_part.labels
            validation = (val_part.texts, val_part.labels)
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        torch.manual_seed(cfg.seed)
        encoder = None
        if self.model.init_encoder:
            from .lm.transfer import encoder_settings, load_encoder

            encoder = load_encoder(self.model.init_encoder)
            self.text, self.tokenizer, self.model = encoder_settings(encoder, self.text, self.tokenizer, self.model)

        clean = (lambda batch: list(batch)) if texts_are_clean else self.cleaner.many
        cleaned = clean(texts)
        self.classes_ = classes
        if encoder is not None:  # the encoder's vocabulary: its embedding rows are indexed by it
            self.tokenizer_ = TextTokenizer(encoder.tokenizer.backend, self.tokenizer)
        else:
            self.tokenizer_ = TextTokenizer.train(cleaned, self.tokenizer)
        train_data = Encoded(self.tokenizer_.encode(cleaned), self._targets(labels, "training labels"), self._pad_to)
        val_data = None
        if validation is not None:
            val_texts, val_labels = validation
            val_data = Encoded(self.tokenizer_.encode(clean(val_texts)),
                               self._targets([str(v) for v in val_labels], "validation labels"), self._pad_to)
        self.network_ = SentimentNet(self.model, self.tokenizer_.vocab_size, len(classes))
        self.engine_ = None
        embeddings_info = self._init_embedding() if self.model.pretrained_embeddings else None
        if encoder is not None:
            from .lm.transfer import copy_encoder_weights

            copy_encoder_weights(self.network_, encoder)
        if world_size > 1:
            torch.manual_seed(cfg.seed + rank)  # same initial weights on every rank, different dropout
        trainer = Trainer(cfg, callbacks, Path(checkpoint_dir) if checkpoint_dir else None, rank, world_size)
        add_weight_dropout(self.network_.encoder, self.model.weight_dropout)
        try:
            self.history_ = trainer.fit(self.network_, train_data, val_data, resume=resume)
        finally:
            remove_weight_dropout(self.network_.encoder)
        for p in self.network_.parameters():  # gradual unfreezing may have left some frozen
            p.requires_grad_(True)
        self.network_.cpu().eval()  # prediction, saving and serving run on the CPU copy
        self.data_info_ = {"n_train": len(train_data.targets), "n_validation": len(val_data.targets) if val_data else 0,
                           "tokenized_digest": _sequences_digest(train_data.sequences), **(data_info or {})}
        if embeddings_info:
            self.data_info_["pretrained_embeddings"] = embeddings_info
        if encoder is not None:
            from .embeddings import file_digest

            self.data_info_["init_encoder"] = {"path": str(encoder.folder), "direction": encoder.lm.direction,
                                               "sha256": file_digest(encoder.folder / "encoder.safetensors"),
                                               "lm_history": encoder.history}
        return self

    def _init_embedding(self) -> dict[str, Any]:
        """Copy pretrained word vectors into the embedding (see embeddings.py); freeze if asked."""
        from .embeddings import embedding_matrix

        vocab = self.tokenizer_.backend.get_vocab()
        matrix, info = embedding_matrix(vocab, self.model.pretrained_embeddings, self.model.embedding_dim,
                                        self.training.seed)
        with torch.no_grad():
            self.network_.embedding.weight.copy_(torch.from_numpy(matrix))
        self.network_.embedding.weight.requires_grad_(not self.model.freeze_embeddings)
        return info

    @property
    def _pad_to(self) -> int | None:
        return self.tokenizer.max_length if self.tokenizer.padding == "max_length" else None

    def _targets(self, labels: Sequence[str], what: str) -> np.ndarray:
        index = {c: i for i, c in enumerate(self.classes_)}
        unknown = sorted(set(labels) - set(index))
        if unknown:
            raise DataError(f"{what} contain class(es) {unknown} that the model does not know; its classes are "
                            f"{self.classes_}")
        return np.fromiter((index[label] for label in labels), dtype=np.int64, count=len(labels))

    # ---- prediction ----

    def _check_fitted(self) -> None:
        if not hasattr(self, "network_"):
            raise ModelError("this SentimentClassifier is not fitted yet: call fit() or SentimentClassifier.load()")

    def encode(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Token ids exactly as the model sees them (same cleaning and tokenizer as training)."""
        self._check_fitted()
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise DataError(f"text #{i} is {type(text).__name__}, not a string")
        fused = self._fused_encoder()
        if fused is not None:
            return fused.encode(texts)
        return self.tokenizer_.encode(self.cleaner.many(texts))

    def _fused_encoder(self) -> FusedEncoder | None:
        """Cleaning and word lookup in one pass where that is exact (text/fused.py); rebuilt when
        the tokenizer or the cleaning settings change."""
        key = (self.tokenizer_, tuple(self.text.pipeline), self.text.stopwords)  # the tokenizer by identity
        if getattr(self, "_fused_key", None) != key:
            self._fused_key, self._fused = key, FusedEncoder.build(self.cleaner, self.tokenizer_)
        return self._fused

    def use_engine(self, engine: str = "auto", threads: int = 0) -> SentimentClassifier:
        """Run predictions on `engine` (torch | onnx | onnx-int8 | auto, see inference.py) with `threads` threads."""
        from .inference import make_engine

        self._check_fitted()
        self.engine_ = make_engine(self.network_, engine, threads)
        return self

    def probabilities(self, sequences: list[np.ndarray], batch_size: int = PREDICT_BATCH) -> np.ndarray:
        """(n, n_classes) probabilities for already-encoded token id sequences."""
        self._check_fitted()
        if getattr(self, "engine_", None) is None:
            self.use_engine("torch")
        out = np.zeros((len(sequences), len(self.classes_)), dtype=np.float32)
        if not sequences:
            return out
        lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
        for index in sorted_batches(lengths, batch_size):
            tokens, lens = collate(sequences, index, self._pad_to)
            out[index] = self.engine_(tokens.numpy(), lens.numpy())
        return out

    def predict_proba(self, texts: Sequence[str], batch_size: int = PREDICT_BATCH) -> np.ndarray:
        """(n, n_classes) probabilities, columns in `classes_` order."""
        return self.probabilities(self.encode(texts), batch_size)

    def predict(self, texts: Sequence[str], batch_size: int = PREDICT_BATCH) -> np.ndarray:
        proba = self.predict_proba(texts, batch_size)
        return np.asarray(self.classes_, dtype=object)[proba.argmax(axis=1)]

    def score(self, texts: Sequence[str], labels: Sequence[Any]) -> float:
        """Accuracy."""
        return float(np.mean(self.predict(texts) == np.asarray([str(v) for v in labels], dtype=object)))

    # ---- persistence ----

    def config_dict(self) -> dict[str, Any]:
        import safetensors
        import tokenizers

        from . import __version__

        return {
            "format_version": FORMAT_VERSION,
            "classes": self.classes_,
            "vocab_size": self.tokenizer_.vocab_size,
            "text": dataclasses.asdict(self.text),
            "tokenizer": dataclasses.asdict(self.tokenizer),
            "model": dataclasses.asdict(self.model),
            "training": dataclasses.asdict(self.training),
            "data": self.data_info_,
            "versions": {"sentiment_rnn": __version__, "torch": torch.__version__, "tokenizers": tokenizers.__version__,
                         "safetensors": safetensors.__version__, "numpy": np.__version__,
                         "python": platform.python_version()},
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }

    def save(self, path: str | Path, metrics: dict[str, Any] | None = None) -> Path:
        """Write the model folder; files are written atomically, config.json last."""
        from .training.checkpoint import save_weights

        self._check_fitted()
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        self.tokenizer_.save(folder / "tokenizer.json")
        save_weights(folder / "model.safetensors", self.network_.state_dict())
        history = self.history_.to_dict() if self.history_ else {}
        atomic_write_json(folder / "metrics.json", {"history": history, **(metrics or {})})
        atomic_write_json(folder / "config.json", self.config_dict())
        return folder

    @classmethod
    def load(cls, path: str | Path, engine: str = "auto", threads: int = 0) -> SentimentClassifier:
        """Read a model folder; predictions run on `engine` with `threads` threads (see `use_engine`)."""
        from safetensors import SafetensorError

        from .training.checkpoint import load_weights

        folder = Path(path)
        if not folder.is_dir():
            raise ModelError(f"model folder {folder} does not exist")
        missing = [n for n in ("config.json", "tokenizer.json", "model.safetensors") if not (folder / n).is_file()]
        if missing:
            raise ModelError(f"{folder} is not a complete model folder: missing {', '.join(missing)}")
        try:
            raw = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ModelError(f"{folder / 'config.json'}: invalid JSON ({exc})") from None
        if raw.get("format_version") != FORMAT_VERSION:
            raise ModelError(f"{folder}: model format {raw.get('format_version')!r} is not supported "
                             f"(this version reads {FORMAT_VERSION})")
        try:
            clf = cls(text=raw["text"], tokenizer=raw["tokenizer"], model=raw["model"], training=raw["training"])
        except (KeyError, ConfigError) as exc:
            raise ModelError(f"{folder / 'config.json'}: {exc}") from None
        clf.classes_ = list(raw["classes"])
        clf.tokenizer_ = TextTokenizer.load(folder / "tokenizer.json", clf.tokenizer)
        clf.network_ = SentimentNet(clf.model, raw["vocab_size"], len(clf.classes_))
        try:
            clf.network_.load_state_dict(load_weights(folder / "model.safetensors"))
        except (RuntimeError, SafetensorError) as exc:
            raise ModelError(f"{folder / 'model.safetensors'} does not match config.json: {str(exc).splitlines()[0]}") from None
        clf.network_.eval()
        clf.history_ = None
        clf.data_info_ = raw.get("data", {})
        clf.config_ = raw
        return clf.use_engine(engine, threads)
