"""The fast cleaning and tokenizing paths give exactly what the plain implementations give.

`separate_punctuation` splits pieces and runs of marks with string methods and caches, word-level
vocabularies are looked up in a dict instead of through `tokenizers`, and prediction goes from raw
text to ids in one pass (text/fused.py); all three were checked on all 100k IMDB reviews once (0
differences); here, on real reviews and on generated text aimed at the edge cases.
"""

import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import shared_archive
from sentiment_rnn import TokenizerConfig
from sentiment_rnn.config import TextConfig
from sentiment_rnn.text.cleaning import Cleaner, _separate_punctuation_whole, separate_punctuation
from sentiment_rnn.text import fused as fused_module
from sentiment_rnn.text.fused import FusedEncoder
from sentiment_rnn.text.tokenizer import TextTokenizer

# Letters, digits, underscore, apostrophes, punctuation (runs too), Unicode and Python-only whitespace,
# clitic and negation pieces, special-token lookalikes.
PIECES = st.sampled_from(["a", "n", "t", "s", "d", "m", "re", "ve", "ll", "_", "7", "é", "'", "’", "n't", "'s", ",", ".",
                          "!", "!!", "?", "-", "(", ")", "<", ">", "<pad>", "<oov>", '"', " ", "  ", "\t", "\n",
                          "\u00a0", "\u2003", "\x1c", "\x1f", "\u200b", "don't", "it's", "rock'n'roll", "'tis",
                          "...", "!?", ".,", "$", "%", "&", "«", "»", "…", "—", "x_y", "_a", "(1999).", "The", "NOT",
                          "the", "not", "very", "<br />"])
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
    return [tokenizer.truncate(np.asarray(e.ids, dtype=np.int64)).tolist()
            for e in tokenizer.backend.encode_batch(texts, add_special_tokens=False)]


@given(st.lists(TEXTS, min_size=1, max_size=8))
@settings(max_examples=200, deadline=None)
def test_word_level_lookup_equals_library(texts):
    tokenizer = TextTokenizer.train(["a n t s _ 7 é ' , . don't it's x\x1cy"] * 3,
                                    TokenizerConfig(min_frequency=1, max_length=16))
    assert tokenizer.word_ids is not None  # the fast path is what is under test
    assert [ids.tolist() for ids in tokenizer.encode(texts)] == library_ids(tokenizer, texts)


def test_word_level_lookup_equals_library_on_imdb(imdb_texts):
    cleaned = Cleaner.from_config(TextConfig()).many(imdb_texts)
    tokenizer = TextTokenizer.train(cleaned[:2000], TokenizerConfig(vocab_size=5000, max_length=300))
    assert [ids.tolist() for ids in tokenizer.encode(list(cleaned))] == library_ids(tokenizer, list(cleaned))


def test_bpe_goes_through_the_library():
    tokenizer = TextTokenizer.train(["good film bad film"] * 5, TokenizerConfig(kind="bpe", vocab_size=40, min_frequency=1))
    assert tokenizer.word_ids is None
    assert [ids.tolist() for ids in tokenizer.encode(["good films"])] == library_ids(tokenizer, ["good films"])


DEFAULT_CLEANER = Cleaner.from_config(TextConfig())  # ends with separate_punctuation, remove_stopwords


def step_by_step_ids(cleaner: Cleaner, tokenizer: TextTokenizer, texts: list[str]) -> list[list[int]]:
    return [ids.tolist() for ids in tokenizer.encode(cleaner.many(texts))]


@given(st.lists(TEXTS, min_size=1, max_size=8))
@settings(max_examples=300, deadline=None)
def test_fused_encoder_equals_cleaning_then_tokenizing(texts):
    # The vocabulary holds stopwords ("the", "not" is kept by the default list, "very" too): the
    # fused path must still drop exactly the stopwords that cleaning removes.
    tokenizer = TextTokenizer.train(["a n t s _ 7 é ' , . ! don't it's the not very x_y « x\x1cy"] * 3,
                                    TokenizerConfig(min_frequency=1, max_length=16, truncation="head_tail"))
    for cleaner in (DEFAULT_CLEANER, Cleaner(["lowercase", "separate_punctuation"])):
        fused = FusedEncoder.build(cleaner, tokenizer)
        assert fused is not None
        assert [ids.tolist() for ids in fused.encode(texts)] == step_by_step_ids(cleaner, tokenizer, texts)


def test_fused_encoder_equals_cleaning_then_tokenizing_on_imdb(imdb_texts):
    tokenizer = TextTokenizer.train(DEFAULT_CLEANER.many(imdb_texts[:2000]), TokenizerConfig(vocab_size=5000))
    fused = FusedEncoder.build(DEFAULT_CLEANER, tokenizer)
    expected = step_by_step_ids(DEFAULT_CLEANER, tokenizer, imdb_texts)
    assert [ids.tolist() for ids in fused.encode(imdb_texts)] == expected
    assert [ids.tolist() for ids in fused.encode(imdb_texts)] == expected  # again, from the chunk cache


def test_the_chunk_cache_stays_bounded_in_bytes_and_exact(imdb_texts):
    tokenizer = TextTokenizer.train(DEFAULT_CLEANER.many(imdb_texts[:500]), TokenizerConfig(vocab_size=2000))
    fused = FusedEncoder.build(DEFAULT_CLEANER, tokenizer, cache_bytes=20_000)
    texts = imdb_texts[:300]
    for _ in range(2):
        assert [ids.tolist() for ids in fused.encode(texts)] == step_by_step_ids(DEFAULT_CLEANER, tokenizer, texts)
        assert 0 < fused.cached_bytes <= 20_000
        assert fused.cached_bytes == sum(sys.getsizeof(k) + sys.getsizeof(v) + fused_module.ENTRY_OVERHEAD
                                         for k, v in fused._chunk_ids.items())


def test_long_unique_chunks_are_never_cached():
    """An attacker's stream of unique long chunks (the service's max_chars each) must not grow memory:
    an entry-count bound alone let 200,000 of them hold ~39 GB."""
    import random

    tokenizer = TextTokenizer.train(["good film"] * 3, TokenizerConfig(min_frequency=1))
    fused = FusedEncoder.build(DEFAULT_CLEANER, tokenizer)
    rng = random.Random(0)
    long_chunks = ["".join(rng.choices("abcdefgh,.'", k=5000)) for _ in range(20)]
    fused.encode(long_chunks)
    assert fused.cached_bytes == 0 and not fused._chunk_ids
    shorts = [" ".join("".join(rng.choices("abcdefgh", k=12)) for _ in range(200)) for _ in range(50)]
    fused.cache_bytes = 50_000
    fused.encode(shorts)
    assert fused.cached_bytes <= 50_000


def test_the_punctuation_caches_keep_only_short_pieces():
    from sentiment_rnn.text import cleaning

    before = cleaning._separate_piece.cache_info().currsize
    long_piece = "a'" * 5000
    assert cleaning.punctuation_tokens(long_piece)  # split, not cached
    assert cleaning._separate_piece.cache_info().currsize == before
    assert cleaning.punctuation_tokens("!?" * 5000) == ["!", "?"] * 5000


def test_fused_encoder_only_where_exact():
    words = TextTokenizer.train(["good film"] * 3, TokenizerConfig(min_frequency=1))
    bpe = TextTokenizer.train(["good film bad film"] * 5, TokenizerConfig(kind="bpe", vocab_size=40, min_frequency=1))
    assert FusedEncoder.build(DEFAULT_CLEANER, bpe) is None
    assert FusedEncoder.build(Cleaner(["separate_punctuation", "lowercase"]), words) is None
    assert FusedEncoder.build(Cleaner(["lowercase"]), words) is None
    assert FusedEncoder.build(Cleaner(["separate_punctuation"]), words) is not None


def test_classifier_encodes_with_the_current_tokenizer_after_a_refit(tiny_data):
    from conftest import TINY_SETTINGS
    from sentiment_rnn import SentimentClassifier

    settings = {**TINY_SETTINGS, "training": {**TINY_SETTINGS["training"], "epochs": 1}}
    clf = SentimentClassifier(**settings).fit(*tiny_data)
    assert clf.text_pipeline_.fused is not None  # the one-pass path is the one under test
    clf.encode(["warm the fused encoder up"])
    clf.fit(["zebra quagga"] * 6 + ["okapi tapir"] * 6, ["positive"] * 6 + ["negative"] * 6)
    text = ["zebra okapi the plot"]
    assert [ids.tolist() for ids in clf.encode(text)] == step_by_step_ids(clf.cleaner, clf.tokenizer_, text)
    assert clf.encode(text)[0].tolist()[:2] != [1, 1]  # the new words are in the new vocabulary
