"""DropConnect on the recurrent (hidden-to-hidden) weights, as in AWD-LSTM: during training each
forward pass uses a randomly thinned copy of every `weight_hh`, which regularises the recurrence
without touching the cuDNN/MKL kernels (the layers stay plain `nn.LSTM/GRU/RNN` calls).

Implemented as a `torch.nn.utils.parametrize` parametrization, added for training and removed
afterwards, so saved weights keep their plain names and inference never drops anything.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from torch import nn
from torch.nn.utils import parametrize


class _DropConnect(nn.Module):
    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, weight):
        return nn.functional.dropout(weight, self.p, self.training)


def _recurrent_modules(module: nn.Module):
    return [m for m in module.modules() if isinstance(m, nn.RNNBase)]


@contextlib.contextmanager
def weight_dropout(module: nn.Module, p: float) -> Iterator[None]:
    """DropConnect with probability `p` on `module`'s recurrent weights while the block runs (training).

    Add it once the module is on its device, never before: moving a recurrent layer whose weights
    are parametrized draws a fresh mask (RNNBase._apply reads its weights), which would spend
    random numbers that seeded runs must draw in the same order."""
    add_weight_dropout(module, p)
    try:
        yield
    finally:
        remove_weight_dropout(module)


def add_weight_dropout(module: nn.Module, p: float) -> None:
    if p <= 0:
        return
    for rnn in _recurrent_modules(module):
        for name in [n for n, _ in rnn.named_parameters(recurse=False) if n.startswith("weight_hh")]:
            parametrize.register_parametrization(rnn, name, _DropConnect(p))


def remove_weight_dropout(module: nn.Module) -> None:
    for rnn in _recurrent_modules(module):
        if parametrize.is_parametrized(rnn):
            for name in list(rnn.parametrizations.keys()):
                parametrize.remove_parametrizations(rnn, name, leave_parametrized=False)  # the trained weights


def plain_state_dict(module: nn.Module) -> dict:
    """state_dict with parametrized names (`x.parametrizations.weight_hh_l0.original`) made plain."""
    return {k.replace("parametrizations.", "").replace(".original", ""): v for k, v in module.state_dict().items()}
