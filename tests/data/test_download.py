"""The real download code, against a local HTTP server (loopback) that supports Range requests:
progress, resume of a partial file, checksum verification, atomic rename."""

from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sentiment_rnn import DownloadError
from sentiment_rnn.data import imdb

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB


class RangeHandler(BaseHTTPRequestHandler):
    requests: list[str | None] = []

    def do_GET(self):  # noqa: N802
        RangeHandler.requests.append(self.headers.get("Range"))
        start = 0
        if self.headers.get("Range"):
            start = int(self.headers["Range"].split("=")[1].rstrip("-"))
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(PAYLOAD) - start))
        self.end_headers()
        self.wfile.write(PAYLOAD[start:])

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), RangeHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    RangeHandler.requests = []
    yield f"http://127.0.0.1:{httpd.server_address[1]}/aclImdb_v1.tar.gz"
    httpd.shutdown()


def test_download_verifies_checksum_and_reports_progress(server, tmp_path):
    seen = []
    target = imdb.download(server, tmp_path / "a.tar.gz", hashlib.sha256(PAYLOAD).hexdigest(),
                           progress=lambda done, total: seen.append((done, total)))
    assert target.read_bytes() == PAYLOAD
    assert seen[-1] == (len(PAYLOAD), len(PAYLOAD))
    assert not (tmp_path / "a.tar.gz.part").exists()


def test_download_resumes_a_partial_file(server, tmp_path):
    (tmp_path / "a.tar.gz.part").write_bytes(PAYLOAD[:300_000])
    imdb.download(server, tmp_path / "a.tar.gz", hashlib.sha256(PAYLOAD).hexdigest())
    assert RangeHandler.requests == ["bytes=300000-"]
    assert (tmp_path / "a.tar.gz").read_bytes() == PAYLOAD


def test_checksum_mismatch_deletes_and_fails(server, tmp_path):
    with pytest.raises(DownloadError, match="checksum mismatch: expected sha256 0000"):
        imdb.download(server, tmp_path / "a.tar.gz", "0" * 64)
    assert not (tmp_path / "a.tar.gz").exists() and not (tmp_path / "a.tar.gz.part").exists()


def test_unreachable_url_fails_with_a_clear_message(tmp_path):
    with pytest.raises(DownloadError, match=r"download failed .* next run resumes"):
        imdb.download("http://127.0.0.1:9/aclImdb_v1.tar.gz", tmp_path / "a.tar.gz", "0" * 64)


def test_without_archive_the_official_download_is_used(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(imdb, "download", lambda url, target, sha, progress=None: calls.append((url, sha)) or target)
    imdb.resolve_archive(None)
    assert calls == [(imdb.IMDB_URL, "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe")]
