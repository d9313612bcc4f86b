#!/usr/bin/env python
"""Issue-5 GPU figure: one epoch of the default config on a GPU, then the official test accuracy.

Prints one JSON object: device, precision, seconds for the epoch, training reviews/s, peak GPU
memory, test accuracy (25k official test reviews, scored on the CPU copy with the default engine).
Everything is the normal `train` path with `training.device` and `training.precision` set, so this
exercises cuDNN's recurrent kernels, autocast and pinned, non-blocking copies.

    .venv/bin/python benchmarks/gpu_epoch.py --archive ../shared/data/aclImdb_v1.tar.gz
    .venv/bin/python benchmarks/gpu_epoch.py --device cpu --limit 2000      # the same path, on CPU
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archive", default=str(ROOT.parent / "shared" / "data" / "aclImdb_v1.tar.gz"))
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"])
    parser.add_argument("--limit", type=int, help="train on N reviews (quick check)")
    parser.add_argument("--test-limit", type=int, help="score N test reviews (default: all 25k)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE")
    args = parser.parse_args()

    import torch

    from sentiment_rnn.config import ExperimentConfig
    from sentiment_rnn.pipeline import evaluate, load_reviews, train

    overrides = [f"data.archive={json.dumps(args.archive)}", "training.epochs=1", f'training.device="{args.device}"',
                 f'training.precision="{args.precision}"', *args.overrides]
    if args.limit:
        overrides.append(f"data.limit={args.limit}")
    config = ExperimentConfig.load(ROOT / "configs" / "default.toml", overrides)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        clf, summary = train(config, out)
        wall = time.perf_counter() - started
        epoch = clf.history_.epochs[0]
        test = load_reviews(config.data, "test", limit=args.test_limit)
        report = evaluate(clf.use_engine("auto"), test)
    cuda = torch.cuda.is_available() and args.device.startswith("cuda")
    print(json.dumps({
        "device": torch.cuda.get_device_name() if cuda else "cpu",
        "precision": args.precision, "torch": torch.__version__,
        "epoch_s": epoch.seconds, "train_reviews_per_s": epoch.reviews_per_s,
        "train_process_wall_s": round(wall, 1), "val_accuracy": epoch.val_accuracy,
        "test_accuracy": round(report["accuracy"], 4), "test_reviews": report["n"],
        "peak_gpu_memory_mib": round(torch.cuda.max_memory_allocated() / 2**20) if cuda else None,
    }))


if __name__ == "__main__":
    main()
