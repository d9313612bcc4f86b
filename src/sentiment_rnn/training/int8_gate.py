"""The quality gate on int8: at the end of training the int8 engine is compared with the fp32 one on
the validation part (reviews the model was not fitted on), and allowed only if it costs at most
`training.int8_max_accuracy_drop` of accuracy there. The figures go into the model folder
(config.json, `int8`), so that loading a model with `onnx-int8` can refuse it, naming them, and
`serve` can fall back to fp32 saying why.

Why a gate: ONNX Runtime's dynamic quantization is per tensor; on most of our models it changes
a handful of answers in a thousand, but nothing guarantees that for a given model (an outlier
weight widens the quantization step for the whole tensor), and users of int8 engines report such
cliffs. Measuring on the model's own validation part costs a few seconds.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..calibration import report
from ..models import SentimentNet
from .classification import Encoded


def int8_gate(network: SentimentNet, val: Encoded, thresholds: list[float] | None, max_drop: float) -> dict[str, Any]:
    """fp32 against int8 on `val`: label agreement, accuracy (subset accuracy for multi-label, at
    `thresholds`), ECE, their deltas, and whether int8 passes."""
    from ..inference import OnnxEngine, score_sequences

    started = time.perf_counter()
    outputs = network.num_classes
    proba = {name: score_sequences(OnnxEngine(network, threads=1, int8=name == "int8"), val.sequences, outputs,
                                   val.pad_to)
             for name in ("fp32", "int8")}
    if network.multilabel:
        cut = np.asarray(thresholds)[None, :]
        decided = {name: p >= cut for name, p in proba.items()}
        truth = val.targets > 0.5
        agreement = float((decided["fp32"] == decided["int8"]).all(axis=1).mean())
        accuracy = {name: float((d == truth).all(axis=1).mean()) for name, d in decided.items()}
    else:
        decided = {name: p.argmax(axis=1) for name, p in proba.items()}
        agreement = float((decided["fp32"] == decided["int8"]).mean())
        accuracy = {name: float((d == val.targets).mean()) for name, d in decided.items()}
    ece = {name: report(p, val.targets, network.multilabel)["ece"] for name, p in proba.items()}
    drop = accuracy["fp32"] - accuracy["int8"]
    return {"reviews": len(val.sequences), "fitted_on": "validation", "label_agreement": round(agreement, 5),
            "accuracy_fp32": round(accuracy["fp32"], 5), "accuracy_int8": round(accuracy["int8"], 5),
            "accuracy_drop": round(drop, 5), "ece_fp32": round(ece["fp32"], 5), "ece_int8": round(ece["int8"], 5),
            "max_accuracy_drop": max_drop, "passed": bool(drop <= max_drop + 1e-12),
            "seconds": round(time.perf_counter() - started, 1)}

