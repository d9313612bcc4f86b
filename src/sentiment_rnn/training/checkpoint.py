"""Training checkpoints without pickle: tensors in safetensors, everything else in JSON.

`last/` is written at the end of every epoch (resume continues from it); `best/` holds the
weights of the best validation epoch so far (training/callbacks.py decides when).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from ..io import atomic_write_json, load_tensors, save_tensors


def flatten_optimizer(state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split `optimizer.state_dict()` into tensors (safetensors) and plain values (JSON)."""
    tensors, scalars = {}, {}
    for param_id, slots in state["state"].items():
        for slot, value in slots.items():
            key = f"{param_id}.{slot}"
            if torch.is_tensor(value):
                tensors[key] = value
            else:
                scalars[key] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def unflatten_optimizer(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for key, value in list(tensors.items()) + list(meta["scalars"].items()):
        param_id, slot = key.split(".", 1)
        state.setdefault(int(param_id), {})[slot] = value
    groups = [{k: tuple(v) if k == "betas" else v for k, v in g.items()} for g in meta["param_groups"]]
    return {"state": state, "param_groups": groups}


def save_checkpoint(folder: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                    progress: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    opt_tensors, opt_meta = flatten_optimizer(optimizer.state_dict())
    save_tensors(folder / "model.safetensors", model.state_dict())
    save_tensors(folder / "optimizer.safetensors", {**opt_tensors, "rng.torch": torch.get_rng_state()})
    # progress.json last: its presence marks a complete checkpoint.
    atomic_write_json(folder / "progress.json", {"optimizer": opt_meta, **progress})


def load_checkpoint(folder: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, Any] | None:
    if not (folder / "progress.json").exists():
        return None
    meta = json.loads((folder / "progress.json").read_text())
    model.load_state_dict(load_tensors(folder / "model.safetensors"))
    tensors = load_tensors(folder / "optimizer.safetensors")
    torch.set_rng_state(tensors.pop("rng.torch"))
    optimizer.load_state_dict(unflatten_optimizer(tensors, meta.pop("optimizer")))
    return meta
