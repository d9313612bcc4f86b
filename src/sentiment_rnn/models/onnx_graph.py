"""The same network as an ONNX graph, for ONNX Runtime's CPU kernels.

Why by hand rather than `torch.onnx.export`: our encoder reaches exactness on padded batches
with gathers around unidirectional calls; ONNX's RNN/LSTM/GRU operators do the same thing
natively through `sequence_lens` (the reverse direction starts at each review's own last token),
so a direct translation is both simpler and faster than tracing our gathers. The mapping is small
and is checked against the PyTorch network for every cell, direction, merge mode and pooling
(tests/test_onnx_engine.py).

Graph inputs: `token_ids` int64 (B, T), right-padded; `lengths` int64 (B,) ≥ 1.
Graph output: `probabilities` float32 (B, C), as `SentimentNet.probabilities` returns.
"""

from __future__ import annotations

import numpy as np
from torch import nn

from .network import SentimentNet
from .wide import HASH_PRIME, WideNgrams

OPSET = 17


def _gate_order(tensor: np.ndarray, cell: str) -> np.ndarray:
    """PyTorch's gate blocks (rows) in ONNX's order: GRU r,z,n → z,r,h; LSTM i,f,g,o → i,o,f,c."""
    if cell == "gru":
        r, z, n = np.split(tensor, 3)
        return np.concatenate([z, r, n])
    if cell == "lstm":
        i, f, g, o = np.split(tensor, 4)
        return np.concatenate([i, o, f, g])
    return tensor


class _Graph:
    """Collects nodes and initializers; every helper returns the name of the output it made."""

    def __init__(self):
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes, self.initializers, self._count = [], [], 0

    def name(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def const(self, value, hint: str = "const", dtype=np.float32) -> str:
        name = self.name(hint)
        self.initializers.append(self.numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def op(self, op_type: str, inputs: list[str], outputs: int = 1, **attrs) -> str | list[str]:
        names = [self.name(op_type.lower()) for _ in range(outputs)]
        self.nodes.append(self.helper.make_node(op_type, inputs, names, **attrs))
        return names[0] if outputs == 1 else names


def _recurrent_layer(g: _Graph, x: str, lengths32: str, directions: nn.ModuleList, cell: str) -> tuple[str, str]:
    """One (bi)directional layer on x (T, B, in) → Y (T, D, B, H), Y_h (D, B, H)."""
    weights = {"W": [], "R": [], "B": []}
    for rnn in directions:
        params = {k: v.detach().cpu().numpy() for k, v in rnn.named_parameters()}
        weights["W"].append(_gate_order(params["weight_ih_l0"], cell))
        weights["R"].append(_gate_order(params["weight_hh_l0"], cell))
        weights["B"].append(np.concatenate([_gate_order(params["bias_ih_l0"], cell),
                                            _gate_order(params["bias_hh_l0"], cell)]))
    op_type = {"gru": "GRU", "lstm": "LSTM", "rnn": "RNN"}[cell]
    attrs = {"hidden_size": directions[0].hidden_size,
             "direction": "bidirectional" if len(directions) == 2 else "forward"}
    if cell == "gru":
        attrs["linear_before_reset"] = 1  # PyTorch applies the reset gate after the hidden projection
    if cell == "rnn":
        attrs["activations"] = ["Tanh"] * len(directions)
    inputs = [x] + [g.const(np.stack(weights[k]), k) for k in ("W", "R", "B")] + [lengths32]
    outputs = g.op(op_type, inputs, outputs=3 if cell == "lstm" else 2, **attrs)
    return outputs[0], outputs[1]


def _merge(g: _Graph, y: str, direction_axis: int, mode: str, bidirectional: bool) -> str:
    """Merge the direction axis of y; concat puts forward then backward features side by side."""
    if not bidirectional:
        return g.op("Squeeze", [y, g.const([direction_axis], "axis", np.int64)])
    if mode == "concat":
        # Y (T, 2, B, H) → (T, B, 2, H) → (T, B, 2H); Y_h (2, B, H) → (B, 2, H) → (B, 2H).
        perm = [0, 2, 1, 3] if direction_axis == 1 else [1, 0, 2]
        moved = g.op("Transpose", [y], perm=perm)
        shape = [0, 0, -1] if direction_axis == 1 else [0, -1]
        return g.op("Reshape", [moved, g.const(shape, "shape", np.int64)])
    forward, backward = g.op("Split", [y], outputs=2, axis=direction_axis)
    forward = g.op("Squeeze", [forward, g.const([direction_axis], "axis", np.int64)])
    backward = g.op("Squeeze", [backward, g.const([direction_axis], "axis", np.int64)])
    if mode == "mul":
        return g.op("Mul", [forward, backward])
    total = g.op("Add", [forward, backward])
    return total if mode == "sum" else g.op("Mul", [total, g.const(0.5)])


def _activation(g: _Graph, x: str, module: nn.Module) -> str:
    if isinstance(module, nn.ReLU):
        return g.op("Relu", [x])
    if isinstance(module, nn.Tanh):
        return g.op("Tanh", [x])
    # exact GELU: 0.5·x·(1 + erf(x/√2)) (the Gelu operator needs opset 20)
    erf = g.op("Erf", [g.op("Mul", [x, g.const(1 / np.sqrt(2))])])
    return g.op("Mul", [g.op("Mul", [x, g.const(0.5)]), g.op("Add", [erf, g.const(1.0)])])


def _wide(g: _Graph, wide: WideNgrams) -> str:
    """The wide part's logits (B, O), as WideNgrams.forward computes them (models/wide.py)."""
    from onnx import TensorProto

    steps = g.op("Gather", [g.op("Shape", ["token_ids"]), g.const(1, "one", np.int64)])
    lengths = g.op("Unsqueeze", ["lengths", g.const([1], "axis", np.int64)])  # (B, 1)
    ids, valid = ["token_ids"], []
    for k in range(1, wide.order + 1):
        width = g.op("Sub", [steps, g.const(k - 1, "k", np.int64)])
        positions = g.op("Range", [g.const(0, "zero", np.int64), width, g.const(1, "one", np.int64)])
        last = g.op("Add", [positions, g.const(k - 1, "k", np.int64)])  # the n-gram's last token
        valid.append(g.op("Less", [g.op("Unsqueeze", [last, g.const([0], "axis", np.int64)]), lengths]))
        if k == 1:
            continue
        h = g.const(k, "seed", np.int64)
        for j in range(k):
            end = j - (k - 1) if j < k - 1 else np.iinfo(np.int64).max
            window = g.op("Slice", ["token_ids", g.const([j], "start", np.int64), g.const([end], "end", np.int64),
                                    g.const([1], "axis", np.int64)])
            h = g.op("Mod", [g.op("Add", [g.op("Mul", [h, g.const(HASH_PRIME, "prime", np.int64)]), window]),
                             g.const(wide.buckets, "buckets", np.int64)])
        ids.append(g.op("Add", [h, g.const(wide.vocab_size, "vocab", np.int64)]))
    ids = g.op("Concat", ids, axis=1) if len(ids) > 1 else ids[0]  # (B, N)
    valid = g.op("Concat", valid, axis=1) if len(valid) > 1 else valid[0]
    idf = g.op("Mul", [g.op("Gather", [g.const(wide.idf.detach().cpu().numpy(), "wide_idf"), ids]),
                       g.op("Cast", [valid], to=TensorProto.FLOAT)])
    norm = g.op("Max", [g.op("Sqrt", [g.op("ReduceSum", [g.op("Mul", [idf, idf]), g.const([1], "axis", np.int64)],
                                           keepdims=1)]), g.const(1e-12)])
    share = g.op("Unsqueeze", [g.op("Div", [idf, norm]), g.const([2], "axis", np.int64)])  # (B, N, 1)
    rows = g.op("Gather", [g.const(wide.weight.detach().cpu().numpy(), "wide_weight"), ids])  # (B, N, O)
    total = g.op("ReduceSum", [g.op("Mul", [share, rows]), g.const([1], "axis", np.int64)], keepdims=0)
    return g.op("Add", [total, g.const(wide.bias.detach().cpu().numpy(), "wide_bias")])


def _recurrent_logits(g: _Graph, network: SentimentNet) -> str:
    """Embedding → recurrent layers → pooling → head: the recurrent part's logits (B, O)."""
    from onnx import TensorProto

    encoder, pooling = network.encoder, network.pooling
    cell = {nn.GRU: "gru", nn.LSTM: "lstm", nn.RNN: "rnn"}[type(encoder.layers[0][0])]

    token_ids = "token_ids"
    if network.reverse_input:
        token_ids = g.op("ReverseSequence", [token_ids, "lengths"], batch_axis=0, time_axis=1)
    embedded = g.op("Gather", [g.const(network.embedding.weight.detach().cpu().numpy(), "embedding"), token_ids])
    x = g.op("Transpose", [embedded], perm=[1, 0, 2])  # (T, B, E): ORT's recurrent kernels are time-major
    lengths32 = g.op("Cast", ["lengths"], to=TensorProto.INT32)
    final = None
    for directions in encoder.layers:
        y, y_h = _recurrent_layer(g, x, lengths32, directions, cell)
        x = _merge(g, y, 1, encoder.merge_mode, encoder.bidirectional)  # (T, B, D)
        final = _merge(g, y_h, 0, encoder.merge_mode, encoder.bidirectional)  # (B, D)

    # mask (T, B, 1): position < length
    steps = g.op("Gather", [g.op("Shape", ["token_ids"]), g.const(1, "one", np.int64)])
    positions = g.op("Range", [g.const(0, "zero", np.int64), steps, g.const(1, "one", np.int64)])
    mask = g.op("Less", [g.op("Unsqueeze", [positions, g.const([1], "axis", np.int64)]),
                         g.op("Unsqueeze", ["lengths", g.const([0], "axis", np.int64)])])
    mask = g.op("Unsqueeze", [mask, g.const([2], "axis", np.int64)])
    time_axis = g.const([0], "axis", np.int64)

    def masked_max(values: str) -> str:
        return g.op("ReduceMax", [g.op("Where", [mask, values, g.const(-np.inf)])], axes=[0], keepdims=0)

    def masked_mean(values: str) -> str:
        weights = g.op("Cast", [mask], to=TensorProto.FLOAT)
        total = g.op("ReduceSum", [g.op("Mul", [values, weights]), time_axis], keepdims=0)
        count = g.op("Max", [g.op("ReduceSum", [weights, time_axis], keepdims=0), g.const(1.0)])
        return g.op("Div", [total, count])

    if pooling.mode == "last":
        pooled = final
    elif pooling.mode == "max":
        pooled = masked_max(x)
    elif pooling.mode == "mean":
        pooled = masked_mean(x)
    elif pooling.mode == "attention":
        weight = pooling.attention.weight.detach().cpu().numpy().T  # (D, 1)
        scores = g.op("Add", [g.op("MatMul", [x, g.const(weight, "attention_w")]),
                              g.const(pooling.attention.bias.detach().cpu().numpy(), "attention_b")])
        scores = g.op("Where", [mask, scores, g.const(-np.inf)])
        weights = g.op("Softmax", [scores], axis=0)
        pooled = g.op("ReduceSum", [g.op("Mul", [weights, x]), time_axis], keepdims=0)
    else:  # concat
        pooled = g.op("Concat", [final, masked_max(x), masked_mean(x)], axis=-1)

    h = pooled
    for module in network.head:
        if isinstance(module, nn.Linear):
            h = g.op("Gemm", [h, g.const(module.weight.detach().cpu().numpy(), "head_w"),
                              g.const(module.bias.detach().cpu().numpy(), "head_b")], transB=1)
        elif not isinstance(module, nn.Dropout):
            h = _activation(g, h, module)
    return h


def build_onnx(network: SentimentNet) -> bytes:
    """Serialized ONNX model computing `network.probabilities(network(token_ids, lengths))`."""
    from onnx import TensorProto, helper

    g = _Graph()
    if not network.recurrent:
        h = _wide(g, network.wide)
    else:
        h = _recurrent_logits(g, network)
        if network.wide is not None:
            h = g.op("Add", [h, _wide(g, network.wide)])
    if network.multilabel:
        g.op("Sigmoid", [h])  # (B, C): each label its own probability
    elif network.num_classes == 2:
        positive = g.op("Sigmoid", [h])  # (B, 1)
        g.op("Concat", [g.op("Sub", [g.const(1.0), positive]), positive], axis=1)
    else:
        g.op("Softmax", [h], axis=-1)
    g.nodes[-1].output[0] = "probabilities"

    graph = helper.make_graph(
        g.nodes, "sentiment_rnn",
        [helper.make_tensor_value_info("token_ids", TensorProto.INT64, ["batch", "time"]),
         helper.make_tensor_value_info("lengths", TensorProto.INT64, ["batch"])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", network.num_classes])],
        g.initializers)
    opsets = [helper.make_opsetid("", OPSET)]
    # The lowest IR version the opset needs, not the onnx package's newest: an older ONNX Runtime
    # refuses a newer IR version (onnx 1.23 writes IR 14; onnxruntime 1.30 reads at most 13).
    model = helper.make_model(graph, opset_imports=opsets, ir_version=helper.find_min_ir_version_for(opsets),
                              producer_name="sentiment-rnn")
    return model.SerializeToString()

