"""Where downloads and parsed datasets are kept: `$SENTIMENT_RNN_CACHE`, else the XDG cache."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

CHUNK = 1 << 20


def cache_dir() -> Path:
    explicit = os.environ.get("SENTIMENT_RNN_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "sentiment-rnn"


def folder_fingerprint(path: Path) -> str:
    """Names, sizes and modification times of every file: cheap, and changes when any file does."""
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            st = os.stat(os.path.join(root, name))
            digest.update(f"{os.path.relpath(os.path.join(root, name), path)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()
