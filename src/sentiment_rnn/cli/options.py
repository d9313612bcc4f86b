"""Options that several commands share, declared once, and the small helpers every command uses."""

from __future__ import annotations

import argparse
import json
import sys

MODEL_HELP = "model folder, runs:/RUN_ID/model, models:/NAME/VERSION or models:/NAME@ALIAS"
ENGINE_HELP = ("inference engine: torch, onnx (ONNX Runtime), onnx-int8 (ONNX Runtime, int8 weights), or auto "
               "(onnx when installed)")
THREADS_HELP = "inference threads (0: one per core)"
LABEL_NAMES_HELP = ("names of numeric labels: a file with one name per line, line n (from 0) naming label n "
                    "(= data.label_names)")
LABEL_SEPARATOR_HELP = ("several labels per row, separated by this in the label column, e.g. ',' (multi-label; "
                        "= data.label_separator)")
LABEL_COLUMNS_HELP = ("multi-label as one 0/1 column per label: the columns, comma-separated, e.g. anger,joy "
                      "(= data.label_columns)")


def column_list(value: str) -> list[str]:
    return [name.strip() for name in value.split(",") if name.strip()]


ARCHIVE_HELP = "IMDB archive (.tar.gz) or extracted folder (= data.archive; default: $SENTIMENT_RNN_IMDB, else the download)"


# The data flags `train` and `tune` share, and the setting each one sets.
DATA_FLAGS = (("archive", "data.archive"), ("train_file", "data.train_file"),
              ("validation_file", "data.validation_file"), ("text_column", "data.text_column"),
              ("label_column", "data.label_column"), ("label_names", "data.label_names"),
              ("label_separator", "data.label_separator"), ("label_columns", "data.label_columns"),
              ("limit", "data.limit"))


def add_data_flags(parser) -> None:
    """Where the labelled data is and how to read it (DATA_FLAGS)."""
    parser.add_argument("--archive", help=ARCHIVE_HELP)
    parser.add_argument("--train-file", help="train on a CSV/JSONL/Parquet file instead of IMDB (= data.train_file)")
    parser.add_argument("--validation-file", help="validate on this labelled file (same columns) instead of a part "
                                                  "of the training data (= data.validation_file)")
    parser.add_argument("--text-column", help="text column of --train-file (= data.text_column; default review)")
    parser.add_argument("--label-column", help="label column of --train-file (= data.label_column; default sentiment)")
    parser.add_argument("--label-names", metavar="FILE", help=LABEL_NAMES_HELP)
    parser.add_argument("--label-separator", metavar="SEP", help=LABEL_SEPARATOR_HELP)
    parser.add_argument("--label-columns", metavar="NAMES", type=column_list, help=LABEL_COLUMNS_HELP)
    parser.add_argument("--limit", type=int, help="use N training reviews, class-balanced and seeded (= data.limit)")


def usage_error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def add_tracking_uri(parser: argparse.ArgumentParser, what: str = "MLflow store for runs:/ and models:/ references"):
    parser.add_argument("--tracking-uri", help=what)


def add_model(parser: argparse.ArgumentParser) -> None:
    """The positional MODEL and the store that resolves registry references."""
    parser.add_argument("model", help=MODEL_HELP)
    add_tracking_uri(parser)


def add_settings(parser: argparse.ArgumentParser, sections: str, example: str) -> None:
    """--config and --set: a TOML file and single settings, under the names config.py gives them."""
    parser.add_argument("--config", help=f"TOML config file (see configs/); its {sections} settings are used, "
                                         f"defaults apply to what it leaves out")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help=f"override one setting, e.g. --set {example} (repeatable)")


def add_engine(parser: argparse.ArgumentParser) -> None:
    from ..config import ENGINES

    parser.add_argument("--ensemble", action="append", default=[], metavar="MODEL",
                        help="average with this model's probabilities (e.g. the backward model of a forward one; "
                             "repeatable)")
    parser.add_argument("--engine", choices=ENGINES, default="auto", help=ENGINE_HELP + "; default auto")
    parser.add_argument("--threads", type=int, default=0, help=THREADS_HELP)


def add_json(parser: argparse.ArgumentParser, what: str = "print one JSON object") -> None:
    parser.add_argument("--json", action="store_true", help=what)


def overrides(args, flag_settings: tuple[tuple[str, str], ...]) -> list[str]:
    """`--set` values, then the shortcut flags a command has, as SECTION.KEY=VALUE (the flag wins over
    --config, like --set)."""
    values = list(getattr(args, "overrides", []))
    for flag, setting in flag_settings:
        value = getattr(args, flag, None)
        if value is not None:
            values.append(f"{setting}={json.dumps(value)}")
    return values


def experiment(args, flag_settings: tuple[tuple[str, str], ...]):
    """The settings of a command: its --config file, then --set, then its shortcut flags."""
    from ..config import ExperimentConfig

    return ExperimentConfig.load(getattr(args, "config", None), overrides(args, flag_settings))


def load_models(args):
    """The model, or the ensemble of it and every --ensemble model."""
    from ..classifier import SentimentClassifier
    from ..tracking.registry import resolve

    models = [SentimentClassifier.load(resolve(ref, args.tracking_uri).folder, args.engine, args.threads)
              for ref in [args.model, *args.ensemble]]
    if len(models) == 1:
        return models[0]
    from ..ensemble import Ensemble

    return Ensemble(models)


def update_card(model: str, **recorded) -> None:
    """Record an evaluation or check results in a model folder's card (model_card.py), when MODEL is
    a folder on disk (not a runs:/ or models:/ reference); a folder that cannot be written is said
    so on stderr and left as it was."""
    from pathlib import Path

    from ..folder import update_card

    folder = Path(model)
    if not folder.is_dir():
        return
    try:
        update_card(folder, **recorded)
    except OSError as exc:
        print(f"note: the model card in {folder} was not updated ({exc.strerror or exc})", file=sys.stderr)
