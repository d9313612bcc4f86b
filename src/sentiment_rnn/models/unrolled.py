"""The recurrent encoder run one time step at a time, with the same weights, so that every hidden
state h_t is a tensor of its own (its gradient can be read) and the gates can be seen.

Written by hand because PyTorch's fused `nn.LSTM/GRU/RNN` kernels expose neither: they return
the outputs, not the states the backward pass flows through, and never the gates. The equations
are PyTorch's own (gate order i, f, g, o for the LSTM; r, z, n for the GRU), and
tests/diagnose/test_diagnose.py checks that this path gives the network's logits.

For clarity and exactness the unrolled path takes batches without padding (every review of a
batch cut to the same length).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

from .encoder import merge


@dataclass
class Direction:
    """One direction of one layer: its hidden state at each step (in its reading order) and gates."""

    states: list[torch.Tensor]  # T tensors (B, H); states[k] has read k + 1 tokens
    gates: dict[str, torch.Tensor] = field(default_factory=dict)  # name -> (B, T, H), reading order


def run_direction(rnn: nn.RNNBase, x: torch.Tensor) -> Direction:
    """x (B, T, I) through a single-layer unidirectional nn.RNN/LSTM/GRU, step by step."""
    batch, steps, _ = x.shape
    hidden = rnn.hidden_size
    weight_hh, bias_hh = rnn.weight_hh_l0, rnn.bias_hh_l0
    # All steps' input terms at once, then split: indexing `[:, t]` in the loop would make each
    # step's backward write a zero (B, T, ·) tensor, quadratic in T (unbind's backward stacks once).
    from_input = F.linear(x, rnn.weight_ih_l0, rnn.bias_ih_l0).unbind(1)  # T tensors (B, gates * H)
    h = x.new_zeros(batch, hidden)
    c = x.new_zeros(batch, hidden)
    states: list[torch.Tensor] = []
    gates: dict[str, list[torch.Tensor]] = {}
    for t in range(steps):
        from_state = F.linear(h, weight_hh, bias_hh)
        if isinstance(rnn, nn.LSTM):
            i, f, g, o = (from_input[t] + from_state).chunk(4, dim=-1)
            i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
            c = f * c + i * g
            h = o * torch.tanh(c)
            step_gates = {"input": i, "forget": f, "output": o}
        elif isinstance(rnn, nn.GRU):
            in_r, in_z, in_n = from_input[t].chunk(3, dim=-1)
            st_r, st_z, st_n = from_state.chunk(3, dim=-1)
            r, z = torch.sigmoid(in_r + st_r), torch.sigmoid(in_z + st_z)
            n = torch.tanh(in_n + r * st_n)
            h = (1 - z) * n + z * h
            step_gates = {"update": z, "reset": r}
        else:
            pre = from_input[t] + from_state
            h = torch.tanh(pre) if rnn.nonlinearity == "tanh" else torch.relu(pre)
            step_gates = {}
        states.append(h)
        for name, value in step_gates.items():
            gates.setdefault(name, []).append(value.detach())
    return Direction(states, {name: torch.stack(values, dim=1) for name, values in gates.items()})


@dataclass
class UnrolledPass:
    logits: torch.Tensor
    embedded: torch.Tensor  # (B, T, E), the input positions (its gradient: ∂loss/∂x_t)
    layers: list[list[Direction]]  # [layer][direction]; direction 1 reads the review backwards


def unrolled_forward(network, token_ids: torch.Tensor, keep_grad: bool = False) -> UnrolledPass:
    """The network's logits for unpadded `token_ids` (B, T), with every state kept. With
    `keep_grad`, the embedded input and every state keep their gradients after `backward()`."""
    encoder = network.encoder
    if getattr(network, "reverse_input", False):
        token_ids = token_ids.flip(1)
    embedded = network.embedding(token_ids)
    if keep_grad:  # a leaf of its own: frozen word vectors would otherwise carry no gradient to read
        embedded = embedded.detach().requires_grad_(True)
    x = embedded
    layers: list[list[Direction]] = []
    final = None
    for directions in encoder.layers:
        forward = run_direction(directions[0], x)
        runs = [forward]
        out = torch.stack(forward.states, dim=1)
        final = forward.states[-1]
        if encoder.bidirectional:
            backward = run_direction(directions[1], x.flip(1))
            runs.append(backward)
            out = merge(out, torch.stack(backward.states, dim=1).flip(1), encoder.merge_mode)
            final = merge(final, backward.states[-1], encoder.merge_mode)
        if keep_grad:
            for run in runs:
                for state in run.states:
                    state.retain_grad()
        layers.append(runs)
        x = out
    mask = torch.ones(token_ids.shape, dtype=torch.bool, device=token_ids.device)
    logits = network.head(network.pooling(x, final, mask))
    return UnrolledPass(logits, embedded, layers)
