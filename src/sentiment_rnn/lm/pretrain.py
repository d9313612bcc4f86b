"""`sentiment-rnn pretrain-lm`: train a language model on IMDB's unlabeled + training reviews and
write an encoder folder:

    config.json          kind "sentiment-rnn-encoder": the lm, text and tokenizer settings, history
    tokenizer.json       the vocabulary (a classifier started from this encoder keeps it)
    encoder.safetensors  embedding.*, encoder.* (the classifier's names) and the LM's output layer

The test split is never read; validation perplexity is measured on `lm.val_reviews` reviews held
out of the training split. The folder is rewritten after every epoch, so an interrupted run keeps
its last finished epoch.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..config import ExperimentConfig, TrainingConfig
from ..io import atomic_write_json
from ..models.weight_drop import add_weight_dropout, plain_state_dict, remove_weight_dropout
from ..text.tokenizer import TextTokenizer
from ..training.batching import bucketed_batches, collate, sorted_batches
from ..training.device import autocast_dtype, resolve_device, to_device
from ..training.trainer import learning_rate_factor, make_optimizer
from .model import LanguageModel

ENCODER_KIND = "sentiment-rnn-encoder"
FORMAT_VERSION = 1


def lm_corpus(config: ExperimentConfig, progress=None) -> tuple[list[str], list[str]]:
    """(training texts, validation texts), cleaned by config.text: unlabeled + train reviews, with
    `lm.val_reviews` of the train split held out for validation."""
    from ..data.dataset import load_imdb_split
    from ..data.derived import prepare_cleaned

    lm = config.lm
    unlabeled, _, _ = prepare_cleaned(load_imdb_split(config.data.archive, "unsup", progress=progress), config.text)
    train, _, _ = prepare_cleaned(load_imdb_split(config.data.archive, "train", progress=progress), config.text)
    order = np.random.default_rng(lm.seed).permutation(len(train.texts))
    val = [train.texts[i] for i in order[:lm.val_reviews]]
    texts = unlabeled.texts + [train.texts[i] for i in order[lm.val_reviews:]]
    if lm.limit:
        texts = [texts[i] for i in np.random.default_rng(lm.seed).permutation(len(texts))[:lm.limit]]
    return texts, val


def _sequences(tokenizer: TextTokenizer, texts: list[str], direction: str) -> list[np.ndarray]:
    sequences = [s for s in tokenizer.encode(texts) if len(s) >= 2]  # a next token to predict
    return [s[::-1].copy() for s in sequences] if direction == "backward" else sequences


def pretrain_lm(config: ExperimentConfig, out: str | Path, on_progress: Callable[[dict], None] | None = None,
                progress=None) -> dict[str, Any]:
    lm = config.lm
    out = Path(out)
    started = time.perf_counter()
    torch.manual_seed(lm.seed)
    texts, val_texts = lm_corpus(config, progress)
    tokenizer_config = dataclasses.replace(config.tokenizer, max_length=lm.max_length, truncation="head")
    tokenizer = TextTokenizer.train(texts, tokenizer_config)
    train_seqs, val_seqs = _sequences(tokenizer, texts, lm.direction), _sequences(tokenizer, val_texts, lm.direction)

    device = resolve_device(lm.device)
    amp_dtype = autocast_dtype(lm.precision, device)
    scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16)
    model = LanguageModel(lm, tokenizer.vocab_size).to(device)
    add_weight_dropout(model.encoder, lm.weight_dropout)

    counts = np.bincount(np.concatenate(train_seqs), minlength=tokenizer.vocab_size).astype(np.float64)
    counts[0] = 0  # never sample padding
    q = counts ** 0.75 + 1e-12  # word2vec's smoothed unigram distribution
    log_q = torch.from_numpy(np.log(q / q.sum())).float().to(device)

    # The classifier's optimiser and schedule (AdamW, decay on matrices only, warm-up + linear decay).
    schedule = TrainingConfig(learning_rate=lm.learning_rate, weight_decay=lm.weight_decay,
                              warmup_fraction=lm.warmup_fraction, schedule="linear")
    optimizer = make_optimizer(model, schedule)
    lengths = np.fromiter((len(s) for s in train_seqs), dtype=np.int64, count=len(train_seqs))
    steps_per_epoch = len(bucketed_batches(lengths, lm.batch_size, 50, lm.seed))
    total = steps_per_epoch * lm.epochs
    history: list[dict[str, Any]] = []
    step = 0
    for epoch in range(lm.epochs):
        model.train()
        epoch_started, tokens_seen = time.perf_counter(), 0
        loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        batches = bucketed_batches(lengths, lm.batch_size, 50, lm.seed + epoch)
        for i, index in enumerate(batches):
            factor = learning_rate_factor(step, total, schedule)
            for group in optimizer.param_groups:
                group["lr"] = lm.learning_rate * factor
            token_ids, lens = collate(train_seqs, index)
            inputs, targets, mask = _shifted(to_device(token_ids, device), to_device(lens, device))
            with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                states = model(inputs, lens.to(device) - 1)[mask]
                if lm.sampled_softmax:
                    loss = model.sampled_loss(states, targets, log_q, lm.sampled_softmax)
                else:
                    loss = model.full_loss(states, targets) / targets.numel()
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            if lm.clip_norm > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), lm.clip_norm)
            scaler.step(optimizer)
            scaler.update()
            loss_sum += loss.detach().double()
            tokens_seen += int(lens.sum()) - len(index)
            step += 1
            if on_progress and (i + 1) % 50 == 0:
                elapsed = time.perf_counter() - epoch_started
                on_progress({"epoch": epoch + 1, "step": i + 1, "steps": len(batches),
                             "train_loss": float(loss_sum) / (i + 1), "tokens_per_s": round(tokens_seen / elapsed)})
        seconds = time.perf_counter() - epoch_started
        val_loss = evaluate_perplexity(model, val_seqs, device, amp_dtype)
        history.append({"epoch": epoch + 1, "train_loss": round(float(loss_sum) / len(batches), 4),
                        "train_loss_kind": "sampled" if lm.sampled_softmax else "full",
                        "val_loss": round(val_loss, 4), "val_perplexity": round(math.exp(val_loss), 2),
                        "seconds": round(seconds, 1), "tokens_per_s": round(tokens_seen / seconds)})
        if on_progress:
            on_progress(history[-1])
        save_encoder(out, model, tokenizer, config, history)
    remove_weight_dropout(model.encoder)
    save_encoder(out, model, tokenizer, config, history)
    return {"out": str(out), "direction": lm.direction, "reviews": len(train_seqs), "val_reviews": len(val_seqs),
            "vocab_size": tokenizer.vocab_size, "epochs": history, "seconds": round(time.perf_counter() - started, 1)}


def _shifted(token_ids: torch.Tensor, lengths: torch.Tensor):
    """Inputs (B, T-1), the flat targets at real positions, and the (B, T-1) mask of those positions."""
    inputs, targets = token_ids[:, :-1], token_ids[:, 1:]
    mask = torch.arange(inputs.size(1), device=inputs.device).unsqueeze(0) < (lengths - 1).unsqueeze(1)
    return inputs, targets[mask], mask


@torch.inference_mode()
def evaluate_perplexity(model: LanguageModel, sequences: list[np.ndarray], device: torch.device,
                        amp_dtype: torch.dtype | None, batch_size: int = 64) -> float:
    """Mean full-softmax cross-entropy per predicted token (its exp is the perplexity)."""
    if not sequences:
        return float("nan")
    model.eval()
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    total, count = 0.0, 0
    for index in sorted_batches(lengths, batch_size):
        token_ids, lens = collate(sequences, index)
        inputs, targets, mask = _shifted(to_device(token_ids, device), to_device(lens, device))
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            states = model(inputs, lens.to(device) - 1)[mask]
            total += float(model.full_loss(states, targets))
        count += targets.numel()
    model.train()
    return total / count


def save_encoder(out: Path, model: LanguageModel, tokenizer: TextTokenizer, config: ExperimentConfig,
                 history: list[dict[str, Any]]) -> None:
    from ..training.checkpoint import save_weights

    out.mkdir(parents=True, exist_ok=True)
    tokenizer.save(out / "tokenizer.json")
    save_weights(out / "encoder.safetensors", {k: v.detach().cpu() for k, v in plain_state_dict(model).items()})
    atomic_write_json(out / "config.json", {
        "format_version": FORMAT_VERSION, "kind": ENCODER_KIND, "vocab_size": tokenizer.vocab_size,
        "lm": dataclasses.asdict(config.lm), "text": dataclasses.asdict(config.text),
        "tokenizer": dataclasses.asdict(tokenizer.config), "history": history})
