"""Training checkpoints without pickle: tensors in safetensors, everything else in JSON.

`last/` is written at the end of every epoch, as one unit (resume continues from it); `best/`
holds the weights of the best validation epoch so far (training/callbacks.py decides when).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import torch

from ..errors import ModelError
from ..io import atomic_write_json, load_tensors, save_tensors, sha256_file


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
    """Write a checkpoint as one unit: into `folder.new`, then swapped in by renames, so a crash at
    any point leaves a complete checkpoint (the old one or the new one) to resume from. The
    progress file records the other files' digests, checked on resume."""
    staging, previous = _sibling(folder, "new"), _sibling(folder, "old")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    opt_tensors, opt_meta = flatten_optimizer(optimizer.state_dict())
    try:
        save_tensors(staging / "model.safetensors", model.state_dict())
        save_tensors(staging / "optimizer.safetensors", {**opt_tensors, "rng.torch": torch.get_rng_state()})
        digests = {name: sha256_file(staging / name) for name in TENSOR_FILES}
        # progress.json last: its presence marks a complete checkpoint.
        atomic_write_json(staging / "progress.json", {"optimizer": opt_meta, "digests": digests, **progress})
    except Exception:  # a full disk, say: the half-written new checkpoint goes, the last complete one stays
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(previous, ignore_errors=True)
    if folder.exists():
        os.replace(folder, previous)
    os.replace(staging, folder)
    shutil.rmtree(previous, ignore_errors=True)


def load_checkpoint(folder: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, Any] | None:
    """Restore from the newest complete checkpoint: `folder`, or what a crash between the renames
    left (`folder.new` when it is complete, else `folder.old`). A checkpoint whose files do not
    match the digests in its progress file is refused."""
    for candidate in (folder, _sibling(folder, "new"), _sibling(folder, "old")):
        if (candidate / "progress.json").exists():
            break
    else:
        return None
    meta = json.loads((candidate / "progress.json").read_text())
    for name, digest in meta.pop("digests", {}).items():
        if sha256_file(candidate / name) != digest:
            raise ModelError(f"{candidate / name} does not match its checkpoint's progress.json (a file from another "
                             f"write): delete {candidate} to start over")
    model.load_state_dict(load_tensors(candidate / "model.safetensors"))
    tensors = load_tensors(candidate / "optimizer.safetensors")
    torch.set_rng_state(tensors.pop("rng.torch"))
    optimizer.load_state_dict(unflatten_optimizer(tensors, meta.pop("optimizer")))
    return meta


TENSOR_FILES = ("model.safetensors", "optimizer.safetensors")


def _sibling(folder: Path, suffix: str) -> Path:
    return folder.with_name(f"{folder.name}.{suffix}")

