"""Clients that send a request too slowly (slowloris) are cut off; everyone else is still served."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
import urllib.request

import pytest

from conftest import free_port, start_server


def trickle(port: int, first: bytes, drip: bytes, every_s: float, for_s: float) -> tuple[bytes, float]:
    """Send `first`, then `drip` every `every_s` seconds; what the server answered, and when it closed."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=for_s + 5) as conn:
        conn.sendall(first)
        answer = b""
        while time.monotonic() - started < for_s:
            try:
                conn.sendall(drip)
            except (BrokenPipeError, ConnectionResetError):
                break
            conn.settimeout(every_s)
            try:
                data = conn.recv(4096)
            except TimeoutError:
                continue
            except ConnectionResetError:
                break
            if not data:
                break
            answer += data
        return answer, time.monotonic() - started


HEADERS_FOREVER = (b"POST /v1/predict HTTP/1.1\r\nHost: x\r\n", b"X-a: b\r\n")


async def hello_app(scope, receive, send):
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


@contextlib.contextmanager
def hello_server(kind: str, monkeypatch, read_timeout_s: float, max_header_bytes: int):
    """uvicorn with one of our protocols in a thread, serving `hello_app`; yields its port."""
    import uvicorn

    from sentiment_rnn.service import protocol

    protocol_class = getattr(protocol, kind)
    if protocol_class is None:
        pytest.skip("httptools is not installed")
    monkeypatch.setenv(protocol.ENV_KEY, protocol.environment(read_timeout_s, max_header_bytes))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(hello_app, host="127.0.0.1", port=port, http=protocol_class,
                                           log_level="error", lifespan="on"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.mark.parametrize("kind", ["H11WithDeadline", "HttpToolsWithDeadline"])
def test_each_protocol_cuts_off_trickled_headers_and_keeps_serving(kind, monkeypatch):
    with hello_server(kind, monkeypatch, 2, 65_536) as port:
        answer, seconds = trickle(port, *HEADERS_FOREVER, every_s=0.2, for_s=9)
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert seconds < 5  # a 2 s deadline, not the 9 s the client would have gone on for
        # Keep-alive: the second request on one connection gets its own deadline, and a fast one is served.
        with socket.create_connection(("127.0.0.1", port)) as conn:
            for _ in range(2):
                conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                response = b""
                while not response.endswith(b"ok"):
                    response += conn.recv(4096)
                assert response.startswith(b"HTTP/1.1 200")
                time.sleep(1.2)  # 2.4 s in all on this connection: each request is within its own 2 s


@pytest.mark.parametrize("kind", ["H11WithDeadline", "HttpToolsWithDeadline"])
def test_each_protocol_refuses_headers_over_the_byte_limit_before_holding_them(kind, monkeypatch):
    """A 100 MB header used to be read whole and answered 200 (httptools has no limit of its own)."""
    with hello_server(kind, monkeypatch, 10, 8192) as port:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-big: ")
            sent, answer = 0, b""
            try:
                while sent < 50_000_000 and not answer:  # stops long before: the server answers and closes
                    conn.sendall(b"a" * 65536)
                    sent += 65536
                    conn.settimeout(0.001)
                    try:
                        answer = conn.recv(4096)
                    except TimeoutError:
                        pass
                    conn.settimeout(10)
            except (BrokenPipeError, ConnectionResetError):
                pass
            conn.settimeout(10)
            while True:
                try:
                    more = conn.recv(4096)
                except (ConnectionResetError, TimeoutError):
                    break
                if not more:
                    break
                answer += more
        assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
        assert b"max_header_bytes" in answer and sent < 1_000_000
        with socket.create_connection(("127.0.0.1", port)) as conn:  # and it goes on serving, large bodies too
            body = b"a" * 600_000  # arrives in the same reads as the headers: only the headers count
            conn.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            response = b""
            while not response.endswith(b"ok"):
                response += conn.recv(4096)
            assert response.startswith(b"HTTP/1.1 200")


def test_the_service_cuts_off_slow_headers_and_slow_bodies_while_answering_others(_trained_model_dir):
    proc, url = start_server(_trained_model_dir, "--read-timeout-s", "1")
    port = int(url.rsplit(":", 1)[1])
    try:
        results = {}

        def slow(name, first, drip):
            results[name] = trickle(port, first, drip, every_s=0.2, for_s=8)

        body_head = (b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100000\r\n\r\n{\"texts\": [\"")
        threads = [threading.Thread(target=slow, args=(f"headers{i}", *HEADERS_FOREVER)) for i in range(5)]
        threads += [threading.Thread(target=slow, args=(f"body{i}", body_head, b"a")) for i in range(5)]
        for t in threads:
            t.start()
        request = urllib.request.Request(url + "/v1/predict", b'{"texts": ["a great film"]}',
                                         {"content-type": "application/json"})
        assert urllib.request.urlopen(request, timeout=5).status == 200  # served beside the slow ones
        for t in threads:
            t.join()
        for name, (answer, seconds) in results.items():
            assert answer.startswith(b"HTTP/1.1 408"), (name, answer[:200])
            assert seconds < 4, (name, seconds)
        assert b"read_timeout_s" in results["body0"][0]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.parametrize("kind", ["H11WithDeadline", "HttpToolsWithDeadline"])
def test_a_body_still_arriving_after_its_answer_is_not_counted_as_the_next_request_s_headers(kind, monkeypatch):
    """An app may answer (413, 422) before reading a body; the rest of that body used to count
    toward the next request's header bytes, and the next request on the connection got 431."""
    with hello_server(kind, monkeypatch, 10, 8192) as port:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            body = b"a" * 100_000
            conn.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body))
            first = b""
            while not first.endswith(b"ok"):
                first += conn.recv(4096)
            assert first.startswith(b"HTTP/1.1 200"), first[:200]
            for start in range(0, len(body), 16_384):  # the body, after its answer, in several reads
                conn.sendall(body[start:start + 16_384])
                time.sleep(0.01)
            conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            second = b""
            while not second.endswith(b"ok"):
                more = conn.recv(4096)
                assert more, second[:200]
                second += more
            assert second.startswith(b"HTTP/1.1 200"), second[:200]
