import pytest

from sentiment_rnn import TokenizerConfig
from sentiment_rnn.config import TextConfig
from sentiment_rnn.text.cleaning import Cleaner, separate_punctuation, strip_html
from sentiment_rnn.text.tokenizer import OOV_ID, PAD_ID, TextTokenizer


def test_default_cleaning():
    clean = Cleaner.from_config(TextConfig())
    # stopwords go ("i", "did", "it"), the negation stays
    assert clean("Great<br /><br />film &amp; I DIDN’T hate it!!!") == "great film & n't hate !"
    assert Cleaner(TextConfig().pipeline[:-1])("I DIDN’T hate it!!!") == "i did n't hate it !"
    assert clean("Ｆｕｌｌ－ｗｉｄｔｈ") == "full - width"  # NFKC, then the hyphen is its own token


def test_rules_are_small_pure_functions():
    assert strip_html("a<br />b") == "a b"
    assert separate_punctuation("it's great, isn't it?") == "it 's great , is n't it ?"


def test_default_stopwords_keep_negations_nltk_does_not():
    text = "this is not a film i would ever watch but the cast was very good"
    kept = Cleaner(["remove_stopwords"], "default")(text)
    removed = Cleaner(["remove_stopwords"], "nltk")(text)
    assert "not" in kept.split() and "but" in kept.split() and "very" in kept.split()
    assert "not" not in removed.split() and "but" not in removed.split()
    assert "this" not in kept.split()


def test_tokenizer_vocabulary_limit_and_oov():
    texts = ["good good good film", "bad bad film", "rare"]
    tok = TextTokenizer.train(texts, TokenizerConfig(vocab_size=4, min_frequency=1))
    assert tok.vocab_size == 4  # <pad>, <oov>, good, bad|film
    assert tok.tokens("good unseenword") == ["good", "<oov>"]
    assert tok.encode([""])[0].tolist() == [OOV_ID]  # never an empty sequence
    assert PAD_ID not in tok.encode(["good bad"])[0]


@pytest.mark.parametrize("mode, expected", [
    ("head", ["w0", "w1", "w2", "w3"]),
    ("tail", ["w6", "w7", "w8", "w9"]),
    ("head_tail", ["w0", "w7", "w8", "w9"]),
])
def test_truncation(mode, expected):
    text = " ".join(f"w{i}" for i in range(10))
    tok = TextTokenizer.train([text], TokenizerConfig(min_frequency=1, max_length=4, truncation=mode))
    assert tok.tokens(text) == expected


def test_bpe_handles_unseen_words_by_pieces(tmp_path):
    texts = ["wonderful wonderfully wonder"] * 20
    tok = TextTokenizer.train(texts, TokenizerConfig(kind="bpe", vocab_size=60, min_frequency=1))
    assert "<oov>" not in tok.tokens("wonderlywonder")  # never seen whole, built from pieces
    (tmp_path / "tokenizer.json").write_text(tok.to_json())
    again = TextTokenizer.load(tmp_path / "tokenizer.json", tok.config)
    assert again.encode(["wonderfully"])[0].tolist() == tok.encode(["wonderfully"])[0].tolist()
