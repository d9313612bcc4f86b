"""`TextPipeline`: a model's whole text path in one object, chosen once when the model is fitted
or loaded: raw text → cleaning → vocabulary → truncation (`encode`), and the padding its batches
get (`pad_to`). Where it is exact, cleaning and the word lookup run as one pass (fused.py);
otherwise the rules run in turn and the tokenizer follows.

    pipeline = TextPipeline(Cleaner.from_config(text_settings), tokenizer)
    ids = pipeline.encode(["What a film!"])      # the ids the network reads
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .cleaning import Cleaner
from .fused import CACHE_BYTES, FusedEncoder
from .tokenizer import TextTokenizer


class TextPipeline:
    def __init__(self, cleaner: Cleaner, tokenizer: TextTokenizer, cache_bytes: int = CACHE_BYTES):
        self.cleaner, self.tokenizer = cleaner, tokenizer
        settings = tokenizer.config
        self.pad_to = settings.max_length if settings.padding == "max_length" else None
        self.fused = FusedEncoder.build(cleaner, tokenizer, cache_bytes)  # None where it would not be exact

    def encode(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Token ids exactly as the model saw them in training."""
        if self.fused is not None:
            return self.fused.encode(texts)
        return self.tokenizer.encode(self.cleaner.many(texts))
