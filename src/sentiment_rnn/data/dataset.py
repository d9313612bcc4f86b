"""`Reviews`: texts with labels and provenance, the parsed-dataset cache, and seeded splits.

A parsed source is cached as Parquet under a key made of the source's content digest and the
parsing options, so a second run skips re-reading the archive. Each `Reviews` has a `digest` of
its own content (texts and labels), which a model records as the data it was trained on.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..io import atomic_write, sha256_file
from . import files, imdb
from .cache import cache_dir, folder_fingerprint

CACHE_FORMAT = 1  # bump when parsing changes, so old cache entries are not reused


@dataclass
class Reviews:
    texts: list[str]
    labels: list[str] | None
    source: str
    ids: list[int] | None = None
    ratings: list[int] | None = None
    dropped: dict[str, int] = field(default_factory=dict)  # reason → rows dropped on purpose

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def multilabel(self) -> bool:
        """Whether each row holds a list of labels (data.label_separator) rather than one."""
        return bool(self.labels) and isinstance(self.labels[0], list)

    @property
    def digest(self) -> str:
        h = hashlib.sha256()
        for i, text in enumerate(self.texts):
            label = self.labels[i] if self.labels else ""
            h.update(text.encode("utf-8"))
            h.update(b"\0" + ("\x1f".join(label) if isinstance(label, list) else label).encode() + b"\n")
        return h.hexdigest()

    def class_counts(self) -> dict[str, int]:
        """Rows per class; with several labels per row, rows per label."""
        labels = self.labels or []
        if self.multilabel:
            labels = [label for row in labels for label in row]
        return dict(sorted(Counter(labels).items()))

    def subset(self, index: np.ndarray | list[int], source: str | None = None) -> Reviews:
        pick = lambda values: [values[i] for i in index] if values is not None else None  # noqa: E731
        return Reviews(pick(self.texts), pick(self.labels), source or self.source, pick(self.ids),
                       pick(self.ratings), dict(self.dropped))

    def limit_balanced(self, n: int | None, seed: int) -> Reviews:
        """`n` reviews, as equal a share per class as the data allows, chosen with `seed`."""
        if n is None or n >= len(self):
            return self
        rng = np.random.default_rng(seed)
        if self.multilabel:  # label sets are too many to balance: a seeded sample
            return self.subset(sorted(rng.choice(len(self), size=n, replace=False).tolist()),
                               f"{self.source} (limit {n}, seed {seed})")
        by_class = _indices_by_class(self.labels)
        share, extra = divmod(n, len(by_class))
        chosen = []
        for k, (_, index) in enumerate(sorted(by_class.items())):
            take = min(len(index), share + (1 if k < extra else 0))
            chosen.extend(rng.choice(index, size=take, replace=False).tolist())
        chosen = rng.permutation(np.asarray(chosen)).tolist()
        return self.subset(chosen, f"{self.source} (limit {n}, seed {seed})")

    def split_stratified(self, fraction: float, seed: int) -> tuple[Reviews, Reviews]:
        """(train, validation): each class split by the same fraction, seeded. Rows with several
        labels are split at random (seeded): their label sets are too many to stratify by."""
        rng = np.random.default_rng(seed)
        val: list[int] = []
        groups = ({"": np.arange(len(self))} if self.multilabel else _indices_by_class(self.labels))
        for _, index in sorted(groups.items()):
            index = rng.permutation(index)
            val.extend(index[: int(round(len(index) * fraction))].tolist())
        val_set = set(val)
        train = [i for i in range(len(self)) if i not in val_set]
        return (self.subset(rng.permutation(train).tolist(), f"{self.source} (train part)"),
                self.subset(sorted(val), f"{self.source} (validation part)"))


def _indices_by_class(labels: list[str] | None) -> dict[str, np.ndarray]:
    if labels is None:
        raise DataError("these reviews have no labels")
    groups: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        groups.setdefault(label, []).append(i)
    return {label: np.asarray(index) for label, index in groups.items()}


# ---- the Parquet cache --------------------------------------------------------------------------

def _cache_path(kind: str, source_digest: str, options: dict) -> Path:
    key = hashlib.sha256(json.dumps([CACHE_FORMAT, source_digest, options], sort_keys=True).encode()).hexdigest()
    return cache_dir() / "datasets" / f"{kind}-{key[:20]}"


def write_parquet(path: Path, reviews: Reviews) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = {"text": reviews.texts}
    for name in ("labels", "ids", "ratings"):
        if getattr(reviews, name) is not None:
            columns[name] = getattr(reviews, name)
    table = pa.table(columns).replace_schema_metadata(
        {"source": reviews.source, "dropped": json.dumps(reviews.dropped)})
    atomic_write(path, lambda tmp: pq.write_table(table, tmp))


def read_parquet(path: Path) -> Reviews:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
    get = lambda name: table.column(name).to_pylist() if name in table.column_names else None  # noqa: E731
    return Reviews(get("text"), get("labels"), meta.get("source", str(path)), get("ids"), get("ratings"),
                   json.loads(meta.get("dropped", "{}")))


def load_imdb_split(archive: str | Path | None, split: str, progress: imdb.Progress | None = None) -> Reviews:
    """One IMDB split (`train`, `test` or `unsup`), parsed once per archive and then read from cache."""
    if split not in imdb.SPLITS:
        raise DataError(f"unknown IMDB split {split!r}; use one of {', '.join(imdb.SPLITS)}")
    path = imdb.resolve_archive(archive, progress=progress)
    source_digest = folder_fingerprint(path) if path.is_dir() else sha256_file(path)
    folder = _cache_path("imdb", source_digest, {})
    if not (folder / f"{split}.parquet").exists():
        parsed: dict[str, Reviews] = {s: Reviews([], [] if s != "unsup" else None, f"imdb:{s}", [], [])
                                      for s in imdb.SPLITS}
        for review in imdb.iter_reviews(path):
            part = parsed[review.split]
            part.texts.append(review.text)
            part.ids.append(review.id)
            part.ratings.append(review.rating)
            if part.labels is not None:
                part.labels.append(review.label)
        for name, part in parsed.items():
            # Canonical order (class, then review id): the same whatever order the archive or
            # the file system lists members in.
            order = sorted(range(len(part)), key=lambda i: (part.labels[i] if part.labels else "", part.ids[i]))
            write_parquet(folder / f"{name}.parquet", part.subset(order))
    return read_parquet(folder / f"{split}.parquet")


def load_labeled_file(path: str | Path, text_column: str = "review", label_column: str = "sentiment",
                      skip_empty: bool = False, min_class_rows: int = 10,
                      label_names: str | list[str] = "", label_separator: str = "",
                      label_columns: list[str] | None = None) -> Reviews:
    """A user's CSV/TSV/JSONL/Parquet file of labelled texts, validated row by row, then cached;
    labels that look like typos are refused (`check_labels`); numeric labels are named by
    `label_names` (a file, one name per line, or a list) when given. With `label_separator`, a
    row's label cell holds several labels ("3,9"); with `label_columns`, each label has a 0/1
    column: either way each row's labels become a sorted list (possibly empty for columns)."""
    source = str(path)
    fmt = files.file_format(path)
    if not Path(path).is_file():
        raise DataError("is a folder, not a file" if Path(path).is_dir() else "file does not exist", source=source)
    names = read_label_names(label_names)
    options = {"format": fmt, "text": text_column, "label": label_column, "skip_empty": skip_empty,
               **({"label_names": names} if names else {}),
               **({"label_separator": label_separator} if label_separator else {}),
               **({"label_columns": list(label_columns)} if label_columns else {})}
    cached = _cache_path("file", sha256_file(path), options) / "data.parquet"
    if cached.exists():
        reviews = read_parquet(cached)
        reviews.source = source
        check_labels(reviews, min_class_rows)
        return reviews
    texts, labels, empty, first_seen = [], [], 0, {}
    columns = tuple(label_columns) if label_columns else None
    for row in files.iter_rows(path, text_column, columns or label_column, fmt):
        text = files.check_text(row, source)
        if not text.strip():
            if skip_empty:
                empty += 1
                continue
            raise DataError("text is empty (set data.skip_empty = true to drop such rows and count them)",
                            source=source, location=row.location)
        texts.append(text)
        if columns:
            labels.append(files.label_flags(row.label, columns, source, row.location))
            for label in labels[-1]:
                first_seen.setdefault(label, row.location)
        elif label_separator:
            labels.append(files.label_set(row.label, source, row.location, label_separator, names))
            for label in labels[-1]:
                first_seen.setdefault(label, row.location)
        else:
            labels.append(files.label_name(row.label, source, row.location, names))
            first_seen.setdefault(labels[-1], row.location)
    if not texts:
        raise DataError("no usable rows", source=source)
    reviews = Reviews(texts, labels, source, dropped={"empty_text": empty} if empty else {})
    write_parquet(cached, reviews)
    check_labels(reviews, min_class_rows, first_seen)
    return reviews


def read_label_names(label_names: str | list[str]) -> list[str] | None:
    """`data.label_names` as a list: given as one, or read from a file of one name per line."""
    if not label_names:
        return None
    if isinstance(label_names, list):
        names = [str(name).strip() for name in label_names]
    else:
        path = Path(label_names)
        if not path.is_file():
            raise DataError("label names file does not exist (data.label_names)", source=str(path))
        try:
            names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
        except UnicodeDecodeError as exc:
            raise DataError(f"not UTF-8 text (invalid byte at offset {exc.start})", source=str(path)) from None
        while names and not names[-1]:
            names.pop()
    empty = [i for i, name in enumerate(names) if not name]
    if empty or len(set(names)) != len(names):
        what = f"name {empty[0]} is empty" if empty else "two labels have the same name"
        raise DataError(f"data.label_names: {what}; give one distinct name per label id, from 0",
                        source=None if isinstance(label_names, list) else str(label_names))
    return names


def check_labels(reviews: Reviews, min_class_rows: int, first_seen: dict[str, str] | None = None) -> None:
    """Refuse labels that look like typos rather than classes: two spellings of one label that differ
    only in case or surrounding spaces ("Positive " and "positive"), and, unless `min_class_rows` is 0,
    a class with fewer than `min_class_rows` rows and a tenth of the largest class or less (too few
    to learn, and most often a typo: one "maybe" must not turn a binary file into a 3-class model). One class alone is no classification."""
    counts = reviews.class_counts()
    if not counts:
        return
    where = first_seen or {}

    def at(label: str) -> str | None:
        rows = (label in v if reviews.multilabel else v == label for v in reviews.labels)
        return where.get(label) or next((f"row {i + 1}" for i, hit in enumerate(rows) if hit), None)

    spellings: dict[str, list[str]] = {}
    for label in counts:
        spellings.setdefault(label.strip().casefold(), []).append(label)
    for variants in spellings.values():
        if len(variants) > 1:
            rare = min(variants, key=lambda v: counts[v])
            others = [v for v in variants if v != rare]
            raise DataError(f"label {rare!r} ({counts[rare]} row(s)) differs from {others[0]!r} ({counts[others[0]]} "
                            f"rows) only in case or spaces: fix the label", source=reviews.source, location=at(rare))
    if len(counts) < 2:
        raise DataError(f"every row has the label {next(iter(counts))!r}: a classifier needs two classes or more",
                        source=reviews.source)
    largest = max(counts.values())
    for label, count in counts.items():
        if min_class_rows and count < min_class_rows and count <= 0.1 * largest:
            raise DataError(f"class {label!r} has {count} row(s) against {largest} for the largest class: a typo in a "
                            f"label? If it is a real class, set data.min_class_rows to {count} or less (0: any)",
                            source=reviews.source, location=at(label))


def load_text_file(path: str | Path, text_column: str = "review") -> Reviews:
    """A file of texts without labels (CSV/JSONL/Parquet `text_column`, or plain lines, one text
    each): unlabeled reviews. Empty texts carry nothing to learn from: they are dropped and counted."""
    source = str(path)
    if not Path(path).is_file():
        raise DataError("is a folder, not a file" if Path(path).is_dir() else "file does not exist", source=source)
    texts, empty = [], 0
    for row in files.iter_rows(path, text_column, None):
        text = files.check_text(row, source)
        if text.strip():
            texts.append(text)
        else:
            empty += 1
    if not texts:
        raise DataError("no non-empty texts", source=source)
    return Reviews(texts, None, source, dropped={"empty_text": empty} if empty else {})
