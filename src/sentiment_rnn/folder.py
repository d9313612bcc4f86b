"""Model and encoder folders: the one place that knows their files, format versions and shapes.

A model folder (written by `SentimentClassifier.save`, read by `.load`):

    config.json          format_version, classes, vocab_size, the text/tokenizer/model/training
                         settings, data digests, library versions
    tokenizer.json       the vocabulary (HuggingFace tokenizers)
    model.safetensors    the network's weights
    metrics.json         training history and evaluation results (not needed to predict)
    manifest.json        the seal: SHA-256 of each file and of each setting of config.json (manifest.py)

An encoder folder (written by `sentiment-rnn pretrain-lm`, read by `model.init_encoder`):

    config.json          kind "sentiment-rnn-encoder": the lm, text and tokenizer settings, history
    tokenizer.json       the vocabulary (a classifier started from this encoder keeps it)
    encoder.safetensors  embedding.*, encoder.* (the classifier's names) and the LM's output layer
    manifest.json        the seal

Everything is JSON or safetensors: no pickle anywhere. A folder is written as one unit (io.write_unit):
all files to temporary names, then renamed into place with the manifest last, so a full disk or a
crash while writing leaves the previous model whole. Loading refuses a folder whose files or
settings are not the sealed ones (an edit, a crash between the renames, a file from another
model), naming the file and the field, and checks each file's size before parsing it. Folders of
format 1 (before manifests) load when config.json lists the other files' digests, with a warning.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .config import (SAVED_SECTIONS, LanguageModelConfig, ModelConfig, TextConfig, TokenizerConfig, TrainingConfig,
                     build_section)
from .errors import ConfigError, ModelError
from .io import bytes_writer, load_tensors, sha256_file, tensors_bytes, write_unit
from .manifest import MANIFEST, json_bytes, manifest_writer, read_manifest, verify_config, verify_files
from .model_card import CARD, CHECKS, EVALUATIONS, render_card
from .models import SentimentNet
from .prediction import Decision
from .text.tokenizer import TextTokenizer
from .version import __version__

MODEL_FORMAT_VERSION = 2  # 2: sealed by manifest.json; 1: config.json lists the other files' digests
ENCODER_KIND = "sentiment-rnn-encoder"
ENCODER_FORMAT_VERSION = 2
MODEL_FILES = ("config.json", "tokenizer.json", "model.safetensors")
SEALED_MODEL_FILES = (*MODEL_FILES, "metrics.json")
ENCODER_FILES = ("config.json", "tokenizer.json", "encoder.safetensors")


@dataclasses.dataclass(frozen=True)
class FileLimits:
    """The largest config.json and tokenizer.json a folder may hold, checked before either is read
    (a 1 GB tokenizer.json took 8 s and 1.3 GB to parse before its digest refused it). A 30k-word
    vocabulary is about 1 MB; config.json a few kB. Set by $SENTIMENT_RNN_MAX_CONFIG_BYTES and
    $SENTIMENT_RNN_MAX_TOKENIZER_BYTES, or passed to `read_model_folder`."""

    config_bytes: int = 16 * 2**20
    tokenizer_bytes: int = 256 * 2**20

    @classmethod
    def from_env(cls) -> FileLimits:
        values = {}
        for field, variable in (("config_bytes", "SENTIMENT_RNN_MAX_CONFIG_BYTES"),
                                ("tokenizer_bytes", "SENTIMENT_RNN_MAX_TOKENIZER_BYTES")):
            text = os.environ.get(variable)
            if text is not None:
                if not text.strip().isdigit():
                    raise ConfigError(f"${variable} must be a number of bytes, got {text!r}")
                values[field] = int(text)
        return cls(**values)

    def check(self, path: Path) -> None:
        limit = self.tokenizer_bytes if path.name == "tokenizer.json" else self.config_bytes
        size = path.stat().st_size
        if size > limit:
            variable = "TOKENIZER" if path.name == "tokenizer.json" else "CONFIG"
            raise ModelError(f"{path}: {size} bytes, over the {limit}-byte limit for this file "
                             f"($SENTIMENT_RNN_MAX_{variable}_BYTES); it was not read")


@dataclasses.dataclass
class ModelFolder:
    """A model folder, read back and checked: what `SentimentClassifier.load` needs."""

    path: Path
    text: TextConfig
    tokenizer_config: TokenizerConfig
    model: ModelConfig
    training: TrainingConfig
    classes: list[str]
    tokenizer: TextTokenizer
    network: SentimentNet
    data_info: dict[str, Any]
    raw: dict[str, Any]  # config.json as written
    thresholds: dict[str, float] | None = None  # a multi-label model's threshold per label; None: single-label
    decision: Decision | None = None  # a single-label model's decision rule beyond the arg max (config "decision")


@dataclasses.dataclass
class EncoderFolder:
    """A pretrained encoder folder, read back."""

    path: Path
    lm: LanguageModelConfig
    text: TextConfig
    tokenizer_config: TokenizerConfig
    tokenizer: TextTokenizer
    weights: dict[str, torch.Tensor]
    history: list


def library_versions() -> dict[str, str]:
    import safetensors
    import tokenizers

    return {"sentiment_rnn": __version__, "torch": torch.__version__, "tokenizers": tokenizers.__version__,
            "safetensors": safetensors.__version__, "numpy": np.__version__, "python": platform.python_version()}


def write_model_folder(path: str | Path, *, classes: list[str], sections: dict[str, Any], tokenizer: TextTokenizer,
                       network: torch.nn.Module, data_info: dict[str, Any], metrics: dict[str, Any],
                       thresholds: dict[str, float] | None = None, decision: dict[str, Any] | None = None) -> Path:
    """`sections`: the text, tokenizer, model and training settings (dataclasses) the model was fitted
    with; `thresholds`: a multi-label model's decision threshold per label."""
    folder = Path(path)
    config = {
        "format_version": MODEL_FORMAT_VERSION,
        "classes": classes,
        **({"multilabel": True, "thresholds": thresholds} if thresholds is not None else {}),
        "vocab_size": tokenizer.vocab_size,
        **{name: dataclasses.asdict(section) for name, section in sections.items()},
        "data": data_info,
        **({"decision": decision} if decision is not None else {}),
        "versions": library_versions(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    contents = {"tokenizer.json": tokenizer.to_json().encode("utf-8"), "model.safetensors": tensors_bytes(network.state_dict()),
                "metrics.json": json_bytes(metrics), "config.json": json_bytes(config),
                CARD: render_card(folder.resolve().name, config, metrics, [], None).encode("utf-8")}
    write_unit(folder, {**{name: bytes_writer(content) for name, content in contents.items()},
                        MANIFEST: manifest_writer({k: v for k, v in contents.items() if k != "config.json"}, config)})
    return folder


def _check_legacy_digests(folder: Path, raw: dict[str, Any]) -> None:
    """Format 1: config.json lists the other files' SHA-256; nothing covers config.json itself."""
    recorded = raw.get("files")
    if not (isinstance(recorded, dict) and set(recorded) >= {"tokenizer.json", "model.safetensors"}):
        raise ModelError(f"{folder / 'config.json'}: field 'files' must give the SHA-256 of tokenizer.json and "
                         f"model.safetensors (format 1): the folder's files cannot be checked; save the model again")
    for name, digest in recorded.items():
        if name not in MODEL_FILES or sha256_file(folder / name) != digest:
            raise ModelError(f"{folder / name} is not the file {folder / 'config.json'} was saved with (SHA-256 "
                             f"differs): the folder was changed or only partly written; save or copy the model again")
    warnings.warn(f"{folder} was saved in format 1, whose config.json no digest covers: an edit to it would go "
                  f"unnoticed; save it again to seal it (SentimentClassifier.load(...).save(...))", stacklevel=3)


def _require_files(folder: Path, files: tuple[str, ...], what: str) -> None:
    if not folder.is_dir():
        raise ModelError(f"{what} folder {folder} does not exist")
    missing = [name for name in files if not (folder / name).is_file()]
    if missing:
        raise ModelError(f"{folder} is not a complete {what} folder: missing {', '.join(missing)}")


def _read_config(folder: Path, limits: FileLimits | None = None) -> dict[str, Any]:
    path = folder / "config.json"
    (limits or FileLimits.from_env()).check(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path}: invalid JSON ({exc})") from None
    except UnicodeDecodeError as exc:
        raise ModelError(f"{path}: not UTF-8 text (invalid byte at offset {exc.start})") from None
    except RecursionError:
        raise ModelError(f"{path}: JSON nested too deeply to be a model's settings") from None
    if not isinstance(raw, dict):
        raise ModelError(f"{path}: expected a JSON object, got {type(raw).__name__}")
    return raw


def read_model_folder(path: str | Path, limits: FileLimits | None = None) -> ModelFolder:
    from safetensors import SafetensorError

    folder = Path(path)
    limits = limits or FileLimits.from_env()
    _require_files(folder, MODEL_FILES, "model")
    raw = _read_config(folder, limits)
    version = raw.get("format_version")
    if version not in (1, MODEL_FORMAT_VERSION):
        raise ModelError(f"{folder}: model format {version!r} is not supported "
                         f"(this version reads 1 and {MODEL_FORMAT_VERSION})")
    manifest = None
    if version == MODEL_FORMAT_VERSION:
        manifest = read_manifest(folder, SEALED_MODEL_FILES)
        verify_config(folder, manifest, raw)
    origin = str(folder / "config.json")
    sections = {}
    for name in SAVED_SECTIONS:
        if not isinstance(raw.get(name), dict):
            raise ModelError(f"{origin}: field {name!r} must be an object of settings, got {_kind(raw.get(name))}")
        try:
            sections[name] = build_section(name, raw[name], origin=origin)
        except ConfigError as exc:  # it names config.json
            raise ModelError(str(exc)) from None
        except TypeError as exc:
            raise ModelError(f"{origin}: {exc}") from None
    classes, vocab_size = raw.get("classes"), raw.get("vocab_size")
    if not (isinstance(classes, list) and len(classes) >= 2 and all(isinstance(c, str) for c in classes)
            and len(set(classes)) == len(classes)):
        raise ModelError(f"{origin}: field 'classes' must be a list of two or more distinct names, got {classes!r}")
    if not (isinstance(vocab_size, int) and not isinstance(vocab_size, bool) and vocab_size > 2):
        raise ModelError(f"{origin}: field 'vocab_size' must be an integer > 2, got {vocab_size!r}")
    thresholds = _thresholds(raw, classes, origin)
    multilabel = thresholds is not None
    limits.check(folder / "tokenizer.json")
    if manifest is not None:  # before parsing it
        verify_files(folder, manifest, ("tokenizer.json",))
    tokenizer = TextTokenizer.load(folder / "tokenizer.json", sections["tokenizer"])
    if tokenizer.vocab_size != vocab_size:
        raise ModelError(f"{folder / 'tokenizer.json'} has {tokenizer.vocab_size} tokens but {origin} says vocab_size "
                         f"{vocab_size}: the tokenizer belongs to another model")
    tokenizer.check_ids(folder / "tokenizer.json", vocab_size)
    weights_path = folder / "model.safetensors"
    if manifest is not None:
        verify_files(folder, manifest, ("model.safetensors", "metrics.json"))
    # The shapes are checked against the file's header on a network that allocates nothing (the meta
    # device), so a tampered config.json cannot make us allocate terabytes before refusing.
    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in SentimentNet(sections["model"], vocab_size, len(classes),
                                                               multilabel=multilabel).state_dict().items()}
    _check_shapes(weights_path, expected)
    try:
        weights = load_tensors(weights_path)
    except SafetensorError as exc:
        raise ModelError(f"{weights_path}: not a readable safetensors file ({exc})") from None
    for name, tensor in weights.items():
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise ModelError(f"{weights_path}: tensor {name!r} holds NaN or infinite values; this model cannot predict")
    if manifest is None:
        _check_legacy_digests(folder, raw)  # after the checks that say more precisely what is wrong
    network = SentimentNet(sections["model"], vocab_size, len(classes), multilabel=multilabel)
    network.load_state_dict(weights)
    network.eval()
    return ModelFolder(folder, sections["text"], sections["tokenizer"], sections["model"], sections["training"],
                       classes, tokenizer, network, raw.get("data", {}), raw, thresholds,
                       _decision(raw, classes, origin))


def _thresholds(raw: dict[str, Any], classes: list[str], origin: str) -> dict[str, float] | None:
    """A multi-label model's thresholds, one per class in (0, 1); None for a single-label model."""
    if not raw.get("multilabel"):
        return None
    thresholds = raw.get("thresholds")
    if not (isinstance(thresholds, dict) and set(thresholds) == set(classes)
            and all(isinstance(t, (int, float)) and not isinstance(t, bool) and 0 < t < 1 for t in thresholds.values())):
        raise ModelError(f"{origin}: field 'thresholds' must give each class a threshold between 0 and 1")
    return {label: float(thresholds[label]) for label in classes}


def update_card(folder: str | Path, evaluation: dict[str, Any] | None = None,
                checks: dict[str, Any] | None = None) -> Path:
    """Record an evaluation or check results in a model folder (evaluations.json, checks.json),
    rewrite its card (model_card.py) and seal the folder again."""
    from .io import atomic_write
    from .manifest import seal
    from .model_card import cpu_name, render

    folder = Path(folder)
    if evaluation is not None:
        kept = {k: v for k, v in evaluation.items() if k not in ("confusion_matrix", "per_class", "calibration")}
        if "calibration" in evaluation:  # the figures, not the diagram's bins
            kept["calibration"] = {k: v for k, v in evaluation["calibration"].items() if k != "bins"}
        kept["machine"] = cpu_name()
        previous = json.loads((folder / EVALUATIONS).read_text()) if (folder / EVALUATIONS).is_file() else []
        atomic_write(folder / EVALUATIONS, bytes_writer(json_bytes([*previous, kept])))
    if checks is not None:
        atomic_write(folder / CHECKS, bytes_writer(json_bytes(checks)))
    atomic_write(folder / CARD, bytes_writer(render(folder).encode("utf-8")))
    seal(folder, (*SEALED_MODEL_FILES, *(name for name in (CARD, EVALUATIONS, CHECKS) if (folder / name).is_file())))
    return folder / CARD


def write_decision(folder: Path, thresholds: dict[str, float] | None, decision: dict[str, Any]) -> None:
    """Save a new decision rule into a model folder (`sentiment-rnn threshold`): config.json gets
    the rule (the previous ones kept in its `previous` list) and, for a multi-label model, the new
    thresholds; then the folder is sealed again. The weights and the other files are unchanged."""
    from .io import atomic_write

    config = _read_config(folder)
    if thresholds is not None:
        config["thresholds"] = thresholds
    old = config.get("decision")
    decision = {**decision, "version": (old or {}).get("version", 0) + 1,
                "previous": [*((old or {}).get("previous", [])), *([{k: v for k, v in old.items() if k != "previous"}]
                                                                     if old else [])]}
    config["decision"] = decision
    atomic_write(folder / "config.json", bytes_writer(json_bytes(config)))
    update_card(folder)  # the card shows the new rule; the folder is sealed again


def _decision(raw: dict[str, Any], classes: list[str], origin: str) -> Decision | None:
    """The decision rule `sentiment-rnn threshold` saved (field "decision"), checked; None: arg max."""
    rule = raw.get("decision")
    if rule is None:
        return None
    ok = isinstance(rule, dict)
    target, threshold, abstain = (rule.get("target"), rule.get("threshold"), rule.get("abstain_below")) if ok else (
        None, None, None)
    number = (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1)
    if not (ok and (target is None or (target in classes and number(threshold)))
            and (abstain is None or number(abstain))):
        raise ModelError(f"{origin}: field 'decision' must name one of the classes {classes} with a threshold "
                         f"between 0 and 1 (and an optional abstain_below between 0 and 1), got {rule!r}")
    return Decision(target, float(threshold) if target is not None else None,
                    float(abstain) if abstain is not None else None)


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__


def _check_shapes(path: Path, expected: dict[str, tuple[int, ...]]) -> None:
    """The safetensors header must hold exactly the network's tensors, in its shapes."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            found = {name: tuple(handle.get_slice(name).get_shape()) for name in handle.keys()}
    except (SafetensorError, OSError) as exc:
        raise ModelError(f"{path}: not a readable safetensors file ({exc})") from None
    missing, extra = sorted(expected.keys() - found.keys()), sorted(found.keys() - expected.keys())
    if missing or extra:
        raise ModelError(f"{path} does not match config.json: missing tensors {missing[:3]}, unexpected {extra[:3]}")
    for name, shape in expected.items():
        if found[name] != shape:
            raise ModelError(f"{path} does not match config.json: tensor {name!r} has shape {list(found[name])}, "
                             f"the settings make {list(shape)}")


def write_encoder_folder(path: Path, *, weights: dict[str, torch.Tensor], tokenizer: TextTokenizer,
                         lm: LanguageModelConfig, text: TextConfig, history: list[dict[str, Any]]) -> None:
    config = {"format_version": ENCODER_FORMAT_VERSION, "kind": ENCODER_KIND, "vocab_size": tokenizer.vocab_size,
              "lm": dataclasses.asdict(lm), "text": dataclasses.asdict(text),
              "tokenizer": dataclasses.asdict(tokenizer.config), "history": history}
    contents = {"tokenizer.json": tokenizer.to_json().encode("utf-8"), "encoder.safetensors": tensors_bytes(weights),
                "config.json": json_bytes(config)}
    write_unit(path, {**{name: bytes_writer(content) for name, content in contents.items()},
                      MANIFEST: manifest_writer({k: v for k, v in contents.items() if k != "config.json"}, config)})


def read_encoder_settings(path: str | Path) -> tuple[LanguageModelConfig, TextConfig, TokenizerConfig, dict[str, Any]]:
    """An encoder folder's settings (config.json only; the weights are not read)."""
    folder = Path(path)
    if not (folder / "config.json").is_file():
        raise ModelError(f"{folder} is not an encoder folder (no config.json); `sentiment-rnn pretrain-lm` writes one")
    raw = _read_config(folder)
    if raw.get("kind") != ENCODER_KIND:
        raise ModelError(f"{folder} is not a pretrained encoder (config.json kind is {raw.get('kind')!r}; a "
                         f"classifier model folder cannot start another classifier)")
    if raw.get("format_version") == ENCODER_FORMAT_VERSION:
        verify_config(folder, read_manifest(folder, ENCODER_FILES), raw)
    origin = str(folder / "config.json")
    return (build_section("lm", raw["lm"], origin=origin), build_section("text", raw["text"], origin=origin),
            build_section("tokenizer", raw["tokenizer"], origin=origin), raw)


def read_encoder_folder(path: str | Path) -> EncoderFolder:
    folder = Path(path)
    lm, text, tokenizer_config, raw = read_encoder_settings(folder)
    _require_files(folder, ENCODER_FILES, "encoder")
    FileLimits.from_env().check(folder / "tokenizer.json")
    if raw.get("format_version") == ENCODER_FORMAT_VERSION:  # format 1 encoders carry no digests
        verify_files(folder, read_manifest(folder, ENCODER_FILES), ("tokenizer.json", "encoder.safetensors"))
    tokenizer = TextTokenizer.load(folder / "tokenizer.json", tokenizer_config)
    tokenizer.check_ids(folder / "tokenizer.json", tokenizer.vocab_size)
    return EncoderFolder(folder, lm, text, tokenizer_config, tokenizer,
                         load_tensors(folder / "encoder.safetensors"), raw.get("history", []))


def encoder_settings(lm: LanguageModelConfig, vocabulary: TokenizerConfig, tokenizer: TokenizerConfig,
                     model: ModelConfig) -> tuple[TokenizerConfig, ModelConfig]:
    """A classifier's tokenizer and model settings with what an encoder fixes: its vocabulary and its
    recurrent layers (unidirectional, in its direction). Its cleaning replaces the classifier's text
    settings whole. Truncation, pooling, head and training stay the classifier's own."""
    tokenizer = dataclasses.replace(tokenizer, kind=vocabulary.kind, vocab_size=vocabulary.vocab_size,
                                    min_frequency=vocabulary.min_frequency)
    model = dataclasses.replace(model, embedding_dim=lm.embedding_dim, cell=lm.cell, hidden_size=lm.hidden_size,
                                num_layers=lm.num_layers, bidirectional=False, direction=lm.direction,
                                merge_mode="concat")
    return tokenizer, model
