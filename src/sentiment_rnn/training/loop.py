"""The one training loop: AdamW, warm-up + decay schedule, clipping by global norm (the pre-clip
norm is recorded every step), mixed precision, data-parallel gradient averaging.

Nothing here is about sentiment or language modelling. What is trained comes as a `Task` (its
batches, the loss of one batch, its evaluation); everything that happens around the steps comes as
callbacks (training/callbacks.py: history, early stopping, checkpoints, gradual unfreezing;
tracking and progress bars live above). The classifier's task (training/classification.py, run by recipe.py) and
the language model's pretraining (lm/pretrain.py) are two uses of it.

Nothing here prints, and nothing waits for the device once per step: per-step values stay on the
device and reach the host (and the callbacks) every `log_every_steps` steps.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch

from ..text.batching import sorted_batches
from .callbacks import Callback, EpochRecord, History, StepRecord
from .device import autocast_dtype, resolve_device
from .optim import Schedule, learning_rate_factor, make_optimizer


@dataclass
class StepOutput:
    loss: torch.Tensor  # scalar, what backward runs on
    weight: float  # the loss's weight in the epoch's mean (reviews in the batch, or 1 per batch)
    examples: int  # reviews in the batch
    tokens: int  # tokens the batch scored
    correct: torch.Tensor | None = None  # right predictions, for tasks that have an accuracy
    components: dict[str, torch.Tensor] = field(default_factory=dict)  # the loss's parts, for the record


class Task(Protocol):
    """What is trained. `batches(epoch)` must be a pure function of the epoch (exact resume)."""

    def batches(self, epoch: int) -> list[np.ndarray]: ...

    def train_step(self, model: torch.nn.Module, index: np.ndarray, run: TrainingLoop) -> StepOutput: ...

    def evaluate(self, model: torch.nn.Module, run: TrainingLoop) -> tuple[float | None, float | None]:
        """(validation loss, validation accuracy or None); (None, None) without validation data."""
        ...


class TrainingLoop:
    """Trains `model` on `task` for `settings.epochs` epochs; callbacks see every step and epoch.

    State the callbacks and the task may read or set: `model`, `optimizer`, `history`, `start_epoch`
    (a resuming callback moves it), `steps_per_epoch`, `total_steps`, `epoch` and `step` (the ones
    running), `device`, `rank`, `world_size`.
    """

    def __init__(self, settings: Schedule, callbacks: Sequence[Callback] = (), rank: int = 0, world_size: int = 1):
        self.settings = settings
        self.history = History()
        self.callbacks = [self.history, *callbacks]
        self.rank, self.world_size = rank, world_size

    def autocast(self) -> AbstractContextManager:
        return torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None)

    def fit(self, model: torch.nn.Module, task: Task) -> History:
        cfg = self.settings
        self.model, self.task = model, task
        self.device = resolve_device(cfg.device)
        self.amp_dtype = autocast_dtype(cfg.precision, self.device)
        # fp16 needs loss scaling against underflow; bf16 and fp32 do not (the scaler is then a no-op)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp_dtype == torch.float16)
        if any(p.device != self.device for p in model.parameters()):
            model.to(self.device)
        self.steps_per_epoch = len(task.batches(0))
        self.total_steps = self.steps_per_epoch * cfg.epochs
        self.optimizer = make_optimizer(model, cfg)
        self.start_epoch = 0
        self._emit("on_train_start")
        for epoch in range(self.start_epoch, cfg.epochs):
            if self.history.stopped_early:
                break
            self._emit("on_epoch_start", epoch)
            record = self._run_epoch(epoch)
            self._emit("on_epoch_end", record)
        self._emit("on_train_end")
        return self.history

    def _emit(self, event: str, *args: Any) -> None:
        for callback in self.callbacks:
            getattr(callback, event)(self, *args)

    def _run_epoch(self, epoch: int) -> EpochRecord:
        """One pass over this rank's batches, then the task's evaluation."""
        cfg, device, model, optimizer = self.settings, self.device, self.model, self.optimizer
        model.train()
        batches = self.task.batches(epoch)
        started = time.perf_counter()
        loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        correct = torch.zeros((), dtype=torch.int64, device=device)
        weight = examples = tokens = 0
        has_accuracy = False
        pending: list[tuple] = []
        params = [p for p in model.parameters() if p.requires_grad]
        max_norm = cfg.clip_norm if cfg.clip_norm > 0 else float("inf")
        lr = cfg.learning_rate
        for i, index in enumerate(batches):
            step = epoch * self.steps_per_epoch + i
            self.epoch, self.step = epoch, step
            lr = cfg.learning_rate * learning_rate_factor(step, self.total_steps, cfg)
            for group in optimizer.param_groups:
                group["lr"] = lr * group.get("lr_scale", 1.0)
            out = self.task.train_step(model, index, self)
            optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(out.loss).backward()
            if self.world_size > 1:
                _average_gradients(params, self.world_size)
            self.scaler.unscale_(optimizer)
            grad_norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
            self.scaler.step(optimizer)
            self.scaler.update()
            loss_sum += out.loss.detach() * out.weight
            if out.correct is not None:
                correct += out.correct
                has_accuracy = True
            weight += out.weight
            examples += out.examples
            tokens += out.tokens
            pending.append((step, out.loss.detach(), grad_norm.detach(), lr, out.examples, out.tokens,
                            {k: v.detach() for k, v in out.components.items()}))
            if len(pending) >= cfg.log_every_steps or i == len(batches) - 1:
                self._report_steps(pending, epoch)
                pending = []
        seconds = time.perf_counter() - started
        totals = _all_reduce_sum([float(loss_sum), int(correct), weight, examples, tokens], self.world_size, device)
        val_loss, val_accuracy = self.task.evaluate(model, self)
        return EpochRecord(epoch, totals[0] / totals[2], totals[1] / totals[3] if has_accuracy else None,
                           val_loss, val_accuracy, lr, round(seconds, 2), round(totals[3] / seconds, 1), False,
                           round(totals[4] / seconds))

    def _report_steps(self, pending: list, epoch: int) -> None:
        """One host sync for a group of steps: their loss, gradient norm and loss components."""
        names = sorted(pending[0][6])
        values = torch.stack([torch.stack([loss.float(), norm.float(), *(parts[n].float() for n in names)])
                              for _, loss, norm, _, _, _, parts in pending]).tolist()
        for (step, _, _, lr, examples, tokens, _), (loss, norm, *parts) in zip(pending, values):
            self._emit("on_step", StepRecord(step, epoch, loss, norm, lr, examples, tokens, dict(zip(names, parts))))


@torch.inference_mode()
def evaluate_in_batches(model: torch.nn.Module, lengths: np.ndarray, batch_size: int,
                        score: Callable[[np.ndarray], Sequence[torch.Tensor | float]]) -> list[float]:
    """Evaluation, written once: `score(index)` gives sums for one batch (e.g. summed loss and
    right predictions); their totals over length-sorted batches come back as floats. The model is
    in eval mode meanwhile and back in train mode after."""
    model.eval()
    totals: list[Any] | None = None
    for index in sorted_batches(lengths, batch_size):
        values = score(index)
        if totals is None:
            totals = [torch.zeros((), dtype=torch.float64) for _ in values]
        totals = [total + value for total, value in zip(totals, values)]
    model.train()
    return [float(total) for total in totals or []]


def _average_gradients(params, world_size: int) -> None:
    """One all-reduce over all gradients flattened together (one message, not one per tensor)."""
    import torch.distributed as dist

    grads = [p.grad for p in params if p.grad is not None]
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= world_size
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()


def _all_reduce_sum(values: list[float], world_size: int, device: torch.device) -> list[float]:
    if world_size == 1:
        return values
    import torch.distributed as dist

    tensor = torch.tensor(values, dtype=torch.float64, device=device)  # NCCL reduces device tensors only
    dist.all_reduce(tensor)
    return tensor.tolist()
