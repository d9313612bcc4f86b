"""uvicorn's HTTP protocols with a deadline on reading a request's line and headers.

uvicorn closes idle keep-alive connections, but once a client has sent one byte of a request it
waits for the rest forever: a client that trickles its headers a byte at a time (slowloris) holds
a connection, and a few hundred of them hold them all. Here every request's headers must be
complete within `read_timeout_s` of the connection opening or of the previous response; otherwise
the server answers 408 and closes. (The body is held to the same deadline by the app, which reads it.)

The deadline hooks into each protocol's own moment of "headers complete": httptools calls
`on_headers_complete`; h11 produces a Request event, which is when uvicorn builds a new scope.
"""

from __future__ import annotations

import asyncio
import os

from uvicorn.protocols.http.h11_impl import H11Protocol

ENV_KEY = "SENTIMENT_RNN_READ_TIMEOUT_S"
TIMEOUT_RESPONSE = (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
                    b"content-length: 31\r\nconnection: close\r\n\r\nrequest headers came too slowly")


def read_timeout_s() -> float:
    """Set by `serve` for its workers (uvicorn builds protocols from a class name, not an object)."""
    return float(os.environ.get(ENV_KEY, "10"))


class HeaderDeadline:
    """Mixed in before a uvicorn protocol class."""

    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        # Armed before the parent runs: it may start a pipelined request whose headers are complete.
        if not self.transport.is_closing():
            self._arm()
        super().on_response_complete()

    def _arm(self) -> None:
        self._disarm()
        self._deadline = asyncio.get_running_loop().call_later(read_timeout_s(), self._too_slow)

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


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # httptools is optional in uvicorn; h11 always comes with it
    HttpToolsWithDeadline = None
else:
    class HttpToolsWithDeadline(HeaderDeadline, HttpToolsProtocol):
        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            # uvicorn starts a request it already parsed (pipelined) here: no deadline for that one.
            pipelined = bool(self.pipeline)
            super().on_response_complete()
            if pipelined:
                self._disarm()


DefaultProtocol = HttpToolsWithDeadline or H11WithDeadline
DEFAULT_PROTOCOL = f"{__name__}:{DefaultProtocol.__name__}"
