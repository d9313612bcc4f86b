"""Any language: unspaced scripts split into characters, the language detected from the script, the
stopword list it picks, the guards against untokenizable data, explanations located in the raw text,
and a save/load round trip in a fresh process for each script."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import ZH_NEG, ZH_POS
from sentiment_rnn import SentimentClassifier
from sentiment_rnn.errors import DataError
from sentiment_rnn.explain import explain, locate
from sentiment_rnn.text.cleaning import Cleaner
from sentiment_rnn.text.scripts import detect_language, split_unspaced
from sentiment_rnn.text.stopwords import stopword_list

DEFAULT = Cleaner(["strip_html", "unescape_html", "normalize_unicode", "lowercase", "split_unspaced_scripts",
                   "separate_punctuation"])


@pytest.mark.parametrize("raw, cleaned", [
    ("味道很好，送餐快！", "味 道 很 好 , 送 餐 快 !"),  # full-width marks: NFKC, then their own tokens
    ("【差评】不好吃。《再也不点》", "【 差 评 】 不 好 吃 。 《 再 也 不 点 》"),  # CJK brackets and stops
    ("とても美味しいです", "と て も 美 味 し い で す"),  # kana and kanji alike
    ("อาหารอร่อยมาก", "อ า ห า ร อ ร่ อ ย ม า ก"),  # Thai: a tone mark stays with its consonant
    ("الطعام لذيذ جدا", "الطعام لذيذ جدا"),  # Arabic has spaces: unchanged
    ("Très bon café, déçu par le service", "très bon café , déçu par le service"),  # accents kept
    ("𠀀𠀁 ok", "𠀀 𠀁 ok"),  # an extension-B ideograph (outside the BMP) is one token too
])
def test_unspaced_scripts_become_one_token_per_character(raw, cleaned):
    assert DEFAULT(raw) == cleaned


def test_split_is_a_no_op_on_english_and_on_spaced_scripts():
    for text in ("a plain review, nothing to split", "Привет мир", "안녕하세요 반갑습니다", "नमस्ते दुनिया"):
        assert split_unspaced(text) == text


@pytest.mark.parametrize("texts, language", [
    (["外卖很好吃，下次还点", "太慢了，菜都凉了"], "zh"),
    (["とても美味しいです", "配達が遅かった"], "ja"),
    (["อาหารอร่อยมาก", "ส่งช้ามาก"], "th"),
    (["الطعام لذيذ جدا", "التوصيل بطيء"], "ar"),
    (["음식이 맛있어요", "배달이 늦었어요"], "ko"),
    (["The film was great and the acting is superb", "It was a waste of time"], "en"),
    (["Très bon café, déçu par le service", "Livraison rapide, repas froid"], "latin"),
    (["12345", "!!!"], "other"),
])
def test_the_script_names_the_language(texts, language):
    assert detect_language(texts) == language


def test_chinese_stopwords_keep_negations_intensifiers_and_contrast():
    chinese = stopword_list("default", "zh")
    assert {"的", "了", "吧", "这个"} <= chinese
    assert not {"不", "没", "没有", "别", "无", "未", "很", "太", "最", "但", "却", "好", "差"} & chinese
    assert stopword_list("default", "ja") == frozenset()  # no list: nothing removed
    assert stopword_list("default", "auto") == stopword_list("default", "en")  # models saved before languages


LANGUAGE_DATA = {
    "zh": (ZH_POS, ZH_NEG),
    "ja": (["とても美味しい", "配達が早い", "最高でした"], ["まずい", "配達が遅い", "最悪でした"]),
    "th": (["อร่อยมาก", "ส่งเร็ว", "ดีมาก"], ["ไม่อร่อย", "ส่งช้า", "แย่มาก"]),
    "ar": (["الطعام لذيذ جدا", "توصيل سريع", "ممتاز"], ["الطعام سيء", "توصيل بطيء", "سيء جدا"]),
    "latin": (["très bon café", "service rapide", "excellent repas"], ["café froid", "service lent", "repas décevant"]),
}
TINY = {"tokenizer": {"min_frequency": 1, "max_length": 64},
        "model": {"embedding_dim": 16, "hidden_size": 16, "pretrained_embeddings": ""},
        "training": {"epochs": 15, "batch_size": 8, "learning_rate": 0.02, "val_fraction": 0.0}}


@pytest.mark.parametrize("language", list(LANGUAGE_DATA))
def test_each_script_trains_saves_and_predicts_the_same_in_a_fresh_process(language, tmp_path):
    positive, negative = LANGUAGE_DATA[language]
    texts = (positive + negative) * 4
    labels = (["positive"] * len(positive) + ["negative"] * len(negative)) * 4
    clf = SentimentClassifier(**TINY).fit(texts, labels)
    assert clf.text_config_.language == language  # detected, and saved resolved
    assert clf.score(texts, labels) >= 0.8
    clf.save(tmp_path / "model")
    assert json.loads((tmp_path / "model" / "config.json").read_text())["text"]["language"] == language
    probe = [positive[0], negative[0]]
    script = ("import json, sys; from sentiment_rnn import SentimentClassifier; "
              "clf = SentimentClassifier.load(sys.argv[1]); "
              "print(json.dumps(clf.predict_proba(json.loads(sys.argv[2])).tolist()))")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "model"), json.dumps(probe)],
                          capture_output=True, text=True, check=True)
    np.testing.assert_allclose(json.loads(done.stdout), clf.predict_proba(probe), atol=1e-5)


def test_chinese_without_the_split_rule_stops_naming_the_cause():
    texts = [f"第{i}家店味道很好送餐也很快下次还会再点的" for i in range(30)] + \
            [f"第{i}家店太难吃了送餐又慢以后再也不点了" for i in range(30)]
    labels = ["positive"] * 30 + ["negative"] * 30
    settings = {**TINY, "text": {"pipeline": ["normalize_unicode", "lowercase", "separate_punctuation"]}}
    with pytest.raises(DataError, match=r"median training review is 1 token\(s\) but \d+ characters long.*"
                                        r"split_unspaced_scripts"):
        SentimentClassifier(**settings).fit(texts, labels)


def test_validation_in_another_script_than_training_stops():
    english = [f"review number {i} was {'great' if i % 2 else 'awful'}" for i in range(40)]
    chinese = [f"第{i}家店{'很好' if i % 2 else '很差'}" for i in range(40)]
    labels = ["positive" if i % 2 else "negative" for i in range(40)]
    settings = {**TINY, "text": {"language": "en"}}
    with pytest.raises(DataError, match="not in the vocabulary learned from the training reviews"):
        SentimentClassifier(**settings).fit(english, labels, validation=(chinese, labels))


def test_locate_maps_cleaned_tokens_back_to_the_raw_text():
    raw = "The Movie <br />didn't “WORK”… 味道很好！"
    tokens = ["movie", "did", "n't", '"', "work", '"', ".", "味", "道", "很", "好", "!", "absent"]
    spans = locate(raw, tokens)
    pieces = [raw[a:b] if a is not None else None for a, b in spans]
    assert pieces == ["Movie", "did", "n't", "“", "WORK", "”", "…", "味", "道", "很", "好", "！", None]


def test_explanations_cover_the_user_s_own_characters_in_chinese(tmp_path):
    clf = SentimentClassifier(**TINY).fit(ZH_POS * 4 + ZH_NEG * 4, ["positive"] * 20 + ["negative"] * 20)
    raw = "味道很好，就是有点咸"
    result = explain(clf, raw)
    located = [(t["start"], t["end"]) for t in result["tokens"]]
    assert [raw[a:b] for a, b in located] == [t["token"] if t["token"] != "," else "，" for t in result["tokens"]]
    unknown = {raw[t["start"]:t["end"]] for t in result["tokens"] if not t["known"]}
    assert unknown == {"有", "咸"}  # never seen in training: shown in place, marked unknown
    assert not {"就", "是"} & {t["token"] for t in result["tokens"]}  # stopwords: plain text on the page


def test_dictionary_segmentation_is_an_optional_rule():
    pytest.importorskip("jieba")
    segmented = Cleaner(["normalize_unicode", "segment_chinese_words", "separate_punctuation"])
    assert segmented("送餐小哥态度很好，不过有点贵") == "送餐 小哥 态度 很 好 , 不过 有点 贵"

