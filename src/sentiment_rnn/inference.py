"""Inference engines: who runs the forward pass of a trained network.

- `torch`: the network itself. Always available; the reference.
- `onnx`: the same network as an ONNX graph (models/onnx_graph.py) on ONNX Runtime's CPU kernels.
  Same float32 arithmetic (probabilities agree to ~1e-7), much less fixed cost per recurrent step:
  ~5× faster for one review, ~1.5× for a batch of 256 (benchmarks/inference_engines.py, README).
- `auto` (default): `onnx` when onnxruntime is installed (the `fast` extra), else `torch`.

The engine is chosen when a model is loaded; training always uses torch.
"""

from __future__ import annotations

import numpy as np
import torch

from .config import ENGINES
from .errors import ConfigError
from .models import SentimentNet


class TorchEngine:
    name = "torch"

    def __init__(self, network: SentimentNet, threads: int = 0):
        if threads:
            torch.set_num_threads(threads)
        self.network = network.eval()

    @torch.inference_mode()
    def __call__(self, token_ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """token_ids (B, T) int64 right-padded, lengths (B,) → (B, C) float32 probabilities."""
        network = self.network
        return network.probabilities(network(torch.from_numpy(token_ids), torch.from_numpy(lengths))).numpy()


class OnnxEngine:
    name = "onnx"

    def __init__(self, network: SentimentNet, threads: int = 0):
        import onnxruntime

        from .models.onnx_graph import build_onnx

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads  # 0: one per core
        options.inter_op_num_threads = 1
        # Idle worker threads sleep instead of spinning: the service's event loop and tokenizer share
        # these cores, and spinning starves them (measured: lower throughput at 32 clients).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(build_onnx(network.eval()), options,
                                                    providers=["CPUExecutionProvider"])

    def __call__(self, token_ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        return self.session.run(["probabilities"], {"token_ids": token_ids, "lengths": lengths})[0]


def onnx_available() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "onnx"))


def make_engine(network: SentimentNet, engine: str = "auto", threads: int = 0) -> TorchEngine | OnnxEngine:
    if engine not in ENGINES:
        raise ConfigError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if threads < 0:
        raise ConfigError(f"threads must be ≥ 0 (0: one per core), got {threads}")
    if engine == "onnx" and not onnx_available():
        raise ConfigError("engine 'onnx' needs onnxruntime and onnx: pip install 'sentiment-rnn[fast]'")
    if engine == "onnx" or (engine == "auto" and onnx_available()):
        return OnnxEngine(network, threads)
    return TorchEngine(network, threads)
