"""One dataclass per component, composed into one experiment config.

The field names are the setting names everywhere: `model.hidden_size` in a TOML file
(`[model] hidden_size = 128`), on the command line (`--set model.hidden_size=128`) and in Python
(`ModelConfig(hidden_size=128)`). Each dataclass validates itself, so a bad value fails with a
message naming the setting before any data is read.
"""

from __future__ import annotations

import dataclasses
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


def _check_choice(section: str, name: str, value: Any, choices: tuple) -> None:
    if value not in choices:
        raise ConfigError(f"{section}.{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")


def _check_device(section: str, value: str) -> None:
    if not (value in ("auto", "cpu", "cuda") or (value.startswith("cuda:") and value[5:].isdigit())):
        raise ConfigError(f"{section}.device must be auto, cpu, cuda or cuda:N, got {value!r}")


def _check_range(section: str, name: str, value: float, lo: float, hi: float | None = None) -> None:
    if value < lo or (hi is not None and value > hi):
        bound = f"between {lo} and {hi}" if hi is not None else f">= {lo}"
        raise ConfigError(f"{section}.{name} must be {bound}, got {value!r}")


@dataclass
class DataConfig:
    """Where the labelled reviews come from (not saved with the model)."""

    archive: str | None = None  # IMDB archive (.tar.gz) or extracted folder; None: env var or download
    train_file: str | None = None  # a user's CSV/JSONL/Parquet instead of IMDB
    text_column: str = "review"
    label_column: str = "sentiment"
    skip_empty: bool = False  # drop (and count) rows whose text is empty instead of failing
    # A class with fewer rows than this, and under 1 % of the largest class, is taken for a typo in a
    # label ("maybe" among thousands of "positive"/"negative") and refused; 0 accepts any class.
    min_class_rows: int = 10
    limit: int | None = None  # use N reviews of the split, class-balanced and seeded
    # Unlabeled reviews, read for "auto" word vectors (model.pretrained_embeddings) and the objectives
    # that use them (training.virtual_adversarial_weight, training.entropy_weight): this file
    # (CSV/JSONL/Parquet `text_column`, or plain lines), else the archive's train/unsup. The test
    # split is never read for training.
    unlabeled_file: str | None = None
    unlabeled_limit: int | None = None  # the first N unlabeled reviews only

    def __post_init__(self) -> None:
        if self.limit is not None:
            _check_range("data", "limit", self.limit, 2)
        if self.unlabeled_limit is not None:
            _check_range("data", "unlabeled_limit", self.unlabeled_limit, 1)
        _check_range("data", "min_class_rows", self.min_class_rows, 0)


@dataclass
class TextConfig:
    """Cleaning: an ordered list of named rules (see sentiment_rnn.text.cleaning.RULES)."""

    pipeline: list[str] = field(default_factory=lambda: list(DEFAULT_PIPELINE))
    stopwords: Literal["default", "nltk", "none"] = "default"  # list used by the remove_stopwords rule
    # Picks the stopword list (text/stopwords.py). "auto": detected from the training texts' script
    # when fitting (text/scripts.py) and saved resolved; a model saved as "auto" uses the English lists.
    language: str = "auto"

    def __post_init__(self) -> None:
        from .text.cleaning import RULES
        from .text.scripts import LANGUAGES

        unknown = [name for name in self.pipeline if name not in RULES]
        if unknown:
            raise ConfigError(f"text.pipeline has unknown rule(s) {unknown}; known rules: {sorted(RULES)}")
        _check_choice("text", "stopwords", self.stopwords, ("default", "nltk", "none"))
        _check_choice("text", "language", self.language, LANGUAGES)

    def for_texts(self, texts) -> TextConfig:
        """With language "auto", the language the (raw) `texts` are detected to be in; else self."""
        if self.language != "auto":
            return self
        from .text.scripts import detect_language

        return dataclasses.replace(self, language=detect_language(texts))


@dataclass
class TokenizerConfig:
    """Vocabulary training, truncation and padding."""

    kind: Literal["word", "bpe"] = "word"
    vocab_size: int = 30000  # 0: keep every word seen in training
    min_frequency: int = 2
    max_length: int = 400
    truncation: Literal["head", "tail", "head_tail"] = "head_tail"
    head_fraction: float = 0.25  # share of max_length kept from the start with head_tail
    padding: Literal["longest", "max_length"] = "longest"

    def __post_init__(self) -> None:
        _check_choice("tokenizer", "kind", self.kind, ("word", "bpe"))
        _check_choice("tokenizer", "truncation", self.truncation, ("head", "tail", "head_tail"))
        _check_choice("tokenizer", "padding", self.padding, ("longest", "max_length"))
        _check_range("tokenizer", "vocab_size", self.vocab_size, 0)
        _check_range("tokenizer", "min_frequency", self.min_frequency, 1)
        _check_range("tokenizer", "max_length", self.max_length, 1)
        _check_range("tokenizer", "head_fraction", self.head_fraction, 0.0, 1.0)
        if self.kind == "bpe" and self.vocab_size == 0:
            raise ConfigError("tokenizer.vocab_size must be > 0 with tokenizer.kind = 'bpe'")


@dataclass
class ModelConfig:
    """Embedding → recurrent encoder → pooling → classification head."""

    embedding_dim: int = 128
    cell: Literal["rnn", "lstm", "gru"] = "lstm"  # the only cell with a fused (oneDNN) CPU kernel for training
    hidden_size: int = 96
    num_layers: int = 1
    bidirectional: bool = True
    merge_mode: Literal["concat", "sum", "mean", "mul"] = "concat"
    dropout: float = 0.0  # between recurrent layers
    embedding_dropout: float = 0.25
    pooling: Literal["last", "mean", "max", "attention", "concat"] = "max"
    head_hidden: int = 0  # 0: linear head; else one hidden layer of this width
    head_activation: Literal["relu", "tanh", "gelu"] = "relu"
    head_dropout: float = 0.25
    # The embedding's start: "auto" trains word vectors (the `[embeddings]` settings) on the unlabeled
    # reviews + the training reviews when there are unlabeled reviews (the IMDB archive's train/unsup,
    # data.unlabeled_file, or `fit(unlabeled=...)`), cached by content digest; a random start when there
    # are none. A path: a word2vec/GloVe text file (`pretrain-embeddings` writes one). "": random.
    pretrained_embeddings: str = "auto"
    # Keep pretrained vectors fixed during training (never a random start): fine-tuned, the
    # vectors let the classifier overfit its labelled reviews (chosen on validation: docs/pretraining.md).
    freeze_embeddings: bool = True
    # Start embedding + encoder from a `pretrain-lm` folder: its cleaning, vocabulary and recurrent
    # architecture then replace text.*, the vocabulary and the model's recurrent settings.
    init_encoder: str = ""
    direction: Literal["forward", "backward"] = "forward"  # unidirectional models: read reviews from the end?
    weight_dropout: float = 0.0  # DropConnect on recurrent weights while training (AWD-LSTM)

    def __post_init__(self) -> None:
        _check_choice("model", "cell", self.cell, ("rnn", "lstm", "gru"))
        _check_choice("model", "merge_mode", self.merge_mode, ("concat", "sum", "mean", "mul"))
        _check_choice("model", "pooling", self.pooling, ("last", "mean", "max", "attention", "concat"))
        _check_choice("model", "head_activation", self.head_activation, ("relu", "tanh", "gelu"))
        for name in ("embedding_dim", "hidden_size", "num_layers"):
            _check_range("model", name, getattr(self, name), 1)
        _check_range("model", "head_hidden", self.head_hidden, 0)
        _check_choice("model", "direction", self.direction, ("forward", "backward"))
        for name in ("dropout", "embedding_dropout", "head_dropout", "weight_dropout"):
            _check_range("model", name, getattr(self, name), 0.0, 0.95)
        if self.pretrained_embeddings not in ("", "auto") and self.init_encoder:
            raise ConfigError("model.pretrained_embeddings and model.init_encoder both set: an encoder brings its own "
                              "embedding")


@dataclass
class TrainingConfig:
    """Optimisation, batching, early stopping and checkpoints."""

    epochs: int = 8  # frozen "auto" vectors underfit at 4; validation accuracy rose to the 8th (docs/pretraining.md)
    batch_size: int = 64
    optimizer: Literal["adamw", "adam"] = "adamw"
    learning_rate: float = 6e-3
    weight_decay: float = 0.01
    # linear/cosine: warm-up then decay; stlr: ULMFiT's slanted triangle (warm-up rise, long fall to lr/32)
    schedule: Literal["constant", "linear", "cosine", "stlr"] = "linear"
    warmup_fraction: float = 0.05
    lr_decay_per_layer: float = 1.0  # discriminative rates: each layer group below the head gets lr / this
    gradual_unfreezing: bool = False  # epoch 1 trains the head, each next epoch unfreezes one more layer group
    clip_norm: float = 1.0  # 0 disables clipping; the pre-clip norm is recorded either way
    val_fraction: float = 0.1  # validation carved from the training data, stratified, seeded
    early_stopping_patience: int = 2  # epochs without val improvement; 0 disables
    monitor: Literal["val_loss", "val_accuracy"] = "val_accuracy"
    bucket_batches: int = 50  # length bucketing: sort within windows of this many batches
    seed: int = 42
    threads: int = 0  # 0: torch's default (all cores)
    log_every_steps: int = 20  # step metrics reach callbacks in groups of this many (one GPU sync each)
    device: str = "auto"  # auto (CUDA when available) | cpu | cuda | cuda:N
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"  # auto: bf16/fp16 autocast on CUDA; bf16 on CPUs with native bf16, else fp32
    # Objectives beyond cross-entropy (training/objectives.py), each on the embedded input with its
    # own weight; 0 turns one off. Adversarial training (labelled batches):
    adversarial_weight: float = 0.0
    adversarial_epsilon: float = 2.0  # L2 norm of the perturbation of one review's embeddings
    # Virtual adversarial training (labelled and unlabeled batches):
    virtual_adversarial_weight: float = 0.0
    virtual_adversarial_epsilon: float = 2.0
    virtual_adversarial_xi: float = 0.1  # norm of the random probe of the power iteration (Miyato et al.'s code: 0.1)
    # Entropy minimisation (unlabeled batches):
    entropy_weight: float = 0.0
    unlabeled_batch_size: int = 0  # unlabeled reviews per step; 0: training.batch_size
    # Knowledge distillation (Hinton et al. 2015): a trained model folder (or a list of them, whose
    # answers are averaged: an ensemble as teacher) whose class probabilities the network also learns
    # to match, on labelled and unlabeled batches; "" turns it off.
    teacher: str | list[str] = ""
    distillation_weight: float = 1.0  # weight of T²·KL(teacher ‖ model) at temperature T, beside cross-entropy
    distillation_temperature: float = 1.0

    def __post_init__(self) -> None:
        _check_choice("training", "optimizer", self.optimizer, ("adamw", "adam"))
        for name in ("adversarial_weight", "adversarial_epsilon", "virtual_adversarial_weight",
                     "virtual_adversarial_epsilon", "virtual_adversarial_xi", "entropy_weight", "unlabeled_batch_size",
                     "distillation_weight"):
            _check_range("training", name, getattr(self, name), 0)
        _check_range("training", "distillation_temperature", self.distillation_temperature, 0.05)
        _check_choice("training", "schedule", self.schedule, ("constant", "linear", "cosine", "stlr"))
        _check_range("training", "lr_decay_per_layer", self.lr_decay_per_layer, 1.0)
        _check_choice("training", "monitor", self.monitor, ("val_loss", "val_accuracy"))
        _check_choice("training", "precision", self.precision, ("auto", "fp32", "bf16", "fp16"))
        _check_device("training", self.device)
        for name in ("epochs", "batch_size", "bucket_batches", "log_every_steps"):
            _check_range("training", name, getattr(self, name), 1)
        for name in ("early_stopping_patience", "threads", "clip_norm", "weight_decay"):
            _check_range("training", name, getattr(self, name), 0)
        _check_range("training", "learning_rate", self.learning_rate, 1e-12)
        _check_range("training", "warmup_fraction", self.warmup_fraction, 0.0, 0.5)
        _check_range("training", "val_fraction", self.val_fraction, 0.0, 0.5)

    @property
    def uses_unlabeled(self) -> bool:
        """Whether an objective trains on unlabeled reviews (VAT, entropy minimisation, distillation)."""
        return self.virtual_adversarial_weight > 0 or self.entropy_weight > 0 or self.distills

    @property
    def distills(self) -> bool:
        return bool(self.teacher) and self.distillation_weight > 0


@dataclass
class EmbeddingsConfig:
    """`sentiment-rnn pretrain-embeddings`: word vectors from the unlabeled and training reviews."""

    algorithm: Literal["word2vec", "fasttext"] = "word2vec"
    dim: int = 0  # 0: model.embedding_dim (which the vectors must match)
    window: int = 5
    min_count: int = 2
    skip_gram: bool = True  # skip-gram (better for rare words) rather than CBOW
    negative: int = 5  # negative samples per positive pair
    epochs: int = 3  # 3 passes serve the classifier as well as 5, for less time (docs/pretraining.md)
    workers: int = 2
    seed: int = 42
    # "auto" vectors need at least this many reviews (unlabeled + labelled): from fewer, word2vec
    # gives vectors close to noise, which a frozen embedding could not unlearn; the start is random.
    min_reviews: int = 1000

    def __post_init__(self) -> None:
        _check_choice("embeddings", "algorithm", self.algorithm, ("word2vec", "fasttext"))
        for name in ("window", "min_count", "negative", "epochs", "workers"):
            _check_range("embeddings", name, getattr(self, name), 1)
        _check_range("embeddings", "dim", self.dim, 0)
        _check_range("embeddings", "min_reviews", self.min_reviews, 1)

    def for_model(self, model: ModelConfig) -> EmbeddingsConfig:
        """These settings with the vector size a classifier with `model` needs."""
        if self.dim and self.dim != model.embedding_dim:
            raise ConfigError(f"embeddings.dim = {self.dim} but model.embedding_dim = {model.embedding_dim}: the "
                              f"vectors start the embedding, so leave embeddings.dim at 0 (= model.embedding_dim)")
        return dataclasses.replace(self, dim=model.embedding_dim)


@dataclass
class LanguageModelConfig:
    """`sentiment-rnn pretrain-lm`: a recurrent language model on the unlabeled and training reviews
    (ULMFiT-style), whose embedding and encoder then start a classifier (`model.init_encoder`).

    It trains on the same loop as the classifier (training/loop.py); what the loop reads and the LM
    does not let you change is fixed below as class constants, not settings."""

    optimizer: ClassVar[str] = "adamw"
    schedule: ClassVar[str] = "linear"
    lr_decay_per_layer: ClassVar[float] = 1.0
    log_every_steps: ClassVar[int] = 50  # progress is reported every 50 steps

    direction: Literal["forward", "backward"] = "forward"  # backward reads each review from its end
    embedding_dim: int = 256
    cell: Literal["rnn", "lstm", "gru"] = "lstm"
    hidden_size: int = 256
    num_layers: int = 2
    max_length: int = 400  # tokens per review (the head) used for language modelling
    embedding_dropout: float = 0.1  # whole words dropped from the input
    input_dropout: float = 0.25  # on the embedded input
    hidden_dropout: float = 0.15  # between recurrent layers
    weight_dropout: float = 0.3  # DropConnect on the hidden-to-hidden weights
    output_dropout: float = 0.25  # before the (tied) output layer
    sampled_softmax: int = 2048  # negatives per batch shared across positions; 0: full softmax
    epochs: int = 2
    batch_size: int = 64
    learning_rate: float = 3e-3
    weight_decay: float = 0.01
    warmup_fraction: float = 0.05
    clip_norm: float = 0.5
    val_reviews: int = 500  # held out (from train, never test) for validation perplexity (full softmax)
    limit: int = 0  # 0: all 75k reviews; else the first N (quick trials)
    seed: int = 42
    device: str = "auto"
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"

    def __post_init__(self) -> None:
        _check_choice("lm", "direction", self.direction, ("forward", "backward"))
        _check_choice("lm", "cell", self.cell, ("rnn", "lstm", "gru"))
        _check_choice("lm", "precision", self.precision, ("auto", "fp32", "bf16", "fp16"))
        for name in ("embedding_dim", "hidden_size", "num_layers", "max_length", "epochs", "batch_size"):
            _check_range("lm", name, getattr(self, name), 1)
        for name in ("embedding_dropout", "input_dropout", "hidden_dropout", "weight_dropout", "output_dropout"):
            _check_range("lm", name, getattr(self, name), 0.0, 0.95)
        for name in ("sampled_softmax", "val_reviews", "limit", "weight_decay", "clip_norm"):
            _check_range("lm", name, getattr(self, name), 0)
        _check_range("lm", "learning_rate", self.learning_rate, 1e-12)
        _check_range("lm", "warmup_fraction", self.warmup_fraction, 0.0, 0.5)
        _check_device("lm", self.device)


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
        choices = [c for o in options if typing.get_origin(o) is Literal for c in typing.get_args(o)]
        raise ConfigError(f"{setting} must be one of {', '.join(map(repr, choices))}, got {value!r}")
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


MODEL_SECTIONS = ("text", "tokenizer", "model", "training")
ENGINES = ("auto", "torch", "onnx", "onnx-int8")  # inference engines (see inference.py)


@dataclass
class ServiceConfig:
    """`sentiment-rnn serve`: where it listens, how it batches, and what it accepts."""

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    max_batch_size: int = 64  # texts per forward pass; 1 turns micro-batching off
    max_wait_ms: float = 5.0  # how long the first request of a batch waits for company
    max_queue: int = 512  # texts waiting; beyond this, 503 with Retry-After
    max_body_bytes: int = 1_000_000  # larger bodies: 413
    max_texts: int = 256  # texts per /v1/predict request; more: 422
    max_chars: int = 20_000  # characters per text; more: 422
    # Explanations score one variant of the review per token, so they are bounded on their own: a
    # shorter text limit, and a queue of their own (beyond it: 503), apart from predictions.
    max_explain_chars: int = 5_000
    max_explain_queue: int = 4
    timeout_s: float = 10.0  # per request; past it: 504
    # A request's line and headers, and then its body, must arrive within this: a client that
    # trickles them (slowloris) would otherwise hold a connection forever. Past it: 408, closed.
    read_timeout_s: float = 10.0
    # Request headers are held in memory while they arrive: at most this many, of this many bytes
    # in all (request line included). Past either: 431, closed.
    max_headers: int = 100
    max_header_bytes: int = 65_536
    # The raw-text → ids cache (text/fused.py), which clients fill with what they send: bounded in bytes.
    text_cache_bytes: int = 64 * 2**20
    engine: str = "auto"  # inference engine: torch | onnx | onnx-int8 | auto (onnx when installed)
    threads: int = 0  # inference threads; 0: one per core

    def __post_init__(self) -> None:
        _check_choice("service", "engine", self.engine, ENGINES)
        for name in ("port", "workers", "max_batch_size", "max_queue", "max_body_bytes", "max_texts", "max_chars",
                     "max_explain_chars", "max_explain_queue", "max_headers", "max_header_bytes"):
            _check_range("service", name, getattr(self, name), 1)
        _check_range("service", "max_wait_ms", self.max_wait_ms, 0.0)
        _check_range("service", "timeout_s", self.timeout_s, 0.001)
        _check_range("service", "read_timeout_s", self.read_timeout_s, 0.001)
        _check_range("service", "threads", self.threads, 0)
        _check_range("service", "text_cache_bytes", self.text_cache_bytes, 0)
