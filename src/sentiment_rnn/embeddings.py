"""Word vectors: trained on reviews (gensim word2vec or fastText), read from word2vec/GloVe text
files, and mapped onto a tokenizer's vocabulary to initialise the classifier's embedding.

The file format is the plain-text one every tool reads and writes: one word per line followed by
its numbers, separated by spaces; word2vec files start with a "COUNT DIM" header line, GloVe files
do not (both are read; `.gz` too). Reading keeps only the words the vocabulary needs, so a
multi-GB GloVe file costs memory for the vocabulary only.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from .config import EmbeddingsConfig
from .errors import DataError
from .io import atomic_write_text, sha256_file

log = logging.getLogger(__name__)


def train_vectors(sentences: list[list[str]], config: EmbeddingsConfig) -> tuple[list[str], np.ndarray]:
    """(words by descending frequency, (n_words, dim) float32 vectors) from tokenized sentences."""
    from gensim.models import FastText, Word2Vec

    cls = Word2Vec if config.algorithm == "word2vec" else FastText
    try:
        model = cls(sentences=sentences, vector_size=config.dim, window=config.window, min_count=config.min_count,
                    sg=1 if config.skip_gram else 0, negative=config.negative, epochs=config.epochs,
                    workers=config.workers, seed=config.seed)
    except RuntimeError as exc:  # gensim: "you must first build vocabulary before training the model"
        raise DataError(f"no word occurs embeddings.min_count = {config.min_count} times in the {len(sentences)} "
                        f"reviews to learn word vectors from ({exc})") from None
    words = list(model.wv.index_to_key)
    return words, np.asarray(model.wv.vectors, dtype=np.float32)


VECTORS_FORMAT = 1  # part of the cache key: bump when the training or the file changes meaning


def cached_vectors(texts: Sequence[str], config: EmbeddingsConfig) -> tuple[Path, dict]:
    """Word vectors trained on cleaned `texts` (whitespace-separated words), kept under
    `$SENTIMENT_RNN_CACHE/vectors/` by the digest of the texts, the settings and gensim's version,
    so that a second training on the same reviews (another seed, another model size) reuses them.
    Returns the file and what happened (`reused`, `seconds`, `reviews`, `words`)."""
    import gensim

    from .data.cache import cache_dir

    digest = hashlib.sha256(json.dumps([VECTORS_FORMAT, dataclasses.asdict(config), gensim.__version__]).encode())
    for text in texts:
        digest.update(text.encode("utf-8") + b"\0")
    path = cache_dir() / "vectors" / f"{config.algorithm}-{config.dim}d-{digest.hexdigest()[:32]}.txt"
    info = {"cache_file": str(path), "reviews": len(texts), **dataclasses.asdict(config)}
    if path.is_file():
        return path, {**info, "reused": True}
    log.info(f"training {config.dim}-d {config.algorithm} vectors on {len(texts)} reviews (once: kept in {path.parent})")
    started = time.perf_counter()
    words, vectors = train_vectors([text.split() for text in texts], config)
    write_vectors(path, words, vectors)
    log.info(f"{len(words)} word vectors in {time.perf_counter() - started:.0f} s")
    return path, {**info, "reused": False, "words": len(words), "seconds": round(time.perf_counter() - started, 1)}


def write_vectors(path: str | Path, words: list[str], vectors: np.ndarray) -> Path:
    """word2vec text format (header "COUNT DIM"), written atomically."""
    lines = [f"{len(words)} {vectors.shape[1]}"]
    lines += [word + " " + " ".join(f"{v:.6g}" for v in row) for word, row in zip(words, vectors)]
    path = Path(path)
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path


def _lines(path: Path) -> Iterator[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            yield from handle
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from None


def read_vectors(path: str | Path, wanted: Iterable[str] | None = None) -> tuple[int, dict[str, np.ndarray]]:
    """(dim, {word: vector}) from a word2vec or GloVe text file; only `wanted` words are kept."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"word vectors file {path} does not exist")
    wanted = set(wanted) if wanted is not None else None
    dim, vectors = None, {}
    for number, line in enumerate(_lines(path), start=1):
        parts = line.rstrip("\n").rstrip(" ").split(" ")
        if number == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
            dim = int(parts[1])  # word2vec header: COUNT DIM
            continue
        if not line.strip():
            continue
        if dim is None:
            dim = len(parts) - 1  # GloVe: the first vector sets the dimension
        if len(parts) != dim + 1:
            raise DataError(f"{path}, line {number}: expected a word and {dim} numbers, got {len(parts) - 1} "
                            f"values")
        word = parts[0]
        if wanted is not None and word not in wanted:
            continue
        try:
            vectors[word] = np.asarray(parts[1:], dtype=np.float32)
        except ValueError:
            raise DataError(f"{path}, line {number}: the vector of {word!r} has a value that is not a number") from None
    if dim is None:
        raise DataError(f"{path}: no word vectors in the file")
    return dim, vectors


def embedding_matrix(vocab: dict[str, int], path: str | Path, dim: int, seed: int) -> tuple[np.ndarray, dict]:
    """(vocab_size, dim) matrix: pretrained rows where the file has the word; other rows random with
    the pretrained vectors' own per-dimension spread (so they neither dominate nor vanish); the
    padding row zero. Also a summary for the model's config: path, digest, coverage."""
    from .text.tokenizer import PAD_ID

    file_dim, vectors = read_vectors(path, vocab)
    if file_dim != dim:
        raise DataError(f"{path} holds {file_dim}-dimensional vectors but model.embedding_dim is {dim}: set "
                        f"model.embedding_dim={file_dim}")
    rng = np.random.default_rng(seed)
    # In index order: the tokenizer's vocabulary dict comes in a different order in every process,
    # and the mean and spread below, summed in that order, would differ in their last bits.
    found = sorted(((index, vectors[word]) for word, index in vocab.items() if word in vectors), key=lambda f: f[0])
    if not found:
        raise DataError(f"{path}: none of the tokenizer's {len(vocab)} words has a vector (wrong file, or "
                        f"different text cleaning?)")
    known = np.stack([v for _, v in found])
    matrix = rng.normal(known.mean(axis=0), known.std(axis=0) + 1e-6, size=(len(vocab), dim)).astype(np.float32)
    for index, vector in found:
        matrix[index] = vector
    matrix[PAD_ID] = 0.0
    summary = {"path": str(path), "sha256": sha256_file(path), "dim": dim, "words_found": len(found),
               "vocab_size": len(vocab), "coverage": round(len(found) / len(vocab), 4)}
    return matrix, summary
