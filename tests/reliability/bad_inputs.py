"""A catalogue of bad inputs a user or an attacker sends: data files, configs, model folders,
archives, and service requests. Each must be refused with one line that names what was wrong and
where (file, line, field), never a traceback, and the service never answers 500.

Used by tests/reliability/test_bad_inputs.py and counted by benchmarks/reliability.py.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from safetensors.torch import load_file, save_file

from conftest import tiny_reviews


@dataclass
class CliCase:
    name: str
    prepare: Callable[[Path, Path], list[str]]  # (work folder, a trained model) -> the command's arguments
    says: str  # what the one-line error must contain (a file name, a line, a field)
    command: str | None = None  # set when it runs: the subcommand whose flags an error may suggest


def labelled_csv(rows: list[str], header: str = "review,sentiment") -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


GOOD_ROWS = [f'"{t}",{s}' for t, s in zip(*tiny_reviews(20))]


def write(work: Path, name: str, content: bytes | str) -> Path:
    path = work / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def train_on(name: str, content: bytes | str, *extra: str) -> Callable[[Path, Path], list[str]]:
    def prepare(work: Path, model: Path) -> list[str]:
        return ["train", "--train-file", str(write(work, name, content)), "--out", str(work / "out"), "--no-track",
                "--quiet", "--set", "model.pretrained_embeddings=", *extra]
    return prepare


def with_config(toml: str, *extra: str) -> Callable[[Path, Path], list[str]]:
    def prepare(work: Path, model: Path) -> list[str]:
        return ["train", "--train-file", str(write(work, "ok.csv", labelled_csv(GOOD_ROWS))), "--config",
                str(write(work, "bad.toml", toml)), "--out", str(work / "out"), "--no-track", "--quiet", *extra]
    return prepare


def with_set(*settings: str) -> Callable[[Path, Path], list[str]]:
    def prepare(work: Path, model: Path) -> list[str]:
        return ["train", "--train-file", str(write(work, "ok.csv", labelled_csv(GOOD_ROWS))), "--out",
                str(work / "out"), "--no-track", "--quiet", *[a for s in settings for a in ("--set", s)]]
    return prepare


def tampered(change: Callable[[Path], None], resealed: bool = False) -> Callable[[Path, Path], list[str]]:
    """A copy of the model, changed; `resealed`: its manifest written again after the change (as a
    buggy writer would have sealed it), to reach the checks behind the seal."""
    def prepare(work: Path, model: Path) -> list[str]:
        from sentiment_rnn.folder import SEALED_MODEL_FILES
        from sentiment_rnn.manifest import seal

        copy = work / "model"
        shutil.copytree(model, copy)
        change(copy)
        if resealed:
            seal(copy, SEALED_MODEL_FILES)
        return ["predict", str(copy), "a great film"]
    return prepare


def ids_past_the_embedding(folder: Path) -> None:
    tokenizer = json.loads((folder / "tokenizer.json").read_text())
    vocab = tokenizer["model"]["vocab"]
    vocab[max(vocab, key=vocab.get)] = len(vocab) + 50
    (folder / "tokenizer.json").write_text(json.dumps(tokenizer))


def edit_config(change: Callable[[dict], object]) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        config = json.loads((folder / "config.json").read_text())
        result = change(config)
        (folder / "config.json").write_text(json.dumps(config if result is None else result))
    return apply


def nan_weights(folder: Path) -> None:
    weights = load_file(folder / "model.safetensors")
    weights["head.1.weight"][0, 0] = float("nan")
    save_file(weights, folder / "model.safetensors")


def truncate(name: str) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        path = folder / name
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return apply


def archive_with(members: dict[str, bytes], name: str = "bad.tar.gz") -> Callable[[Path, Path], list[str]]:
    def prepare(work: Path, model: Path) -> list[str]:
        path = work / name
        with tarfile.open(path, "w:gz") as archive:
            for member, data in members.items():
                info = tarfile.TarInfo(member)
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
        return ["train", "--archive", str(path), "--out", str(work / "out"), "--no-track", "--quiet"]
    return prepare


def predict_file(name: str, content: bytes | str, *extra: str) -> Callable[[Path, Path], list[str]]:
    def prepare(work: Path, model: Path) -> list[str]:
        return ["predict", str(model), "--input", str(write(work, name, content)), *extra]
    return prepare


def file_missing(work: Path, model: Path) -> list[str]:
    return ["train", "--train-file", str(work / "nowhere.csv"), "--out", str(work / "out"), "--no-track"]


def folder_as_file(work: Path, model: Path) -> list[str]:
    (work / "a_folder.csv").mkdir()
    return ["train", "--train-file", str(work / "a_folder.csv"), "--out", str(work / "out"), "--no-track"]


def out_under_a_file(work: Path, model: Path) -> list[str]:
    write(work, "plain_file", "x")
    return ["train", "--train-file", str(write(work, "ok.csv", labelled_csv(GOOD_ROWS))), "--out",
            str(work / "plain_file" / "model"), "--no-track", "--quiet"]


def config_is_a_folder(work: Path, model: Path) -> list[str]:
    (work / "configs").mkdir()
    return ["train", "--train-file", str(write(work, "ok.csv", labelled_csv(GOOD_ROWS))), "--config",
            str(work / "configs"), "--out", str(work / "out"), "--no-track"]


def empty_out(work: Path, model: Path) -> list[str]:
    return ["train", "--train-file", str(write(work, "ok.csv", labelled_csv(GOOD_ROWS))), "--out", "", "--no-track"]


def tracking_server_with_credentials(work: Path, model: Path) -> list[str]:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return ["train", "--train-file", str(write(work, "ok.csv", labelled_csv(GOOD_ROWS))), "--out", str(work / "out"),
            "--tracking-uri", f"http://user:secret@127.0.0.1:{port}"]


def output_in_missing_folder(work: Path, model: Path) -> list[str]:
    return ["predict", str(model), "--input", str(write(work, "in.csv", "review\na great film\n")), "--output",
            str(work / "out.txt")]


CLI_CASES = [
    # labelled data files
    CliCase("csv without the text column", train_on("a.csv", labelled_csv(GOOD_ROWS, "body,sentiment")), "a.csv"),
    CliCase("csv without the label column", train_on("b.csv", labelled_csv(GOOD_ROWS, "review,stars")), "b.csv"),
    CliCase("csv with invalid UTF-8 on line 4", train_on("c.csv", labelled_csv(GOOD_ROWS[:2]) + b"caf\xe9,positive\n"),
            "c.csv"),
    CliCase("empty csv", train_on("d.csv", b""), "d.csv"),
    CliCase("csv with a header only", train_on("e.csv", labelled_csv([])), "e.csv"),
    CliCase("label typo in a binary file", train_on("f.csv", labelled_csv([*GOOD_ROWS, "fine film,Positive "])),
            "f.csv"),
    CliCase("a third class from one row", train_on("g.csv", labelled_csv([*GOOD_ROWS, "so so,maybe"])), "g.csv"),
    CliCase("one class only", train_on("h.csv", labelled_csv([r for r in GOOD_ROWS if r.endswith("positive")])),
            "h.csv"),
    CliCase("csv with an unterminated quote", train_on("i.csv", labelled_csv(GOOD_ROWS) + b'"never closed,positive\n'),
            f"i.csv, line {len(GOOD_ROWS) + 2}: malformed CSV: a quote opened here is never closed"),
    CliCase("csv with a quote left open mid-file",
            train_on("i2.csv", labelled_csv([*GOOD_ROWS[:3], '"open quote,positive', 'x,negative', 'y" z,positive',
                                             *GOOD_ROWS[3:]])), "i2.csv, line 5: malformed CSV"),
    CliCase("a plain-text file to train on", train_on("t.txt", "a great film\nan awful film\n"), "plain-text file"),
    CliCase("train without the named text column", train_on("a2.csv", labelled_csv(GOOD_ROWS), "--text-column", "body"),
            "--text-column"),
    CliCase("jsonl with a malformed line", train_on("j.jsonl", '{"review": "a", "sentiment": "positive"}\n{"review": \n'),
            "j.jsonl"),
    CliCase("jsonl line that is a list", train_on("k.jsonl", '["a great film", "positive"]\n'), "k.jsonl"),
    CliCase("jsonl with a number for text", train_on("l.jsonl", '{"review": 5, "sentiment": "positive"}\n' * 20),
            "l.jsonl"),
    CliCase("parquet that is not parquet", train_on("m.parquet", b"review,sentiment\na,positive\n"), "m.parquet"),
    CliCase("unknown file type", train_on("n.xlsx", b"PK\x03\x04"), "n.xlsx"),
    CliCase("training file that does not exist", file_missing, "nowhere.csv"),
    CliCase("a folder given as the training file", folder_as_file, "is a folder"),
    CliCase("--out below a plain file", out_under_a_file, "plain_file"),
    # settings
    CliCase("config that is not TOML", with_config("[model\nhidden_size = 3"), "bad.toml"),
    CliCase("unknown section", with_config("[modle]\nhidden_size = 3\n"), "modle"),
    CliCase("unknown setting", with_config("[model]\nhiden_size = 3\n"), "hiden_size"),
    CliCase("setting of the wrong type", with_config('[model]\nhidden_size = "big"\n'), "bad.toml: model.hidden_size"),
    CliCase("setting out of range", with_config("[training]\nepochs = 0\n"), "bad.toml: training.epochs"),
    CliCase("unknown choice", with_config('[model]\ncell = "transformer"\n'), "cell"),
    CliCase("--set without a value", with_set("model.hidden_size"), "model.hidden_size"),
    CliCase("--set of an unknown setting", with_set("training.epoch=3"), "command line: unknown setting(s) ['training.epoch']"),
    CliCase("--set with a negative size", with_set("model.hidden_size=-4"), "command line: model.hidden_size"),
    CliCase("--config naming a folder", config_is_a_folder, "is a folder"),
    CliCase("--out empty", empty_out, "--out is empty"),
    CliCase("tracking server URI with credentials, nothing listening", tracking_server_with_credentials,
            "http://user:***@127.0.0.1"),
    # model folders
    CliCase("model folder without config.json", tampered(lambda f: (f / "config.json").unlink()), "config.json"),
    CliCase("config.json that is not JSON", tampered(lambda f: (f / "config.json").write_text("{")), "config.json"),
    CliCase("config.json that is a list", tampered(edit_config(lambda c: [c])), "config.json"),
    CliCase("config.json that is not UTF-8", tampered(lambda f: (f / "config.json").write_bytes(b"{\xff}")),
            "config.json"),
    CliCase("config.json without classes", tampered(edit_config(lambda c: c.pop("classes") and None)), "classes"),
    CliCase("one class in config.json", tampered(edit_config(lambda c: c.update(classes=["positive"]))), "classes"),
    CliCase("vocab_size of a trillion", tampered(edit_config(lambda c: c.update(vocab_size=10**12)), resealed=True),
            "tokenizer.json"),
    CliCase("hidden_size that would take terabytes",
            tampered(edit_config(lambda c: c["model"].update(hidden_size=10**6)), resealed=True), "model.safetensors"),
    CliCase("unknown cell in config.json", tampered(edit_config(lambda c: c["model"].update(cell="gru2"))), "cell"),
    CliCase("NaN weights", tampered(nan_weights, resealed=True), "NaN"),
    # edits that keep config.json valid and change the answers: refused by the seal, naming the field
    CliCase("classes reversed in config.json", tampered(edit_config(lambda c: c.update(classes=c["classes"][::-1]))),
            "field classes"),
    CliCase("pooling edited in config.json", tampered(edit_config(lambda c: c["model"].update(pooling="mean"))),
            "model.pooling"),
    CliCase("stopwords edited in config.json", tampered(edit_config(lambda c: c["text"].update(stopwords="none"))),
            "text.stopwords"),
    CliCase("max_length edited in config.json", tampered(edit_config(lambda c: c["tokenizer"].update(max_length=5))),
            "tokenizer.max_length"),
    CliCase("manifest.json removed", tampered(lambda f: (f / "manifest.json").unlink()), "manifest.json is missing"),
    CliCase("manifest.json emptied", tampered(lambda f: (f / "manifest.json").write_text("{}")), "manifest.json"),
    CliCase("config.json nested 100,000 deep", tampered(lambda f: (f / "config.json").write_text("[" * 10**5 + "]" * 10**5)),
            "config.json: JSON nested too deeply"),
    CliCase("tokenizer ids past the embedding", tampered(ids_past_the_embedding, resealed=True),
            "past the model's"),
    CliCase("truncated weights", tampered(truncate("model.safetensors")), "model.safetensors"),
    CliCase("tokenizer.json that is garbage", tampered(lambda f: (f / "tokenizer.json").write_text("garbage")),
            "tokenizer.json"),
    CliCase("model folder that does not exist", lambda w, m: ["predict", str(w / "no_model"), "a film"], "no_model"),
    # archives
    CliCase("archive that is not gzip", lambda w, m: ["train", "--archive", str(write(w, "x.tar.gz", b"not gzip")),
                                                      "--out", str(w / "out"), "--no-track"], "x.tar.gz"),
    # (archives are read in memory, never extracted: a climbing path is only a name that does not match)
    CliCase("archive holding only a path that climbs out", archive_with({"aclImdb/../../evil.txt": b"x"}),
            "not the aclImdb layout"),
    CliCase("archive with a review in invalid UTF-8", archive_with({"aclImdb/train/pos/0_9.txt": b"caf\xe9",
                                                                   "aclImdb/train/neg/0_1.txt": b"bad"}), "0_9.txt"),
    CliCase("archive without train/pos", archive_with({"aclImdb/train/neg/0_1.txt": b"bad",
                                                       "aclImdb/test/neg/0_1.txt": b"bad"}), "pos"),
    # files to score
    CliCase("input without a text column", predict_file("p.csv", "body,stars\na great film,5\n"), "p.csv"),
    CliCase("input with invalid UTF-8", predict_file("q.csv", b"review\ncaf\xe9\n"), "q.csv"),
    CliCase("output of an unknown type", output_in_missing_folder, "out.txt"),
]


def run_cli_case(case: CliCase, work: Path, model: Path) -> tuple[int, str]:
    """Run the real CLI in this process; its exit code and everything it wrote to stderr."""
    from sentiment_rnn.cli import main

    work.mkdir(parents=True, exist_ok=True)
    args = case.prepare(work, model)
    case.command = args[0]
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(args)
        except SystemExit as exit_:  # argparse's usage errors
            code = exit_.code
    return code, stderr.getvalue()


def flags_of(command: str) -> set[str]:
    from sentiment_rnn.cli import build_parser

    parser = build_parser().commands[command]
    return {option for action in parser._actions for option in action.option_strings}


def cli_verdict(case: CliCase, code: int, stderr: str, command: str | None = None) -> str | None:
    """None when the input was refused as it should be, in one line naming where, and suggesting
    only flags that `command` has; else what went wrong."""
    lines = [line for line in stderr.strip().splitlines() if not line.startswith("usage:") and line.strip()]
    if code in (0, None):
        return "accepted"
    if "Traceback" in stderr:
        return "traceback"
    errors = [line for line in lines if "error:" in line]
    if len(errors) != 1:
        return f"expected one error line, got: {stderr!r}"
    if case.says.lower() not in errors[0].lower():
        return f"error does not name {case.says!r}: {errors[0]!r}"
    if "Name or service not known" in errors[0]:
        return f"a host name was misread: {errors[0]!r}"
    if command is not None:
        import re

        unknown = sorted(set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", errors[0])) - flags_of(command))
        if unknown:
            return f"error suggests {unknown}, which `{command}` does not have: {errors[0]!r}"
    return None


# ---- the service ----

@dataclass
class RequestCase:
    name: str
    method: str
    path: str
    body: bytes | None = None
    content_type: str = "application/json"
    status: int = 422
    headers: dict[str, str] | None = None


def _texts(value) -> bytes:
    return json.dumps({"texts": value}).encode()


REQUEST_CASES = [
    RequestCase("malformed JSON", "POST", "/v1/predict", b'{"texts": ["a"'),
    RequestCase("texts is a string", "POST", "/v1/predict", _texts("a great film")),
    RequestCase("texts is empty", "POST", "/v1/predict", _texts([])),
    RequestCase("a text is a number", "POST", "/v1/predict", _texts([5])),
    RequestCase("a text is null", "POST", "/v1/predict", _texts([None])),
    RequestCase("nested lists", "POST", "/v1/predict", _texts([["a"]])),
    RequestCase("too many texts", "POST", "/v1/predict", _texts(["a"] * 257)),
    RequestCase("a text too long", "POST", "/v1/predict", _texts(["a" * 20_001])),
    RequestCase("missing field", "POST", "/v1/predict", b"{}"),
    RequestCase("unknown field", "POST", "/v1/predict", json.dumps({"texts": ["a"], "extra": 1}).encode()),
    RequestCase("body is a list", "POST", "/v1/predict", b'["a"]'),
    RequestCase("body is null", "POST", "/v1/predict", b"null"),
    RequestCase("NaN literal", "POST", "/v1/predict", b'{"texts": NaN}'),
    RequestCase("deeply nested", "POST", "/v1/predict", b'{"texts": ' + b"[" * 5000 + b"]" * 5000 + b"}"),
    RequestCase("empty body", "POST", "/v1/predict", b""),
    RequestCase("invalid UTF-8", "POST", "/v1/predict", b'{"texts": ["caf\xe9"]}', status=400),
    RequestCase("lone surrogate escape", "POST", "/v1/predict", b'{"texts": ["\\ud800"]}'),
    RequestCase("text/plain body", "POST", "/v1/predict", _texts(["a"]), content_type="text/plain", status=415),
    RequestCase("form body", "POST", "/v1/predict", b"texts=a", content_type="application/x-www-form-urlencoded",
                status=415),
    RequestCase("no content type", "POST", "/v1/predict", _texts(["a"]), content_type="", status=415),
    RequestCase("body over the size limit", "POST", "/v1/predict", _texts(["a" * 1_100_000]), status=413),
    RequestCase("explain with a list", "POST", "/v1/explain", json.dumps({"text": ["a"]}).encode()),
    RequestCase("explain text too long", "POST", "/v1/explain", json.dumps({"text": "a " * 3000}).encode()),
    RequestCase("explain without text", "POST", "/v1/explain", b"{}"),
    RequestCase("memory with a list", "POST", "/v1/memory", json.dumps({"text": ["a"]}).encode()),
    RequestCase("memory text too long", "POST", "/v1/memory", json.dumps({"text": "a " * 3000}).encode()),
    RequestCase("GET on a POST route", "GET", "/v1/predict", None, status=405),
    RequestCase("a header of 70 kB", "POST", "/v1/predict", _texts(["a"]), status=431, headers={"x-big": "a" * 70_000}),
    RequestCase("150 headers", "POST", "/v1/predict", _texts(["a"]), status=431,
                headers={f"x-h{i}": "1" for i in range(150)}),
    RequestCase("unknown path", "GET", "/v1/../../etc/passwd", None, status=404),
]


def request_verdict(case: RequestCase, status: int) -> str | None:
    if status >= 500:
        return f"answered {status}"
    if status != case.status:
        return f"answered {status}, expected {case.status}"
    return None
