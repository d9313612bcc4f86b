#!/usr/bin/env python
"""Issue-6 figures: language-model pretraining → fine-tuning → test accuracy, per direction, and
the forward + backward ensemble. Every step is the CLI in its own process, timed:

    sentiment-rnn pretrain-lm --config CONFIG --direction D --out WORK/lm-D
    sentiment-rnn train --config CONFIG --init-encoder WORK/lm-D --out WORK/clf-D --no-track
    sentiment-rnn evaluate WORK/clf-D --split test        (and --ensemble WORK/clf-backward)

Prints one JSON object per step and `RESULT_JSON {...}` last. The test split is only scored, never
used for a choice (the LM's validation and the classifier's best epoch use held-out train reviews).

    # GPU (docs/pretraining.md has the time per LM epoch): run the
    # directions as separate commands (--directions forward; then --directions backward --ensemble-with
    # WORK/clf-forward)
    .venv/bin/python benchmarks/lm_pipeline.py --config configs/ulmfit.toml --directions forward
    # 2-core CPU budget (about 15 minutes per direction)
    .venv/bin/python benchmarks/lm_pipeline.py --config configs/ulmfit-cpu.toml --directions forward backward
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(step: str, args: list[str], log: Path) -> dict:
    """One CLI step; its stderr (progress) goes to `log` as it runs."""
    started = time.perf_counter()
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as err:
        proc = subprocess.run([sys.executable, "-m", "sentiment_rnn", *args], stdout=subprocess.PIPE, stderr=err,
                              text=True)
    stdout = proc.stdout
    if proc.returncode != 0:
        raise SystemExit(f"{step} failed: sentiment-rnn {' '.join(args)}\n{log.read_text()[-3000:]}")
    result = {"step": step, "wall_s": round(time.perf_counter() - started, 1)}
    last = stdout.strip().splitlines()[-1] if stdout.strip() else ""
    if last.startswith("{"):
        result["output"] = json.loads(last)
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(ROOT / "configs" / "ulmfit-cpu.toml"))
    parser.add_argument("--archive", default=str(ROOT.parent / "shared" / "data" / "aclImdb_v1.tar.gz"))
    parser.add_argument("--directions", nargs="+", default=["forward", "backward"], choices=["forward", "backward"])
    parser.add_argument("--workdir", default="lm-runs", help="encoders and classifiers are kept here")
    parser.add_argument("--ensemble-with", help="a classifier folder from an earlier run to ensemble with")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE")
    args = parser.parse_args()

    work = Path(args.workdir)
    common = ["--config", args.config, "--archive", args.archive, *[x for o in args.overrides for x in ("--set", o)]]
    summary: dict = {"config": args.config, "directions": {}}
    classifiers = []
    for direction in args.directions:
        lm = run(f"pretrain-lm {direction}", ["pretrain-lm", *common, "--direction", direction,
                                              "--out", str(work / f"lm-{direction}"), "--json"],
                 work / f"pretrain-lm-{direction}.log")
        clf_dir = work / f"clf-{direction}"
        train = run(f"train {direction}", ["train", *common, "--init-encoder", str(work / f"lm-{direction}"),
                                           "--out", str(clf_dir), "--overwrite", "--no-track", "--quiet"],
                    work / f"train-{direction}.log")
        test = run(f"evaluate {direction}", ["evaluate", str(clf_dir), "--archive", args.archive, "--split", "test",
                                             "--json"], work / f"evaluate-{direction}.log")
        metrics = json.loads((clf_dir / "metrics.json").read_text())["training"]
        epochs = lm["output"]["epochs"]
        summary["directions"][direction] = {
            "lm_wall_s": lm["wall_s"], "lm_val_perplexity": epochs[-1]["val_perplexity"],
            "lm_tokens_per_s": epochs[-1]["tokens_per_s"], "train_wall_s": train["wall_s"],
            "val_accuracy": metrics.get("val_accuracy"), "test_accuracy": round(test["output"]["accuracy"], 4),
            "total_wall_s": round(lm["wall_s"] + train["wall_s"], 1)}
        classifiers.append(clf_dir)
    if args.ensemble_with:
        classifiers.append(Path(args.ensemble_with))
    if len(classifiers) >= 2:
        ensemble = run("evaluate ensemble", ["evaluate", str(classifiers[0]), "--archive", args.archive, "--split",
                                             "test", "--json", *[x for c in classifiers[1:] for x in ("--ensemble", str(c))]],
                       work / "evaluate-ensemble.log")
        summary["ensemble_test_accuracy"] = round(ensemble["output"]["accuracy"], 4)
    print("RESULT_JSON " + json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
