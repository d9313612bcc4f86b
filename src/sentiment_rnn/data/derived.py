"""Derived datasets: the cleaned texts of a raw dataset, cached by (raw digest, cleaning options).

A second `data prepare` or `train` with the same source and cleaning reuses the cached Parquet
instead of cleaning again, and training records which derived dataset it used (its digest).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

from ..config import TextConfig
from ..text.cleaning import Cleaner
from .cache import cache_dir
from .dataset import CACHE_FORMAT, Reviews, read_parquet, write_parquet


def cleaned_path(raw: Reviews, text: TextConfig) -> Path:
    key = json.dumps([CACHE_FORMAT, raw.digest, dataclasses.asdict(text)], sort_keys=True)
    return cache_dir() / "datasets" / f"cleaned-{hashlib.sha256(key.encode()).hexdigest()[:20]}" / "data.parquet"


def prepare_cleaned(raw: Reviews, text: TextConfig) -> tuple[Reviews, Path, bool]:
    """(cleaned reviews, their cache file, whether the cache was reused)."""
    path = cleaned_path(raw, text)
    if path.exists():
        cleaned = read_parquet(path)
        return cleaned, path, True
    cleaned = Reviews(Cleaner.from_config(text).many(raw.texts), raw.labels,
                      f"{raw.source} cleaned by {'+'.join(text.pipeline)}", raw.ids, raw.ratings, dict(raw.dropped))
    write_parquet(path, cleaned)
    return cleaned, path, False


def cache_entries() -> list[dict]:
    """What the dataset cache holds: one row per Parquet file."""
    import pyarrow.parquet as pq

    root = cache_dir() / "datasets"
    rows = []
    for path in sorted(root.glob("*/*.parquet")) if root.exists() else []:
        meta = pq.read_metadata(path)
        schema_meta = {k.decode(): v.decode() for k, v in (meta.schema.to_arrow_schema().metadata or {}).items()}
        rows.append({"kind": path.parent.name.split("-")[0], "file": str(path), "rows": meta.num_rows,
                     "bytes": path.stat().st_size, "source": schema_meta.get("source", "")})
    return rows
