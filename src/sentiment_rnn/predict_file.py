"""Batch scoring of a file: rows stream in, predictions stream out, memory stays flat.

Input: CSV/JSONL/Parquet (text column) or plain lines (.txt, or `-` for stdin).
Output: JSON lines (.jsonl, or stdout) or CSV (.csv), written to a temporary file and renamed into
place at the end, so a failed run never leaves a half-written output.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from .classifier import SentimentClassifier
from .data import files
from .errors import DataError
from .io import atomic_write
from .prediction import describe, probability_columns

CHUNK_BATCHES = 16


def _batches(rows: Iterator[files.Row], size: int, source: str) -> Iterator[list[str]]:
    batch: list[str] = []
    for row in rows:
        batch.append(files.check_text(row, source))
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


# The tutorial's column, then the one the MLflow model's signature uses.
TEXT_COLUMNS = ("review", "text")


def predict_file(clf: SentimentClassifier, input_path: str, output_path: str | None,
                 text_column: str | tuple[str, ...] = TEXT_COLUMNS, batch_size: int = 256) -> int:
    """Score every text of `input_path`; `text_column` may name several columns, tried in order."""
    if input_path == "-":
        rows = files.iter_rows("<stdin>", text_column, None, fmt="lines", stream=sys.stdin.buffer)
    else:
        if not Path(input_path).exists():
            raise DataError("input file does not exist", source=input_path)
        rows = files.iter_rows(input_path, text_column, None)
    out_format = "csv" if output_path and output_path.lower().endswith(".csv") else "jsonl"
    if output_path and out_format == "jsonl" and not output_path.lower().endswith((".jsonl", ".json", ".ndjson")):
        raise DataError("output must end in .jsonl or .csv", source=output_path)
    classes = clf.classes_
    count = 0

    def write(handle) -> None:
        nonlocal count
        writer = csv.writer(handle) if out_format == "csv" else None
        multilabel = clf.thresholds_ is not None
        if writer:
            writer.writerow(["text", "label", "score", *(["labels"] if multilabel else [])]
                            + probability_columns(classes))
        # Read chunks of 16 batches: predict_proba sorts a chunk by length before cutting it into
        # batches, so padding stays short; memory is bounded by the chunk, whatever the file's size.
        for texts in _batches(rows, batch_size * CHUNK_BATCHES, input_path):
            proba = clf.predict_proba(texts, batch_size)
            for text, row in zip(texts, proba):
                result = describe(classes, row, clf.thresholds_, getattr(clf, "decision_", None))
                if writer:
                    writer.writerow([text, result["label"], f"{result['score']:.6f}",
                                     *([",".join(result["labels"])] if multilabel else [])] + [f"{p:.6f}" for p in row])
                else:
                    handle.write(json.dumps({"text": text, **result}, ensure_ascii=False) + "\n")
            count += len(texts)

    if output_path is None:
        write(sys.stdout)
    else:
        def to_file(tmp: str) -> None:
            with open(tmp, "w", encoding="utf-8", newline="") as handle:
                write(handle)

        atomic_write(output_path, to_file)
    return count
