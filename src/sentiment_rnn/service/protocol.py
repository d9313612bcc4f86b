"""uvicorn's HTTP protocols with a deadline and a size limit on reading a request's line and headers.

uvicorn closes idle keep-alive connections, but once a client has sent one byte of a request it
waits for the rest forever: a client that trickles its headers a byte at a time (slowloris) holds
a connection, and a few hundred of them hold them all. Here every request's headers must be
complete within `read_timeout_s` of the connection opening or of the previous response; otherwise
the server answers 408 and closes. (The body is held to the same deadline by the app, which reads it.)

Nor do they bound the headers' size with httptools (h11 stops at 16 KiB): a 100 MB header was
read into memory and answered 200. Here the bytes received while a request's headers are
incomplete count against `max_header_bytes`; past it the server answers 431 and closes, before
the parser holds more. (The number of headers is checked by the app's middleware.)

Both hook into each protocol's own moment of "headers complete": httptools calls
`on_headers_complete`; h11 produces a Request event, which is when uvicorn builds a new scope.
"""

from __future__ import annotations

import asyncio
import json
import os

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

ENV_KEY = "SENTIMENT_RNN_PROTOCOL"  # {"read_timeout_s": ..., "max_header_bytes": ...}
DEFAULTS = {"read_timeout_s": 10.0, "max_header_bytes": 65_536}


def _answer(status: str, text: str) -> bytes:
    """A whole answer written before the app sees the request: JSON `{"detail": ...}`, as the app's
    own errors and its OpenAPI schema have it."""
    body = json.dumps({"detail": text}).encode()
    return (f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
            f"connection: close\r\n\r\n").encode() + body


TIMEOUT_RESPONSE = _answer("408 Request Timeout", "request headers came too slowly")


def limits() -> dict[str, float]:
    """Set by `serve` for its workers (uvicorn builds protocols from a class name, not an object)."""
    return {**DEFAULTS, **json.loads(os.environ.get(ENV_KEY, "{}"))}


def environment(read_timeout_s: float, max_header_bytes: int) -> str:
    return json.dumps({"read_timeout_s": read_timeout_s, "max_header_bytes": max_header_bytes})


class HeaderDeadline:
    """Mixed in before a uvicorn protocol class."""

    _deadline: asyncio.TimerHandle | None = None
    _header_bytes = 0
    _tail = b""  # the last bytes of the previous read: a blank line may span two reads

    def connection_made(self, transport) -> None:
        self._limits = limits()
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._deadline is not None:  # the headers are not complete yet
            # Only the bytes up to the blank line that ends them count: a read can bring the start
            # of the body too (asyncio reads up to 256 KiB at once).
            seen = self._tail + data
            end = seen.find(b"\r\n\r\n")
            self._header_bytes += len(data) if end < 0 else end + 4 - len(self._tail)
            self._tail = seen[-3:]
            if self._header_bytes > self._limits["max_header_bytes"]:
                self._disarm()
                if not self.transport.is_closing():
                    self.transport.write(_answer("431 Request Header Fields Too Large",
                                                 f"request line and headers over {self._limits['max_header_bytes']} "
                                                 f"bytes (max_header_bytes)"))
                    self.transport.close()
                return
        super().data_received(data)

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)

    _arm_when_received = False  # the response went out before its request's body was all read

    def on_response_complete(self) -> None:
        # Armed before the parent runs: it may start a pipelined request whose headers are complete.
        # Not while the answered request's body is still arriving (an app may answer 413 or 422
        # before reading it all): those bytes are not the next request's headers, and counting them
        # answered the next request 431.
        if not self.transport.is_closing():
            if self._body_unread():
                self._arm_when_received = True
            else:
                self._arm()
        super().on_response_complete()

    def _body_received(self) -> None:
        """The answered request's body has now all arrived: the next bytes are a new request's."""
        if self._arm_when_received:
            self._arm_when_received = False
            if not self.transport.is_closing():
                self._arm()

    def _body_unread(self) -> bool:
        return False

    def _arm(self) -> None:
        self._disarm()
        self._header_bytes, self._tail = 0, b""
        self._deadline = asyncio.get_running_loop().call_later(self._limits["read_timeout_s"], self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.write(TIMEOUT_RESPONSE)
            self.transport.close()


class H11WithDeadline(HeaderDeadline, H11Protocol):
    def handle_events(self) -> None:
        scope = self.scope
        super().handle_events()
        if self.scope is not scope:  # a new request's headers were parsed
            self._disarm()
        if not self._body_unread():
            self._body_received()

    def _body_unread(self) -> bool:
        return self.conn.their_state is h11.SEND_BODY


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # httptools is optional in uvicorn; h11 always comes with it
    HttpToolsWithDeadline = None
else:
    class HttpToolsWithDeadline(HeaderDeadline, HttpToolsProtocol):
        _receiving_body = False

        def on_headers_complete(self) -> None:
            self._disarm()
            self._receiving_body = True
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._receiving_body = False
            super().on_message_complete()
            self._body_received()

        def _body_unread(self) -> bool:
            return self._receiving_body

        def on_response_complete(self) -> None:
            # uvicorn starts a request it already parsed (pipelined) here: no deadline for that one.
            pipelined = bool(self.pipeline)
            super().on_response_complete()
            if pipelined:
                self._disarm()


DefaultProtocol = HttpToolsWithDeadline or H11WithDeadline
DEFAULT_PROTOCOL = f"{__name__}:{DefaultProtocol.__name__}"
