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

from .scripts import split_unspaced
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
    if text.isascii():  # both are identities on ASCII text, the common case: skip them
        return text
    text = unicodedata.normalize("NFKC", text)
    for typographic, plain in _TYPOGRAPHIC:  # str.replace per mark beats str.translate with a dict (CHANGELOG)
        if typographic in text:
            text = text.replace(typographic, plain)
    return text


_TYPOGRAPHIC = tuple({"‘": "'", "’": "'", "‚": "'", "‛": "'", "“": '"', "”": '"',
                      "„": '"', "–": "-", "—": "-", "―": "-", "…": "..."}.items())


@rule
def lowercase(text: str) -> str:
    return text.lower()


@rule
def split_unspaced_scripts(text: str) -> str:
    """Chinese, Japanese, Thai, Lao, Khmer, Myanmar: one token per character (scripts.py); a no-op
    on text without them."""
    return split_unspaced(text)


@rule
def segment_chinese_words(text: str) -> str:
    """Chinese words from jieba's dictionary segmentation ("味道很好" → "味道 很 好"), for
    text.pipeline in place of split_unspaced_scripts; needs `pip install sentiment-rnn[chinese]`."""
    if text.isascii():
        return text
    return " ".join(token for token in _jieba().cut(text) if not token.isspace())


@functools.cache
def _jieba():
    try:
        import jieba
    except ImportError:
        from ..errors import ConfigError

        raise ConfigError("the cleaning rule segment_chinese_words needs jieba: pip install 'sentiment-rnn[chinese]' "
                          "(or use split_unspaced_scripts, which needs nothing)") from None
    import logging

    jieba.setLogLevel(logging.WARNING)  # it announces loading its dictionary on stderr
    return jieba


# "didn't" → "did n't" (negation becomes its own token); "it's" → "it 's".
# Every character that is neither a word character, whitespace nor an apostrophe is its own token;
# runs of the same mark ("!!!", "...") collapse to one. A combining mark (a vowel sign, virama or
# tone mark of Thai, Devanagari, Arabic...) that follows a word character belongs to that word,
# though Python's \w leaves it out; one with no letter before it (IMDB's "it ́s", an acute accent
# typed as an apostrophe) stays a mark of its own, as it always was. The patterns are compiled on
# first use: the marks' class comes from a scan of the Unicode database (a few tens of ms).


@functools.cache
def _patterns() -> dict[str, re.Pattern]:
    marks, start = [], None
    for code in range(0x0300, 0x20000):
        is_mark = unicodedata.category(chr(code))[0] == "M"
        if is_mark and start is None:
            start = code
        elif not is_mark and start is not None:
            marks.append(f"{re.escape(chr(start))}-{re.escape(chr(code - 1))}")
            start = None
    m = "".join(marks)
    in_word = f"(?<=[\\w'{m}])[{m}]"  # a mark right after a word character (or such a mark)
    word = f"(?:\\w|{in_word})"
    after = f"(?![\\w{m}])"  # no word character follows (a mark after one is part of it)
    return {
        "negation": re.compile(f"({word})n't{after}"),
        "clitic": re.compile(f"({word})'(s|re|ve|ll|d|m){after}"),
        "punct_run": re.compile(f"((?!{in_word})[^\\w\\s'])\\1*"),
        "stray_apostrophe": re.compile(f"(?<![\\w{m}])'(?!(?:s|re|ve|ll|d|m){after})|'(?![\\w{m}])"),
        # within a whitespace-free chunk: a word (word characters, apostrophes and the marks that
        # follow them), or a run of other characters
        "token": re.compile(f"[\\w'][\\w'{m}]*|[^\\w\\s']+"),
    }


_SPACES = re.compile(r"\s+")


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
        for piece in _patterns()["token"].findall(chunk):
            if piece.isalnum():
                append(piece)
            elif "'" in piece:
                extend(_separate_piece(piece))
            elif piece[0] == "_" or piece[0].isalnum():  # word characters with an underscore or a mark
                append(piece)
            else:
                extend(_mark_runs(piece))
    return tokens


def _cached_when_short(maxsize: int, max_chars: int = 64):
    """An LRU cache for short arguments only: entries are counted, so their size must be bounded
    too, or one client's long unique strings would fill memory (maxsize × max_chars at most)."""
    def decorate(fn):
        cached = functools.lru_cache(maxsize=maxsize)(fn)

        @functools.wraps(fn)
        def call(text: str):
            return cached(text) if len(text) <= max_chars else fn(text)
        call.cache_info = cached.cache_info
        return call
    return decorate


@_cached_when_short(maxsize=1 << 14)
def _separate_piece(piece: str) -> tuple[str, ...]:
    return tuple(_separate_punctuation_whole(piece).split())


@_cached_when_short(maxsize=1 << 12)
def _mark_runs(marks: str) -> tuple[str, ...]:
    """One token per run of the same mark: `!!?` → ("!", "?")."""
    return tuple(mark for mark, _ in itertools.groupby(marks))


def _separate_punctuation_whole(text: str) -> str:
    """The rule as four substitutions over the whole text: the reference `separate_punctuation` must equal."""
    patterns = _patterns()
    text = patterns["negation"].sub(r"\1 n't", text)
    text = patterns["clitic"].sub(r"\1 '\2", text)
    text = patterns["punct_run"].sub(r" \1 ", text)
    text = patterns["stray_apostrophe"].sub(" ", text)
    return _SPACES.sub(" ", text).strip()


KERAS_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
_KERAS_TABLE = str.maketrans({c: " " for c in KERAS_FILTERS})


@rule
def strip_keras_filters(text: str) -> str:
    """What the tutorial's Keras `Tokenizer` did: every character of its `filters` becomes a space."""
    return text.translate(_KERAS_TABLE)


def make_stopword_rule(list_name: str, language: str = "auto") -> Rule:
    stop = stopword_list(list_name, language)

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

    def __init__(self, pipeline: Iterable[str], stopwords: str = "default", language: str = "auto"):
        self.pipeline = list(pipeline)
        self.stopwords = stopwords
        self.language = language
        self.stop = stopword_list(stopwords, language) if "remove_stopwords" in self.pipeline else frozenset()
        self.functions = [make_stopword_rule(stopwords, language) if name == "remove_stopwords" else RULES[name]
                          for name in self.pipeline]

    @classmethod
    def from_config(cls, config) -> Cleaner:
        return cls(config.pipeline, config.stopwords, config.language)

    def __call__(self, text: str) -> str:
        for fn in self.functions:
            text = fn(text)
        return text

    def many(self, texts: Iterable[str]) -> list[str]:
        return [self(text) for text in texts]
