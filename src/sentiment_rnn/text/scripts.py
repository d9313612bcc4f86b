"""Writing systems: which one a set of reviews is in, and how to cut the ones without spaces.

Chinese and Japanese put no spaces between words, nor do Thai, Lao, Khmer and Myanmar: a tokenizer
that splits on whitespace sees a whole review as one or two "words", nearly all unknown. The
`split_unspaced_scripts` cleaning rule (cleaning.py) puts every character of those scripts in a
token of its own, as BERT's basic tokenizer does for CJK ideographs; a Thai, Lao, Khmer or Myanmar
character keeps the combining marks (vowel signs, tone marks) that follow it. Scripts with spaces
(Latin, Cyrillic, Greek, Arabic, Hebrew, Hangul, Devanagari...) pass through unchanged.

`detect_language` reads a sample of the training texts and names what the settings depend on: the
stopword list (English and Chinese ship one; others have none) and nothing else. It is a script
count, not a language identifier: a Latin-script set is "en" when English function words are
common in it, else "latin".
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

# (first, last) code points of the scripts written without spaces between words
IDEOGRAPHIC = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2FA1F))
KANA = ((0x3040, 0x309F), (0x30A0, 0x30FF), (0x31F0, 0x31FF))
SOUTHEAST_ASIAN = {"th": (0x0E00, 0x0E7F), "lo": (0x0E80, 0x0EFF), "my": (0x1000, 0x109F), "km": (0x1780, 0x17FF)}
LANGUAGES = ("auto", "en", "latin", "zh", "ja", "ko", "th", "lo", "my", "km", "ar", "other")


def _class(ranges) -> str:
    return "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in ranges)


def _marks(lo: int, hi: int) -> str:
    """The combining marks of a block: they belong to the character before them."""
    return "".join(chr(c) for c in range(lo, hi + 1) if unicodedata.category(chr(c)) in ("Mn", "Mc"))


_SEA_MARKS = "".join(_marks(lo, hi) for lo, hi in SOUTHEAST_ASIAN.values())
_SEA_BASE = _class(SOUTHEAST_ASIAN.values())
# One token: an ideograph or kana; or a Southeast Asian base character with its marks.
_UNSPACED = re.compile(f"[{_class(IDEOGRAPHIC + KANA)}]|[{_SEA_BASE}](?:[{re.escape(_SEA_MARKS)}])*")


def split_unspaced(text: str) -> str:
    """Every character of a script without word spaces becomes a token (spaces around it)."""
    if text.isascii() or not _UNSPACED.search(text):
        return text
    return " ".join(_UNSPACED.sub(r" \g<0> ", text).split())


ENGLISH_MARKERS = frozenset("the and a of to is it in this that was for with as but on not".split())


def script_of(char: str) -> str | None:
    code = ord(char)
    if any(lo <= code <= hi for lo, hi in KANA):
        return "kana"
    if any(lo <= code <= hi for lo, hi in IDEOGRAPHIC):
        return "han"
    for name, (lo, hi) in SOUTHEAST_ASIAN.items():
        if lo <= code <= hi:
            return name
    if 0xAC00 <= code <= 0xD7AF or 0x1100 <= code <= 0x11FF:
        return "hangul"
    if 0x0600 <= code <= 0x06FF or 0x0750 <= code <= 0x077F:
        return "arabic"
    if char.isalpha():
        return "latin" if code < 0x0250 or 0x1E00 <= code <= 0x1EFF else "other"
    return None


def detect_language(texts: Sequence[str], sample: int = 2000) -> str:
    """The language setting a set of texts calls for, from the scripts of its letters (see above)."""
    counts: Counter[str] = Counter()
    english = words = 0
    for text in texts[:sample]:
        counts.update(filter(None, map(script_of, text)))
        tokens = text.lower().split()
        words += len(tokens)
        english += sum(token in ENGLISH_MARKERS for token in tokens)
    letters = sum(counts.values())
    if not letters:
        return "other"
    if counts["kana"] >= 0.05 * letters:  # Japanese mixes kana into its kanji
        return "ja"
    script, n = counts.most_common(1)[0]
    if n < 0.5 * letters:
        return "other"
    if script == "latin":
        return "en" if words and english >= 0.08 * words else "latin"
    return {"han": "zh", "hangul": "ko", "arabic": "ar"}.get(script, script if script in SOUTHEAST_ASIAN else "other")
