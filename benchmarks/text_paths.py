#!/usr/bin/env python
"""The default cleaning rules run inside HuggingFace `tokenizers` (Rust) against our text path (issue 27).

The rules of the default `text.pipeline` are mapped onto `tokenizers` normalizers and
pre-tokenizers as closely as they go (`native_tokenizer`), with the model's own vocabulary, and
both paths encode the same texts:
- equivalence: the tokens of every text, ours (`Cleaner`, then a whitespace split) against the
  library's (`normalize_str`, then `pre_tokenize_str`), on the corpora named; the texts that differ
  are counted by cause, with examples;
- speed: reviews/s of raw text to token ids, ours (`TextPipeline.encode`, the fused path, chunk
  cache warm) and the library's (`encode_batch_fast`, parallel over the cores), median of
  `--rounds`, interleaved.

What does not map, and so stays in Python in the library's path too: `unescape_html` (2,231 named
references and numeric ones; `Replace` takes literal text), the collapse of repeated non-ASCII marks
("★★★" → "★"; `Replace` has no back-references, ASCII marks get one rule each), and Python's
final-sigma lowercasing. Prints `RESULT_JSON {...}`.

    .venv/bin/python benchmarks/text_paths.py --imdb-splits train test unsup --waimai --goemotions
"""

from __future__ import annotations

import argparse
import html
import json
import random
import re
import statistics
import string
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from recipe import machine  # noqa: E402  (sibling benchmark script)

WORD = r"[\p{L}\p{N}\p{M}_]"  # Python's \w, and the combining marks our rule keeps inside a word
TYPOGRAPHIC = {"‘": "'", "’": "'", "‚": "'", "‛": "'", "“": '"', "”": '"', "„": '"', "–": "-", "—": "-", "―": "-",
               "…": "..."}


def native_tokenizer(vocabulary: dict[str, int], stopwords: frozenset[str]):
    """The default pipeline (strip_html, normalize_unicode, lowercase, split_unspaced_scripts,
    separate_punctuation, remove_stopwords) as one `tokenizers.Tokenizer`."""
    from tokenizers import Regex, Tokenizer, models
    from tokenizers import normalizers as n
    from tokenizers import pre_tokenizers as p

    from sentiment_rnn.text.scripts import _UNSPACED

    marks = [c for c in string.punctuation if c not in "'_"]
    tokenizer = Tokenizer(models.WordLevel(vocabulary, unk_token="<oov>"))
    tokenizer.normalizer = n.Sequence([
        n.Replace(Regex(r"<[^>]{0,200}>"), " "), n.NFKC(),
        *(n.Replace(a, b) for a, b in TYPOGRAPHIC.items()), n.Lowercase(),
        *(n.Replace(Regex(re.escape(m) + "{2,}"), m) for m in marks),  # "!!!" → "!"
    ])
    stop = "|".join(re.escape(w) for w in sorted(stopwords, key=len, reverse=True))
    tokenizer.pre_tokenizer = p.Sequence([
        p.Split(Regex(_UNSPACED.pattern), "isolated"),
        p.WhitespaceSplit(),
        p.Split(Regex(r"[^\p{L}\p{N}\p{M}_\s']"), "isolated"),  # every mark its own token
        p.Split(Regex(f"(?<={WORD})n't(?!{WORD})"), "isolated"),  # did|n't
        p.Split(Regex(f"(?<={WORD})'(?:s|re|ve|ll|d|m)(?!{WORD})"), "isolated"),  # it|'s
        p.Split(Regex(f"(?<!{WORD})'(?!(?:s|re|ve|ll|d|m)(?!{WORD}))|'(?!{WORD})"), "removed"),  # stray quotes
        *([p.Split(Regex(f"^(?:{stop})$"), "removed")] if stop else []),
    ])
    return tokenizer


def library_input(text: str) -> str:
    """unescape_html runs in Python first (with strip_html before it, as in the pipeline)."""
    from sentiment_rnn.text.cleaning import strip_html

    return html.unescape(strip_html(text)) if "&" in text else text


def cause(ours: list[str], theirs: list[str], text: str) -> str:
    import itertools

    if "&" in text and html.unescape(text) != text:
        return "html entity"
    if "Σ" in text:
        return "final sigma"
    collapsed = [t for t, _ in itertools.groupby(theirs)]
    if [t for t, _ in itertools.groupby(ours)] == collapsed:
        return "repeated non-ASCII mark"
    odd = set(ours) ^ set(theirs)
    if any(any(not c.isascii() for c in t) for t in odd):
        return "non-ASCII character classes"
    return "other"


def compare(name: str, texts: list[str], cleaner, native, examples: int) -> dict:
    differing, causes, shown = 0, Counter(), []
    for text in texts:
        ours = cleaner(text).split()
        theirs = [t for t, _ in native.pre_tokenizer.pre_tokenize_str(native.normalizer.normalize_str(library_input(text)))]
        if ours != theirs:
            differing += 1
            why = cause(ours, theirs, text)
            causes[why] += 1
            if len(shown) < examples:
                diff = [(a, b) for a, b in zip(ours, theirs) if a != b][:3]
                shown.append({"cause": why, "first_differences": diff, "tokens": [len(ours), len(theirs)]})
    return {"texts": len(texts), "differing": differing, "share": round(differing / max(len(texts), 1), 5),
            "causes": dict(causes), "examples": shown}


def speed(texts: list[str], pipeline, native, rounds: int) -> dict:
    ours, theirs = [], []
    pipeline.encode(texts)  # the chunk cache warm, as in the middle of a long file
    for _ in range(rounds):
        started = time.perf_counter()
        pipeline.encode(texts)
        ours.append(len(texts) / (time.perf_counter() - started))
        started = time.perf_counter()
        native.encode_batch_fast([library_input(t) for t in texts], add_special_tokens=False)
        theirs.append(len(texts) / (time.perf_counter() - started))
    return {"ours_reviews_per_s": round(statistics.median(ours)), "tokenizers_reviews_per_s": round(statistics.median(theirs)),
            "ratio_tokenizers_to_ours": round(statistics.median(theirs) / statistics.median(ours), 3)}


def corpus(name: str, texts: list[str], language: str, rounds: int, examples: int, speed_sample: int) -> dict:
    from sentiment_rnn.config import DEFAULT_PIPELINE, TokenizerConfig
    from sentiment_rnn.text.cleaning import Cleaner
    from sentiment_rnn.text.pipeline import TextPipeline
    from sentiment_rnn.text.tokenizer import TextTokenizer

    cleaner = Cleaner(DEFAULT_PIPELINE, "default", language)
    sample = random.Random(0).sample(texts, min(len(texts), 20000))
    tokenizer = TextTokenizer.train(cleaner.many(sample), TokenizerConfig(vocab_size=30000))
    native = native_tokenizer(tokenizer.backend.get_vocab(with_added_tokens=True), cleaner.stop)
    timed = random.Random(17).sample(texts, min(len(texts), speed_sample))
    return {"equivalence": compare(name, texts, cleaner, native, examples),
            "speed": speed(timed, TextPipeline(cleaner, tokenizer), native, rounds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archive", default=str(ROOT.parent / "shared" / "data" / "aclImdb_v1.tar.gz"))
    parser.add_argument("--imdb-splits", nargs="*", default=["test"], choices=["train", "test", "unsup"])
    parser.add_argument("--waimai", action="store_true")
    parser.add_argument("--goemotions", action="store_true")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--speed-sample", type=int, default=5000)
    parser.add_argument("--examples", type=int, default=5)
    args = parser.parse_args()

    import csv

    from sentiment_rnn.data import load_imdb_split

    shared = ROOT.parent / "shared" / "data"
    results = {}
    if args.imdb_splits:
        texts = [t for split in args.imdb_splits for t in load_imdb_split(args.archive, split).texts]
        results["imdb_" + "+".join(args.imdb_splits)] = corpus("imdb", texts, "en", args.rounds, args.examples,
                                                               args.speed_sample)
    if args.waimai:
        with open(shared / "zh" / "waimai_10k.csv", encoding="utf-8", newline="") as handle:
            texts = [row["review"] for row in csv.DictReader(handle)]
        results["waimai"] = corpus("waimai", texts, "zh", args.rounds, args.examples, args.speed_sample)
    if args.goemotions:
        texts = [line.split("\t")[0] for split in ("train", "dev", "test")
                 for line in (shared / "goemotions" / f"{split}.tsv").read_text(encoding="utf-8").splitlines()[1:]]
        results["goemotions"] = corpus("goemotions", texts, "en", args.rounds, args.examples, args.speed_sample)
    print("RESULT_JSON " + json.dumps({"machine": machine(), "results": results}, ensure_ascii=False))


if __name__ == "__main__":
    main()
