"""Optimiser and learning-rate schedule: AdamW (or Adam) with weight decay on matrices only and
optional discriminative rates per layer group; warm-up then linear, cosine or constant, or
ULMFiT's slanted triangle."""

from __future__ import annotations

import math
from typing import Protocol

import torch


class Schedule(Protocol):
    """The settings the loop reads: `TrainingConfig` has them all; `LanguageModelConfig` fixes the
    optimizer, schedule and layer decay as class constants."""

    epochs: int
    optimizer: str
    learning_rate: float
    weight_decay: float
    schedule: str
    warmup_fraction: float
    lr_decay_per_layer: float
    clip_norm: float
    log_every_steps: int
    device: str
    precision: str


def learning_rate_factor(step: int, total: int, config: Schedule) -> float:
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


def make_optimizer(model: torch.nn.Module, config: Schedule) -> torch.optim.Optimizer:
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
    # fused: one kernel over all parameters instead of a dozen passes per tensor, which matters for
    # the dense update of a large embedding. Same update rule.
    return cls([g for g in groups if g["params"]], lr=config.learning_rate, fused=True)
