"""Users' files and the IMDB archive: reading, caching, and every bad input named by its error."""

import json
import tarfile

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import write_imdb_archive
from sentiment_rnn import DataError
from sentiment_rnn.data import load_imdb_split, load_labeled_file


def test_kaggle_csv_layout_works_as_is(tmp_path):
    path = tmp_path / "IMDB Dataset.csv"
    path.write_text('review,sentiment\n"Great, truly great.",positive\n"Awful<br />film",negative\n')
    reviews = load_labeled_file(path)
    assert reviews.texts == ["Great, truly great.", "Awful<br />film"]
    assert reviews.labels == ["positive", "negative"]


def test_jsonl_and_parquet_with_int_labels(tmp_path):
    jsonl = tmp_path / "d.jsonl"
    jsonl.write_text("\n".join(json.dumps({"body": t, "stars": s}) for t, s in [("fine", 3), ("bad", 1), ("top", 5)]))
    assert load_labeled_file(jsonl, "body", "stars").labels == ["3", "1", "5"]
    parquet = tmp_path / "d.parquet"
    pq.write_table(pa.table({"body": ["fine", "bad"], "stars": [3, 1]}), parquet)
    assert load_labeled_file(parquet, "body", "stars").labels == ["3", "1"]


def test_second_read_comes_from_cache(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("review,sentiment\nok,positive\nno,negative\n")
    first = load_labeled_file(path)
    cached = list((tmp_path / "cache" / "datasets").iterdir())
    assert len(cached) == 1
    assert load_labeled_file(path).digest == first.digest
    path.write_text("review,sentiment\nok,positive\nchanged,negative\n")
    assert load_labeled_file(path).digest != first.digest


@pytest.mark.parametrize("name, content, message", [
    ("d.csv", "text,sentiment\nok,positive\n", r"d.csv, line 1: missing text column 'review'; the file has \['text', 'sentiment'\] \(set --text-column"),
    ("d.csv", "review,sentiment\nok,positive\n ,negative\n", r"d.csv, line 3: text is empty"),
    ("d.csv", "review,sentiment\nok,positive\nbad\n", r"d.csv, line 3: expected 2 fields, found 1"),
    ("d.csv", "review,sentiment\nok,\n", r"d.csv, line 2: label is empty"),
    ("d.jsonl", '{"review": "ok", "sentiment": "positive"}\n{"review": "x"\n', r"d.jsonl, line 2: invalid JSON"),
    ("d.jsonl", '{"review": "ok"}\n', r"d.jsonl, line 1: missing field 'sentiment'"),
    ("d.jsonl", '{"review": null, "sentiment": "positive"}\n', r"d.jsonl, line 1: text is missing \(null\)"),
    ("d.jsonl", '[1, 2]\n', r"d.jsonl, line 1: expected a JSON object"),
    ("d.xlsx", "x", r"unknown file type '.xlsx'"),
])
def test_bad_files_name_file_and_line(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(DataError, match=message):
        load_labeled_file(path)


def test_invalid_utf8_names_the_line(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes(b"review,sentiment\nok,positive\nbad \xff byte,negative\n")
    with pytest.raises(DataError, match=r"d.csv, line 3: invalid UTF-8"):
        load_labeled_file(path)


def test_missing_file_and_parquet_column(tmp_path):
    with pytest.raises(DataError, match=r"nope.csv: file does not exist"):
        load_labeled_file(tmp_path / "nope.csv")
    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"text": ["a"], "label": [1]}), path)
    with pytest.raises(DataError, match=r"missing text column 'review'; the file has \['text', 'label'\]"):
        load_labeled_file(path)
    pq.write_table(pa.table({"review": ["a", None], "sentiment": [1, 0]}), path)
    with pytest.raises(DataError, match=r"d.parquet, row 2: text is missing"):
        load_labeled_file(path)


def test_empty_rows_dropped_on_request_are_counted(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("review,sentiment\nok,positive\n,negative\n  ,negative\nno,negative\n")
    reviews = load_labeled_file(path, skip_empty=True)
    assert len(reviews) == 2 and reviews.dropped == {"empty_text": 2}


def test_imdb_archive_read_without_extraction(imdb_archive, tmp_path):
    train = load_imdb_split(imdb_archive, "train")
    assert len(train) == 24 and train.class_counts() == {"negative": 12, "positive": 12}
    assert all(r in (2, 8) for r in train.ratings)
    assert len(load_imdb_split(imdb_archive, "unsup")) == 4 and load_imdb_split(imdb_archive, "unsup").labels is None
    assert not (tmp_path / "aclImdb").exists()


def test_imdb_extracted_folder(imdb_archive, tmp_path):
    with tarfile.open(imdb_archive) as archive:
        archive.extractall(tmp_path / "x", filter="data")
    assert load_imdb_split(tmp_path / "x", "test").texts == load_imdb_split(imdb_archive, "test").texts
    with pytest.raises(DataError, match=r"not the aclImdb layout: missing folder\(s\) train/pos"):
        load_imdb_split(tmp_path / "x" / "aclImdb" / "test", "test")


def test_truncated_archive(imdb_archive, tmp_path):
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(imdb_archive.read_bytes()[: imdb_archive.stat().st_size // 2])
    with pytest.raises(DataError, match=r"broken.tar.gz: archive is truncated or corrupt"):
        load_imdb_split(broken, "train")


def test_archive_with_wrong_layout_or_bad_member(tmp_path):
    path = write_imdb_archive(tmp_path / "a.tar.gz", skip_dirs=("test/neg",))
    with pytest.raises(DataError, match=r"no reviews under aclImdb/test/neg"):
        load_imdb_split(path, "train")
    path = write_imdb_archive(tmp_path / "b.tar.gz", extra={"aclImdb/train/pos/999_9.txt": b"bad \xfe"})
    with pytest.raises(DataError, match=r"member aclImdb/train/pos/999_9.txt: invalid UTF-8"):
        load_imdb_split(path, "train")


def test_limit_is_class_balanced_and_seeded(imdb_archive):
    train = load_imdb_split(imdb_archive, "train")
    a, b = train.limit_balanced(10, seed=1), train.limit_balanced(10, seed=1)
    assert a.class_counts() == {"negative": 5, "positive": 5} and a.texts == b.texts
    fit, val = train.split_stratified(0.25, seed=0)
    assert val.class_counts() == {"negative": 3, "positive": 3} and len(fit) == 18
    assert not set(fit.texts) & set(val.texts) or len(set(train.texts)) < len(train)


def test_a_utf8_byte_order_mark_is_not_part_of_the_first_column(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("review,sentiment\nfine,positive\nbad,negative\n".encode("utf-8-sig"))
    assert load_labeled_file(path, min_class_rows=0).texts == ["fine", "bad"]


@pytest.mark.parametrize("rows, message", [
    ([("good", "positive")] * 30 + [("bad", "negative")] * 29 + [("so so", "Positive ")],
     r"line 61: label 'Positive' \(1 row\(s\)\) differs from 'positive' \(30 rows\) only in case or spaces"),
    ([("good", "positive")] * 600 + [("bad", "negative")] * 600 + [("hmm", "maybe")],
     r"line 1202: class 'maybe' has 1 row\(s\) against 600 for the largest class: a typo in a label\? If it is a "
     r"real class, set data.min_class_rows to 1 or less"),
])
def test_labels_that_look_like_typos_are_refused(tmp_path, rows, message):
    path = tmp_path / "labels.csv"
    path.write_text("review,sentiment\n" + "".join(f"{t},{label}\n" for t, label in rows))
    with pytest.raises(DataError, match=message):
        load_labeled_file(path)
    if "maybe" in message:  # a real rare class is accepted when asked
        assert load_labeled_file(path, min_class_rows=0).class_counts()["maybe"] == 1


def test_tsv_is_read_unquoted_as_glue_and_goemotions_write_it(tmp_path):
    path = tmp_path / "d.tsv"
    path.write_text('sentence\tlabel\n"Quoted" at the start, and a comma\t1\nplain text\t0\n')
    reviews = load_labeled_file(path, "sentence", "label")
    assert reviews.texts == ['"Quoted" at the start, and a comma', "plain text"]
    assert reviews.labels == ["1", "0"]


@pytest.mark.parametrize("name", ["d.csv.gz", "d.tsv.gz", "d.jsonl.gz"])
def test_gzip_compressed_files_read_as_their_inner_format(tmp_path, name):
    import gzip

    rows = [("a fine film", "positive"), ("a dull film", "negative")]
    if name.startswith("d.jsonl"):
        content = "\n".join(json.dumps({"review": t, "sentiment": s}) for t, s in rows)
    else:
        sep = "\t" if ".tsv" in name else ","
        content = "\n".join(sep.join(row) for row in [("review", "sentiment"), *rows])
    path = tmp_path / name
    path.write_bytes(gzip.compress(content.encode()))
    reviews = load_labeled_file(path)
    assert reviews.texts == ["a fine film", "a dull film"] and reviews.labels == ["positive", "negative"]


def test_a_broken_gzip_file_is_named_in_one_line(tmp_path):
    import gzip

    path = tmp_path / "d.csv.gz"
    path.write_bytes(gzip.compress(b"review,sentiment\n" + b"a fine film,positive\n" * 100)[:40])
    with pytest.raises(DataError, match=r"d.csv.gz: not a readable gzip file"):
        load_labeled_file(path)
    with pytest.raises(DataError, match=r"unknown file type '.parquet.gz'"):
        load_labeled_file(tmp_path / "d.parquet.gz")


def test_numeric_labels_are_named_by_a_label_names_file_or_list(tmp_path):
    names = tmp_path / "labels.txt"
    names.write_text("admiration\namusement\nanger\n")
    path = tmp_path / "d.tsv"
    path.write_text("text\tlabel\nso funny\t1\nhow dare you\t2\nwell done\t0\n")
    assert load_labeled_file(path, "text", "label", label_names=str(names)).labels == ["amusement", "anger",
                                                                                        "admiration"]
    assert load_labeled_file(path, "text", "label", label_names=["a", "b", "c"]).labels == ["b", "c", "a"]
    path.write_text("text\tlabel\nso funny\t1\nout of range\t3\n")
    with pytest.raises(DataError, match=r"d.tsv, line 3: label '3' is not a label id of data.label_names \(0 to 2\)"):
        load_labeled_file(path, "text", "label", label_names=str(names))
    with pytest.raises(DataError, match=r"data.label_names: two labels have the same name"):
        load_labeled_file(path, "text", "label", label_names=["a", "a"])
