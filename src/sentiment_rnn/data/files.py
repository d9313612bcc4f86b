"""Users' own files: CSV, TSV, JSONL and Parquet with a text column and (for training) a label
column; CSV, TSV, JSONL and plain lines may also come gzip-compressed (`reviews.tsv.gz`).

Errors name the file and the line (CSV, TSV, JSONL) or row (Parquet). The Kaggle "IMDB
Dataset.csv" layout (`review,sentiment`) works with the default column names. TSV is read as GLUE
and most public sets write it: fields separated by tabs, never quoted (a quote is text).
"""

from __future__ import annotations

import csv
import gzip
import json
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError

FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
           ".parquet": "parquet", ".pq": "parquet", ".txt": "lines"}
COMPRESSED = ".gz"  # any format but Parquet (which compresses itself), e.g. reviews.csv.gz

csv.field_size_limit(sys.maxsize)  # a long review is not an error


@dataclass
class Row:
    location: str  # "line 12" or "row 12"
    text: object
    label: object = None


def file_format(path: str | Path) -> str:
    """The format a file's name says: its suffix, under a `.gz` one if it is compressed."""
    suffixes = [suffix.lower() for suffix in Path(path).suffixes]
    compressed = suffixes[-1:] == [COMPRESSED]
    suffix = suffixes[-2] if compressed and len(suffixes) > 1 else (suffixes[-1] if suffixes and not compressed else "")
    fmt = FORMATS.get(suffix)
    if fmt is None or (compressed and fmt == "parquet"):
        known = sorted(FORMATS) + [f"{s}{COMPRESSED}" for s, f in sorted(FORMATS.items()) if f != "parquet"]
        given = "".join(suffixes[-2:] if compressed else suffixes[-1:]) or "(none)"
        raise DataError(f"unknown file type {given!r}; use one of {', '.join(known)}", source=str(path))
    return fmt


def is_compressed(path: str | Path) -> bool:
    return Path(path).suffix.lower() == COMPRESSED


def _decoded_lines(handle, source: str) -> Iterator[tuple[int, str]]:
    """Lines of a binary stream, decoded strictly, each with its 1-based line number."""
    try:
        yield from _numbered_lines(handle, source)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise DataError(f"not a readable gzip file ({exc or 'it ends too early'})", source=source) from None


def _numbered_lines(handle, source: str) -> Iterator[tuple[int, str]]:
    for number, raw in enumerate(handle, start=1):
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte-order mark (Excel writes one)
            raw = raw[3:]
        try:
            yield number, raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(f"invalid UTF-8 at byte {exc.start} of the line", source=source,
                            location=f"line {number}") from None


def iter_rows(path: str | Path, text_column: str | tuple[str, ...], label_column: str | None, fmt: str | None = None,
              stream=None) -> Iterator[Row]:
    """Rows of a file (or of `stream`, a binary file object such as stdin), streamed. `text_column`
    may be several names, tried in order (the first one the file has is read)."""
    source = str(path)
    fmt = fmt or file_format(path)
    if fmt == "parquet":
        yield from _iter_parquet(Path(path), text_column, label_column)
        return
    try:
        handle = stream if stream is not None else (gzip.open(path, "rb") if is_compressed(path) else open(path, "rb"))
    except FileNotFoundError:
        raise DataError("file does not exist", source=source) from None
    except OSError as exc:
        raise DataError(f"cannot be read ({exc.strerror})", source=source) from None
    with handle:
        lines = _decoded_lines(handle, source)
        if fmt in ("csv", "tsv"):
            yield from _iter_csv(lines, source, text_column, label_column, tsv=fmt == "tsv")
        elif fmt == "jsonl":
            yield from _iter_jsonl(lines, source, text_column, label_column)
        else:
            if label_column:
                raise DataError(f"a plain-text file holds texts only, one per line, no labels; give labelled "
                                f"texts as {', '.join(s for s, f in FORMATS.items() if f != 'lines')}", source=source)
            for number, line in lines:
                yield Row(f"line {number}", line.rstrip("\r\n"))


def _iter_csv(lines, source, text_column, label_column, tsv: bool = False) -> Iterator[Row]:
    """Strict CSV (a stray quote inside a field is an error, not a guess), each record located by
    the line it starts on, so that an unclosed quote is named where it opened. TSV: tab-separated,
    unquoted."""
    current = [0]

    def texts():
        for number, line in lines:
            current[0] = number
            yield line

    dialect = {"delimiter": "\t", "quoting": csv.QUOTE_NONE} if tsv else {}
    reader = csv.reader(texts(), strict=True, **dialect)
    try:
        header = next(reader)
    except StopIteration:
        raise DataError("file is empty (no header row)", source=source) from None
    except csv.Error as exc:
        raise DataError(f"malformed CSV header ({exc})", source=source, location="line 1") from None
    text_column = _choose(text_column, header, source, "line 1")
    _check_label_columns(label_column, header, source, "line 1")
    text_at = header.index(text_column)
    label_at = ([header.index(c) for c in label_column] if isinstance(label_column, tuple)
                else header.index(label_column) if label_column else None)
    start = current[0] + 1
    try:
        for record in reader:
            location = f"line {start}"
            spans = current[0] - start
            start = current[0] + 1
            if not record:
                continue
            if len(record) != len(header):
                opened = f" (a quoted field runs from here over {spans} more line(s): is a quote left open?)" if spans else ""
                raise DataError(f"expected {len(header)} fields, found {len(record)}{opened}", source=source,
                                location=location)
            label = (tuple(record[i] for i in label_at) if isinstance(label_at, list)
                     else record[label_at] if label_at is not None else None)
            yield Row(location, record[text_at], label)
    except csv.Error as exc:
        reason = ("a quote opened here is never closed" if "unexpected end of data" in str(exc)
                  else f"{exc}, in the record that starts here (is a quote left open, or not doubled inside a field?)")
        raise DataError(f"malformed CSV: {reason}", source=source, location=f"line {start}") from None


def _check_label_columns(label_column: str | tuple[str, ...] | None, present: list[str], source: str,
                         location: str | None) -> None:
    """Every label column asked for must be there (a tuple: data.label_columns, one per label)."""
    if not label_column:
        return
    wanted = label_column if isinstance(label_column, tuple) else (label_column,)
    missing = [c for c in wanted if c not in present]
    if missing:
        flag = "--label-columns, data.label_columns" if isinstance(label_column, tuple) else (
            "--label-column, data.label_column")
        raise DataError(f"missing label column {missing[0]!r}; the file has {present} (set {flag})",
                        source=source, location=location)


def _choose(text_column: str | tuple[str, ...], present: list[str], source: str, location: str | None) -> str:
    """The first of the text column names that the file has, or an error that says which it has."""
    names = (text_column,) if isinstance(text_column, str) else text_column
    for name in names:
        if name in present:
            return name
    asked = " or ".join(repr(n) for n in names)
    raise DataError(f"missing text column {asked}; the file has {present} (set --text-column, data.text_column)",
                    source=source, location=location)


def _iter_jsonl(lines, source, text_column, label_column) -> Iterator[Row]:
    for number, line in lines:
        if not line.strip():
            continue
        location = f"line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"invalid JSON ({exc.msg} at column {exc.colno})", source=source, location=location) from None
        if not isinstance(record, dict):
            raise DataError(f"expected a JSON object, got {type(record).__name__}", source=source, location=location)
        column = _choose(text_column, list(record), source, location)
        if label_column:
            for name in label_column if isinstance(label_column, tuple) else (label_column,):
                if name not in record:
                    raise DataError(f"missing field {name!r}; fields present: {sorted(record)}", source=source,
                                    location=location)
        label = (tuple(record[c] for c in label_column) if isinstance(label_column, tuple)
                 else record[label_column] if label_column else None)
        yield Row(location, record[column], label)


def _iter_parquet(path: Path, text_column, label_column) -> Iterator[Row]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except FileNotFoundError:
        raise DataError("file does not exist", source=str(path)) from None
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"not a readable Parquet file ({exc})", source=str(path)) from None
    names = parquet.schema_arrow.names
    labels = list(label_column) if isinstance(label_column, tuple) else [label_column] if label_column else []
    wanted = [_choose(text_column, names, str(path), None)] + labels
    _check_label_columns(label_column, names, str(path), None)
    row = 0
    for batch in parquet.iter_batches(columns=wanted, batch_size=4096):
        columns = [batch.column(i).to_pylist() for i in range(len(wanted))]
        for i, text in enumerate(columns[0]):
            row += 1
            label = (tuple(c[i] for c in columns[1:]) if isinstance(label_column, tuple)
                     else columns[1][i] if label_column else None)
            yield Row(f"row {row}", text, label)


def check_text(row: Row, source: str) -> str:
    """The row's text, or a DataError naming where it is if it is not a usable string."""
    if not isinstance(row.text, str):
        what = "missing (null)" if row.text is None else f"not a string ({type(row.text).__name__})"
        raise DataError(f"text is {what}", source=source, location=row.location)
    return row.text


def label_set(value: object, source: str, location: str, separator: str,
              names: list[str] | None = None) -> list[str]:
    """A multi-label cell ("3,9", or a JSON list), as its distinct label names in sorted order."""
    parts = value if isinstance(value, list) else str(value if value is not None else "").split(separator)
    found = sorted({label_name(part, source, location, names) for part in parts if str(part).strip()})
    if not found:
        raise DataError("label is empty", source=source, location=location)
    return found


def label_flags(values: tuple, columns: tuple[str, ...], source: str, location: str) -> list[str]:
    """The labels of a row given as one 0/1 column per label: the columns holding 1, sorted."""
    found = []
    for column, value in zip(columns, values):
        text = str(value).strip().lower() if value is not None else ""
        if text in ("1", "1.0", "true"):
            found.append(column)
        elif text not in ("0", "0.0", "false"):
            raise DataError(f"label column {column!r} must hold 0 or 1, got {value!r}", source=source,
                            location=location)
    return sorted(found)


def label_name(value: object, source: str, location: str, names: list[str] | None = None) -> str:
    """Labels are compared as strings: 1, "1" and 1.0 from different formats are the same class.
    With `names` (data.label_names), label n is the n-th name."""
    if isinstance(value, bool) or value is None or isinstance(value, (list, dict)):
        raise DataError(f"label {value!r} is not a class name or number", source=source, location=location)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    name = str(value).strip()
    if not name:
        raise DataError("label is empty", source=source, location=location)
    if names is None:
        return name
    if not (name.isdigit() and int(name) < len(names)):
        raise DataError(f"label {name!r} is not a label id of data.label_names (0 to {len(names) - 1})",
                        source=source, location=location)
    return names[int(name)]
