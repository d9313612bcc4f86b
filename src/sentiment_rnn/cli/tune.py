"""`sentiment-rnn tune`: hyper-parameter search on Optuna (tuning/study.py); every process is a worker."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .options import DATA_FLAGS, add_data_flags, add_settings, add_tracking_uri, overrides, usage_error

HELP = "Search settings on the validation split (Optuna); many workers can share one study."
EXAMPLES = """examples:
  sentiment-rnn tune --archive ARCHIVE --limit 5000 --trials 20 --out tune/imdb
  sentiment-rnn tune --train-file reviews.csv --time-budget 30m --out tune/mine --space space.toml
  sentiment-rnn tune --train-file reviews.csv --time-budget 2h --out tune/w1 \\
      --storage postgresql://USER@HOST/DB --study mine          # one worker of many: run it on each machine
  sentiment-rnn train --config tune/mine/best.toml --train-file reviews.csv --out models/tuned
"""
# The data flags, as `train` has them: where the data is, never written into best.toml.
FLAGS = (*DATA_FLAGS, ("epochs", "training.epochs"))


def add_parser(command) -> None:
    tune = command("tune", HELP, EXAMPLES, run)
    tune.add_argument("--out", required=True, help="study folder: OUT/model (the best trial's model), OUT/best.toml, "
                                                   "OUT/study.json, OUT/plots, and OUT/study.db without --storage")
    add_settings(tune, "settings are the base every trial starts from", "training.epochs=4")
    tune.add_argument("--space", help="search space (TOML: [model] hidden_size = {low = 32, high = 256, log = true}, "
                                      "cell = [\"lstm\", \"gru\"]...); default: the shipped space (docs/tuning.md)")
    budget = tune.add_argument_group("how long (at least one)")
    budget.add_argument("--trials", type=int, help="stop when the study holds this many finished trials (complete or "
                                                   "pruned), counting every worker's")
    budget.add_argument("--time-budget", metavar="DURATION", help="start no trial after this long, e.g. 30m, 2h, 900s")
    study = tune.add_argument_group("the study (Optuna)")
    study.add_argument("--storage", help="study database: sqlite:///FILE or postgresql://USER@HOST/DB (shared by "
                                         "workers); default: OUT/study.db")
    study.add_argument("--study", help="study name: the same name resumes the study (default: OUT's folder name)")
    study.add_argument("--pruner", choices=["median", "hyperband", "none"], default="median",
                       help="stop poor trials after an epoch (default median)")
    study.add_argument("--heartbeat", type=int, default=30, metavar="SECONDS",
                       help="a running trial's heartbeat; one silent for twice this (a killed worker) is marked failed")
    study.add_argument("--sampler-seed", type=int, help="seed of the TPE sampler (repeatable draws)")
    data = tune.add_argument_group("data (as for train)")
    add_data_flags(data)
    data.add_argument("--epochs", type=int, help="= training.epochs, for every trial")
    tracking = tune.add_argument_group("tracking (MLflow)")
    add_tracking_uri(tracking, "MLflow store or server (as for train)")
    tracking.add_argument("--experiment", default="sentiment-rnn", help="MLflow experiment name")
    tracking.add_argument("--register", metavar="MODEL_NAME", help="register the best trial's model under this name")
    tracking.add_argument("--no-track", action="store_true", help="write nothing to MLflow")
    tune.add_argument("--json", action="store_true", help="print the study's summary as one JSON object at the end")


def run(args) -> int:
    from ..tuning.space import SearchSpace
    from ..tuning.study import TuneRequest, parse_duration, run_study

    import importlib.util

    if importlib.util.find_spec("optuna") is None:
        return usage_error("tune needs Optuna: pip install 'sentiment-rnn[tune]'")
    if args.trials is None and args.time_budget is None:
        return usage_error("give --trials N, --time-budget DURATION, or both")
    if args.trials is not None and args.trials < 1:
        return usage_error(f"--trials must be at least 1, got {args.trials}")
    if args.heartbeat < 1:
        return usage_error(f"--heartbeat must be at least 1 second, got {args.heartbeat}")
    if args.no_track and (args.tracking_uri or args.register):
        return usage_error("--no-track cannot be combined with --tracking-uri or --register")
    request = TuneRequest(out=Path(args.out), base_config=args.config, overrides=list(args.overrides),
                          # overrides() lists the --set items first: the flags alone follow them
                          flags=overrides(args, FLAGS)[len(args.overrides):], space=SearchSpace.load(args.space),
                          trials=args.trials, time_budget_s=parse_duration(args.time_budget) if args.time_budget else None,
                          storage=args.storage, study_name=args.study, pruner=args.pruner, heartbeat_s=args.heartbeat,
                          seed=args.sampler_seed, tracking_uri=args.tracking_uri, experiment=args.experiment,
                          register=args.register, track=not args.no_track)
    summary = run_study(request, say=lambda line: print(line, file=sys.stderr, flush=True))
    best = summary.get("best")
    if args.json:
        print(json.dumps({k: v for k, v in summary.items() if k != "trials"}))
    elif best:
        kept = summary.get("model_folder_trial")
        print(f"best trial {best['number']}: {summary['monitor']} {best['value']:.4f} with "
              + ", ".join(f"{k}={v!r}" for k, v in best["params"].items()))
        print(f"settings: {Path(args.out) / 'best.toml'} (sentiment-rnn train --config it)")
        if kept == best["number"]:
            print(f"model: {Path(args.out) / 'model'}")
        elif kept is not None:
            print(f"model: {Path(args.out) / 'model'} holds trial {kept}, this worker's best; the study's best ran "
                  f"on worker {next((t['worker'] for t in summary['trials'] if t['number'] == best['number']), '?')}")
        if "registered_version" in summary:
            print(f"registered {args.register} version {summary['registered_version']}")
    else:
        print(f"no trial completed ({summary['trials_failed']} failed, {summary['trials_pruned']} pruned)")
    return 0 if best else 1

