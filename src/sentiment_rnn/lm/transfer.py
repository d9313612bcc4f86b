"""Starting a classifier from a pretrained encoder folder (`model.init_encoder`): read the folder,
adopt its cleaning, vocabulary and recurrent architecture, and copy its embedding and encoder
weights into the classifier network (the names match one to one, see lm/model.py)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import torch

from ..config import LanguageModelConfig, ModelConfig, TextConfig, TokenizerConfig, build_section
from ..errors import ModelError
from ..text.tokenizer import TextTokenizer
from .pretrain import ENCODER_KIND


@dataclasses.dataclass
class Encoder:
    """A pretrained encoder folder, read back."""

    folder: Path
    lm: LanguageModelConfig
    text: TextConfig
    tokenizer_config: TokenizerConfig
    tokenizer: TextTokenizer
    weights: dict[str, torch.Tensor]
    history: list


def load_encoder(folder: str | Path) -> Encoder:
    from ..training.checkpoint import load_weights

    folder = Path(folder)
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise ModelError(f"{folder} is not an encoder folder (no config.json); `sentiment-rnn pretrain-lm` writes one")
    try:
        raw = json.loads(config_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelError(f"{config_path}: invalid JSON ({exc})") from None
    if raw.get("kind") != ENCODER_KIND:
        raise ModelError(f"{folder} is not a pretrained encoder (config.json kind is {raw.get('kind')!r}; a "
                         f"classifier model folder cannot start another classifier)")
    for name in ("tokenizer.json", "encoder.safetensors"):
        if not (folder / name).is_file():
            raise ModelError(f"{folder} is not a complete encoder folder: missing {name}")
    tokenizer_config = build_section("tokenizer", raw["tokenizer"], origin=str(config_path))
    return Encoder(folder, build_section("lm", raw["lm"], origin=str(config_path)),
                   build_section("text", raw["text"], origin=str(config_path)), tokenizer_config,
                   TextTokenizer.load(folder / "tokenizer.json", tokenizer_config),
                   load_weights(folder / "encoder.safetensors"), raw.get("history", []))


def encoder_settings(encoder: Encoder, text: TextConfig, tokenizer: TokenizerConfig,
                     model: ModelConfig) -> tuple[TextConfig, TokenizerConfig, ModelConfig]:
    """The classifier's sections with what the encoder fixes: its cleaning, its vocabulary, its
    recurrent layers (unidirectional, in its direction). Truncation, pooling, head and training
    stay the classifier's own."""
    lm = encoder.lm
    vocab = encoder.tokenizer_config
    tokenizer = dataclasses.replace(tokenizer, kind=vocab.kind, vocab_size=vocab.vocab_size,
                                    min_frequency=vocab.min_frequency)
    model = dataclasses.replace(model, embedding_dim=lm.embedding_dim, cell=lm.cell, hidden_size=lm.hidden_size,
                                num_layers=lm.num_layers, bidirectional=False, direction=lm.direction,
                                merge_mode="concat")
    return encoder.text, tokenizer, model


def copy_encoder_weights(network: torch.nn.Module, encoder: Encoder) -> None:
    """Embedding and recurrent layers from the encoder; the classifier's head stays as initialised."""
    wanted = {k: v for k, v in encoder.weights.items() if k.startswith(("embedding.", "encoder."))}
    own = network.state_dict()
    mismatched = [k for k, v in wanted.items() if k not in own or own[k].shape != v.shape]
    if mismatched or not wanted:
        raise ModelError(f"{encoder.folder}: encoder weights do not fit this classifier ({mismatched[:3]} ...)")
    network.load_state_dict(wanted, strict=False)
