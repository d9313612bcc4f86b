"""Text cleaning as a list of small named pure functions (`str -> str`).

A pipeline is a list of rule names (`TextConfig.pipeline`); it is saved in the model's config and
re-applied verbatim at prediction time. Add a rule by decorating a function with `@rule`.
"""

from __future__ import annotations

import functools
import html
import itertools
import re
import string
import unicodedata
from collections.abc import Callable, Iterable

from .stopwords import stopword_list

Rule = Callable[[str], str]
RULES: dict[str, Rule] = {}


def rule(fn: Rule) -> Rule:
    RULES[fn.__name__] = fn
    return fn


_TAG = re.compile(r"<[^>]{0,200}>")


@rule
def strip_html(text: str) -> str:
    """`<br />` and other tags become a space (IMDB has `<br /><br />` between paragraphs)."""
    return _TAG.sub(" ", text)


@rule
def unescape_html(text: str) -> str:
    """`&amp;` → `&`, `&#39;` → `'`."""
    return html.unescape(text)


@rule
def normalize_unicode(text: str) -> str:
    """NFKC, plus typographic quotes and dashes folded to ASCII so "don’t" equals "don't"."""
    text = unicodedata.normalize("NFKC", text)
    return text.translate(_TYPOGRAPHIC)


_TYPOGRAPHIC = str.maketrans({"‘": "'", "’": "'", "‚": "'", "‛": "'", "“": '"', "”": '"',
                              "„": '"', "–": "-", "—": "-", "―": "-", "…": "..."})


@rule
def lowercase(text: str) -> str:
    return text.lower()


# "didn't" → "did n't" (negation becomes its own token); "it's" → "it 's".
_NEGATION = re.compile(r"(\w)n't\b")
_CLITIC = re.compile(r"(\w)'(s|re|ve|ll|d|m)\b")
# Every character that is neither a word character, whitespace nor an apostrophe is its own token;
# runs of the same mark ("!!!", "...") collapse to one.
_PUNCT_RUN = re.compile(r"([^\w\s'])\1*")
_STRAY_APOSTROPHE = re.compile(r"(?<!\w)'(?!(?:s|re|ve|ll|d|m)\b)|'(?!\w)")
_SPACES = re.compile(r"\s+")


# Within a whitespace-free chunk: pieces of word characters and apostrophes, and runs of marks.
_TOKEN = re.compile(r"[\w']+|[^\w\s']+")
# ASCII marks: neither word characters ("_" is one) nor apostrophes.
_ASCII_MARKS = "".join(c for c in string.punctuation if c not in "'_")


@rule
def separate_punctuation(text: str) -> str:
    return " ".join(punctuation_tokens(text))


def punctuation_tokens(text: str) -> list[str]:
    """The tokens of `separate_punctuation(text)`, without building the string.

    Why not the four substitutions (`_separate_punctuation_whole`): each regex above only looks at
    whether a neighbour is a word character, and marks and whitespace are alike in that, so the
    rule acts on each piece of word characters and apostrophes (and each run of marks) on its own.
    Pieces without an apostrophe come out unchanged; the few with one ("didn't", "it's") recur and
    are cached; a run of marks becomes one token per mark, repeats collapsed. Most chunks between
    spaces are a plain word, or a plain word with ASCII marks around it ("film,", "(1999)."), which
    string methods split without a regex: about a quarter of the substitutions' time (CHANGELOG),
    same tokens; tests/text/test_fast_text_paths.py compares both on IMDB reviews and generated text.
    """
    tokens: list[str] = []
    append, extend = tokens.append, tokens.extend
    for chunk in text.split():
        if chunk.isalnum():
            append(chunk)
            continue
        left = chunk.lstrip(_ASCII_MARKS)
        core = left.rstrip(_ASCII_MARKS)
        if core.isalnum():
            if len(left) < len(chunk):
                extend(_mark_runs(chunk[:len(chunk) - len(left)]))
            append(core)
            if len(core) < len(left):
                extend(_mark_runs(left[len(core):]))
            continue
        for piece in _TOKEN.findall(chunk):
            if piece.isalnum():
                append(piece)
            elif "'" in piece:
                extend(_separate_piece(piece))
            elif piece[0] == "_" or piece[0].isalnum():  # word characters with an underscore
                append(piece)
            else:
                extend(_mark_runs(piece))
    return tokens


@functools.lru_cache(maxsize=1 << 14)
def _separate_piece(piece: str) -> tuple[str, ...]:
    return tuple(_separate_punctuation_whole(piece).split())


@functools.lru_cache(maxsize=1 << 12)
def _mark_runs(marks: str) -> tuple[str, ...]:
    """One token per run of the same mark: `!!?` → ("!", "?")."""
    return tuple(mark for mark, _ in itertools.groupby(marks))


def _separate_punctuation_whole(text: str) -> str:
    """The rule as four substitutions over the whole text: the reference `separate_punctuation` must equal."""
    text = _NEGATION.sub(r"\1 n't", text)
    text = _CLITIC.sub(r"\1 '\2", text)
    text = _PUNCT_RUN.sub(r" \1 ", text)
    text = _STRAY_APOSTROPHE.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


KERAS_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
_KERAS_TABLE = str.maketrans({c: " " for c in KERAS_FILTERS})


@rule
def strip_keras_filters(text: str) -> str:
    """What the tutorial's Keras `Tokenizer` did: every character of its `filters` becomes a space."""
    return text.translate(_KERAS_TABLE)


def make_stopword_rule(list_name: str) -> Rule:
    stop = stopword_list(list_name)

    def remove_stopwords(text: str) -> str:
        # Whitespace split, as the tutorial did: "movie," is not the stopword "movie".
        return " ".join(word for word in text.split() if word not in stop)

    return remove_stopwords


@rule
def remove_stopwords(text: str) -> str:
    """Placeholder resolved by `Cleaner` to the configured list (`TextConfig.stopwords`)."""
    return make_stopword_rule("default")(text)


class Cleaner:
    """Applies a configured pipeline of rules; callable on one text, `.many()` on a batch."""

    def __init__(self, pipeline: Iterable[str], stopwords: str = "default"):
        self.pipeline = list(pipeline)
        self.stopwords = stopwords
        self.functions = [make_stopword_rule(stopwords) if name == "remove_stopwords" else RULES[name]
                     for name in self.pipeline]

    @classmethod
    def from_config(cls, config) -> Cleaner:
        return cls(config.pipeline, config.stopwords)

    def __call__(self, text: str) -> str:
        for fn in self.functions:
            text = fn(text)
        return text

    def many(self, texts: Iterable[str]) -> list[str]:
        return [self(text) for text in texts]
