"""The FastAPI app: predictions and explanations over HTTP, health, metrics, and the web page.

Status codes (never a 500 for anything a client sends):
  400 body is not valid UTF-8 · 408 headers or body slower than `read_timeout_s` · 413 body larger than `max_body_bytes` · 415 not application/json ·
  431 more than `max_headers` headers or `max_header_bytes` bytes of them ·
  422 malformed JSON, wrong
  types, an empty list, more than `max_texts` texts or a text longer than `max_chars` characters,
  or a text the model failed on (that request alone: a failed batch is retried request by request) ·
  503 queue full (with Retry-After) or model not ready · 504 the request's time limit passed.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
import os
import time
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from ..classifier import SentimentClassifier
from ..config import ServiceConfig
from ..errors import QueueFull
from ..explain import explain
from ..prediction import describe
from ..version import __version__
from .batcher import MicroBatcher
from .metrics import ServiceMetrics


def request_models(config: ServiceConfig) -> tuple[type[BaseModel], type[BaseModel]]:
    """Request bodies with this service's limits, so the OpenAPI schema states exactly what is accepted."""
    text = Annotated[str, Field(max_length=config.max_chars)]
    strict = ConfigDict(extra="forbid", strict=True)
    predict = create_model("PredictRequest", __config__=strict,
                           texts=(list[text], Field(min_length=1, max_length=config.max_texts,
                                                    description="reviews to classify")))
    explain_text = Annotated[str, Field(max_length=min(config.max_chars, config.max_explain_chars))]
    explain_ = create_model("ExplainRequest", __config__=strict, text=(explain_text, Field(description="one review")))
    return predict, explain_


class ModelInfo(BaseModel):
    name: str
    version: str | None
    digest: str


class ModelDetails(ModelInfo):
    engine: str = Field(description="the inference engine answering: torch, onnx or onnx-int8")
    classes: list[str]
    thresholds: dict[str, float] | None = Field(description="multi-label models: each label's threshold")
    temperature: float | None = Field(description="temperature scaling fitted on validation (null: none)")
    int8_gate: dict[str, Any] | None = Field(description="int8 against fp32 on the validation part, at training")
    decision: dict[str, Any] | None = Field(description="the decision rule `sentiment-rnn threshold` saved (its "
                                                        "version, target and figures); null: the arg max")


class Prediction(BaseModel):
    label: str
    score: float = Field(description="probability of the predicted label")
    probabilities: dict[str, float]
    labels: list[str] | None = Field(default=None, description="multi-label models: every label at or above its "
                                                               "threshold, most probable first; null otherwise")


class PredictResponse(BaseModel):
    model: ModelInfo
    results: list[Prediction]


class TokenContribution(BaseModel):
    token: str = Field(description="the token as the model sees it (cleaned)")
    start: int | None = Field(description="where it lies in the text as sent: first character (code point "
                                          "offset), or null where cleaning made it from nothing literally there")
    end: int | None = Field(description="one past its last character")
    known: bool = Field(description="whether the model's vocabulary has it (false: read as the unknown token)")
    contributions: dict[str, float] = Field(description="drop in each class's probability without this token")


class ExplainResponse(Prediction):
    model: ModelInfo
    faithfulness: dict[str, float] = Field(description="comprehensiveness and sufficiency of this explanation "
                                                       "(DeYoung et al. 2020), and the same for random words")
    method: str
    tokens: list[TokenContribution]


class Mover(BaseModel):
    token: str
    position: int
    change: float = Field(description="change of the followed class's probability when this word was read")


class MemoryResponse(BaseModel):
    model: ModelInfo
    text: str
    class_: str = Field(alias="class", description="the class followed: the positive one of a binary model")
    tokens: list[str] = Field(description="the tokens as the model reads them")
    probability: list[float] = Field(description="p(class) after each prefix: what the forward reading has seen")
    probability_backward: list[float] = Field(description="p(class) after each suffix of k tokens (reading backward)")
    final_probability: float
    gates: dict[str, list[float]] = Field(description="first layer, forward direction: mean gate activation per token "
                                                      "(LSTM input/forget/output, GRU update/reset; none for a plain RNN)")
    movers: list[Mover] = Field(description="the tokens that moved the prediction most")


class ErrorResponse(BaseModel):
    detail: Any


ERRORS = {status: {"model": ErrorResponse, "description": text} for status, text in {
    400: "body is not valid UTF-8", 408: "body came too slowly (read_timeout_s)", 413: "body too large", 415: "body is not application/json",
    431: "too many request headers, or too many bytes of them",
    422: "malformed JSON, wrong types, or limits exceeded",
    503: "queue full (see Retry-After) or model not ready", 504: "request timed out"}.items()}


def model_info(folder: Path, name: str | None = None, version: str | None = None) -> dict[str, Any]:
    digest = hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()[:16]
    return {"name": name or folder.resolve().name, "version": version, "digest": digest}


def create_app(model_dir: str | Path, config: ServiceConfig | None = None, info: dict[str, Any] | None = None) -> FastAPI:
    config = config or ServiceConfig()
    model_dir = Path(model_dir)
    clf = SentimentClassifier.load(model_dir, config.engine, config.threads, config.text_cache_bytes)
    info = info or model_info(model_dir)
    metrics = ServiceMetrics()
    batcher = MicroBatcher(clf.predict_proba, config.max_batch_size, config.max_wait_ms, config.max_queue,
                           on_batch=metrics.batch_size.observe)
    explainer = Explainer(clf, config)
    state = {"ready": False}
    PredictRequest, ExplainRequest = request_models(config)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        batcher.start()
        await batcher.submit(["warm up the model before taking traffic"])
        # The libraries and the model leave about a million long-lived objects; without this, each full
        # garbage collection walks them all and stalls every request in flight, which set the p99.
        # Freezing moves them out of the collector's sight.
        gc.collect()
        gc.freeze()
        state["ready"] = True
        yield
        state["ready"] = False
        await batcher.stop()
        explainer.stop()

    app = FastAPI(title="sentiment-rnn", version=__version__, lifespan=lifespan,
                  description="Sentiment predictions and explanations from a recurrent classifier.\n\n" + __doc__)
    app.state.classifier = clf
    app.state.batcher = batcher
    app.state.explainer = explainer

    app.add_middleware(ObserveAndLimit, metrics=metrics, batcher=batcher, config=config)

    async def accept(request: Request, model: type[BaseModel]) -> BaseModel:
        """The request body, read within the size limit, decoded, validated; and the model ready.
        Only `application/json` is accepted: a cross-site form can send text/plain without asking
        the browser's permission first, JSON it cannot."""
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != "application/json":
            raise HTTPException(415, f"send the body as application/json (got {media_type or 'no content type'!r})")
        try:
            raw = await asyncio.wait_for(read_body(request), config.read_timeout_s)
        except TimeoutError:
            raise HTTPException(408, f"the body did not arrive within {config.read_timeout_s} s (read_timeout_s)",
                                headers={"Connection": "close"}) from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise HTTPException(400, f"body is not valid UTF-8 (invalid byte at offset {exc.start})") from None
        try:
            body = model.model_validate_json(text)
        except ValidationError as exc:
            raise HTTPException(422, exc.errors(include_url=False, include_input=False)) from None
        if not state["ready"]:
            raise HTTPException(503, "model is not ready", headers={"Retry-After": "1"})
        return body

    async def read_body(request: Request) -> bytes:
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > config.max_body_bytes:
                raise HTTPException(413, f"body is over the {config.max_body_bytes}-byte limit")
            chunks.append(chunk)
        return b"".join(chunks)

    async def with_timeout(awaitable):
        try:
            return await asyncio.wait_for(awaitable, config.timeout_s)
        except TimeoutError:
            raise HTTPException(504, f"no answer within {config.timeout_s} s") from None
        except QueueFull as exc:
            raise HTTPException(503, str(exc) or "the prediction queue is full; retry shortly",
                                headers={"Retry-After": "1"}) from None
        except HTTPException:
            raise
        except Exception as exc:  # the model failed on this request's texts alone (the batcher retried the rest)
            reason = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
            raise HTTPException(422, f"the model could not score this request ({type(exc).__name__}: {reason})") from None

    body_doc = lambda model: {"requestBody": {"required": True, "content": {  # noqa: E731
        "application/json": {"schema": model.model_json_schema()}}}}

    @app.post("/v1/predict", response_model=PredictResponse, responses=ERRORS, openapi_extra=body_doc(PredictRequest),
              summary="Classify one or more texts (coalesced with concurrent requests)")
    async def predict(request: Request) -> PredictResponse:
        body = await accept(request, PredictRequest)
        proba = await with_timeout(batcher.submit(body.texts))
        results = [Prediction(**describe(clf.classes_, row, clf.thresholds_, clf.decision_)) for row in proba]
        return PredictResponse(model=ModelInfo(**info), results=results)

    @app.post("/v1/explain", response_model=ExplainResponse, responses=ERRORS, openapi_extra=body_doc(ExplainRequest),
              summary="Classify one text and give each token's contribution (occlusion)")
    async def explain_text(request: Request) -> ExplainResponse:
        body = await accept(request, ExplainRequest)
        result = await with_timeout(explainer.run(body.text))
        return ExplainResponse(model=ModelInfo(**info), **result)

    @app.post("/v1/memory", response_model=MemoryResponse, responses=ERRORS, openapi_extra=body_doc(ExplainRequest),
              summary="What the model predicts after each word of one text, and its gates (word by word)")
    async def memory_of_text(request: Request) -> MemoryResponse:
        body = await accept(request, ExplainRequest)
        result = await with_timeout(explainer.run_memory(body.text))
        return MemoryResponse(model=ModelInfo(**info), **result)

    @app.get("/v1/model-info", response_model=ModelDetails, summary="The model answering: its digest, engine, "
             "classes, decision thresholds, calibration and int8 gate")
    async def details() -> ModelDetails:
        return ModelDetails(**info, engine=clf.engine_.name, classes=list(clf.classes_), thresholds=clf.thresholds_,
                            temperature=clf.data_info_.get("calibration", {}).get("temperature"),
                            int8_gate=clf.data_info_.get("int8"), decision=clf.config_.get("decision"))

    @app.get("/healthz", summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", summary="The model is loaded and warmed", responses={503: {"model": ErrorResponse}})
    async def readyz():
        if not state["ready"]:
            return JSONResponse({"detail": "warming up"}, status_code=503)
        return {"status": "ready", "model": info}

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def prometheus() -> Response:
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    html = page_html()

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse(html)

    return app


class Explainer:
    """Explanations on their own thread, with their own single-threaded copy of the engine, at a
    lower CPU priority than predictions, behind a bounded queue (`max_explain_queue`, counting the
    one running): a flood of explanations answers 503 at once and cannot starve predictions."""

    def __init__(self, clf: SentimentClassifier, config: ServiceConfig):
        from concurrent.futures import ThreadPoolExecutor

        from ..inference import make_engine

        self.clf, self.limit, self.waiting = clf, config.max_explain_queue, 0
        # ONNX Runtime sessions are cheap to have twice; torch's thread count is global, so a torch
        # service shares its engine.
        onnx = clf.engine_.name.startswith("onnx")
        self.engine = (make_engine(clf.network_, clf.engine_.name, threads=1, int8_gate=clf.data_info_.get("int8"))
                       if onnx else clf.engine_)
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="explain", initializer=_lower_priority)

    async def run(self, text: str) -> dict[str, Any]:
        return await self._queued(explain, self.clf, text, 128, self.engine)

    async def run_memory(self, text: str) -> dict[str, Any]:
        from ..diagnose.memory import memory

        return await self._queued(memory, self.clf, text, 5, self.engine)

    async def _queued(self, work, *args) -> dict[str, Any]:
        if self.waiting >= self.limit:
            raise QueueFull(f"{self.waiting} explanations are queued (max_explain_queue); retry shortly")
        self.waiting += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self.executor, work, *args)
        finally:
            self.waiting -= 1

    def stop(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


def _lower_priority() -> None:
    """Nice the explanation thread (Linux schedules threads by their own nice value)."""
    import threading

    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):  # not Linux, or not allowed: explanations run at normal priority
        pass


def page_html() -> str:
    return resources.files(__package__).joinpath("static/index.html").read_text(encoding="utf-8")


def page_security_policy(html: str) -> str:
    """A Content-Security-Policy that allows exactly the page's own inline <script> and <style>
    blocks (by SHA-256) and requests to this origin, and nothing else."""
    import base64
    import re

    def hashes(tag: str) -> str:
        blocks = re.findall(rf"<{tag}>(.*?)</{tag}>", html, flags=re.S)
        return " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(b.encode()).digest()).decode()}'" for b in blocks)

    return (f"default-src 'none'; script-src {hashes('script')}; style-src {hashes('style')}; connect-src 'self'; "
            f"img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


class ObserveAndLimit:
    """Pure ASGI middleware (Starlette's BaseHTTPMiddleware costs about a millisecond a request):
    rejects too many headers with 431 (their bytes are bounded as they arrive, protocol.py, and here
    again for servers other than ours), a declared body over the limit with 413 before reading it,
    and records each request's route, status and latency, and the queue depth."""

    def __init__(self, app, metrics: ServiceMetrics, batcher: MicroBatcher, config: ServiceConfig):
        self.app, self.metrics, self.batcher, self.max_body_bytes = app, metrics, batcher, config.max_body_bytes
        self.max_headers, self.max_header_bytes = config.max_headers, config.max_header_bytes
        self.page_policy = page_security_policy(page_html())

    def security_headers(self, path: str) -> list[tuple[bytes, bytes]]:
        """No content sniffing, no framing (clickjacking); the page may run only its own inline
        script and style (by hash); the API's answers may load nothing at all. The OpenAPI pages
        load Swagger/ReDoc from their CDN, so they get only the framing rule."""
        if path == "/":
            policy = self.page_policy
        elif path in ("/docs", "/redoc"):
            policy = "frame-ancestors 'none'"
        else:
            policy = "default-src 'none'; frame-ancestors 'none'"
        return [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                (b"referrer-policy", b"no-referrer"), (b"content-security-policy", policy.encode())]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        route = scope["path"] if scope["path"] in self.metrics.routes else "other"
        status = {"code": 500}

        async def send_and_remember(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message = {**message, "headers": [*message.get("headers", []), *self.security_headers(scope["path"])]}
            await send(message)

        headers = scope["headers"]
        declared = dict(headers).get(b"content-length", b"")
        try:
            header_bytes = sum(len(name) + len(value) + 4 for name, value in headers)
            if len(headers) > self.max_headers or header_bytes > self.max_header_bytes:
                response = JSONResponse({"detail": f"{len(headers)} headers of {header_bytes} bytes: over the limit of "
                                                   f"{self.max_headers} headers (max_headers) or {self.max_header_bytes} "
                                                   f"bytes (max_header_bytes)"}, status_code=431,
                                        headers={"Connection": "close"})
                await response(scope, receive, send_and_remember)
            elif declared.isdigit() and int(declared) > self.max_body_bytes:
                response = JSONResponse({"detail": f"body of {int(declared)} bytes is over the "
                                                   f"{self.max_body_bytes}-byte limit"}, status_code=413)
                await response(scope, receive, send_and_remember)
            else:
                await self.app(scope, receive, send_and_remember)
        finally:
            self.metrics.observe_request(route, status["code"], time.perf_counter() - started)
            self.metrics.queue_depth.set(self.batcher.pending_texts)


ENV_KEY = "SENTIMENT_RNN_SERVICE"


def serve(model_dir: Path, config: ServiceConfig, info: dict[str, Any]) -> None:
    """Run the service on uvicorn with `config.workers` processes, until it is stopped. Each worker
    builds its app from the model folder and settings passed in the environment. On SIGTERM uvicorn
    stops accepting, finishes what is in flight, runs the shutdown, and exits."""
    import dataclasses

    import uvicorn

    from . import protocol

    os.environ[ENV_KEY] = json.dumps({"model_dir": str(model_dir), "config": dataclasses.asdict(config), "info": info})
    os.environ[protocol.ENV_KEY] = protocol.environment(config.read_timeout_s, config.max_header_bytes)
    uvicorn.run("sentiment_rnn.service.app:app_from_env", factory=True, host=config.host, port=config.port,
                workers=config.workers, log_level="warning", timeout_graceful_shutdown=30,
                http=protocol.DEFAULT_PROTOCOL)


def app_from_env() -> FastAPI:
    """Factory for uvicorn workers: the parent process passes model folder and settings as JSON."""
    settings = json.loads(os.environ[ENV_KEY])
    return create_app(settings["model_dir"], ServiceConfig(**settings["config"]), settings["info"])
