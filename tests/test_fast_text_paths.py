"""The fast cleaning and tokenizing paths give exactly what the plain implementations give.

`separate_punctuation` runs chunk by chunk with a cache, and word-level vocabularies are looked up
in a dict instead of through `tokenizers`; both were checked on all 100k IMDB reviews once (0
differences); here, on real reviews and on generated text aimed at the edge cases.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import shared_archive
from sentiment_rnn import TokenizerConfig
from sentiment_rnn.config import TextConfig
from sentiment_rnn.text.cleaning import Cleaner, _separate_punctuation_whole, separate_punctuation
from sentiment_rnn.text.tokenizer import TextTokenizer

# Letters, digits, underscore, apostrophes, punctuation (runs too), Unicode and Python-only whitespace,
# clitic and negation pieces, special-token lookalikes.
PIECES = st.sampled_from(["a", "n", "t", "s", "d", "m", "re", "ve", "ll", "_", "7", "é", "'", "’", "n't", "'s", ",", ".",
                          "!", "!!", "?", "-", "(", ")", "<", ">", "<pad>", "<oov>", '"', " ", "  ", "\t", "\n",
                          "\u00a0", "\u2003", "\x1c", "\x1f", "\u200b", "don't", "it's", "rock'n'roll", "'tis"])
TEXTS = st.lists(PIECES, max_size=40).map("".join)


@pytest.fixture(scope="module")
def imdb_texts():
    from sentiment_rnn.data import load_imdb_split

    return load_imdb_split(shared_archive(), "test").texts[:3000]


@given(TEXTS)
@settings(max_examples=500, deadline=None)
def test_separate_punctuation_chunked_equals_whole_text(text):
    assert separate_punctuation(text) == _separate_punctuation_whole(text)


def test_separate_punctuation_chunked_equals_whole_text_on_imdb(imdb_texts):
    for raw in imdb_texts:
        assert separate_punctuation(raw) == _separate_punctuation_whole(raw)
        lowered = raw.lower()
        assert separate_punctuation(lowered) == _separate_punctuation_whole(lowered)


def library_ids(tokenizer: TextTokenizer, texts: list[str]) -> list[list[int]]:
    return [tokenizer._truncate(np.asarray(e.ids, dtype=np.int64)).tolist()
            for e in tokenizer.backend.encode_batch(texts, add_special_tokens=False)]


@given(st.lists(TEXTS, min_size=1, max_size=8))
@settings(max_examples=200, deadline=None)
def test_word_level_lookup_equals_library(texts):
    tokenizer = TextTokenizer.train(["a n t s _ 7 é ' , . don't it's x\x1cy"] * 3,
                                    TokenizerConfig(min_frequency=1, max_length=16))
    assert tokenizer._word_ids is not None  # the fast path is what is under test
    assert [ids.tolist() for ids in tokenizer.encode(texts)] == library_ids(tokenizer, texts)


def test_word_level_lookup_equals_library_on_imdb(imdb_texts):
    cleaned = Cleaner.from_config(TextConfig()).many(imdb_texts)
    tokenizer = TextTokenizer.train(cleaned[:2000], TokenizerConfig(vocab_size=5000, max_length=300))
    assert [ids.tolist() for ids in tokenizer.encode(list(cleaned))] == library_ids(tokenizer, list(cleaned))


def test_bpe_goes_through_the_library():
    tokenizer = TextTokenizer.train(["good film bad film"] * 5, TokenizerConfig(kind="bpe", vocab_size=40, min_frequency=1))
    assert tokenizer._word_ids is None
    assert [ids.tolist() for ids in tokenizer.encode(["good films"])] == library_ids(tokenizer, ["good films"])
