"""The ASGI app: routes, bearer-token gate, body limit, request lifecycle.

``POST /v1/recognize`` reads the body (bounded in size and time), validates options, decodes
every image with the library's loader in a worker thread (so a bomb or a broken file is
refused before it takes queue room), queues the lines for the model worker, and answers
with ``recognize --json``'s objects, one per image, in request order.

Status codes: 400 malformed body, options or image; 401 missing/wrong token; 408 body not
received within the timeout; 413 body, image or line count over a limit; 415 unsupported
content type; 503 queue full, model not loaded or server draining (with ``Retry-After``);
504 no result within the timeout; 500 the model failed on the batch.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from ..recognizer import RecognitionResult, Recognizer, results_to_json
from .batcher import Batcher, QueueFull
from .config import ServeConfig
from .metrics import Metrics
from .schema import (
    RequestError,
    Source,
    check_options,
    load_sources,
    parse_json,
    parse_options,
    parse_options_field,
    supported_options,
)

UNAUTHENTICATED_PATHS = frozenset({"/healthz"})
RAW_TYPES = ("application/octet-stream",)


class BodyTooLarge(Exception):
    """Raised by the gate's ``receive`` once a body passes the limit."""


class ServerState:
    """What the routes, the gate and the drain logic share."""

    def __init__(self, config: ServeConfig, batcher: Batcher, metrics: Metrics):
        self.config, self.batcher, self.metrics = config, batcher, metrics
        self.draining = False
        self.inflight = 0
        self._supported: frozenset[str] | None = None

    @property
    def supported(self) -> frozenset[str]:
        if self._supported is None:
            self._supported = supported_options(self.batcher.recognizer)
        return self._supported


class Gate:
    """Pure ASGI middleware: token check, in-flight count, body size limit.

    Pure ASGI rather than Starlette's ``BaseHTTPMiddleware`` so that the body keeps
    streaming through (the limit is enforced as bytes arrive) and no extra task is spawned
    per request.
    """

    def __init__(self, app: Any, state: ServerState):
        self.app, self.state = app, state
        token = state.config.token
        self.expected = token.encode() if token else None

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.expected is not None and scope["path"] not in UNAUTHENTICATED_PATHS:
            scheme, _, given = dict(scope["headers"]).get(b"authorization", b"").partition(b" ")
            if scheme.lower() != b"bearer" or not hmac.compare_digest(given.strip(),
                                                                      self.expected):
                response = JSONResponse({"error": "missing or wrong bearer token"}, 401,
                                        headers={"WWW-Authenticate": "Bearer"})
                await response(scope, receive, send)
                return
        limit, seen = self.state.config.max_body_bytes, 0

        async def limited_receive() -> dict:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge()
            return message

        self.state.inflight += 1
        self.state.metrics.inflight.inc()
        try:
            await self.app(scope, limited_receive, send)
        finally:
            self.state.inflight -= 1
            self.state.metrics.inflight.dec()


def warm(rec: Recognizer) -> Recognizer:
    """Run one blank line through ``rec``: the first call pays one-off costs (kernel
    selection, allocator growth; ~3 s on a 2-core CPU) that should not land on the first
    client. ``/readyz`` turns 200 only after this."""
    rec.recognize([np.full((32, 160, 3), 255, np.uint8)])
    return rec


def create_app(config: ServeConfig, load: Callable[[], Any] | None = None) -> FastAPI:
    """Build the server app.

    Args:
        config: limits and batching settings.
        load: builds the Recognizer (default: ``Recognizer.from_pretrained(config.model,
            **config.recognizer_kwargs)``); runs in the model thread at startup.

    The app's ``state.server`` is the :class:`ServerState` (draining flag, in-flight count)
    that :mod:`.server` uses for SIGTERM.
    """
    if load is None:
        def load() -> Any:
            return warm(Recognizer.from_pretrained(config.model, errors="skip",
                                                   **config.recognizer_kwargs))

    metrics = Metrics()
    batcher = Batcher(load, max_batch=config.max_batch, max_wait=config.max_wait_ms / 1000,
                      capacity=config.queue, metrics=metrics)
    state = ServerState(config, batcher, metrics)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        batcher.start()
        yield
        await anyio.to_thread.run_sync(batcher.stop)

    app = FastAPI(title="duguang-ocr", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.server = state
    app.add_middleware(Gate, state=state)

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        if batcher.load_error:
            return JSONResponse({"status": "failed", "error": batcher.load_error}, 503)
        if not batcher.ready.is_set():
            return JSONResponse({"status": "loading"}, 503)
        if state.draining:
            return JSONResponse({"status": "draining"}, 503)
        return JSONResponse({"status": "ready", "model": repr(batcher.recognizer),
                             "options": sorted(state.supported)})

    @app.get("/metrics")
    async def prometheus() -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST

        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    @app.post("/v1/recognize")
    async def recognize(request: Request) -> Response:
        start = time.perf_counter()
        code = 500
        try:
            response = await _recognize(request, state)
            code = response.status_code
            metrics.latency.observe(time.perf_counter() - start)
            return response
        except RequestError as e:
            code = e.status
            return JSONResponse({"error": e.message}, e.status, headers=e.headers)
        except ClientDisconnect:  # gone mid-body: nobody to answer
            code = 499
            return Response(status_code=499)
        finally:
            metrics.requests.labels(str(code)).inc()

    return app


async def _recognize(request: Request, state: ServerState) -> Response:
    config, batcher = state.config, state.batcher
    if state.draining:
        raise RequestError(503, "server is shutting down",
                           {"Retry-After": "1", "Connection": "close"})
    if batcher.load_error:
        raise RequestError(503, f"model failed to load: {batcher.load_error}")
    if not batcher.ready.is_set():
        raise RequestError(503, "model is loading", {"Retry-After": "1"})
    stage = "body"
    try:
        with anyio.fail_after(config.timeout):
            sources, body_options = await _read(request, config)
            options = parse_options(dict(request.query_params), body_options)
            kwargs = options.recognize_kwargs(state.supported)
            if len(sources) > config.queue:
                raise RequestError(413, f"{len(sources)} images in one request; this server "
                                   f"takes at most {config.queue} (--queue)")
            stage = "load"
            if kwargs:
                await anyio.to_thread.run_sync(check_options, batcher.recognizer, kwargs)
            loaded = await anyio.to_thread.run_sync(lambda: load_sources(
                sources, max_pixels=config.max_pixels,
                composite_alpha=batcher.recognizer.mode != "parity",
                skip_errors=options.errors == "skip"))
            stage = "model"
            results = await _run(request, batcher, loaded.images, kwargs)
    except TimeoutError:
        if stage == "body":
            raise RequestError(408, f"request body not received within {config.timeout:g} s",
                               {"Connection": "close"}) from None
        raise RequestError(504, f"no result within {config.timeout:g} s") from None
    out: list[RecognitionResult | None] = [None] * loaded.count
    for position, result in zip(loaded.positions, results):
        out[position] = result
    for position, error in loaded.errors.items():
        out[position] = RecognitionResult("", error=error)
    return JSONResponse({"results": results_to_json(out)})  # type: ignore[arg-type]


async def _read(request: Request, config: ServeConfig) -> tuple[list[Source], dict]:
    """The request's images and body options, by content type, within the size limit."""
    ctype = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > config.max_body_bytes:
        raise RequestError(413, f"body of {length} B exceeds the {config.max_body_bytes} B "
                           "limit", {"Connection": "close"})
    try:
        if ctype == "multipart/form-data":
            return await _read_multipart(request, config)
        if ctype == "application/json":  # parsing and base64 off the event loop
            body = await request.body()
            return await anyio.to_thread.run_sync(parse_json, body, config.allow_urls)
        if ctype.startswith("image/") or ctype in RAW_TYPES:
            body = await request.body()
            if not body:
                raise RequestError(400, "empty body")
            return [Source("body", body)], {}
    except BodyTooLarge:
        raise RequestError(413, f"body exceeds the {config.max_body_bytes} B limit",
                           {"Connection": "close"}) from None
    shown = f"Content-Type {ctype!r}" if ctype else "no Content-Type"
    raise RequestError(415, f"{shown}: send multipart/form-data, application/json "
                       "(base64 images) or one image as image/* or application/octet-stream")


async def _read_multipart(request: Request, config: ServeConfig) -> tuple[list[Source], dict]:
    try:
        form = await request.form(max_files=config.queue, max_fields=8)
    except HTTPException as e:  # Starlette's wrapper of the multipart parser's errors
        raise RequestError(400, f"bad multipart body: {e.detail}") from None
    try:
        sources, options = [], []
        for key, value in form.multi_items():
            if isinstance(value, str):
                if key != "options":
                    raise RequestError(400, f"unexpected form field {key!r} (file parts are "
                                       "images; 'options' is a JSON object)")
                options.append(value)
                continue
            data = await value.read()
            name = f"file {value.filename or key!r}"
            if not data:
                raise RequestError(400, f"{name}: empty file")
            sources.append(Source(name, data))
    finally:
        await form.close()
    if not sources:
        raise RequestError(400, "no image files in the multipart body")
    return sources, parse_options_field(options)


async def _run(request: Request, batcher: Batcher, images: list, kwargs: dict) -> list:
    """Queue ``images`` and wait for their results; drop the job if the client leaves."""
    if not images:  # every image failed to load and errors="skip"
        return []
    try:
        job = batcher.submit(images, kwargs)
    except QueueFull as e:
        raise RequestError(503, f"queue full ({batcher.capacity} lines); retry later",
                           {"Retry-After": str(e.retry_after)}) from None
    gone = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({job.future, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
        if not job.future.done():  # timed out or the client left: free its queue room
            batcher.cancel(job)
    if not job.future.done():
        raise ClientDisconnect()
    try:
        return job.future.result()
    except RuntimeError as e:
        raise RequestError(500, str(e)) from None


async def _disconnected(request: Request) -> None:
    """Returns when the client closes the connection (the body has been read already)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass
