"""`sentiment-rnn pretrain-embeddings` and `pretrain-lm`: word vectors, or a recurrent language
model, learned on unlabeled and training reviews, to start a classifier from."""

from __future__ import annotations

import json
import sys

from .options import ARCHIVE_HELP, add_json, add_settings, experiment
from .progress import DownloadProgress

UNLABELED_HELP = ("learn from this file (CSV/JSONL/Parquet `review` column, or plain lines; any language) instead of "
                  "the archive (= data.unlabeled_file)")


def add_parser(command) -> None:
    vectors = command("pretrain-embeddings", "Train word vectors (word2vec or fastText) on the unlabeled and training "
                                             "reviews, for model.pretrained_embeddings.", """examples:
  sentiment-rnn pretrain-embeddings --archive ARCHIVE --out vectors/imdb-w2v128.txt
  sentiment-rnn pretrain-embeddings --archive ARCHIVE --out vectors/ft.txt --set embeddings.algorithm=fasttext
  sentiment-rnn train --config configs/word-vectors.toml --archive ARCHIVE --out models/w2v
""", run_embeddings)
    vectors.add_argument("--out", required=True, help="vectors file to write (word2vec text format)")
    add_settings(vectors, "[text] cleaning and [embeddings]", "embeddings.dim=100")
    vectors.add_argument("--archive", help=ARCHIVE_HELP)
    vectors.add_argument("--limit", type=int, help="the first N reviews only (quick trials)")
    vectors.add_argument("--seed", type=int, help="= embeddings.seed")
    vectors.add_argument("--unlabeled-file", help=UNLABELED_HELP)
    add_json(vectors, "print the summary as one JSON object")

    lm = command("pretrain-lm", "Train a recurrent language model on the unlabeled and training reviews "
                                "(ULMFiT-style); train --init-encoder then fine-tunes it as a classifier.", """examples:
  sentiment-rnn pretrain-lm --config configs/ulmfit-cpu.toml --archive ARCHIVE --out lm-fwd
  sentiment-rnn pretrain-lm --config configs/ulmfit-cpu.toml --archive ARCHIVE --direction backward --out lm-bwd
  sentiment-rnn train --config configs/ulmfit-cpu.toml --init-encoder lm-fwd --archive ARCHIVE --out clf-fwd
  sentiment-rnn evaluate clf-fwd --ensemble clf-bwd --archive ARCHIVE
""", run_lm)
    lm.add_argument("--out", required=True, help="encoder folder to write")
    add_settings(lm, "[lm], [text] and [tokenizer]", "lm.direction=backward")
    lm.add_argument("--archive", help=ARCHIVE_HELP)
    lm.add_argument("--direction", choices=["forward", "backward"], help="= lm.direction")
    lm.add_argument("--epochs", type=int, help="= lm.epochs")
    lm.add_argument("--limit", type=int, help="= lm.limit (the first N reviews; quick trials)")
    lm.add_argument("--unlabeled-file", help=UNLABELED_HELP)
    add_json(lm, "print the summary as one JSON object")


def run_embeddings(args) -> int:
    from ..pipeline import pretrain_embeddings

    config = experiment(args, (("archive", "data.archive"), ("seed", "embeddings.seed"),
                               ("unlabeled_file", "data.unlabeled_file")))
    summary = pretrain_embeddings(config, args.out, args.limit, progress=None if args.json else DownloadProgress())
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"wrote {summary['words']} {summary['dim']}-d {summary['algorithm']} vectors to {summary['out']} "
              f"({summary['reviews']} reviews, {summary['tokens']} tokens, {summary['seconds']:.0f} s); train with "
              f"--set model.pretrained_embeddings={summary['out']}")
    return 0


def run_lm(args) -> int:
    from ..lm.pretrain import pretrain_lm

    config = experiment(args, (("archive", "data.archive"), ("direction", "lm.direction"), ("epochs", "lm.epochs"),
                               ("limit", "lm.limit"), ("unlabeled_file", "data.unlabeled_file")))
    summary = pretrain_lm(config, args.out, _report_lm_progress)
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"wrote the {summary['direction']} encoder to {summary['out']} ({summary['reviews']} reviews, "
              f"{summary['seconds']:.0f} s); fine-tune with: sentiment-rnn train --init-encoder {summary['out']} ...")
    return 0


def _report_lm_progress(event: dict) -> None:
    """Progress on stderr (also with --json, which keeps stdout for the summary)."""
    if "val_perplexity" in event:
        print(f"epoch {event['epoch']}: train loss {event['train_loss']:.3f} ({event['train_loss_kind']})  "
              f"val perplexity {event['val_perplexity']:.1f}  {event['seconds']:.0f} s  "
              f"{event['tokens_per_s']} tokens/s", file=sys.stderr)
    else:
        print(f"epoch {event['epoch']} step {event['step']}/{event['steps']}: loss {event['train_loss']:.3f}  "
              f"{event['tokens_per_s']} tokens/s", file=sys.stderr)
