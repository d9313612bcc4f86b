#!/usr/bin/env python
"""Issue-5 GPU figure: one epoch of the default config on a GPU, then the official test accuracy.

Prints one JSON object: device, precision, seconds for the epoch, training reviews/s, peak GPU
memory, test accuracy (25k official test reviews, scored on the CPU copy with the default engine).
Everything is the normal `train` path with `training.device` and `training.precision` set, so this
exercises cuDNN's recurrent kernels, autocast and pinned, non-blocking copies.

    .venv/bin/python benchmarks/gpu_epoch.py --archive ../shared/data/aclImdb_v1.tar.gz
    .venv/bin/python benchmarks/gpu_epoch.py --device cpu --limit 2000      # the same path, on CPU
    .venv/bin/python benchmarks/gpu_epoch.py --epochs 8 --sync-check        # the whole default recipe

`--sync-check` runs the training under `torch.cuda.set_sync_debug_mode("warn")` and reports every
place that made the host wait for the GPU, with counts: per-step sites would show up with about one
count per step, the intended ones (step records every `log_every_steps`, epoch totals) far fewer.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archive", default=str(ROOT.parent / "shared" / "data" / "aclImdb_v1.tar.gz"))
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"])
    parser.add_argument("--epochs", type=int, default=1, help="training.epochs (default 1: the issue's figure)")
    parser.add_argument("--sync-check", action="store_true", help="count host-device syncs during training")
    parser.add_argument("--limit", type=int, help="train on N reviews (quick check)")
    parser.add_argument("--test-limit", type=int, help="score N test reviews (default: all 25k)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE")
    args = parser.parse_args()

    import torch

    from sentiment_rnn.config import ExperimentConfig
    from sentiment_rnn.pipeline import evaluate, load_reviews, train

    overrides = [f"data.archive={json.dumps(args.archive)}", f"training.epochs={args.epochs}",
                 f'training.device="{args.device}"', f'training.precision="{args.precision}"', *args.overrides]
    if args.limit:
        overrides.append(f"data.limit={args.limit}")
    config = ExperimentConfig.load(ROOT / "configs" / "default.toml", overrides)
    cuda = torch.cuda.is_available() and args.device.startswith("cuda")
    syncs: list[warnings.WarningMessage] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        with count_syncs(syncs) if args.sync_check and cuda else contextlib.nullcontext():
            clf, summary = train(config, out)
        wall = time.perf_counter() - started
        epochs = clf.history_.epochs
        test = load_reviews(config.data, "test", limit=args.test_limit)
        report = evaluate(clf.use_engine("auto"), test)
    result = {
        "device": torch.cuda.get_device_name() if cuda else "cpu",
        "precision": args.precision, "torch": torch.__version__,
        "cudnn": torch.backends.cudnn.version() if cuda else None, "epochs": len(epochs),
        "epoch_s": epochs[0].seconds, "train_reviews_per_s": epochs[0].reviews_per_s,
        "epoch_s_all": [e.seconds for e in epochs], "val_accuracy_all": [e.val_accuracy for e in epochs],
        "train_process_wall_s": round(wall, 1), "val_accuracy": epochs[-1].val_accuracy,
        "best_epoch": clf.history_.best_epoch,
        "test_accuracy": round(report["accuracy"], 4), "test_reviews": report["n"],
        "peak_gpu_memory_mib": round(torch.cuda.max_memory_allocated() / 2**20) if cuda else None,
    }
    if args.sync_check and cuda:
        sites = collections.Counter(f"{Path(w.filename).name}:{w.lineno}" for w in syncs)
        result["steps"] = len(clf.history_.steps)
        result["syncs"] = dict(sites.most_common())
    print(json.dumps(result))


@contextlib.contextmanager
def count_syncs(into: list):
    """Collect PyTorch's warning for every operation that waits for the GPU."""
    import torch

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            yield
        finally:
            torch.cuda.set_sync_debug_mode("default")
            into.extend(w for w in caught if "synchroniz" in str(w.message))


if __name__ == "__main__":
    main()
