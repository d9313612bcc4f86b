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

Prediction needs nothing from training/: the recipe (training/recipe.py) is imported only by
`fit`. A saved model is a folder (folder.py); no pickle anywhere.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .config import (ESTIMATOR_SECTIONS, SAVED_SECTIONS, ClassifierSettings, EmbeddingsConfig, ModelConfig, TextConfig,
                     TokenizerConfig, TrainingConfig, build_section)
from .config import SECTIONS as ALL_SECTIONS
from .errors import ConfigError, DataError, ModelError
from .folder import read_model_folder, write_model_folder
from .inference import PREDICT_BATCH
from .models import SentimentNet
from .text.cleaning import Cleaner
from .text.fused import CACHE_BYTES
from .text.pipeline import TextPipeline
from .text.tokenizer import TextTokenizer

SECTIONS = {name: ALL_SECTIONS[name] for name in ESTIMATOR_SECTIONS}


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
        interruption. Every decision is made by the recipe (training/recipe.py)."""
        from .data.dataset import Reviews
        from .training import recipe

        train = Reviews(_texts(texts, "texts"), list(labels), "fit")
        if validation is not None:
            validation = Reviews(_texts(validation[0], "validation texts"), list(validation[1]), "fit (validation)")
        if unlabeled is not None:
            unlabeled = Reviews(_texts(unlabeled, "unlabeled texts"), None, "fit (unlabeled)")
        plan = recipe.plan(self.settings(), train, validation=validation, unlabeled=unlabeled)
        return self.fit_plan(plan, callbacks=callbacks, checkpoint_dir=checkpoint_dir, resume=resume)

    def settings(self) -> ClassifierSettings:
        """The given sections, validated."""
        return ClassifierSettings(**{name: _section(name, getattr(self, name)) for name in SECTIONS})

    def fit_plan(self, plan, *, callbacks: list | None = None, checkpoint_dir: str | Path | None = None,
                 resume: bool = False) -> SentimentClassifier:
        """Carry out a training decided by `training.recipe.plan`."""
        from .training import recipe

        parts = recipe.fit(plan, callbacks, checkpoint_dir, resume)
        self.classes_ = plan.classes
        self.text_config_, self.tokenizer_config_ = plan.text, plan.tokenizer
        self.model_config_, self.training_config_ = plan.model, plan.training
        self.tokenizer_, self.network_, self.history_ = parts.tokenizer, parts.network, parts.history
        self.text_pipeline_ = TextPipeline(Cleaner.from_config(plan.text), parts.tokenizer)
        self.data_info_ = parts.info
        self.baseline_ = parts.baseline  # the linear baseline on the same validation part (None: not fitted)
        self.thresholds_ = parts.thresholds  # multi-label: each label's threshold; None: single-label
        self.decision_ = None  # a single-label decision rule other than the arg max (sentiment-rnn threshold)
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
        return self.text_pipeline_.cleaner

    def encode(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Token ids exactly as the model sees them (same cleaning and tokenizer as training)."""
        self._check_fitted()
        return self.text_pipeline_.encode(_texts(texts, "texts"))

    def use_engine(self, engine: str = "auto", threads: int = 0) -> SentimentClassifier:
        """Run predictions on `engine` (torch | onnx | onnx-int8 | auto, see inference.py) with `threads` threads."""
        from .inference import make_engine

        self._check_fitted()
        self.engine_ = make_engine(self.network_, engine, threads, (getattr(self, "data_info_", None) or {}).get("int8"))
        return self

    def probabilities(self, sequences: list[np.ndarray], batch_size: int = PREDICT_BATCH, engine=None) -> np.ndarray:
        """(n, n_classes) probabilities for already-encoded token id sequences, on `engine` (default:
        the one `use_engine` chose)."""
        from .inference import score_sequences

        self._check_fitted()
        if engine is None and getattr(self, "engine_", None) is None:
            self.use_engine("torch")
        return score_sequences(engine or self.engine_, sequences, len(self.classes_), self.text_pipeline_.pad_to,
                               batch_size)

    def predict_proba(self, texts: Sequence[str], batch_size: int = PREDICT_BATCH) -> np.ndarray:
        """(n, n_classes) probabilities, columns in `classes_` order."""
        return self.probabilities(self.encode(texts), batch_size)

    def predict(self, texts: Sequence[str], batch_size: int = PREDICT_BATCH) -> np.ndarray:
        """The label of each text; for a multi-label model, the list of its labels."""
        proba = self.predict_proba(texts, batch_size)
        if self.thresholds_ is not None:
            from .prediction import chosen_labels

            chosen = np.empty(len(proba), dtype=object)
            chosen[:] = [chosen_labels(self.classes_, row, self.thresholds_) for row in proba]
            return chosen
        from .prediction import labels

        return labels(self.classes_, proba, getattr(self, "decision_", None))

    def score(self, texts: Sequence[str], labels: Sequence[Any]) -> float:
        """Accuracy."""
        return float(np.mean(self.predict(texts) == np.asarray([str(v) for v in labels], dtype=object)))

    # ---- persistence ----

    def save(self, path: str | Path, metrics: dict[str, Any] | None = None) -> Path:
        """Write the model folder (folder.py) and its model card (model_card.py); files are written
        atomically, config.json last."""
        self._check_fitted()
        history = self.history_.to_dict() if self.history_ else {}
        sections = {name: getattr(self, f"{name}_config_") for name in SAVED_SECTIONS}
        folder = write_model_folder(path, classes=self.classes_, sections=sections, tokenizer=self.tokenizer_,
                                  network=self.network_, data_info=self.data_info_,
                                  metrics={"history": history, **(metrics or {})},
                                  thresholds=getattr(self, "thresholds_", None),
                                  decision=(getattr(self, "config_", None) or {}).get("decision"))
        return folder

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
        clf.thresholds_ = folder.thresholds
        clf.decision_ = folder.decision
        clf.text_pipeline_ = TextPipeline(Cleaner.from_config(folder.text), folder.tokenizer, text_cache_bytes)
        clf.history_ = None
        clf.data_info_ = folder.data_info
        clf.config_ = folder.raw
        return clf.use_engine(engine, threads)


def _texts(texts: Sequence[str], what: str) -> list[str]:
    if isinstance(texts, str):
        raise DataError(f"{what} must be a sequence of strings, got one string (wrap it in a list)")
    texts = list(texts)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise DataError(f"text #{i} is {type(text).__name__}, not a string")
    return texts
