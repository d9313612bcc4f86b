"""Where training runs and in which precision.

`training.device`: `auto` (CUDA when available, else CPU), `cpu`, `cuda` or `cuda:N`. Under torchrun
each process takes the GPU of its LOCAL_RANK. `training.precision`: `auto` (bf16 autocast on GPUs
that support it, fp16 with loss scaling on older ones; on a CPU, bf16 where it is native, else fp32),
`fp32`, `bf16` or `fp16`.
On CUDA the recurrent layers are cuDNN's (plain `nn.GRU/LSTM/RNN` calls, see models/encoder.py).
"""

from __future__ import annotations

import os

import torch

from ..errors import ConfigError


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"training.device is {name!r} but this PyTorch sees no CUDA GPU "
                              f"(torch {torch.__version__}); use training.device=cpu or auto")
        if name == "cuda":  # set_device needs an index: torchrun's LOCAL_RANK, else the current GPU
            name = f"cuda:{int(os.environ.get('LOCAL_RANK', torch.cuda.current_device()))}"
        device = torch.device(name)
        torch.cuda.set_device(device)
        torch.backends.cudnn.benchmark = True  # batch shapes repeat within length buckets
        return device
    return torch.device(name)


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype, or None for plain fp32."""
    if precision == "auto":
        if device.type == "cpu":
            return torch.bfloat16 if cpu_has_native_bf16() else None
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


def cpu_has_native_bf16() -> bool:
    """Whether oneDNN runs bf16 natively here (AVX-512 BF16 or AMX): there the LSTM layers train
    faster in bf16 autocast (weights, optimizer and the saved model stay fp32); elsewhere bf16 would
    be emulated and slower."""
    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def to_device(tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Host → device copy that does not block the host (pinned memory) on CUDA; a no-op on CPU."""
    if device.type == "cuda":
        return tensor.pin_memory().to(device, non_blocking=True)
    return tensor
