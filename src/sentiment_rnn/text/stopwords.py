"""Stopword lists, per language (`TextConfig.language`).

`nltk` is the standard 179-word NLTK English list that the tutorial removed; it deletes "not",
"no", "but" and every "n't" form, which flips the meaning of many reviews. `default` is, for
English, the same list with negations, contrast words and intensifiers kept; for Chinese, our list
of function characters and words (chinese_stopwords.txt: particles, pronouns, measure words),
written with negations (不, 没, 别, 无, 未...), contrast words (但, 却...) and intensifiers (很,
太, 最...) left out for the same reason; for other languages, no list (nothing removed).
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
def chinese_stopwords() -> frozenset[str]:
    text = resources.files(__package__).joinpath("chinese_stopwords.txt").read_text(encoding="utf-8")
    return frozenset(word for line in text.splitlines() if not line.startswith("#") for word in line.split())


@cache
def stopword_list(name: str, language: str = "auto") -> frozenset[str]:
    """`language` "auto" (a model saved before languages were detected) reads as English."""
    if name == "none":
        return frozenset()
    if name not in ("default", "nltk"):
        raise ValueError(f"unknown stopword list {name!r}")
    if language in ("auto", "en"):
        return nltk_stopwords() if name == "nltk" else nltk_stopwords() - KEPT_FOR_SENTIMENT
    if language == "zh" and name == "default":
        return chinese_stopwords()
    return frozenset()
