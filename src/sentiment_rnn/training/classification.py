"""The classification task that the one training loop runs (training/loop.py): cross-entropy on
labelled reviews in length-bucketed batches, the objectives a training asks for, and validation.
What is trained, on what, from which start, is decided by the recipe (recipe.py)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..config import TrainingConfig
from ..models import SentimentNet
from .batching import bucketed_batches, collate
from .device import to_device
from .loop import StepOutput, TrainingLoop, evaluate_in_batches
from .objectives import adversarial_loss, distillation_loss, entropy, virtual_adversarial_loss
from .teacher import TeacherAnswers


@dataclass
class Encoded:
    """Token ids per review and integer targets."""

    sequences: list[np.ndarray]
    targets: np.ndarray
    pad_to: int | None = None  # tokenizer.padding = "max_length": pad every batch to this width

    @property
    def lengths(self) -> np.ndarray:
        return np.fromiter((len(s) for s in self.sequences), dtype=np.int64, count=len(self.sequences))


@torch.inference_mode()
def network_logits(network: SentimentNet, encoded: Encoded) -> torch.Tensor:
    """(n, outputs) float32 logits of a trained (CPU) network for encoded reviews, in their order."""
    from ..text.batching import sorted_batches

    network.eval()
    lengths = encoded.lengths
    out = None
    for index in sorted_batches(lengths, 256):
        tokens, lens = collate(encoded.sequences, index, encoded.pad_to)
        logits = network(tokens, lens).float()
        if out is None:
            out = torch.zeros(len(lengths), logits.shape[1])
        out[torch.from_numpy(index)] = logits
    return out if out is not None else torch.zeros(0, 1)


class ClassificationTask:
    """Cross-entropy on labelled reviews in length-bucketed batches, plus the objectives that
    training asks for (adversarial, virtual adversarial, entropy minimisation, distillation;
    objectives.py), the last three also on a stream of unlabeled reviews; validation loss and accuracy."""

    def __init__(self, train: Encoded, val: Encoded | None, config: TrainingConfig, rank: int = 0, world_size: int = 1,
                 unlabeled: list[np.ndarray] | None = None, teacher: TeacherAnswers | None = None,
                 pos_weight: torch.Tensor | None = None):
        self.train, self.val, self.config = train, val, config
        self.pos_weight = pos_weight  # multi-label: each label's weight on its positive rows
        self.rank, self.world_size = rank, world_size
        self.train_lengths = train.lengths
        self.train_targets = torch.from_numpy(train.targets)
        self.unlabeled = unlabeled if unlabeled and config.uses_unlabeled else None
        self.teacher = teacher if config.distills else None
        if self.teacher is not None:
            self.teacher_train = torch.from_numpy(self.teacher.train)
            self.teacher_unlabeled = (torch.from_numpy(self.teacher.unlabeled)
                                      if self.teacher.unlabeled is not None else None)
        if self.unlabeled is not None:
            self.unlabeled_lengths = np.fromiter((len(s) for s in self.unlabeled), dtype=np.int64,
                                                 count=len(self.unlabeled))
        self._unlabeled_epoch: tuple[int, list[np.ndarray]] | None = None

    def batches(self, epoch: int) -> list[np.ndarray]:
        """This rank's batches. `batch_size` is the global batch: each of N ranks takes 1/N of it,
        so N processes make the same number of updates of the same size as one process."""
        per_rank = max(1, self.config.batch_size // self.world_size)
        return bucketed_batches(self.train_lengths, per_rank, self.config.bucket_batches * self.world_size,
                                self.config.seed + epoch, self.rank, self.world_size)

    def unlabeled_batch(self, step: int, epoch: int) -> np.ndarray:
        """The unlabeled batch of a step: length-bucketed like the labelled ones, in an order that
        is a pure function of the epoch (exact resume), cycled when the stream is shorter."""
        if self._unlabeled_epoch is None or self._unlabeled_epoch[0] != epoch:
            size = max(1, (self.config.unlabeled_batch_size or self.config.batch_size) // self.world_size)
            batches = bucketed_batches(self.unlabeled_lengths, size, self.config.bucket_batches * self.world_size,
                                       self.config.seed + 7919 * (epoch + 1), self.rank, self.world_size)
            self._unlabeled_epoch = (epoch, batches)
        batches = self._unlabeled_epoch[1]
        return batches[step % len(batches)]

    def train_step(self, model: SentimentNet, index: np.ndarray, run: TrainingLoop) -> StepOutput:
        cfg, device = self.config, run.device
        tokens, lengths = collate(self.train.sequences, index, self.train.pad_to)
        n_tokens = int(lengths.sum())
        tokens, lengths = to_device(tokens, device), to_device(lengths, device)
        targets = to_device(self.train_targets[index], device)
        adversarial = cfg.adversarial_weight > 0
        with run.autocast():
            x, mask = model.embed(tokens, lengths)
            if adversarial and not x.requires_grad:  # frozen embeddings: the perturbation still needs a gradient
                x.requires_grad_()
            logits = model.forward_embedded(x, lengths, mask)
        logits = logits.float()
        loss = model.loss(logits, targets, self.pos_weight)
        parts: dict[str, torch.Tensor] = {}
        total = loss
        if adversarial or cfg.uses_unlabeled:
            parts["cross_entropy"] = loss
        if adversarial:
            with run.autocast():
                parts["adversarial"] = adversarial_loss(model, x, lengths, mask, loss, targets, cfg.adversarial_epsilon)
            total = total + cfg.adversarial_weight * parts["adversarial"]
        if cfg.virtual_adversarial_weight > 0:
            with run.autocast():
                parts["virtual_adversarial"] = virtual_adversarial_loss(
                    model, x, lengths, mask, model.probabilities(logits).detach(), cfg.virtual_adversarial_epsilon,
                    cfg.virtual_adversarial_xi)
            total = total + cfg.virtual_adversarial_weight * parts["virtual_adversarial"]
        if self.teacher is not None:
            parts["distillation"] = distillation_loss(model, logits, to_device(self.teacher_train[index], device),
                                                      cfg.distillation_temperature)
            total = total + cfg.distillation_weight * parts["distillation"]
        if self.unlabeled is not None:
            total = total + self._unlabeled_terms(model, run, parts)
        with torch.no_grad():
            correct = model.correct(logits, targets)
        return StepOutput(total, len(index), len(index), n_tokens, correct, parts)

    def _unlabeled_terms(self, model: SentimentNet, run: TrainingLoop, parts: dict[str, torch.Tensor]) -> torch.Tensor:
        """VAT, entropy minimisation and distillation on this step's unlabeled batch."""
        cfg, device = self.config, run.device
        batch = self.unlabeled_batch(run.step, run.epoch)
        tokens, lengths = collate(self.unlabeled, batch)
        tokens, lengths = to_device(tokens, device), to_device(lengths, device)
        total = torch.zeros((), device=device)
        with run.autocast():
            x, mask = model.embed(tokens, lengths)
            logits = model.forward_embedded(x, lengths, mask).float()
            proba = model.probabilities(logits)
            if self.teacher is not None and self.teacher_unlabeled is not None:
                parts["distillation_unlabeled"] = distillation_loss(
                    model, logits, to_device(self.teacher_unlabeled[batch], device), cfg.distillation_temperature)
                total = total + cfg.distillation_weight * parts["distillation_unlabeled"]
            if cfg.entropy_weight > 0:
                parts["entropy"] = entropy(proba)
                total = total + cfg.entropy_weight * parts["entropy"]
            if cfg.virtual_adversarial_weight > 0:
                parts["virtual_adversarial_unlabeled"] = virtual_adversarial_loss(
                    model, x, lengths, mask, proba.detach(), cfg.virtual_adversarial_epsilon, cfg.virtual_adversarial_xi)
                total = total + cfg.virtual_adversarial_weight * parts["virtual_adversarial_unlabeled"]
        return total

    def evaluate(self, model: SentimentNet, run: TrainingLoop) -> tuple[float | None, float | None]:
        if self.val is None:
            return None, None
        val, device = self.val, run.device
        targets_all = torch.from_numpy(val.targets)

        def score(index: np.ndarray):
            tokens, lengths = collate(val.sequences, index, val.pad_to)
            with run.autocast():
                logits = model(to_device(tokens, device), to_device(lengths, device))
            logits = logits.float()
            targets = to_device(targets_all[index], device)
            return model.loss(logits, targets, self.pos_weight) * len(index), model.correct(logits, targets)

        loss_sum, correct = evaluate_in_batches(model, val.lengths, self.config.batch_size * 4, score)
        return loss_sum / len(val.targets), correct / len(val.targets)
