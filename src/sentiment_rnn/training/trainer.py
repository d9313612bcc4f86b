"""The training loop: AdamW, warm-up + decay schedule, clipping by global norm (the pre-clip norm
is recorded every step), early stopping on validation, best and last checkpoints, exact resume.

Nothing here prints: progress goes to `Callback`s (the CLI renders a bar; tracking logs metrics).
Nothing here is about sentiment either: it trains any module with `forward(ids, lengths)`,
`loss(logits, targets)` and `probabilities(logits)`.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..config import TrainingConfig
from . import checkpoint
from .batching import bucketed_batches, collate, sorted_batches
from .device import autocast_dtype, resolve_device, to_device


@dataclass
class StepRecord:
    step: int
    epoch: int
    loss: float
    grad_norm: float  # global L2 norm before clipping
    learning_rate: float
    reviews: int


@dataclass
class EpochRecord:
    epoch: int
    train_loss: float
    train_accuracy: float
    val_loss: float | None
    val_accuracy: float | None
    learning_rate: float
    seconds: float
    reviews_per_s: float
    improved: bool


@dataclass
class History:
    epochs: list[EpochRecord] = field(default_factory=list)
    steps: list[StepRecord] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"epochs": [asdict(e) for e in self.epochs], "best_epoch": self.best_epoch,
                "stopped_early": self.stopped_early,
                "steps": {f.name: [getattr(s, f.name) for s in self.steps] for f in fields(StepRecord)}}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> History:
        columns = raw["steps"]
        steps = [StepRecord(*row) for row in zip(*(columns[f.name] for f in fields(StepRecord)))]
        return cls([EpochRecord(**e) for e in raw["epochs"]], steps, raw["best_epoch"], raw["stopped_early"])


class Callback:
    """Override what you need. `total_steps` is for progress bars."""

    def on_train_start(self, total_steps: int, steps_per_epoch: int, start_epoch: int) -> None: ...
    def on_step(self, record: StepRecord) -> None: ...
    def on_epoch_end(self, record: EpochRecord) -> None: ...
    def on_train_end(self, history: History) -> None: ...


@dataclass
class Encoded:
    """Token ids per review and integer targets."""

    sequences: list[np.ndarray]
    targets: np.ndarray
    pad_to: int | None = None  # tokenizer.padding = "max_length": pad every batch to this width

    @property
    def lengths(self) -> np.ndarray:
        return np.fromiter((len(s) for s in self.sequences), dtype=np.int64, count=len(self.sequences))


def learning_rate_factor(step: int, total: int, config: TrainingConfig) -> float:
    warmup = int(total * config.warmup_fraction)
    if config.schedule == "stlr":  # Howard & Ruder 2018: rise for warmup_fraction, fall to 1/32
        cut, ratio = max(1, warmup), 32
        p = step / cut if step < cut else 1 - (step - cut) / max(1, total - cut)
        return (1 + max(0.0, p) * (ratio - 1)) / ratio
    if step < warmup:
        return (step + 1) / warmup
    if config.schedule == "constant":
        return 1.0
    progress = (step - warmup) / max(1, total - warmup)
    if config.schedule == "linear":
        return max(0.0, 1.0 - progress)
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def layer_groups(model: torch.nn.Module) -> list[list[torch.nn.Parameter]]:
    """The model's parameters from the bottom up (`model.layer_groups()` when it has one)."""
    return model.layer_groups() if hasattr(model, "layer_groups") else [list(model.parameters())]


def make_optimizer(model: torch.nn.Module, config: TrainingConfig) -> torch.optim.Optimizer:
    """One parameter group per (layer group, decay or not). Weight decay on matrices only; with
    `lr_decay_per_layer` = d, layer group g of G learns at lr / d^(G-1-g) (ULMFiT's discriminative
    fine-tuning), kept as each group's `lr_scale`."""
    groups = []
    all_groups = layer_groups(model)
    for depth, params in enumerate(all_groups):
        scale = config.lr_decay_per_layer ** -(len(all_groups) - 1 - depth)
        decay = [p for p in params if p.ndim >= 2]
        no_decay = [p for p in params if p.ndim < 2]
        if config.optimizer == "adam":
            groups.append({"params": decay + no_decay, "lr_scale": scale})
            continue
        groups += [{"params": decay, "weight_decay": config.weight_decay, "lr_scale": scale},
                   {"params": no_decay, "weight_decay": 0.0, "lr_scale": scale}]
    cls = torch.optim.AdamW if config.optimizer == "adamw" else torch.optim.Adam
    # fused: one kernel over all parameters instead of a dozen passes per tensor (the dense update of a
    # 30k-word embedding took 15 ms of a ~190 ms CPU step; fused, 2 ms). Same update rule.
    return cls([g for g in groups if g["params"]], lr=config.learning_rate, fused=True)


def unfreeze_for_epoch(model: torch.nn.Module, epoch: int, always_frozen: set[int]) -> None:
    """Gradual unfreezing: at epoch e (from 0) the top e+1 layer groups train; `always_frozen`
    (ids of parameters frozen on purpose, e.g. fixed pretrained vectors) stay frozen."""
    groups = layer_groups(model)
    for depth, params in enumerate(groups):
        trainable = depth >= len(groups) - 1 - epoch
        for p in params:
            p.requires_grad_(trainable and id(p) not in always_frozen)


class Trainer:
    def __init__(self, config: TrainingConfig, callbacks: list[Callback] | None = None,
                 checkpoint_dir: Path | None = None, rank: int = 0, world_size: int = 1):
        self.config = config
        self.callbacks = callbacks or []
        self.checkpoint_dir = checkpoint_dir
        self.rank, self.world_size = rank, world_size

    def fit(self, model: torch.nn.Module, train: Encoded, val: Encoded | None, resume: bool = False) -> History:
        cfg = self.config
        self.device = resolve_device(cfg.device)
        self.amp_dtype = autocast_dtype(cfg.precision, self.device)
        # fp16 needs loss scaling against underflow; bf16 and fp32 do not (the scaler is then a no-op)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp_dtype == torch.float16)
        model.to(self.device)
        self.always_frozen = {id(p) for p in model.parameters() if not p.requires_grad}
        train_lengths = train.lengths
        steps_per_epoch = len(self._batches(train_lengths, cfg.seed))
        total_steps = steps_per_epoch * cfg.epochs
        optimizer = make_optimizer(model, cfg)
        history, start_epoch, best_score, best_state, stale = History(), 0, None, None, 0

        last_dir = self.checkpoint_dir / "last" if self.checkpoint_dir else None
        if resume and last_dir is not None:
            saved = checkpoint.load_checkpoint(last_dir, model, optimizer)
            if saved is not None:
                start_epoch = saved["epoch"] + 1
                history = History.from_dict(saved["history"])
                best_score, stale = saved["best_score"], saved["stale"]
                best_path = self.checkpoint_dir / "best" / "model.safetensors"
                best_state = checkpoint.load_weights(best_path) if best_path.exists() else None

        for cb in self.callbacks:
            cb.on_train_start(total_steps, steps_per_epoch, start_epoch)
        for epoch in range(start_epoch, cfg.epochs):
            if history.stopped_early:
                break
            record = self._run_epoch(model, optimizer, train, val, epoch, steps_per_epoch, total_steps, history)
            score = _monitor_score(record, cfg.monitor)
            improved = score is not None and (best_score is None or score > best_score)
            record.improved = improved or val is None
            if improved:
                best_score, stale = score, 0
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                history.best_epoch = epoch
                if self.checkpoint_dir and self.rank == 0:
                    checkpoint.save_weights(self.checkpoint_dir / "best" / "model.safetensors", best_state)
            else:
                stale += 1
            history.epochs.append(record)
            if cfg.early_stopping_patience and val is not None and stale >= cfg.early_stopping_patience:
                history.stopped_early = True
            if last_dir is not None and self.rank == 0:
                checkpoint.save_checkpoint(last_dir, model, optimizer, {
                    "epoch": epoch, "history": history.to_dict(),
                    "best_score": best_score, "stale": stale})
            for cb in self.callbacks:
                cb.on_epoch_end(record)
        if best_state is not None:
            model.load_state_dict(best_state)  # the model ends as its best validation epoch
        for cb in self.callbacks:
            cb.on_train_end(history)
        return history

    def _batches(self, lengths: np.ndarray, seed: int) -> list[np.ndarray]:
        """This rank's batches. `batch_size` is the global batch: each of N ranks takes 1/N of it,
        so N processes make the same number of updates of the same size as one process."""
        per_rank = max(1, self.config.batch_size // self.world_size)
        return bucketed_batches(lengths, per_rank, self.config.bucket_batches * self.world_size, seed,
                                self.rank, self.world_size)

    def _run_epoch(self, model, optimizer, train: Encoded, val: Encoded | None, epoch: int,
                   steps_per_epoch: int, total_steps: int, history: History) -> EpochRecord:
        """One pass over this rank's batches. Per-step values stay on the device and reach the host
        (and the callbacks) every `log_every_steps` steps: one sync per group, none per step."""
        cfg, device = self.config, self.device
        model.train()
        if cfg.gradual_unfreezing:
            unfreeze_for_epoch(model, epoch, self.always_frozen)
        batches = self._batches(train.lengths, cfg.seed + epoch)
        targets_all = torch.from_numpy(train.targets)
        started = time.perf_counter()
        loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        correct = torch.zeros((), dtype=torch.int64, device=device)
        seen = 0
        pending: list[tuple[int, torch.Tensor, torch.Tensor, float, int]] = []
        params = [p for p in model.parameters() if p.requires_grad]
        max_norm = cfg.clip_norm if cfg.clip_norm > 0 else float("inf")
        for i, index in enumerate(batches):
            step = epoch * steps_per_epoch + i
            lr = cfg.learning_rate * learning_rate_factor(step, total_steps, cfg)
            for group in optimizer.param_groups:
                group["lr"] = lr * group.get("lr_scale", 1.0)
            tokens, lengths = collate(train.sequences, index, train.pad_to)
            tokens, lengths = to_device(tokens, device), to_device(lengths, device)
            targets = to_device(targets_all[index], device)
            with torch.autocast(device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None):
                logits = model(tokens, lengths)
            logits = logits.float()
            loss = model.loss(logits, targets)
            optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            if self.world_size > 1:
                _average_gradients(params, self.world_size)
            self.scaler.unscale_(optimizer)
            grad_norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
            self.scaler.step(optimizer)
            self.scaler.update()
            with torch.no_grad():
                loss_sum += loss.detach() * len(index)
                correct += (model.probabilities(logits).argmax(dim=-1) == targets).sum()
            seen += len(index)
            pending.append((step, loss.detach(), grad_norm.detach(), lr, len(index)))
            if len(pending) >= cfg.log_every_steps or i == len(batches) - 1:
                self._report_steps(pending, epoch, history)
                pending = []
        seconds = time.perf_counter() - started
        totals = _all_reduce_sum([float(loss_sum), int(correct), seen], self.world_size, device)
        val_loss, val_accuracy = (evaluate_loss(model, val, cfg.batch_size * 4, self.amp_dtype)
                                  if val is not None else (None, None))
        return EpochRecord(epoch, totals[0] / totals[2], totals[1] / totals[2], val_loss, val_accuracy, lr,
                           round(seconds, 2), round(totals[2] / seconds, 1), False)

    def _report_steps(self, pending: list, epoch: int, history: History) -> None:
        values = torch.stack([torch.stack([loss.float(), norm.float()]) for _, loss, norm, _, _ in pending]).tolist()
        for (step, _, _, lr, reviews), (loss, norm) in zip(pending, values):
            record = StepRecord(step, epoch, loss, norm, lr, reviews)
            history.steps.append(record)
            for cb in self.callbacks:
                cb.on_step(record)


@torch.inference_mode()
def evaluate_loss(model: torch.nn.Module, data: Encoded, batch_size: int,
                  amp_dtype: torch.dtype | None = None) -> tuple[float, float]:
    model.eval()
    device = next(model.parameters()).device
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    targets_all = torch.from_numpy(data.targets)
    for index in sorted_batches(data.lengths, batch_size):
        tokens, lengths = collate(data.sequences, index, data.pad_to)
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            logits = model(to_device(tokens, device), to_device(lengths, device))
        logits = logits.float()
        targets = to_device(targets_all[index], device)
        loss_sum += model.loss(logits, targets) * len(index)
        correct += (model.probabilities(logits).argmax(dim=-1) == targets).sum()
    model.train()
    return float(loss_sum) / len(data.targets), int(correct) / len(data.targets)


def _monitor_score(record: EpochRecord, monitor: str) -> float | None:
    if record.val_loss is None:
        return None
    return record.val_accuracy if monitor == "val_accuracy" else -record.val_loss


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
