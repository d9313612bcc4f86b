"""What happens around the training loop's steps, as callbacks: the history of steps and epochs,
early stopping on validation (keeping the best epoch's weights), checkpoints for exact resume,
gradual unfreezing. Tracking (tracking/runs.py) and the CLI's progress bar are callbacks too.

Each hook gets the loop first (what it may read and set: `LoopState`); callbacks run in list order,
after the history.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol

import torch

from ..io import load_tensors, save_tensors
from . import checkpoint
from .optim import layer_groups


class LoopState(Protocol):
    """What callbacks read and set on the loop that calls them (loop.py), named here so that this
    module, which the loop imports, does not import it back."""

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    history: History
    rank: int
    start_epoch: int
    steps_per_epoch: int
    total_steps: int


@dataclass
class StepRecord:
    step: int
    epoch: int
    loss: float
    grad_norm: float  # global L2 norm before clipping
    learning_rate: float
    reviews: int
    tokens: int = 0
    components: dict[str, float] = field(default_factory=dict)  # parts of the loss (cross_entropy, adversarial, ...)


@dataclass
class EpochRecord:
    epoch: int
    train_loss: float
    train_accuracy: float | None
    val_loss: float | None
    val_accuracy: float | None
    learning_rate: float
    seconds: float
    reviews_per_s: float
    improved: bool
    tokens_per_s: float = 0.0


class Callback:
    """Override what you need."""

    def on_train_start(self, loop: LoopState) -> None: ...
    def on_epoch_start(self, loop: LoopState, epoch: int) -> None: ...
    def on_step(self, loop: LoopState, record: StepRecord) -> None: ...
    def on_epoch_end(self, loop: LoopState, record: EpochRecord) -> None: ...
    def on_train_end(self, loop: LoopState) -> None: ...


@dataclass
class History(Callback):
    """Every step and epoch record; the loop's first callback, and what `fit` returns."""

    epochs: list[EpochRecord] = field(default_factory=list)
    steps: list[StepRecord] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False

    def on_step(self, loop, record: StepRecord) -> None:
        self.steps.append(record)

    def on_epoch_end(self, loop, record: EpochRecord) -> None:
        self.epochs.append(record)

    def to_dict(self) -> dict[str, Any]:
        names = [f.name for f in fields(StepRecord)]
        if not any(s.components for s in self.steps):
            names.remove("components")  # plain cross-entropy: no column of empty records
        return {"epochs": [asdict(e) for e in self.epochs], "best_epoch": self.best_epoch,
                "stopped_early": self.stopped_early,
                "steps": {name: [getattr(s, name) for s in self.steps] for name in names}}

    def load_dict(self, raw: dict[str, Any]) -> None:
        """Replace this history's content with a saved one (`to_dict`'s output)."""
        columns = raw["steps"]
        names = [f.name for f in fields(StepRecord) if f.name in columns]  # optional columns may be absent
        self.steps = [StepRecord(**dict(zip(names, row))) for row in zip(*(columns[n] for n in names))]
        self.epochs = [EpochRecord(**e) for e in raw["epochs"]]
        self.best_epoch, self.stopped_early = raw["best_epoch"], raw["stopped_early"]


class EarlyStopping(Callback):
    """Tracks the best validation epoch (by `monitor`): marks it in the history, keeps its weights
    and puts them back into the model when training ends; with `patience` > 0, stops after that
    many epochs without improvement. Without validation every epoch counts as improved and the
    model ends as its last epoch."""

    def __init__(self, monitor: str = "val_accuracy", patience: int = 0):
        self.monitor, self.patience = monitor, patience
        self.best_score: float | None = None
        self.stale = 0
        self.best_weights: dict[str, torch.Tensor] | None = None
        self.improved_now = False  # did the epoch that just ended improve? (checkpoints read it)

    def on_epoch_end(self, loop, record: EpochRecord) -> None:
        score = None
        if record.val_loss is not None:
            score = record.val_accuracy if self.monitor == "val_accuracy" else -record.val_loss
        self.improved_now = score is not None and (self.best_score is None or score > self.best_score)
        record.improved = self.improved_now or record.val_loss is None
        if self.improved_now:
            self.best_score, self.stale = score, 0
            self.best_weights = {k: v.detach().clone() for k, v in loop.model.state_dict().items()}
            loop.history.best_epoch = record.epoch
        else:
            self.stale += 1
        if self.patience and record.val_loss is not None and self.stale >= self.patience:
            loop.history.stopped_early = True

    def on_train_end(self, loop) -> None:
        if self.best_weights is not None:
            loop.model.load_state_dict(self.best_weights)  # the model ends as its best validation epoch

    def state_dict(self) -> dict[str, Any]:
        return {"best_score": self.best_score, "stale": self.stale}

    def load_state_dict(self, state: dict[str, Any], best_weights: dict[str, torch.Tensor] | None) -> None:
        self.best_score, self.stale, self.best_weights = state["best_score"], state["stale"], best_weights


class Checkpointing(Callback):
    """`folder/last/` after every epoch (weights, optimizer, RNG, history and early-stopping state:
    everything an exact resume needs) and `folder/best/` whenever validation improves. With
    `resume`, training continues from `last/` when it is there. Only rank 0 writes."""

    def __init__(self, folder: Path, early_stopping: EarlyStopping, resume: bool = False):
        self.folder, self.early_stopping, self.resume = Path(folder), early_stopping, resume

    def on_train_start(self, loop) -> None:
        if not self.resume:
            return
        saved = checkpoint.load_checkpoint(self.folder / "last", loop.model, loop.optimizer)
        if saved is None:
            return
        loop.start_epoch = saved["epoch"] + 1
        loop.history.load_dict(saved["history"])
        best_path = self.folder / "best" / "model.safetensors"
        best = load_tensors(best_path) if best_path.exists() else None
        self.early_stopping.load_state_dict(saved, best)

    def on_epoch_end(self, loop, record: EpochRecord) -> None:
        if loop.rank != 0:
            return
        if self.early_stopping.improved_now:
            save_tensors(self.folder / "best" / "model.safetensors", self.early_stopping.best_weights)
        checkpoint.save_checkpoint(self.folder / "last", loop.model, loop.optimizer, {
            "epoch": record.epoch, "history": loop.history.to_dict(), **self.early_stopping.state_dict()})


class GradualUnfreezing(Callback):
    """ULMFiT's gradual unfreezing: at epoch e (from 0) the top e+1 layer groups train. Parameters
    frozen before training (e.g. fixed pretrained vectors) stay frozen; all others are trainable
    again when training ends."""

    def on_train_start(self, loop) -> None:
        self.always_frozen = {id(p) for p in loop.model.parameters() if not p.requires_grad}

    def on_epoch_start(self, loop, epoch: int) -> None:
        groups = layer_groups(loop.model)
        for depth, params in enumerate(groups):
            trainable = depth >= len(groups) - 1 - epoch
            for p in params:
                p.requires_grad_(trainable and id(p) not in self.always_frozen)

    def on_train_end(self, loop) -> None:
        for p in loop.model.parameters():
            p.requires_grad_(id(p) not in self.always_frozen)
