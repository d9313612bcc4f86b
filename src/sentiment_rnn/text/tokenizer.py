"""The vocabulary: trained once on the cleaned training texts with HuggingFace `tokenizers`,
saved as `tokenizer.json` in the model folder, and never re-fitted at prediction time.

Truncation is ours (the library truncates only at one end): `head`, `tail`, or `head_tail`, which
keeps the opening and the ending of a long review, where the verdict usually is.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from ..errors import ModelError


class TokenizerConfig(Protocol):
    """The tokenizer settings text/ reads (config.TokenizerConfig has them; text/ sits below config,
    which validates against text's rules, so it names what it needs instead of importing it)."""

    kind: str
    vocab_size: int
    min_frequency: int
    max_length: int
    truncation: str
    head_fraction: float
    padding: str

PAD_TOKEN = "<pad>"
OOV_TOKEN = "<oov>"
PAD_ID = 0
OOV_ID = 1
FULL_VOCABULARY = 10_000_000  # what vocab_size = 0 asks the trainer for
# Where a plain split + lookup would differ from the library: characters Python's str.split() treats
# as whitespace and Unicode does not, and the special tokens, which the library cuts out of any word.
LIBRARY_ONLY = ("\x1c", "\x1d", "\x1e", "\x1f", PAD_TOKEN, OOV_TOKEN)


class TextTokenizer:
    """Cleaned text → token ids, with the configured truncation."""

    def __init__(self, backend, config: TokenizerConfig):
        self.backend = backend
        self.config = config

    @classmethod
    def train(cls, texts: Iterable[str], config: TokenizerConfig) -> TextTokenizer:
        from tokenizers import Tokenizer, models, pre_tokenizers, trainers

        size = config.vocab_size or FULL_VOCABULARY
        special = [PAD_TOKEN, OOV_TOKEN]
        if config.kind == "word":
            backend = Tokenizer(models.WordLevel(unk_token=OOV_TOKEN))
            trainer = trainers.WordLevelTrainer(vocab_size=size, min_frequency=config.min_frequency,
                                                special_tokens=special, show_progress=False)
        else:
            backend = Tokenizer(models.BPE(unk_token=OOV_TOKEN))
            trainer = trainers.BpeTrainer(vocab_size=size, min_frequency=config.min_frequency,
                                          special_tokens=special, show_progress=False)
        # Cleaning already separated punctuation; words are whitespace-delimited.
        backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
        backend.train_from_iterator(texts, trainer=trainer)
        assert backend.token_to_id(PAD_TOKEN) == PAD_ID and backend.token_to_id(OOV_TOKEN) == OOV_ID
        return cls(backend, config)

    @property
    def vocab_size(self) -> int:
        return self.backend.get_vocab_size()

    def encode(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Token ids per text, truncated; an empty text becomes the single OOV token."""
        if self.word_ids is not None:
            return [self.truncate(self._word_level_ids(text)) for text in texts]
        encodings = self.backend.encode_batch_fast(list(texts), add_special_tokens=False)
        return [self.truncate(np.asarray(e.ids, dtype=np.int64)) for e in encodings]

    @functools.cached_property
    def word_ids(self) -> dict[str, int] | None:
        """word → id, when the backend is exactly a whitespace split + word lookup (kind = "word").

        Why by hand: for that tokenizer a dict lookup per word gives the library's ids several times
        faster than `encode_batch`, which builds offsets and an Encoding object per text, a large
        share of the predict path's time per review. BPE always goes through the library."""
        from tokenizers import models, pre_tokenizers

        backend = self.backend
        plain = (isinstance(backend.model, models.WordLevel) and backend.normalizer is None
                 and isinstance(backend.pre_tokenizer, pre_tokenizers.WhitespaceSplit)
                 and not backend.get_added_tokens_decoder().keys() - {PAD_ID, OOV_ID})
        return backend.get_vocab(with_added_tokens=True) if plain else None

    def _word_level_ids(self, text: str) -> np.ndarray:
        if any(marker in text for marker in LIBRARY_ONLY):
            return np.asarray(self.backend.encode(text, add_special_tokens=False).ids, dtype=np.int64)
        ids = self.word_ids
        return np.fromiter((ids.get(word, OOV_ID) for word in text.split()), dtype=np.int64)

    def tokens(self, text: str) -> list[str]:
        """The tokens the model sees for one cleaned text (after truncation)."""
        ids = self.encode([text])[0]
        return [self.backend.id_to_token(int(i)) for i in ids]

    def encode_with_surface(self, text: str) -> tuple[np.ndarray, list[str]]:
        """Ids as `encode` gives them, and the piece of the cleaned text each came from (an
        out-of-vocabulary word shows as itself, not as <oov>)."""
        encoding = self.backend.encode(text, add_special_tokens=False)
        if not encoding.ids:
            return np.array([OOV_ID], dtype=np.int64), [""]
        kept = self._kept_positions(len(encoding.ids))
        ids = np.asarray(encoding.ids, dtype=np.int64)[kept]
        return ids, [text[encoding.offsets[i][0]:encoding.offsets[i][1]] for i in kept]

    def _kept_positions(self, n: int) -> np.ndarray:
        limit = self.config.max_length
        if n <= limit:
            return np.arange(n)
        if self.config.truncation == "head":
            return np.arange(limit)
        if self.config.truncation == "tail":
            return np.arange(n - limit, n)
        head = int(round(limit * self.config.head_fraction))
        return np.concatenate([np.arange(head), np.arange(n - (limit - head), n)])

    def truncate(self, ids: np.ndarray) -> np.ndarray:
        if len(ids) == 0:
            return np.array([OOV_ID], dtype=np.int64)
        return ids[self._kept_positions(len(ids))]

    def to_json(self) -> str:
        return self.backend.to_str(pretty=False)

    def check_ids(self, path: Path, rows: int) -> None:
        """Every id this vocabulary can give must be a row of an embedding of `rows` rows, and the
        padding and unknown tokens must be where the network expects them. (A count that matches
        is not enough: ids can skip numbers, and one past the embedding fails deep inside the
        engine, for every review batched with the one that holds it.)"""
        vocabulary = self.backend.get_vocab(with_added_tokens=True)
        largest = max(vocabulary.values(), default=-1)
        if largest >= rows:
            word = next(token for token, i in vocabulary.items() if i == largest)
            raise ModelError(f"{path}: token {word!r} has id {largest}, past the model's {rows} embedding rows: "
                             f"the tokenizer belongs to another model")
        for token, expected in ((PAD_TOKEN, PAD_ID), (OOV_TOKEN, OOV_ID)):
            if vocabulary.get(token) != expected:
                raise ModelError(f"{path}: special token {token!r} must have id {expected}, has "
                                 f"{vocabulary.get(token)!r}: not a sentiment-rnn tokenizer")

    @classmethod
    def load(cls, path: Path, config: TokenizerConfig) -> TextTokenizer:
        from tokenizers import Tokenizer

        try:
            backend = Tokenizer.from_file(str(path))
        except Exception as exc:  # the Rust error names nothing useful to a user
            raise ModelError(f"{path}: not a valid tokenizer file ({exc})") from None
        return cls(backend, config)
