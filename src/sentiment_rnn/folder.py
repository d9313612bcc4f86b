"""Model and encoder folders: the one place that knows their files, format versions and shapes.

A model folder (written by `SentimentClassifier.save`, read by `.load`):

    config.json          format_version, classes, vocab_size, the text/tokenizer/model/training
                         settings, data digests, library versions
    tokenizer.json       the vocabulary (HuggingFace tokenizers)
    model.safetensors    the network's weights
    metrics.json         training history and evaluation results (not needed to predict)

An encoder folder (written by `sentiment-rnn pretrain-lm`, read by `model.init_encoder`):

    config.json          kind "sentiment-rnn-encoder": the lm, text and tokenizer settings, history
    tokenizer.json       the vocabulary (a classifier started from this encoder keeps it)
    encoder.safetensors  embedding.*, encoder.* (the classifier's names) and the LM's output layer

Everything is JSON or safetensors: no pickle anywhere. A folder is written as one unit (io.write_unit):
all files to temporary names, then renamed into place with config.json last, so a full disk or a
crash while writing leaves the previous model whole. config.json records the SHA-256 of the files
beside it, and loading refuses a folder whose files do not match (a crash between the renames, or
a file copied in from another model).
"""

from __future__ import annotations

import dataclasses
import json
import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .config import LanguageModelConfig, ModelConfig, TextConfig, TokenizerConfig, TrainingConfig, build_section
from .errors import ConfigError, ModelError
from .io import bytes_writer, json_writer, load_tensors, sha256_file, tensors_bytes, tensors_writer, write_unit
from .models import SentimentNet
from .text.tokenizer import TextTokenizer
from .version import __version__

MODEL_FORMAT_VERSION = 1
ENCODER_KIND = "sentiment-rnn-encoder"
ENCODER_FORMAT_VERSION = 1
MODEL_FILES = ("config.json", "tokenizer.json", "model.safetensors")
ENCODER_FILES = ("config.json", "tokenizer.json", "encoder.safetensors")


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
                       network: torch.nn.Module, data_info: dict[str, Any], metrics: dict[str, Any]) -> Path:
    """`sections`: the text, tokenizer, model and training settings (dataclasses) the model was fitted with."""
    import hashlib

    folder = Path(path)
    contents = {"tokenizer.json": tokenizer.to_json().encode("utf-8"), "model.safetensors": tensors_bytes(network.state_dict())}
    write_unit(folder, {
        **{name: bytes_writer(content) for name, content in contents.items()},
        "metrics.json": json_writer(metrics),
        "config.json": json_writer({
            "format_version": MODEL_FORMAT_VERSION,
            "classes": classes,
            "vocab_size": tokenizer.vocab_size,
            **{name: dataclasses.asdict(section) for name, section in sections.items()},
            "data": data_info,
            "versions": library_versions(),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "files": {name: hashlib.sha256(content).hexdigest() for name, content in contents.items()},
        }),
    })
    return folder


def _check_digests(folder: Path, raw: dict[str, Any]) -> None:
    """The files must be the ones config.json was written with (folders saved before digests were
    recorded have none to check)."""
    recorded = raw.get("files")
    if recorded is None:
        return
    if not isinstance(recorded, dict):
        raise ModelError(f"{folder / 'config.json'}: field 'files' must map file names to SHA-256 digests")
    for name, digest in recorded.items():
        if name not in MODEL_FILES or sha256_file(folder / name) != digest:
            raise ModelError(f"{folder / name} is not the file {folder / 'config.json'} was saved with (SHA-256 "
                             f"differs): the folder was changed or only partly written; save or copy the model again")


def _require_files(folder: Path, files: tuple[str, ...], what: str) -> None:
    if not folder.is_dir():
        raise ModelError(f"{what} folder {folder} does not exist")
    missing = [name for name in files if not (folder / name).is_file()]
    if missing:
        raise ModelError(f"{folder} is not a complete {what} folder: missing {', '.join(missing)}")


def _read_config(folder: Path) -> dict[str, Any]:
    path = folder / "config.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path}: invalid JSON ({exc})") from None
    except UnicodeDecodeError as exc:
        raise ModelError(f"{path}: not UTF-8 text (invalid byte at offset {exc.start})") from None
    if not isinstance(raw, dict):
        raise ModelError(f"{path}: expected a JSON object, got {type(raw).__name__}")
    return raw


def read_model_folder(path: str | Path) -> ModelFolder:
    from safetensors import SafetensorError

    folder = Path(path)
    _require_files(folder, MODEL_FILES, "model")
    raw = _read_config(folder)
    if raw.get("format_version") != MODEL_FORMAT_VERSION:
        raise ModelError(f"{folder}: model format {raw.get('format_version')!r} is not supported "
                         f"(this version reads {MODEL_FORMAT_VERSION})")
    origin = str(folder / "config.json")
    sections = {}
    for name in ("text", "tokenizer", "model", "training"):
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
    tokenizer = TextTokenizer.load(folder / "tokenizer.json", sections["tokenizer"])
    if tokenizer.vocab_size != vocab_size:
        raise ModelError(f"{folder / 'tokenizer.json'} has {tokenizer.vocab_size} tokens but {origin} says vocab_size "
                         f"{vocab_size}: the tokenizer belongs to another model")
    weights_path = folder / "model.safetensors"
    # The shapes are checked against the file's header on a network that allocates nothing (the meta
    # device), so a tampered config.json cannot make us allocate terabytes before refusing.
    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in SentimentNet(sections["model"], vocab_size, len(classes)).state_dict().items()}
    _check_shapes(weights_path, expected)
    try:
        weights = load_tensors(weights_path)
    except SafetensorError as exc:
        raise ModelError(f"{weights_path}: not a readable safetensors file ({exc})") from None
    for name, tensor in weights.items():
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise ModelError(f"{weights_path}: tensor {name!r} holds NaN or infinite values; this model cannot predict")
    _check_digests(folder, raw)  # after the checks that say more precisely what is wrong
    network = SentimentNet(sections["model"], vocab_size, len(classes))
    network.load_state_dict(weights)
    network.eval()
    return ModelFolder(folder, sections["text"], sections["tokenizer"], sections["model"], sections["training"],
                       classes, tokenizer, network, raw.get("data", {}), raw)


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
    write_unit(path, {
        "tokenizer.json": bytes_writer(tokenizer.to_json().encode("utf-8")),
        "encoder.safetensors": tensors_writer(weights),
        "config.json": json_writer({
            "format_version": ENCODER_FORMAT_VERSION, "kind": ENCODER_KIND, "vocab_size": tokenizer.vocab_size,
            "lm": dataclasses.asdict(lm), "text": dataclasses.asdict(text),
            "tokenizer": dataclasses.asdict(tokenizer.config), "history": history}),
    })


def read_encoder_settings(path: str | Path) -> tuple[LanguageModelConfig, TextConfig, TokenizerConfig, dict[str, Any]]:
    """An encoder folder's settings (config.json only; the weights are not read)."""
    folder = Path(path)
    if not (folder / "config.json").is_file():
        raise ModelError(f"{folder} is not an encoder folder (no config.json); `sentiment-rnn pretrain-lm` writes one")
    raw = _read_config(folder)
    if raw.get("kind") != ENCODER_KIND:
        raise ModelError(f"{folder} is not a pretrained encoder (config.json kind is {raw.get('kind')!r}; a "
                         f"classifier model folder cannot start another classifier)")
    origin = str(folder / "config.json")
    return (build_section("lm", raw["lm"], origin=origin), build_section("text", raw["text"], origin=origin),
            build_section("tokenizer", raw["tokenizer"], origin=origin), raw)


def read_encoder_folder(path: str | Path) -> EncoderFolder:
    folder = Path(path)
    lm, text, tokenizer_config, raw = read_encoder_settings(folder)
    _require_files(folder, ENCODER_FILES, "encoder")
    return EncoderFolder(folder, lm, text, tokenizer_config,
                         TextTokenizer.load(folder / "tokenizer.json", tokenizer_config),
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
