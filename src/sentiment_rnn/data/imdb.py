"""The IMDB Large Movie Review Dataset (Maas et al., 2011) in its official archive layout.

Reviews are read straight from `aclImdb_v1.tar.gz` in one sequential pass (no extraction of
100,000 small files); an extracted `aclImdb/` folder works too. File names are `ID_RATING.txt`:
ratings 7–10 are positive, 1–4 negative, 0 in `unsup`.
"""

from __future__ import annotations

import gzip
import os
import re
import tarfile
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError, DownloadError
from ..io import sha256_file
from .cache import CHUNK, cache_dir

IMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
IMDB_SHA256 = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"
ARCHIVE_ENV = "SENTIMENT_RNN_IMDB"  # path of a local archive or extracted folder

SPLITS = ("train", "test", "unsup")
CLASS_DIRS = {"neg": "negative", "pos": "positive", "unsup": None}
REQUIRED_DIRS = ("train/pos", "train/neg", "test/pos", "test/neg")
_MEMBER = re.compile(r"^(?:\./)?aclImdb/(train|test)/(pos|neg|unsup)/(\d+)_(\d+)\.txt$")

Progress = Callable[[int, int | None], None]  # (bytes so far, total bytes or None)


@dataclass(frozen=True)
class RawReview:
    split: str  # train | test | unsup
    id: int
    rating: int
    label: str | None  # negative | positive | None (unsup)
    text: str


def resolve_archive(path: str | os.PathLike | None = None, progress: Progress | None = None) -> Path:
    """A local archive or folder (argument, then `$SENTIMENT_RNN_IMDB`), else the verified download."""
    chosen = path or os.environ.get(ARCHIVE_ENV)
    if chosen:
        chosen = Path(chosen)
        if not chosen.exists():
            raise DataError("IMDB archive or folder does not exist", source=str(chosen))
        if chosen.is_dir():
            check_folder_layout(chosen)
        return chosen
    target = cache_dir() / "downloads" / "aclImdb_v1.tar.gz"
    if not target.exists():
        download(IMDB_URL, target, IMDB_SHA256, progress=progress)
    return target


def download(url: str, target: Path, sha256: str, progress: Progress | None = None) -> Path:
    """Resumable download to `target.part`, verified against `sha256`, then renamed atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            resumed = have > 0 and response.status == 206
            if not resumed:
                have = 0  # the server ignored the range: start over
            length = response.headers.get("Content-Length")
            total = have + int(length) if length is not None else None
            with open(part, "ab" if resumed else "wb") as out:
                while chunk := response.read(CHUNK):
                    out.write(chunk)
                    have += len(chunk)
                    if progress:
                        progress(have, total)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(f"download failed ({reason}); {part} keeps {have} bytes and the next "
                            f"run resumes from there", source=url) from None
    actual = sha256_file(part)
    if actual != sha256:
        part.unlink()
        raise DownloadError(f"checksum mismatch: expected sha256 {sha256}, got {actual}; the partial "
                            f"file was deleted", source=url)
    os.replace(part, target)
    return target


def check_folder_layout(root: Path) -> Path:
    """Accept `root` or `root/aclImdb`; return the folder that holds train/ and test/."""
    base = root / "aclImdb" if (root / "aclImdb").is_dir() else root
    missing = [d for d in REQUIRED_DIRS if not (base / d).is_dir()]
    if missing:
        raise DataError(f"not the aclImdb layout: missing folder(s) {', '.join(missing)}", source=str(root))
    return base


def iter_reviews(path: Path, splits: tuple[str, ...] = SPLITS) -> Iterator[RawReview]:
    """Every review of the wanted splits, from an archive or an extracted folder."""
    if path.is_dir():
        yield from _iter_folder(check_folder_layout(path), splits)
    else:
        yield from _iter_archive(path, splits)


def _parse(name: str, data: bytes, source: str, splits: tuple[str, ...]) -> RawReview | None:
    match = _MEMBER.match(name)
    if not match:
        return None
    split, class_dir, review_id, rating = match.groups()
    split = "unsup" if class_dir == "unsup" else split
    if split not in splits:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"invalid UTF-8 at byte {exc.start}", source=source, location=f"member {name}") from None
    return RawReview(split, int(review_id), int(rating), CLASS_DIRS[class_dir], text)


def _iter_archive(path: Path, splits: tuple[str, ...]) -> Iterator[RawReview]:
    seen_dirs: set[str] = set()
    name = "(start of archive)"
    try:
        # One sequential pass ("r|"), no seeking. gzip is read through GzipFile, and drained to the
        # end afterwards, so a truncated stream or a bad CRC raises instead of ending quietly at a
        # member boundary.
        with gzip.open(path, "rb") as stream, tarfile.open(fileobj=stream, mode="r|") as archive:
            for member in archive:
                name = member.name
                if not member.isfile():
                    continue
                match = _MEMBER.match(name)
                if not match:
                    continue
                seen_dirs.add(f"{match.group(1)}/{match.group(2)}")
                handle = archive.extractfile(member)  # read in memory: nothing touches the disk
                review = _parse(name, handle.read(), str(path), splits)
                if review is not None:
                    yield review
            name = "(end of archive)"
            while stream.read(CHUNK):
                pass
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile, OSError) as exc:
        raise DataError(f"archive is truncated or corrupt ({exc}); last member read: {name}",
                        source=str(path)) from None
    missing = [d for d in REQUIRED_DIRS if d not in seen_dirs]
    if missing:
        raise DataError(f"not the aclImdb layout: no reviews under {', '.join('aclImdb/' + d for d in missing)}",
                        source=str(path))


def _iter_folder(base: Path, splits: tuple[str, ...]) -> Iterator[RawReview]:
    for split in ("train", "test"):
        for class_dir in ("neg", "pos", "unsup"):
            folder = base / split / class_dir
            if not folder.is_dir():
                continue
            for file in sorted(folder.iterdir()):
                name = f"aclImdb/{split}/{class_dir}/{file.name}"
                review = _parse(name, file.read_bytes(), str(file), splits)
                if review is not None:
                    yield review
