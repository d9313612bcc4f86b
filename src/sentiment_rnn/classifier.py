"""`SentimentClassifier`: the scikit-learn–style estimator that ties cleaning, tokenizer and network.

    clf = SentimentClassifier(model=ModelConfig(cell="lstm")).fit(texts, labels)
    clf.predict_proba(["What a film!"])      # columns in clf.classes_ order
    clf.save("my-model"); SentimentClassifier.load("my-model")

As scikit-learn asks: `__init__` stores its five settings sections as given, `fit` validates them,
`get_params`/`set_params` expose them (also one field at a time, `model__hidden_size`), so
`sklearn.base.clone` and `GridSearchCV` work. What fitting decides ends in `_`: `classes_`,
`tokenizer_`, `network_`, `history_`, and the settings the model was actually fitted with
(`text_config_`, `tokenizer_config_`, `model_config_`, `training_config_`; they differ from the
given ones when a pretrained encoder fixes cleaning, vocabulary and recurrent layers, and
`model.pretrained_embeddings = "auto"` is saved as the vectors' file, or "" for a random start).
The fifth section, `embeddings`, says how "auto" word vectors are learned; it is recorded with
them (`data_info_["pretrained_embeddings"]`), not as a section of the saved model.

Prediction needs nothing from training/: the recipe (training/classification.py) is imported only
by `fit`. A saved model is a folder (folder.py); no pickle anywhere.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .config import EmbeddingsConfig, ModelConfig, TextConfig, TokenizerConfig, TrainingConfig, build_section
from .errors import ConfigError, DataError, ModelError
from .folder import encoder_settings, read_encoder_folder, read_model_folder, write_model_folder
from .models import SentimentNet
from .text.batching import collate, sorted_batches
from .text.cleaning import Cleaner
from .text.fused import CACHE_BYTES, FusedEncoder
from .text.tokenizer import TextTokenizer

PREDICT_BATCH = 256
SECTIONS = {"text": TextConfig, "tokenizer": TokenizerConfig, "model": ModelConfig, "training": TrainingConfig,
            "embeddings": EmbeddingsConfig}
SAVED_SECTIONS = ("text", "tokenizer", "model", "training")  # `embeddings` is recorded with the vectors it made


def _section(name: str, value: Any) -> Any:
    """A settings section as given to the constructor (None, a dataclass or a dict), validated."""
    cls = SECTIONS[name]
    if value is None:
        return cls()
    if isinstance(value, cls):
        cls(**dataclasses.asdict(value))  # re-run its checks: fields may have been set after construction
        return value
    if isinstance(value, dict):
        return build_section(name, value, origin="SentimentClassifier")
    raise ConfigError(f"{name} must be a {cls.__name__} or a dict, got {type(value).__name__}")


def _natural_order(labels: set[str]) -> list[str]:
    """Numeric labels in numeric order ("2" before "10"), others alphabetically."""
    if all(label.lstrip("-").isdigit() for label in labels):
        return sorted(labels, key=int)
    return sorted(labels)


class SentimentClassifier:
    def __init__(self, text: TextConfig | dict | None = None, tokenizer: TokenizerConfig | dict | None = None,
                 model: ModelConfig | dict | None = None, training: TrainingConfig | dict | None = None,
                 embeddings: EmbeddingsConfig | dict | None = None):
        self.text = text
        self.tokenizer = tokenizer
        self.model = model
        self.training = training
        self.embeddings = embeddings

    # ---- learned state (set by fit or load) ----
    classes_: list[str]
    tokenizer_: TextTokenizer
    network_: SentimentNet
    history_: Any  # training.callbacks.History after fit; None after load
    data_info_: dict[str, Any]
    text_config_: TextConfig
    tokenizer_config_: TokenizerConfig
    model_config_: ModelConfig
    training_config_: TrainingConfig

    # ---- scikit-learn parameters ----

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The five sections; with `deep`, also each field as `section__field` (e.g. `model__hidden_size`)."""
        params = {name: getattr(self, name) for name in SECTIONS}
        if deep:
            for name in SECTIONS:
                section = _section(name, params[name])
                params.update({f"{name}__{f.name}": getattr(section, f.name) for f in dataclasses.fields(section)})
        return params

    def set_params(self, **params: Any) -> SentimentClassifier:
        fields: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            name, nested, field_name = key.partition("__")
            if name not in SECTIONS:
                raise ConfigError(f"SentimentClassifier has no parameter {key!r}; parameters: "
                                  f"{', '.join(SECTIONS)} and SECTION__FIELD (e.g. model__hidden_size)")
            if nested:
                fields.setdefault(name, {})[field_name] = value
            else:
                setattr(self, name, value)
        for name, values in fields.items():
            current = dataclasses.asdict(_section(name, getattr(self, name)))
            setattr(self, name, build_section(name, {**current, **values}, origin="set_params"))
        return self

    _estimator_type = "classifier"  # scikit-learn before 1.6: stratified folds in cross-validation

    def __sklearn_tags__(self):
        """What scikit-learn ≥ 1.6's model selection asks of an estimator; imported only when it asks."""
        from sklearn.utils import ClassifierTags, InputTags, Tags, TargetTags

        return Tags(estimator_type="classifier", target_tags=TargetTags(required=True),
                    classifier_tags=ClassifierTags(), non_deterministic=True,
                    input_tags=InputTags(one_d_array=True, two_d_array=False, string=True))

    def __repr__(self) -> str:
        given = ", ".join(f"{name}={value!r}" for name, value in self.get_params(deep=False).items() if value is not None)
        return f"SentimentClassifier({given})"

    # ---- fitting ----

    def fit(self, texts: Sequence[str], labels: Sequence[Any], *,
            validation: tuple[Sequence[str], Sequence[Any]] | None = None, unlabeled: Sequence[str] | None = None,
            callbacks: list | None = None, checkpoint_dir: str | Path | None = None,
            resume: bool = False) -> SentimentClassifier:
        """Train on raw `texts`/`labels`. Without `validation`, `training.val_fraction` of the data is
        held out (stratified, seeded) for early stopping and the best-epoch choice; with
        `text.language = "auto"` the language is read from `texts`' script. `unlabeled`: raw reviews
        without labels: with `model.pretrained_embeddings = "auto"` word vectors are trained on them
        and the training reviews (`embeddings` settings; cached), and the objectives that use them
        read them (`training.virtual_adversarial_weight`, `training.entropy_weight`). `callbacks`:
        training.callbacks.Callback objects; `checkpoint_dir` + `resume`: exact resume after an
        interruption."""
        texts = _texts(texts, "texts")
        settings = self._fitting_settings()
        settings["text"] = settings["text"].for_texts(texts)
        cleaner = Cleaner.from_config(settings["text"])
        if validation is not None:
            validation = (cleaner.many(_texts(validation[0], "validation texts")), validation[1])
        if unlabeled is not None:
            unlabeled = cleaner.many(_texts(unlabeled, "unlabeled texts"))
        return self._fit(cleaner.many(texts), labels, validation, unlabeled, settings, callbacks,
                         checkpoint_dir, resume)

    def fit_cleaned(self, texts: Sequence[str], labels: Sequence[Any], *,
                    validation: tuple[Sequence[str], Sequence[Any]] | None = None,
                    unlabeled: Sequence[str] | None = None, callbacks: list | None = None,
                    checkpoint_dir: str | Path | None = None, resume: bool = False) -> SentimentClassifier:
        """`fit` for texts that already went through this classifier's cleaning (`text` settings, or
        its encoder's), e.g. a cleaned dataset from the cache (data/derived.py)."""
        return self._fit(list(texts), labels, validation, list(unlabeled) if unlabeled is not None else None,
                         self._fitting_settings(), callbacks, checkpoint_dir, resume)

    def _fitting_settings(self) -> dict[str, Any]:
        """The given sections, validated; with `model.init_encoder`, the encoder read and what it fixes applied."""
        settings = {name: _section(name, getattr(self, name)) for name in SECTIONS}
        settings["encoder"] = None
        if settings["model"].init_encoder:
            encoder = read_encoder_folder(settings["model"].init_encoder)
            settings["tokenizer"], settings["model"] = encoder_settings(
                encoder.lm, encoder.tokenizer_config, settings["tokenizer"], settings["model"])
            settings["text"] = encoder.text
            settings["encoder"] = encoder
        return settings

    def _fit(self, texts: list[str], labels: Sequence[Any], validation, unlabeled: list[str] | None,
             settings: dict[str, Any], callbacks, checkpoint_dir, resume) -> SentimentClassifier:
        from .training.classification import train_classifier

        training = settings["training"]
        labels = [str(label) for label in labels]
        if len(texts) != len(labels):
            raise DataError(f"fit got {len(texts)} texts but {len(labels)} labels")
        classes = _natural_order(set(labels))
        if len(classes) < 2:
            raise DataError(f"fit needs at least two classes, got {classes}")
        if validation is None and training.val_fraction > 0:
            from .data.dataset import Reviews

            train_part, val_part = Reviews(texts, labels, "fit").split_stratified(training.val_fraction, training.seed)
            texts, labels = train_part.texts, train_part.labels
            validation = (val_part.texts, val_part.labels)
        val_texts, val_targets = None, None
        if validation is not None and len(validation[0]) == 0:
            fraction = training.val_fraction
            per_class = next(n for n in range(1, 10**7) if round(n * fraction) >= 1) if fraction else 1
            raise DataError(f"no review is left for validation ({len(texts)} reviews, training.val_fraction "
                            f"= {training.val_fraction}): give at least {per_class} reviews per class, or set "
                            f"training.val_fraction = 0 (no early stopping; the last epoch is kept)")
        if validation is not None:
            val_texts = list(validation[0])
            val_targets = _targets([str(v) for v in validation[1]], classes, "validation labels")
        model, vectors_info = _resolve_auto_vectors(settings, texts, val_texts, unlabeled)
        settings["model"] = model
        teacher, teacher_info = (_teacher_answers(training.teacher, settings["text"], classes, texts, unlabeled)
                                 if training.distills else (None, None))
        parts = train_classifier(texts, _targets(labels, classes, "training labels"), val_texts, val_targets,
                                 len(classes), settings["tokenizer"], model, training, settings["encoder"],
                                 callbacks, checkpoint_dir, resume, unlabeled, teacher)
        if vectors_info is not None:
            parts.info["pretrained_embeddings"] = {**parts.info.get("pretrained_embeddings", {}), "auto": vectors_info}
        if teacher_info is not None:
            parts.info["teacher"] = teacher_info
        self.classes_ = classes
        self.text_config_, self.tokenizer_config_ = settings["text"], settings["tokenizer"]
        self.model_config_, self.training_config_ = settings["model"], training
        self.tokenizer_, self.network_, self.history_ = parts.tokenizer, parts.network, parts.history
        self.data_info_ = parts.info
        self.engine_ = None
        return self

    # ---- prediction ----

    def _check_fitted(self) -> None:
        if not hasattr(self, "network_"):
            raise ModelError("this SentimentClassifier is not fitted yet: call fit() or SentimentClassifier.load()")

    @property
    def cleaner(self) -> Cleaner:
        """The cleaning this model was fitted with."""
        self._check_fitted()
        return Cleaner.from_config(self.text_config_)

    def encode(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Token ids exactly as the model sees them (same cleaning and tokenizer as training)."""
        self._check_fitted()
        texts = _texts(texts, "texts")
        fused = self._fused_encoder()
        if fused is not None:
            return fused.encode(texts)
        return self.tokenizer_.encode(self.cleaner.many(texts))

    def _fused_encoder(self) -> FusedEncoder | None:
        """Cleaning and word lookup in one pass where that is exact (text/fused.py); rebuilt when
        the tokenizer or the cleaning settings change."""
        text = self.text_config_
        cache_bytes = getattr(self, "text_cache_bytes", CACHE_BYTES)
        key = (self.tokenizer_, tuple(text.pipeline), text.stopwords, cache_bytes)  # the tokenizer by identity
        if getattr(self, "_fused_key", None) != key:
            self._fused_key, self._fused = key, FusedEncoder.build(self.cleaner, self.tokenizer_, cache_bytes)
        return self._fused

    def use_engine(self, engine: str = "auto", threads: int = 0) -> SentimentClassifier:
        """Run predictions on `engine` (torch | onnx | onnx-int8 | auto, see inference.py) with `threads` threads."""
        from .inference import make_engine

        self._check_fitted()
        self.engine_ = make_engine(self.network_, engine, threads)
        return self

    def probabilities(self, sequences: list[np.ndarray], batch_size: int = PREDICT_BATCH, engine=None) -> np.ndarray:
        """(n, n_classes) probabilities for already-encoded token id sequences, on `engine` (default:
        the one `use_engine` chose)."""
        self._check_fitted()
        if engine is None and getattr(self, "engine_", None) is None:
            self.use_engine("torch")
        engine = engine or self.engine_
        out = np.zeros((len(sequences), len(self.classes_)), dtype=np.float32)
        if not sequences:
            return out
        config = self.tokenizer_config_
        pad_to = config.max_length if config.padding == "max_length" else None
        lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
        for index in sorted_batches(lengths, batch_size):
            tokens, lens = collate(sequences, index, pad_to)
            out[index] = engine(tokens.numpy(), lens.numpy())
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

    def save(self, path: str | Path, metrics: dict[str, Any] | None = None) -> Path:
        """Write the model folder (folder.py); files are written atomically, config.json last."""
        self._check_fitted()
        history = self.history_.to_dict() if self.history_ else {}
        sections = {name: getattr(self, f"{name}_config_") for name in SAVED_SECTIONS}
        return write_model_folder(path, classes=self.classes_, sections=sections, tokenizer=self.tokenizer_,
                                  network=self.network_, data_info=self.data_info_,
                                  metrics={"history": history, **(metrics or {})})

    @classmethod
    def load(cls, path: str | Path, engine: str = "auto", threads: int = 0,
             text_cache_bytes: int = CACHE_BYTES) -> SentimentClassifier:
        """Read a model folder; predictions run on `engine` with `threads` threads (see `use_engine`);
        the raw-text → ids cache holds at most `text_cache_bytes` (text/fused.py)."""
        folder = read_model_folder(path)
        clf = cls(text=folder.text, tokenizer=folder.tokenizer_config, model=folder.model, training=folder.training)
        clf.text_config_, clf.tokenizer_config_ = folder.text, folder.tokenizer_config
        clf.model_config_, clf.training_config_ = folder.model, folder.training
        clf.classes_, clf.tokenizer_, clf.network_ = folder.classes, folder.tokenizer, folder.network
        clf.history_ = None
        clf.data_info_ = folder.data_info
        clf.config_ = folder.raw
        clf.text_cache_bytes = text_cache_bytes
        return clf.use_engine(engine, threads)


def _teacher_answers(teacher: str | list[str], text: TextConfig, classes: list[str], texts: list[str],
                     unlabeled: list[str] | None) -> tuple[Any, dict[str, Any]]:
    """The teacher's class probabilities for the (cleaned) training and unlabeled texts, averaged over
    the teachers when there are several. A teacher reads the same cleaned texts through its own
    vocabulary, so its cleaning must be this model's."""
    import time

    from .io import sha256_file
    from .training.classification import TeacherAnswers

    started = time.perf_counter()
    folders = [teacher] if isinstance(teacher, str) else list(teacher)
    train_sum, unlabeled_sum, recorded = None, None, []
    for folder in folders:
        model = _checked_teacher(folder, text, classes)
        train = model.probabilities(model.tokenizer_.encode(texts))
        train_sum = train if train_sum is None else train_sum + train
        if unlabeled:
            answers = model.probabilities(model.tokenizer_.encode(unlabeled))
            unlabeled_sum = answers if unlabeled_sum is None else unlabeled_sum + answers
        recorded.append({"path": str(Path(folder).resolve()), "sha256": sha256_file(Path(folder) / "model.safetensors"),
                         "engine": model.engine_.name})
    n = len(folders)
    result = TeacherAnswers(train_sum / n, unlabeled_sum / n if unlabeled_sum is not None else None)
    info = {**(recorded[0] if n == 1 else {"ensemble": recorded}), "n_answers": len(texts) + len(unlabeled or []),
            "seconds": round(time.perf_counter() - started, 1)}
    return result, info


def _checked_teacher(folder: str, text: TextConfig, classes: list[str]) -> SentimentClassifier:
    teacher = SentimentClassifier.load(folder)
    if list(teacher.classes_) != list(classes):
        raise DataError(f"training.teacher {folder}: its classes {list(teacher.classes_)} are not this data's "
                        f"{list(classes)}")
    # Compared by what the cleaning does, not by how it is spelled ("auto" in an older folder reads as English).
    ours, theirs = Cleaner.from_config(text), Cleaner.from_config(teacher.text_config_)
    differing = [name for name, same in (("text.pipeline", list(ours.pipeline) == list(theirs.pipeline)),
                                         ("text.stopwords/text.language", ours.stop == theirs.stop)) if not same]
    if differing:
        raise ConfigError(f"training.teacher {folder}: its text settings differ from this model's in "
                          f"{', '.join(differing)} (a teacher reads the same cleaned reviews as its student: "
                          f"copy its [text] section: {json.dumps(dataclasses.asdict(teacher.text_config_))})")
    return teacher


def _resolve_auto_vectors(settings: dict[str, Any], texts: list[str], val_texts: list[str] | None,
                          unlabeled: list[str] | None) -> tuple[ModelConfig, dict | None]:
    """`model.pretrained_embeddings = "auto"` made concrete: the cached vectors' file when there are
    unlabeled reviews, else "" (a random start). The corpus is the unlabeled reviews, then every
    labelled training review in sorted order, so it (and the cache key) does not depend on the seed
    that split training from validation. Test reviews never reach `fit`."""
    model = settings["model"]
    if model.pretrained_embeddings != "auto":
        return model, None
    if settings["encoder"] is not None:  # the encoder brings its own embedding
        return dataclasses.replace(model, pretrained_embeddings=""), None
    if not unlabeled:
        return dataclasses.replace(model, pretrained_embeddings=""), {"used": False, "why": "no unlabeled reviews"}
    from .embeddings import cached_vectors
    from .training.distributed import current

    corpus = [*unlabeled, *sorted([*texts, *(val_texts or [])])]
    wanted = settings["embeddings"].min_reviews
    if len(corpus) < wanted:
        return _random_start(model, f"{len(corpus)} unlabeled + training reviews are too few to learn word vectors "
                                    f"from (embeddings.min_reviews = {wanted})")
    context = current()
    if context.world_size > 1 and context.rank != 0:
        _barrier()  # under torchrun rank 0 trains the vectors once; the others then find them cached
    try:
        path, info = cached_vectors(corpus, settings["embeddings"].for_model(model))
    except DataError as exc:  # e.g. no word frequent enough
        return _random_start(model, str(exc))
    finally:
        if context.world_size > 1 and context.rank == 0:
            _barrier()
    return dataclasses.replace(model, pretrained_embeddings=str(path)), {"used": True, **info}


def _random_start(model: ModelConfig, why: str) -> tuple[ModelConfig, dict]:
    """No vectors after all: a random start, said in a warning and recorded with the model."""
    import warnings

    warnings.warn(f"the embedding starts random: {why}", stacklevel=4)
    return dataclasses.replace(model, pretrained_embeddings=""), {"used": False, "why": why}


def _barrier() -> None:
    import torch.distributed as dist

    dist.barrier()


def _texts(texts: Sequence[str], what: str) -> list[str]:
    if isinstance(texts, str):
        raise DataError(f"{what} must be a sequence of strings, got one string (wrap it in a list)")
    texts = list(texts)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise DataError(f"text #{i} is {type(text).__name__}, not a string")
    return texts


def _targets(labels: Sequence[str], classes: list[str], what: str) -> np.ndarray:
    index = {c: i for i, c in enumerate(classes)}
    unknown = sorted(set(labels) - set(index))
    if unknown:
        raise DataError(f"{what} contain class(es) {unknown} that the model does not know; its classes are "
                        f"{classes}")
    return np.fromiter((index[label] for label in labels), dtype=np.int64, count=len(labels))
