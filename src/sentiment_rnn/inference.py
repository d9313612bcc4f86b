"""Inference engines: who runs the forward pass of a trained network.

- `torch`: the network itself. Always available; the reference.
- `onnx`: the same network as an ONNX graph (models/onnx_graph.py) on ONNX Runtime's CPU kernels.
  Same float32 arithmetic (probabilities agree to ~1e-7), much less fixed cost per recurrent step,
  which matters most for one review and for GRUs, whose PyTorch CPU kernel runs step by step
  (benchmarks/inference_engines.py; figures in docs/inference.md).
- `onnx-int8`: that graph with its weights quantized to int8 by ONNX Runtime's dynamic quantization
  (LSTM layers, linear layers, the embedding table; ONNX Runtime has no quantized GRU or plain RNN, so
  for those only the embedding and head are). Activations are quantized per batch at run time, so
  it is faster on CPUs with int8 dot products (VNNI) at a small cost in accuracy (docs/inference.md).
  Not bit-identical to the network: chosen explicitly, never by `auto`.
- `auto` (default): `onnx` when onnxruntime is installed (the `fast` extra), else `torch`.

The engine is chosen when a model is loaded; training always uses torch.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from .config import ENGINES
from .errors import ConfigError
from .models import SentimentNet
from .text.batching import collate, sorted_batches

PREDICT_BATCH = 256


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
    """ONNX Runtime, one single-threaded session shared by `threads` workers.

    A batch is sorted by length and cut into one part per worker, each trimmed to its own longest
    review, and the parts run at the same time (`run` releases the GIL). This beat ONNX Runtime's
    own intra-op threads on the default model at batch 32 and 256 (docs/inference.md); one review
    runs on one thread either way. The fp32 graph is exact per review whatever its batch-mates, so splitting changes
    nothing in its results; the int8 graph quantizes activations per part.
    """

    def __init__(self, network: SentimentNet, threads: int = 0, int8: bool = False):
        import onnxruntime

        from .models.onnx_graph import build_onnx

        self.name = "onnx-int8" if int8 else "onnx"
        graph = build_onnx(network.eval())
        if int8:
            graph = quantize_int8(graph)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
        self.workers = threads or os.cpu_count() or 1
        self._pool = ThreadPoolExecutor(self.workers - 1, "onnx") if self.workers > 1 else None

    def __call__(self, token_ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        parts = min(self.workers, len(lengths))
        if parts == 1:
            return self._run(token_ids, lengths)
        order = np.argsort(lengths, kind="stable")
        pieces = np.array_split(order, parts)
        futures = [self._pool.submit(self._run_rows, token_ids, lengths, rows) for rows in pieces[1:]]
        results = [self._run_rows(token_ids, lengths, pieces[0])] + [f.result() for f in futures]
        out = np.empty((len(lengths), results[0].shape[1]), dtype=np.float32)
        for rows, result in zip(pieces, results):
            out[rows] = result
        return out

    def _run_rows(self, token_ids: np.ndarray, lengths: np.ndarray, rows: np.ndarray) -> np.ndarray:
        part_lengths = lengths[rows]
        return self._run(np.ascontiguousarray(token_ids[rows, :part_lengths.max()]), part_lengths)

    def _run(self, token_ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        return self.session.run(["probabilities"], {"token_ids": token_ids, "lengths": lengths})[0]


def quantize_int8(graph: bytes) -> bytes:
    """ONNX Runtime's dynamic quantization of a serialized graph (int8 weights, per-tensor)."""
    import logging
    import tempfile
    from pathlib import Path

    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory(prefix="sentiment-rnn-int8-") as folder:
        source, target = Path(folder) / "fp32.onnx", Path(folder) / "int8.onnx"
        source.write_bytes(graph)
        logging.disable(logging.WARNING)  # it advises a shape-inference pre-pass meant for vision models
        try:
            quantize_dynamic(source, target, weight_type=QuantType.QInt8)
        finally:
            logging.disable(logging.NOTSET)
        return target.read_bytes()


class Int8Refused(ConfigError):
    """The model's int8 quality gate failed (training/int8_gate.py): its figures say why."""

    def __init__(self, gate: dict):
        super().__init__(
            f"the int8 engine is refused for this model: it lost {gate['accuracy_drop'] * 100:.2f} points of accuracy "
            f"against fp32 on the model's {gate['reviews']} validation reviews ({gate['accuracy_fp32']:.4f} -> "
            f"{gate['accuracy_int8']:.4f}, labels agree on {gate['label_agreement'] * 100:.1f} %), over "
            f"training.int8_max_accuracy_drop = {gate['max_accuracy_drop']}; use the onnx engine")


def onnx_available() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "onnx"))


def make_engine(network: SentimentNet, engine: str = "auto", threads: int = 0,
                int8_gate: dict | None = None) -> TorchEngine | OnnxEngine:
    """The engine for `network`; `int8_gate`: the model's recorded gate figures (onnx-int8 is refused
    when they say it failed)."""
    if engine not in ENGINES:
        raise ConfigError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if threads < 0:
        raise ConfigError(f"threads must be ≥ 0 (0: one per core), got {threads}")
    if engine == "onnx-int8" and int8_gate is not None and not int8_gate.get("passed", True):
        raise Int8Refused(int8_gate)
    if engine.startswith("onnx") and not onnx_available():
        raise ConfigError(f"engine {engine!r} needs onnxruntime and onnx: pip install 'sentiment-rnn[fast]'")
    if engine.startswith("onnx") or (engine == "auto" and onnx_available()):
        return OnnxEngine(network, threads, int8=engine == "onnx-int8")
    return TorchEngine(network, threads)


def score_sequences(engine, sequences: list[np.ndarray], n_classes: int, pad_to: int | None = None,
                    batch_size: int = PREDICT_BATCH) -> np.ndarray:
    """(n, n_classes) probabilities for encoded token id sequences on `engine`, in length-sorted,
    right-padded batches (`pad_to`: tokenizer.padding = "max_length")."""
    out = np.zeros((len(sequences), n_classes), dtype=np.float32)
    if not sequences:
        return out
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    for index in sorted_batches(lengths, batch_size):
        tokens, lens = collate(sequences, index, pad_to)
        out[index] = engine(tokens, lens)
    return out
