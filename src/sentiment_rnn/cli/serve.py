"""`sentiment-rnn serve`: predictions, explanations and the web page over HTTP. Every field of
config.ServiceConfig is a flag of the same name."""

from __future__ import annotations

import dataclasses
import sys

from .options import ENGINE_HELP, THREADS_HELP, add_model

EXAMPLES = """examples:
  sentiment-rnn serve models/default --host 127.0.0.1 --port 8000
  sentiment-rnn serve models:/imdb@champion --tracking-uri http://127.0.0.1:5000 --port 8000 --workers 2
  curl -s localhost:8000/v1/predict -H 'content-type: application/json' -d '{"texts": ["A wonderful film."]}'
"""
CANNOT_LISTEN = 3  # uvicorn's own exit code when its start-up fails
FLAG_HELP = {
    "host": "address to bind (default 127.0.0.1: this machine only)",
    "workers": "uvicorn worker processes",
    "max_batch_size": "texts per forward pass; 1 disables micro-batching",
    "max_wait_ms": "how long a batch waits for more requests",
    "max_queue": "texts waiting before 503",
    "max_body_bytes": "413 above this",
    "max_texts": "texts per request (422 above)",
    "max_chars": "characters per text (422 above)",
    "max_explain_chars": "characters per text to explain (422 above)",
    "max_explain_queue": "explanations running or waiting before 503",
    "timeout_s": "per-request limit (504 after)",
    "read_timeout_s": "a request's headers, then its body, must arrive within this (408 after)",
    "max_headers": "request headers per request (431 above)",
    "max_header_bytes": "bytes of request line and headers (431 above)",
    "text_cache_bytes": "bound of the raw-text → ids cache, in bytes (0: no cache)",
    "engine": ENGINE_HELP,
    "threads": THREADS_HELP,
}


def add_parser(command) -> None:
    from ..config import ENGINES, ServiceConfig

    serve = command("serve", "Serve predictions, explanations and the web page over HTTP (FastAPI on uvicorn).",
                    EXAMPLES, run)
    add_model(serve)
    defaults = ServiceConfig()
    for field in dataclasses.fields(ServiceConfig):
        value, help_text = getattr(defaults, field.name), FLAG_HELP.get(field.name)
        serve.add_argument("--" + field.name.replace("_", "-"), dest=field.name, type=type(value), default=value,
                           help=f"{help_text + '; ' if help_text else ''}default {value}",
                           choices=ENGINES if field.name == "engine" else None)


def run(args) -> int:
    from ..classifier import SentimentClassifier
    from ..config import ServiceConfig
    from ..service.app import model_info, serve
    from ..tracking.registry import resolve

    config = ServiceConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(ServiceConfig)})
    from ..inference import Int8Refused

    model = resolve(args.model, args.tracking_uri)
    try:
        SentimentClassifier.load(model.folder, config.engine)  # fail here, with a one-line error, not in a worker
    except Int8Refused as refused:  # the model's own int8 gate failed: serve fp32, saying why
        print(f"warning: {refused}; serving with the onnx engine (fp32) instead", file=sys.stderr)
        config = dataclasses.replace(config, engine="onnx")
    info = model_info(model.folder, model.name, model.version)
    problem = cannot_listen(config.host, config.port)
    if problem:
        print(f"error: cannot listen on {config.host}:{config.port} ({problem}); choose another --port or --host, "
              f"or stop what holds it", file=sys.stderr)
        return CANNOT_LISTEN
    print(f"serving {info['name']} (digest {info['digest']}) on http://{config.host}:{config.port}/", file=sys.stderr)
    serve(model.folder, config, info)
    return 0


def cannot_listen(host: str, port: int) -> str | None:
    """Why the service could not bind host:port, tried as uvicorn will (SO_REUSEADDR), or None."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return exc.strerror
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            return exc.strerror
    return None
