"""Raw text → token ids without building the cleaned text, for prediction.

The default pipeline ends with `separate_punctuation` and `remove_stopwords`, and a word-level
vocabulary follows: run as written, each step joins its tokens into a string that the next one
splits again. Here the tokens of `separate_punctuation` (`punctuation_tokens`) go straight to one
lookup table, where stopwords map to -1 and are dropped. Same ids as cleaning and tokenizing in
turn; tests/test_fast_text_paths.py compares both on IMDB reviews and on generated text.

`punctuation_tokens` treats each whitespace-separated chunk on its own, so a chunk's ids ("film,",
"(1999).", "didn't") are the same wherever it occurs: they are cached per chunk, and most chunks
of a review (Zipf) are one dict lookup instead of a pass through the splitting rules and the
vocabulary. The cache is bounded in bytes, not entries, since a client chooses what it holds: a
chunk longer than `MAX_CACHED_CHUNK` characters is never cached (real words are short; a long
unique chunk is noise or an attack), and when the entries' estimated size reaches `cache_bytes`
the cache is emptied and starts over, so a stream of unique chunks costs speed, never memory.

Used only where that is exact: the pipeline ends with `separate_punctuation` (optionally followed
by `remove_stopwords`) and the tokenizer is a plain word lookup (`TextTokenizer.word_ids`). Texts
holding what the library splits differently (`LIBRARY_ONLY`) take the step-by-step path.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Sequence

import numpy as np

from .cleaning import Cleaner, punctuation_tokens
from .tokenizer import LIBRARY_ONLY, OOV_ID, TextTokenizer

SEPARATE = "separate_punctuation"
STOPWORDS = "remove_stopwords"
DROP = -1
CACHE_BYTES = 64 * 2**20  # the default bound of the chunk cache (service.text_cache_bytes)
MAX_CACHED_CHUNK = 64  # characters; longer chunks are split every time
ENTRY_OVERHEAD = 100  # bytes per entry beyond its key and tuple: the dict's slot and hash table share


class FusedEncoder:
    def __init__(self, cleaner: Cleaner, tokenizer: TextTokenizer, word_ids: dict[str, int], prefix_length: int,
                 stopwords: frozenset[str], cache_bytes: int = CACHE_BYTES):
        self.cleaner, self.tokenizer = cleaner, tokenizer
        self._prefix = cleaner.functions[:prefix_length]
        self._rest = Cleaner(cleaner.pipeline[prefix_length:], cleaner.stopwords, cleaner.language)  # for the step-by-step path
        # stopwords are removed before the lookup, whatever the vocabulary holds
        self._table = {**word_ids, **dict.fromkeys(stopwords, DROP)}
        self._chunk_ids = _ChunkIds(self)
        self.cache_bytes, self.cached_bytes = cache_bytes, 0

    @classmethod
    def build(cls, cleaner: Cleaner, tokenizer: TextTokenizer, cache_bytes: int = CACHE_BYTES) -> FusedEncoder | None:
        """The fused encoder where it gives exactly the step-by-step ids, else None."""
        pipeline = cleaner.pipeline
        if pipeline[-1:] == [SEPARATE]:
            prefix, stop = len(pipeline) - 1, frozenset()
        elif pipeline[-2:] == [SEPARATE, STOPWORDS]:
            prefix, stop = len(pipeline) - 2, cleaner.stop
        else:
            return None
        word_ids = tokenizer.word_ids
        if word_ids is None:
            return None
        return cls(cleaner, tokenizer, word_ids, prefix, stop, cache_bytes)

    def encode(self, texts: Sequence[str]) -> list[np.ndarray]:
        return [self._encode_one(text) for text in texts]

    def _encode_one(self, text: str) -> np.ndarray:
        for fn in self._prefix:
            text = fn(text)
        if any(marker in text for marker in LIBRARY_ONLY):
            return self.tokenizer.encode([self._rest(text)])[0]
        # Every step runs in C: a cached chunk is one dict hit, a new one calls _ChunkIds.__missing__
        # (faster than an explicit loop over the chunks; np.fromiter is slower than a list: CHANGELOG).
        ids = list(itertools.chain.from_iterable(map(self._chunk_ids.__getitem__, text.split())))
        return self.tokenizer.truncate(np.array(ids, dtype=np.int64))

    def _remember(self, chunk: str, ids: tuple[int, ...]) -> None:
        if len(chunk) > MAX_CACHED_CHUNK:
            return
        size = sys.getsizeof(chunk) + sys.getsizeof(ids) + ENTRY_OVERHEAD  # the ints are the table's own objects
        if self.cached_bytes + size > self.cache_bytes:
            self._chunk_ids.clear()
            self.cached_bytes = 0
            if size > self.cache_bytes:
                return
        self._chunk_ids[chunk] = ids
        self.cached_bytes += size

    def _chunk(self, chunk: str) -> tuple[int, ...]:
        """The ids of one whitespace-free chunk, stopwords dropped."""
        lookup = self._table.get
        return tuple(i for i in (lookup(token, OOV_ID) for token in punctuation_tokens(chunk)) if i != DROP)


class _ChunkIds(dict):
    """chunk → ids; a miss splits the chunk and remembers it within the byte bound."""

    def __init__(self, encoder: FusedEncoder):
        super().__init__()
        self.encoder = encoder

    def __missing__(self, chunk: str) -> tuple[int, ...]:
        encoder = self.encoder
        if chunk.isalnum():  # a plain word, most new chunks: itself, or nothing if a stopword
            found = encoder._table.get(chunk, OOV_ID)
            ids = () if found == DROP else (found,)
        else:
            ids = encoder._chunk(chunk)
        encoder._remember(chunk, ids)
        return ids
