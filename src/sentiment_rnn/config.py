"""One dataclass per component, composed into one experiment config.

The field names are the setting names everywhere: `model.hidden_size` in a TOML file
(`[model] hidden_size = 128`), on the command line (`--set model.hidden_size=128`) and in Python
(`ModelConfig(hidden_size=128)`). Each dataclass validates itself, so a bad value fails with a
message naming the setting before any data is read.
"""

from __future__ import annotations

import dataclasses
import functools
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from .errors import ConfigError

DEFAULT_PIPELINE = (
    "strip_html",
    "unescape_html",
    "normalize_unicode",
    "lowercase",
    "split_unspaced_scripts",  # Chinese, Japanese, Thai...: a token per character; nothing else changes
    "separate_punctuation",
    "remove_stopwords",  # the `default` list keeps negations and intensifiers; a third fewer tokens to read
)


def setting(default: Any = dataclasses.MISSING, *, low: float | None = None, high: float | None = None,
            default_factory: Any = dataclasses.MISSING) -> Any:
    """A settings field with its allowed range (`low` <= value <= `high`), checked by `Section`."""
    metadata = {"range": (low, high)}
    if default_factory is not dataclasses.MISSING:
        return field(default_factory=default_factory, metadata=metadata)
    return field(default=default, metadata=metadata)


class Section:
    """A settings section: one TOML table (`name`), one dataclass. Each setting is declared once:
    its allowed values come from its `Literal` annotation, its range from `setting(low=, high=)`,
    and `__post_init__` checks every field against them; `check` adds the rules that span fields or
    depend on other modules."""

    name: ClassVar[str]

    def __post_init__(self) -> None:
        hints = _hints(type(self))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            choices = _choices(hints[f.name])
            if choices and value not in choices:
                raise ConfigError(f"{self.name}.{f.name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
            low, high = f.metadata.get("range", (None, None))
            if value is not None and (low is not None or high is not None) and (
                    (low is not None and value < low) or (high is not None and value > high)):
                bound = f"between {low} and {high}" if low is not None and high is not None else (
                    f">= {low}" if low is not None else f"<= {high}")
                raise ConfigError(f"{self.name}.{f.name} must be {bound}, got {value!r}")
        self.check()

    def check(self) -> None:
        """Rules beyond one field's choices and range (none by default)."""


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _choices(hint: Any) -> tuple:
    """The allowed values of a `Literal[...]` annotation; () for any other."""
    return typing.get_args(hint) if typing.get_origin(hint) is Literal else ()


def _check_device(section: str, value: str) -> None:
    if not (value in ("auto", "cpu", "cuda") or (value.startswith("cuda:") and value[5:].isdigit())):
        raise ConfigError(f"{section}.device must be auto, cpu, cuda or cuda:N, got {value!r}")


@dataclass
class DataConfig(Section):
    """Where the labelled reviews come from (not saved with the model)."""

    name: ClassVar[str] = "data"

    archive: str | None = None  # IMDB archive (.tar.gz) or extracted folder; None: env var or download
    train_file: str | None = None  # a user's CSV/TSV/JSONL/Parquet instead of IMDB
    # Labelled reviews to validate on (early stopping, thresholds, the baseline) instead of a part
    # carved from the training data (training.val_fraction), e.g. a dataset's official dev split.
    validation_file: str | None = None
    text_column: str = "review"
    label_column: str = "sentiment"
    skip_empty: bool = False  # drop (and count) rows whose text is empty instead of failing
    # A class with fewer rows than this, and under 1 % of the largest class, is taken for a typo in a
    # label ("maybe" among thousands of "positive"/"negative") and refused; 0 accepts any class.
    min_class_rows: int = setting(10, low=0)
    # Names for numeric labels: a file with one name per line (line n, from 0, names label n), or a
    # list; a label that is not a number of the map is refused. "": labels are the classes as written.
    label_names: str | list[str] = ""
    # Several labels per row (multi-label): the label column holds them separated by this, e.g. ","
    # ("3,9"); every label then gets its own sigmoid output and threshold. "": one label per row.
    label_separator: str = ""
    # Multi-label as one 0/1 column per label (e.g. ["anger", "joy"]): a row's labels are the columns
    # holding 1, named as the columns are; data.label_column is then not read.
    label_columns: list[str] = field(default_factory=list)
    limit: int | None = setting(None, low=2)  # use N reviews of the split, class-balanced and seeded
    # Unlabeled reviews, read for "auto" word vectors (model.pretrained_embeddings) and the objectives
    # that use them (training.virtual_adversarial_weight, training.entropy_weight): this file
    # (CSV/JSONL/Parquet `text_column`, or plain lines), else the archive's train/unsup. The test
    # split is never read for training.
    unlabeled_file: str | None = None
    unlabeled_limit: int | None = setting(None, low=1)  # the first N unlabeled reviews only

    def check(self) -> None:
        if self.label_columns and (self.label_separator or self.label_names):
            raise ConfigError("data.label_columns names one 0/1 column per label: leave data.label_separator and "
                              "data.label_names empty")
        if len(set(self.label_columns)) != len(self.label_columns) or not all(
                isinstance(c, str) and c for c in self.label_columns):
            raise ConfigError(f"data.label_columns must be distinct column names, got {self.label_columns!r}")

@dataclass
class TextConfig(Section):
    """Cleaning: an ordered list of named rules (see sentiment_rnn.text.cleaning.RULES)."""

    name: ClassVar[str] = "text"

    pipeline: list[str] = field(default_factory=lambda: list(DEFAULT_PIPELINE))
    stopwords: Literal["default", "nltk", "none"] = "default"  # list used by the remove_stopwords rule
    # Picks the stopword list (text/stopwords.py). "auto": detected from the training texts' script
    # when fitting (text/scripts.py) and saved resolved; a model saved as "auto" uses the English lists.
    language: str = "auto"

    def check(self) -> None:
        from .text.cleaning import RULES
        from .text.scripts import LANGUAGES

        unknown = [name for name in self.pipeline if name not in RULES]
        if unknown:
            raise ConfigError(f"text.pipeline has unknown rule(s) {unknown}; known rules: {sorted(RULES)}")
        if self.language not in LANGUAGES:
            raise ConfigError(f"text.language must be one of {', '.join(map(repr, LANGUAGES))}, got {self.language!r}")

    def for_texts(self, texts) -> TextConfig:
        """With language "auto", the language the (raw) `texts` are detected to be in; else self."""
        if self.language != "auto":
            return self
        from .text.scripts import detect_language

        return dataclasses.replace(self, language=detect_language(texts))


@dataclass
class TokenizerConfig(Section):
    """Vocabulary training, truncation and padding."""

    name: ClassVar[str] = "tokenizer"

    kind: Literal["word", "bpe"] = "word"
    vocab_size: int = setting(30000, low=0)  # 0: keep every word seen in training
    min_frequency: int = setting(2, low=1)
    max_length: int = setting(400, low=1)
    truncation: Literal["head", "tail", "head_tail"] = "head_tail"
    head_fraction: float = setting(0.25, low=0.0, high=1.0)  # share of max_length kept from the start with head_tail
    padding: Literal["longest", "max_length"] = "longest"

    def check(self) -> None:
        if self.kind == "bpe" and self.vocab_size == 0:
            raise ConfigError("tokenizer.vocab_size must be > 0 with tokenizer.kind = 'bpe'")

@dataclass
class ModelConfig(Section):
    """Embedding → recurrent encoder → pooling → classification head."""

    name: ClassVar[str] = "model"

    embedding_dim: int = setting(128, low=1)
    # lstm: the only cell with a fused (oneDNN) CPU kernel for training. "none": no recurrent part,
    # the wide n-gram part alone (model.ngrams), a fastText-like linear model fitted in seconds
    cell: Literal["rnn", "lstm", "gru", "none"] = "lstm"
    hidden_size: int = setting(96, low=1)
    num_layers: int = setting(1, low=1)
    bidirectional: bool = True
    merge_mode: Literal["concat", "sum", "mean", "mul"] = "concat"
    dropout: float = setting(0.0, low=0.0, high=0.95)  # between recurrent layers
    embedding_dropout: float = setting(0.25, low=0.0, high=0.95)
    pooling: Literal["last", "mean", "max", "attention", "concat"] = "max"
    head_hidden: int = setting(0, low=0)  # 0: linear head; else one hidden layer of this width
    head_activation: Literal["relu", "tanh", "gelu"] = "relu"
    head_dropout: float = setting(0.25, low=0.0, high=0.95)
    # The embedding's start: "auto" trains word vectors (the `[embeddings]` settings) on the unlabeled
    # reviews + the training reviews when there are unlabeled reviews (the IMDB archive's train/unsup,
    # data.unlabeled_file, or `fit(unlabeled=...)`), cached by content digest; a random start when there
    # are none. A path: a word2vec/GloVe text file (`pretrain-embeddings` writes one). "": random.
    pretrained_embeddings: str = "auto"
    # Keep pretrained vectors fixed during training (never a random start). "auto": fixed when they
    # were learned with unlabeled reviews or read from a file (fine-tuned, they let the classifier
    # overfit its labelled reviews: IMDB), fine-tuned when they were learned from the labelled reviews
    # alone (fixed, they held GoEmotions far below on validation); saved resolved (docs/benchmarks.md).
    freeze_embeddings: Literal["auto"] | bool = "auto"
    # Start embedding + encoder from a `pretrain-lm` folder: its cleaning, vocabulary and recurrent
    # architecture then replace text.*, the vocabulary and the model's recurrent settings.
    init_encoder: str = ""
    direction: Literal["forward", "backward"] = "forward"  # unidirectional models: read reviews from the end?
    weight_dropout: float = setting(0.0, low=0.0, high=0.95)  # DropConnect on recurrent weights while training (AWD-LSTM)
    # The wide part (models/wide.py): a linear model over each review's token n-grams of order
    # 1..ngrams, its logits added to the recurrent part's. "auto": 2 (words and word pairs), or 3
    # where the tokens are characters (scripts written without spaces); 0: none. Chosen by
    # validation on IMDB, waimai and GoEmotions (docs/wide.md).
    ngrams: Literal["auto"] | int = "auto"
    ngram_buckets: int = setting(2**20, low=1, high=2**30)  # table rows that n-grams of order 2 and up are hashed into

    @property
    def ngram_order(self) -> int:
        """The wide part's n-gram order; "auto" is resolved by a training's plan from the language,
        so settings that never went through one (or a folder saved before the wide part) have none."""
        return 0 if self.ngrams == "auto" else self.ngrams

    def check(self) -> None:
        if not (self.ngrams == "auto" or (isinstance(self.ngrams, int) and not isinstance(self.ngrams, bool)
                                          and 0 <= self.ngrams <= 5)):
            raise ConfigError(f"model.ngrams must be 'auto' or an n-gram order from 0 (none) to 5, got {self.ngrams!r}")
        if self.cell == "none" and (self.ngrams == 0 or self.init_encoder):
            raise ConfigError("model.cell = 'none' is the wide n-gram part alone: set model.ngrams to 'auto' or an "
                              "order of 1 or more, and model.init_encoder to \"\"")
        if self.freeze_embeddings not in ("auto", True, False):
            raise ConfigError(f"model.freeze_embeddings must be 'auto', true or false, got {self.freeze_embeddings!r}")
        if self.pretrained_embeddings not in ("", "auto") and self.init_encoder:
            raise ConfigError("model.pretrained_embeddings and model.init_encoder both set: an encoder brings its own "
                              "embedding")

@dataclass
class TrainingConfig(Section):
    """Optimisation, batching, early stopping and checkpoints."""

    name: ClassVar[str] = "training"

    epochs: int = setting(8, low=1)  # frozen "auto" vectors underfit at 4; validation accuracy rose to the 8th (docs/pretraining.md)
    batch_size: int = setting(64, low=1)
    optimizer: Literal["adamw", "adam"] = "adamw"
    learning_rate: float = setting(6e-3, low=1e-12)
    weight_decay: float = setting(0.01, low=0)
    # linear/cosine: warm-up then decay; stlr: ULMFiT's slanted triangle (warm-up rise, long fall to lr/32)
    schedule: Literal["constant", "linear", "cosine", "stlr"] = "linear"
    warmup_fraction: float = setting(0.05, low=0.0, high=0.5)
    lr_decay_per_layer: float = setting(1.0, low=1.0)  # discriminative rates: each layer group below the head gets lr / this
    gradual_unfreezing: bool = False  # epoch 1 trains the head, each next epoch unfreezes one more layer group
    clip_norm: float = setting(1.0, low=0)  # 0 disables clipping; the pre-clip norm is recorded either way
    val_fraction: float = setting(0.1, low=0.0, high=0.5)  # validation carved from the training data, stratified, seeded
    early_stopping_patience: int = setting(2, low=0)  # epochs without val improvement; 0 disables
    monitor: Literal["val_loss", "val_accuracy"] = "val_accuracy"
    bucket_batches: int = setting(50, low=1)  # length bucketing: sort within windows of this many batches
    seed: int = 42
    threads: int = setting(0, low=0)  # 0: torch's default (all cores)
    log_every_steps: int = setting(20, low=1)  # step metrics reach callbacks in groups of this many (one GPU sync each)
    device: str = "auto"  # auto (CUDA when available) | cpu | cuda | cuda:N
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"  # auto: bf16/fp16 autocast on CUDA; bf16 on CPUs with native bf16, else fp32
    # Objectives beyond cross-entropy (training/objectives.py), each on the embedded input with its
    # own weight; 0 turns one off. Adversarial training (labelled batches):
    adversarial_weight: float = setting(0.0, low=0)
    adversarial_epsilon: float = setting(2.0, low=0)  # L2 norm of the perturbation of one review's embeddings
    # Virtual adversarial training (labelled and unlabeled batches):
    virtual_adversarial_weight: float = setting(0.0, low=0)
    virtual_adversarial_epsilon: float = setting(2.0, low=0)
    virtual_adversarial_xi: float = setting(0.1, low=0)  # norm of the random probe of the power iteration (Miyato et al.'s code: 0.1)
    # Entropy minimisation (unlabeled batches):
    entropy_weight: float = setting(0.0, low=0)
    unlabeled_batch_size: int = setting(0, low=0)  # unlabeled reviews per step; 0: training.batch_size
    # Knowledge distillation (Hinton et al. 2015): a trained model folder (or a list of them, whose
    # answers are averaged: an ensemble as teacher) whose class probabilities the network also learns
    # to match, on labelled and unlabeled batches; "" turns it off.
    teacher: str | list[str] = ""
    distillation_weight: float = setting(1.0, low=0)  # weight of T²·KL(teacher ‖ model) at temperature T, beside cross-entropy
    distillation_temperature: float = setting(1.0, low=0.05)
    # Multi-label: weigh each label's positive rows by (negative rows / positive rows) in the loss, so
    # that rare labels are not drowned by the absent ones ("balanced"), or not ("none").
    class_weights: Literal["none", "balanced"] = "none"
    # Fit a TF-IDF + logistic regression beside the network on the same training part and report both
    # on the same validation part (metrics.json "baseline", the MLflow run); warn when it wins.
    baseline: bool = True
    # Temperature scaling (calibration.py): one scalar dividing the logits, fitted on the validation
    # part after training, so that a 0.9 means 90 %. Changes no single-label decision.
    calibrate: bool = True
    # The int8 engine's gate (training/int8_gate.py): compared with fp32 on the validation part after
    # training, it is refused for this model if it loses more accuracy than this (0.003: 0.3 points).
    int8_max_accuracy_drop: float = setting(0.003, low=0.0, high=1.0)

    def check(self) -> None:
        _check_device("training", self.device)

    @property
    def uses_unlabeled(self) -> bool:
        """Whether an objective trains on unlabeled reviews (VAT, entropy minimisation, distillation)."""
        return self.virtual_adversarial_weight > 0 or self.entropy_weight > 0 or self.distills

    @property
    def distills(self) -> bool:
        return bool(self.teacher) and self.distillation_weight > 0


@dataclass
class EmbeddingsConfig(Section):
    """`sentiment-rnn pretrain-embeddings`: word vectors from the unlabeled and training reviews."""

    name: ClassVar[str] = "embeddings"

    algorithm: Literal["word2vec", "fasttext"] = "word2vec"
    dim: int = setting(0, low=0)  # 0: model.embedding_dim (which the vectors must match)
    window: int = setting(5, low=1)
    min_count: int = setting(2, low=1)
    skip_gram: bool = True  # skip-gram (better for rare words) rather than CBOW
    negative: int = setting(5, low=1)  # negative samples per positive pair
    epochs: int = setting(3, low=1)  # 3 passes serve the classifier as well as 5, for less time (docs/pretraining.md)
    workers: int = setting(2, low=1)
    seed: int = 42
    # "auto" vectors need at least this many reviews (unlabeled + labelled): from fewer, word2vec
    # gives vectors close to noise, which a frozen embedding could not unlearn; the start is random.
    min_reviews: int = setting(1000, low=1)

    def for_model(self, model: ModelConfig) -> EmbeddingsConfig:
        """These settings with the vector size a classifier with `model` needs."""
        if self.dim and self.dim != model.embedding_dim:
            raise ConfigError(f"embeddings.dim = {self.dim} but model.embedding_dim = {model.embedding_dim}: the "
                              f"vectors start the embedding, so leave embeddings.dim at 0 (= model.embedding_dim)")
        return dataclasses.replace(self, dim=model.embedding_dim)


@dataclass
class LanguageModelConfig(Section):
    """`sentiment-rnn pretrain-lm`: a recurrent language model on the unlabeled and training reviews
    (ULMFiT-style), whose embedding and encoder then start a classifier (`model.init_encoder`).

    It trains on the same loop as the classifier (training/loop.py); what the loop reads and the LM
    does not let you change is fixed below as class constants, not settings."""

    name: ClassVar[str] = "lm"

    optimizer: ClassVar[str] = "adamw"
    schedule: ClassVar[str] = "linear"
    lr_decay_per_layer: ClassVar[float] = 1.0
    log_every_steps: ClassVar[int] = 50  # progress is reported every 50 steps

    direction: Literal["forward", "backward"] = "forward"  # backward reads each review from its end
    embedding_dim: int = setting(256, low=1)
    cell: Literal["rnn", "lstm", "gru"] = "lstm"
    hidden_size: int = setting(256, low=1)
    num_layers: int = setting(2, low=1)
    max_length: int = setting(400, low=1)  # tokens per review (the head) used for language modelling
    embedding_dropout: float = setting(0.1, low=0.0, high=0.95)  # whole words dropped from the input
    input_dropout: float = setting(0.25, low=0.0, high=0.95)  # on the embedded input
    hidden_dropout: float = setting(0.15, low=0.0, high=0.95)  # between recurrent layers
    weight_dropout: float = setting(0.3, low=0.0, high=0.95)  # DropConnect on the hidden-to-hidden weights
    output_dropout: float = setting(0.25, low=0.0, high=0.95)  # before the (tied) output layer
    sampled_softmax: int = setting(2048, low=0)  # negatives per batch shared across positions; 0: full softmax
    epochs: int = setting(2, low=1)
    batch_size: int = setting(64, low=1)
    learning_rate: float = setting(3e-3, low=1e-12)
    weight_decay: float = setting(0.01, low=0)
    warmup_fraction: float = setting(0.05, low=0.0, high=0.5)
    clip_norm: float = setting(0.5, low=0)
    val_reviews: int = setting(500, low=0)  # held out (from train, never test) for validation perplexity (full softmax)
    limit: int = setting(0, low=0)  # 0: all 75k reviews; else the first N (quick trials)
    seed: int = 42
    device: str = "auto"
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"

    def check(self) -> None:
        _check_device("lm", self.device)

@dataclass
class ClassifierSettings:
    """The five sections a classifier is fitted with (the estimator's parameters): the four saved
    with the model, and `embeddings`, how "auto" word vectors are learned."""

    text: TextConfig = field(default_factory=TextConfig)
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    embeddings: EmbeddingsConfig = field(default_factory=EmbeddingsConfig)


@dataclass
class ExperimentConfig:
    """Everything `sentiment-rnn train` needs; the four model sections are saved with the model."""

    data: DataConfig = field(default_factory=DataConfig)
    text: TextConfig = field(default_factory=TextConfig)
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    embeddings: EmbeddingsConfig = field(default_factory=EmbeddingsConfig)
    lm: LanguageModelConfig = field(default_factory=LanguageModelConfig)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return dataclasses.asdict(self)

    @property
    def classifier(self) -> ClassifierSettings:
        return ClassifierSettings(self.text, self.tokenizer, self.model, self.training, self.embeddings)

    def flat(self) -> dict[str, Any]:
        """`{"model.hidden_size": 64, ...}`: the names `--set` and tracking use."""
        return {f"{s}.{k}": v for s, section in self.to_dict().items() for k, v in section.items()}

    @classmethod
    def from_dict(cls, raw: dict[str, Any], *, origin: str = "config") -> ExperimentConfig:
        sections = {}
        for section_field in dataclasses.fields(cls):
            values = raw.get(section_field.name, {})
            if not isinstance(values, dict):
                raise ConfigError(f"{origin}: [{section_field.name}] must be a table of settings")
            sections[section_field.name] = build_section(section_field.name, values, origin=origin)
        unknown = set(raw) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ConfigError(f"{origin}: unknown section(s) {sorted(unknown)}; known: {', '.join(SECTIONS)}")
        return cls(**sections)

    @classmethod
    def load(cls, path: str | Path | None = None, overrides: list[str] | None = None) -> ExperimentConfig:
        """Read a TOML file (or start from defaults), then apply `section.key=value` overrides."""
        raw: dict[str, Any] = {}
        if path is not None:
            try:
                raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
            except FileNotFoundError:
                raise ConfigError(f"config file {path} does not exist") from None
            except IsADirectoryError:
                raise ConfigError(f"config file {path} is a folder; give a TOML file (see configs/)") from None
            except UnicodeDecodeError as exc:
                raise ConfigError(f"{path}: not UTF-8 text (invalid byte at offset {exc.start})") from None
            except OSError as exc:
                raise ConfigError(f"config file {path} cannot be read ({exc.strerror})") from None
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(f"{path}: invalid TOML: {exc}") from None
            cls.from_dict(raw, origin=str(path))  # so that an error in the file names the file
        for item in overrides or []:
            section, key, value = parse_override(item)
            raw.setdefault(section, {})[key] = value
        origin = "command line" if path is None else f"{path} with the command line's settings"
        return cls.from_dict(raw, origin=origin if overrides else str(path or "defaults"))


SECTIONS: dict[str, type] = {
    "data": DataConfig,
    "text": TextConfig,
    "tokenizer": TokenizerConfig,
    "model": ModelConfig,
    "training": TrainingConfig,
    "embeddings": EmbeddingsConfig,
    "lm": LanguageModelConfig,
}
# The sections saved with a model (config.json), and the ones the estimator takes: `embeddings` says
# how "auto" word vectors are learned and is recorded with the vectors, not as a section of the model.
SAVED_SECTIONS = ("text", "tokenizer", "model", "training")
ESTIMATOR_SECTIONS = (*SAVED_SECTIONS, "embeddings")


def build_section(name: str, values: dict[str, Any], *, origin: str = "config") -> Any:
    """Build one section's dataclass from plain values, with a clear error for unknown keys and types."""
    cls = SECTIONS[name]
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - known
    if unknown:
        raise ConfigError(f"{origin}: unknown setting(s) {sorted(f'{name}.{k}' for k in unknown)}; "
                          f"known in [{name}]: {sorted(known)}")
    try:
        coerced = {key: _coerce(f"{name}.{key}", value, hints[key]) for key, value in values.items()}
        return cls(**coerced)
    except ConfigError as exc:
        raise ConfigError(f"{origin}: {exc}") from None


def _coerce(setting: str, value: Any, hint: Any) -> Any:
    """Check a value against its field's annotation; accept ints for floats and lists for tuples."""
    options = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, type(int | None)) else (hint,)
    for option in options:
        if option is type(None) and value is None:
            return None
        origin = typing.get_origin(option)
        if origin is Literal:
            if value in typing.get_args(option):
                return value
            continue
        if origin is list and isinstance(value, (list, tuple)):
            return list(value)
        if option is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if option is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if option in (str, bool) and isinstance(value, option):
            return value
    if any(typing.get_origin(o) is Literal for o in options):
        choices = [repr(c) for o in options if typing.get_origin(o) is Literal for c in typing.get_args(o)]
        choices += ["true or false" if o is bool else getattr(o, "__name__", str(o)) for o in options
                    if typing.get_origin(o) is not Literal]
        raise ConfigError(f"{setting} must be one of {', '.join(choices)}, got {value!r}")
    expected = " or ".join(getattr(o, "__name__", str(o)) for o in options)
    raise ConfigError(f"{setting} must be {expected}, got {value!r} ({type(value).__name__})")


def parse_override(item: str) -> tuple[str, str, Any]:
    """`"model.hidden_size=128"` → `("model", "hidden_size", 128)`; values are read as TOML when they parse."""
    key, sep, text = item.partition("=")
    section, dot, name = key.strip().partition(".")
    if not sep or not dot or not name:
        raise ConfigError(f"--set expects SECTION.KEY=VALUE (e.g. model.cell=gru), got {item!r}")
    if section not in SECTIONS:
        raise ConfigError(f"--set {item!r}: unknown section {section!r}; known: {', '.join(SECTIONS)}")
    text = text.strip()
    if text.lower() in ("none", "null"):
        return section, name, None
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        value = text  # a bare word such as gru
    return section, name, value




@dataclass
class ServiceConfig(Section):
    """`sentiment-rnn serve`: where it listens, how it batches, and what it accepts."""

    name: ClassVar[str] = "service"

    host: str = "127.0.0.1"
    port: int = setting(8000, low=1)
    workers: int = setting(1, low=1)
    max_batch_size: int = setting(64, low=1)  # texts per forward pass; 1 turns micro-batching off
    max_wait_ms: float = setting(5.0, low=0.0)  # how long the first request of a batch waits for company
    max_queue: int = setting(512, low=1)  # texts waiting; beyond this, 503 with Retry-After
    max_body_bytes: int = setting(1_000_000, low=1)  # larger bodies: 413
    max_texts: int = setting(256, low=1)  # texts per /v1/predict request; more: 422
    max_chars: int = setting(20_000, low=1)  # characters per text; more: 422
    # Explanations score one variant of the review per token, so they are bounded on their own: a
    # shorter text limit, and a queue of their own (beyond it: 503), apart from predictions.
    max_explain_chars: int = setting(5_000, low=1)
    max_explain_queue: int = setting(4, low=1)
    timeout_s: float = setting(10.0, low=0.001)  # per request; past it: 504
    # A request's line and headers, and then its body, must arrive within this: a client that
    # trickles them (slowloris) would otherwise hold a connection forever. Past it: 408, closed.
    read_timeout_s: float = setting(10.0, low=0.001)
    # Request headers are held in memory while they arrive: at most this many, of this many bytes
    # in all (request line included). Past either: 431, closed.
    max_headers: int = setting(100, low=1)
    max_header_bytes: int = setting(65_536, low=1)
    # The raw-text → ids cache (text/fused.py), which clients fill with what they send: bounded in bytes.
    text_cache_bytes: int = setting(64 * 2**20, low=0)
    engine: Literal["auto", "torch", "onnx", "onnx-int8"] = "auto"  # inference engine; auto: onnx when installed
    threads: int = setting(0, low=0)  # inference threads; 0: one per core


ENGINES: tuple[str, ...] = _choices(_hints(ServiceConfig)["engine"])  # inference engines (see inference.py)
