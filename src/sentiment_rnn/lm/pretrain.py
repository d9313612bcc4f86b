"""`sentiment-rnn pretrain-lm`: train a language model on IMDB's unlabeled + training reviews, on
the one training loop (training/loop.py), and write an encoder folder (folder.py).

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

from ..config import ExperimentConfig, LanguageModelConfig
from ..folder import write_encoder_folder
from ..models.weight_drop import plain_state_dict, weight_dropout
from ..text.tokenizer import TextTokenizer
from ..training.batching import bucketed_batches, collate
from ..training.callbacks import Callback, EpochRecord, StepRecord
from ..training.device import resolve_device, to_device
from ..training.loop import StepOutput, TrainingLoop, evaluate_in_batches
from .model import LanguageModel


def lm_corpus(config: ExperimentConfig, progress=None) -> tuple[list[str], list[str]]:
    """(training texts, validation texts), cleaned by config.text: unlabeled + train reviews, with
    `lm.val_reviews` of the train split held out for validation; or, with `data.unlabeled_file`,
    that file's texts, `lm.val_reviews` of them held out."""
    from ..data.dataset import load_imdb_split, load_text_file
    from ..data.derived import prepare_cleaned

    lm = config.lm
    if config.data.unlabeled_file:
        own, _, _ = prepare_cleaned(load_text_file(config.data.unlabeled_file, config.data.text_column), config.text)
        order = np.random.default_rng(lm.seed).permutation(len(own.texts))
        texts = [own.texts[i] for i in order[lm.val_reviews:]]
        if lm.limit:
            texts = texts[:lm.limit]
        return texts, [own.texts[i] for i in order[:lm.val_reviews]]
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


class LanguageModelTask:
    """Next-token prediction over length-bucketed batches: the sampled softmax (with log-Q
    correction) on a CPU budget, else the full softmax; validation is always the full softmax."""

    def __init__(self, train: list[np.ndarray], val: list[np.ndarray], lm: LanguageModelConfig, log_q: torch.Tensor):
        self.train, self.val, self.lm, self.log_q = train, val, lm, log_q
        self.lengths = np.fromiter((len(s) for s in train), dtype=np.int64, count=len(train))

    def batches(self, epoch: int) -> list[np.ndarray]:
        return bucketed_batches(self.lengths, self.lm.batch_size, 50, self.lm.seed + epoch)

    def train_step(self, model: LanguageModel, index: np.ndarray, run: TrainingLoop) -> StepOutput:
        device = run.device
        token_ids, lens = collate(self.train, index)
        inputs, targets, mask = _shifted(to_device(token_ids, device), to_device(lens, device))
        with run.autocast():
            states = model(inputs, lens.to(device) - 1)[mask]
            if self.lm.sampled_softmax:
                loss = model.sampled_loss(states, targets, self.log_q, self.lm.sampled_softmax)
            else:
                loss = model.full_loss(states, targets) / targets.numel()
        # each batch's mean loss counts once in the epoch's mean
        return StepOutput(loss, 1, len(index), int(lens.sum()) - len(index))

    def evaluate(self, model: LanguageModel, run: TrainingLoop) -> tuple[float | None, None]:
        return evaluate_perplexity(model, self.val, run), None


class EncoderWriter(Callback):
    """Writes the encoder folder after every epoch (an interrupted run keeps its last finished
    epoch), with the LM's own history; reports progress every 50 steps."""

    def __init__(self, out: Path, tokenizer: TextTokenizer, config: ExperimentConfig,
                 on_progress: Callable[[dict], None] | None):
        self.out, self.tokenizer, self.config, self.on_progress = out, tokenizer, config, on_progress
        self.history: list[dict[str, Any]] = []

    def on_epoch_start(self, loop, epoch: int) -> None:
        self.loss_sum, self.tokens, self.started = 0.0, 0, time.perf_counter()

    def on_step(self, loop, record: StepRecord) -> None:
        self.loss_sum += record.loss
        self.tokens += record.tokens
        done = record.step - record.epoch * loop.steps_per_epoch + 1
        if self.on_progress and done % 50 == 0:
            elapsed = time.perf_counter() - self.started
            self.on_progress({"epoch": record.epoch + 1, "step": done, "steps": loop.steps_per_epoch,
                              "train_loss": self.loss_sum / done, "tokens_per_s": round(self.tokens / elapsed)})

    def on_epoch_end(self, loop, record: EpochRecord) -> None:
        self.history.append({"epoch": record.epoch + 1, "train_loss": round(record.train_loss, 4),
                             "train_loss_kind": "sampled" if self.config.lm.sampled_softmax else "full",
                             "val_loss": round(record.val_loss, 4), "val_perplexity": round(math.exp(record.val_loss), 2),
                             "seconds": round(record.seconds, 1), "tokens_per_s": round(record.tokens_per_s)})
        if self.on_progress:
            self.on_progress(self.history[-1])
        self.write(loop.model)

    def write(self, model: LanguageModel) -> None:
        write_encoder_folder(self.out, weights={k: v.detach().cpu() for k, v in plain_state_dict(model).items()},
                             tokenizer=self.tokenizer, lm=self.config.lm, text=self.config.text, history=self.history)


def pretrain_lm(config: ExperimentConfig, out: str | Path, on_progress: Callable[[dict], None] | None = None,
                progress=None) -> dict[str, Any]:
    lm = config.lm
    out = Path(out)
    started = time.perf_counter()
    torch.manual_seed(lm.seed)
    if config.data.unlabeled_file and config.text.language == "auto":  # the file's script decides, and is saved
        from ..data.dataset import load_text_file

        own = load_text_file(config.data.unlabeled_file, config.data.text_column)
        config = dataclasses.replace(config, text=config.text.for_texts(own.texts))
    texts, val_texts = lm_corpus(config, progress)
    tokenizer_config = dataclasses.replace(config.tokenizer, max_length=lm.max_length, truncation="head")
    tokenizer = TextTokenizer.train(texts, tokenizer_config)
    train_seqs, val_seqs = _sequences(tokenizer, texts, lm.direction), _sequences(tokenizer, val_texts, lm.direction)

    device = resolve_device(lm.device)
    model = LanguageModel(lm, tokenizer.vocab_size).to(device)
    counts = np.bincount(np.concatenate(train_seqs), minlength=tokenizer.vocab_size).astype(np.float64)
    counts[0] = 0  # never sample padding
    q = counts ** 0.75 + 1e-12  # word2vec's smoothed unigram distribution
    log_q = torch.from_numpy(np.log(q / q.sum())).float().to(device)

    writer = EncoderWriter(out, tokenizer, config, on_progress)
    with weight_dropout(model.encoder, lm.weight_dropout):
        TrainingLoop(lm, [writer]).fit(model, LanguageModelTask(train_seqs, val_seqs, lm, log_q))
    writer.write(model)
    return {"out": str(out), "direction": lm.direction, "reviews": len(train_seqs), "val_reviews": len(val_seqs),
            "vocab_size": tokenizer.vocab_size, "epochs": writer.history,
            "seconds": round(time.perf_counter() - started, 1)}


def _shifted(token_ids: torch.Tensor, lengths: torch.Tensor):
    """Inputs (B, T-1), the flat targets at real positions, and the (B, T-1) mask of those positions."""
    inputs, targets = token_ids[:, :-1], token_ids[:, 1:]
    mask = torch.arange(inputs.size(1), device=inputs.device).unsqueeze(0) < (lengths - 1).unsqueeze(1)
    return inputs, targets[mask], mask


def evaluate_perplexity(model: LanguageModel, sequences: list[np.ndarray], run: TrainingLoop,
                        batch_size: int = 64) -> float:
    """Mean full-softmax cross-entropy per predicted token (its exp is the perplexity)."""
    if not sequences:
        return float("nan")
    device = run.device
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))

    def score(index: np.ndarray):
        token_ids, lens = collate(sequences, index)
        inputs, targets, mask = _shifted(to_device(token_ids, device), to_device(lens, device))
        with run.autocast():
            states = model(inputs, lens.to(device) - 1)[mask]
            return float(model.full_loss(states, targets)), targets.numel()

    total, count = evaluate_in_batches(model, lengths, batch_size, score)
    return total / count
