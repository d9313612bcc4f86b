"""What a model remembers of one review, word by word: its prediction after each prefix (what the
forward reading has seen), after each suffix (the backward reading), its gates at each word, and
the words that moved the prediction most."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..models.unrolled import unrolled_forward

# The tutorial's example: the opening reads negative, the ending decides.
ARTICLE_SENTENCE = ("The movie was quite slow and some of the characters were rather boring, but overall it was a "
                    "very interesting movie.")


def memory(clf, text: str = ARTICLE_SENTENCE, movers: int = 5, engine=None) -> dict[str, Any]:
    """`engine`: the inference engine scoring the prefixes and suffixes (default: the classifier's)."""
    clf.encode([text])  # validates the text like every prediction path
    ids, tokens = clf.tokenizer_.encode_with_surface(clf.cleaner(text))
    ids = np.asarray(ids)
    full = clf.probabilities([ids], engine=engine)[0]
    # Followed: the positive class of a binary model, else the class the whole review gets.
    followed = 1 if len(clf.classes_) == 2 else int(full.argmax())
    prefixes = clf.probabilities([ids[:k] for k in range(1, len(ids) + 1)], engine=engine)[:, followed]
    suffixes = clf.probabilities([ids[len(ids) - k:] for k in range(1, len(ids) + 1)], engine=engine)[:, followed]
    # p before the first word: no evidence, 1 / number of classes.
    steps = np.diff(np.concatenate([[1 / len(clf.classes_)], prefixes]))
    order = np.argsort(-np.abs(steps))[:movers]
    network = clf.network_
    network.eval()
    with torch.no_grad():
        run = unrolled_forward(network, torch.as_tensor(ids)[None])
    gates = {name: value[0].mean(dim=-1).tolist() for name, value in run.layers[0][0].gates.items()}
    return {
        "text": text, "class": clf.classes_[followed], "tokens": list(tokens),
        "probability": prefixes.tolist(), "probability_backward": suffixes.tolist(),
        "final_probability": float(full[followed]),
        "gates": gates,  # first layer, forward direction, mean over units, per word
        "movers": [{"token": tokens[i], "position": int(i), "change": float(steps[i])} for i in order],
    }
