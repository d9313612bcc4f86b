"""Stopword lists.

`nltk` is the standard 179-word NLTK English list that the tutorial removed; it deletes "not",
"no", "but" and every "n't" form, which flips the meaning of many reviews. `default` is the same
list with negations, contrast words and intensifiers kept.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

# Words whose removal changes what a review says about a film.
KEPT_FOR_SENTIMENT = frozenset(
    """
    not no nor never n't but against however although though yet very too only few more most
    don don't aren aren't couldn couldn't didn didn't doesn doesn't hadn hadn't hasn hasn't haven
    haven't isn isn't mightn mightn't mustn mustn't needn needn't shan shan't shouldn shouldn't
    wasn wasn't weren weren't won won't wouldn wouldn't ain
    """.split()
)


@cache
def nltk_stopwords() -> frozenset[str]:
    text = resources.files(__package__).joinpath("nltk_english_stopwords.txt").read_text(encoding="utf-8")
    return frozenset(word.strip() for word in text.splitlines() if word.strip())


@cache
def stopword_list(name: str) -> frozenset[str]:
    if name == "nltk":
        return nltk_stopwords()
    if name == "default":
        return nltk_stopwords() - KEPT_FOR_SENTIMENT
    if name == "none":
        return frozenset()
    raise ValueError(f"unknown stopword list {name!r}")
