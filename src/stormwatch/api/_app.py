"""The app factory: middleware (body bound, request id, metrics, JSON log), auth, routes, OpenAPI."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
from fastapi import Depends, FastAPI, Request, Security
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic.json_schema import models_json_schema
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stormwatch import __version__
from stormwatch.api._convert import events_from_body
from stormwatch.api._errors import HANDLERS, ApiError
from stormwatch.api._keys import KeyRecord, KeyRing
from stormwatch.api._logging import LOGGER, install_redaction
from stormwatch.api._metrics import CONTENT_TYPE, Metrics
from stormwatch.api._proxy import ChatProxy, Upstream
from stormwatch.api._ratelimit import AuthThrottle, RateLimiter
from stormwatch.api._schemas import (
    ChatCompletionRequest,
    ErrorResponse,
    Health,
    ScanRequest,
    ScanResponse,
)
from stormwatch.api._screen import Screener
from stormwatch.api._settings import Settings
from stormwatch.api._writer import RecordSink, StoreWriter, open_sink
from stormwatch.engine import Engine

_REQ_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_BODY_METHODS = {"POST", "PUT", "PATCH"}
_ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorResponse, "description": d}
    for s, d in {
        401: "Missing or invalid API key.",
        413: "Body, message or batch over the configured bounds.",
        422: "Invalid JSON or an invalid field (named in `param`).",
        429: "The key's rate limit is exceeded (see Retry-After).",
    }.items()
}
_PROXY_ERRORS: dict[int | str, dict[str, Any]] = {
    **_ERRORS,
    400: {"model": ErrorResponse, "description": "Blocked by policy; `code` names the top category."},
    502: {"model": ErrorResponse, "description": "The upstream is down or failed."},
    503: {"model": ErrorResponse, "description": "No upstream configured."},
    504: {"model": ErrorResponse, "description": "The upstream did not answer in time."},
}


@dataclass
class Guard:
    """Everything the routes share for one app."""

    settings: Settings
    metrics: Metrics
    keyring: KeyRing
    limiter: RateLimiter
    screener: Screener
    writer: StoreWriter
    proxy: ChatProxy


def _guard(request: Request) -> Guard:
    g: Guard = request.app.state.guard
    return g


_bearer = HTTPBearer(
    auto_error=False, scheme_name="StormwatchKey", description="A key from `stormwatch keys add`."
)


async def require_key(
    request: Request, creds: HTTPAuthorizationCredentials | None = Security(_bearer)
) -> KeyRecord:
    """Authenticate the bearer key and apply its rate limit (401 / 429).

    The middleware has already checked the key before the body was read; its record is reused here.
    """
    g = _guard(request)
    rec: KeyRecord | None = getattr(request.state, "key_record", None)
    if rec is None:
        rec = g.keyring.verify(creds.credentials) if creds is not None else None
    if rec is None:
        g.metrics.auth_failures.inc()
        raise ApiError(
            401,
            "Missing or invalid API key: send 'Authorization: Bearer <key>'.",
            code="invalid_api_key",
            headers={"www-authenticate": "Bearer"},
        )
    request.state.key_id = rec.id
    wait = g.limiter.check(rec.id, rec.rate_per_s, rec.burst)
    if wait > 0:
        g.metrics.rate_limited.inc()
        raise ApiError.too_many(
            f"Rate limit exceeded for key {rec.id}; retry in {wait:.2f} s.",
            code="rate_limit_exceeded",
            wait_s=wait,
        )
    return rec


def _unauthorized() -> ApiError:
    return ApiError(
        401,
        "Missing or invalid API key: send 'Authorization: Bearer <key>'.",
        code="invalid_api_key",
        headers={"www-authenticate": "Bearer"},
    )


class GuardMiddleware:
    """Caps requests in flight (503), throttles addresses that fail to authenticate (429), checks the key
    before reading the body (401), bounds the body while reading it (413), tags a request id, times,
    counts and logs every request."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body: int,
        metrics: Metrics,
        keyring: KeyRing | None = None,
        throttle: AuthThrottle | None = None,
        max_in_flight: int = 512,
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.metrics = metrics
        self.keyring = keyring
        self.throttle = throttle
        self.max_in_flight = max_in_flight
        self.in_flight = 0

    def _authenticate(
        self, scope: Scope, headers: dict[bytes, bytes], state: dict[str, Any]
    ) -> ApiError | None:
        """None when the request carries a valid key (kept in `state`), else the error to answer."""
        if self.keyring is None:
            return None
        client = scope.get("client")
        address = str(client[0]) if client else "unknown"
        if self.throttle is not None:
            wait = self.throttle.blocked(address)
            if wait > 0:
                self.metrics.auth_throttled.inc()
                return ApiError.too_many(
                    f"Too many failed authentications from this address; retry in {wait:.0f} s.",
                    code="auth_throttled",
                    wait_s=wait,
                )
        scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        rec = self.keyring.verify(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
        if rec is None:
            self.metrics.auth_failures.inc()
            if self.throttle is not None:
                self.throttle.failed(address)
            return _unauthorized()
        state["key_record"] = rec
        state["key_id"] = rec.id
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        headers = dict(scope.get("headers") or [])
        rid_in = headers.get(b"x-request-id", b"").decode("latin-1")
        rid = rid_in if _REQ_ID.match(rid_in) else uuid.uuid4().hex[:16]
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = rid
        status = {"code": 500}

        async def send_tagged(msg: Message) -> None:
            if msg["type"] == "http.response.start":
                status["code"] = msg["status"]
                msg["headers"] = [*msg.get("headers", []), (b"x-request-id", rid.encode())]
            await send(msg)

        open_route = scope.get("path") in _OPEN_PATHS
        if not open_route and self.in_flight >= self.max_in_flight:
            self.metrics.overloaded.inc()
            busy = ApiError(
                503,
                "The guard is at its limit of requests in flight; retry shortly.",
                type="server_error",
                code="overloaded",
                headers={"retry-after": "1"},
            )
            await busy.response()(scope, receive, send_tagged)
            self._observe(scope, state, 503, time.perf_counter() - t0)
            return
        if not open_route:
            self.in_flight += 1
        try:
            if not open_route:
                refused = self._authenticate(scope, headers, state)
                if refused is not None:  # answered before one byte of the body is read
                    await refused.response()(scope, receive, send_tagged)
                    return
            if scope["method"] in _BODY_METHODS:
                body = await self._read_body(headers, receive)
                if body is None:
                    err = ApiError(
                        413, f"Request body too large: the limit is {self.max_body} bytes.", code="too_large"
                    )
                    await err.response()(scope, receive, send_tagged)
                    return
                receive = _replay(body, receive)
            await self.app(scope, receive, send_tagged)
        finally:
            if not open_route:
                self.in_flight -= 1
            self._observe(scope, state, status["code"], time.perf_counter() - t0)

    async def _read_body(self, headers: dict[bytes, bytes], receive: Receive) -> bytes | None:
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            return None
        chunks: list[bytes] = []
        size = 0
        while True:
            msg = await receive()
            if msg["type"] != "http.request":
                break
            chunk = msg.get("body", b"")
            size += len(chunk)
            if size > self.max_body:  # enforced on the bytes read, whatever Content-Length said
                return None
            chunks.append(chunk)
            if not msg.get("more_body", False):
                break
        return b"".join(chunks)

    def _observe(self, scope: Scope, state: dict[str, Any], status: int, seconds: float) -> None:
        route = getattr(scope.get("route"), "path", "unmatched")
        self.metrics.requests.labels(route, str(status)).inc()
        self.metrics.latency.labels(route).observe(seconds)
        fields = {k: state[k] for k in _LOG_FIELDS if k in state}
        LOGGER.log(
            logging.WARNING if status >= 500 else logging.INFO,
            "request",
            extra={
                "method": scope["method"],
                "path": route,
                "status": status,
                "ms": round(seconds * 1000, 2),
                **fields,
            },
        )


#: Paths answered without a key and outside the in-flight cap (liveness must answer under load).
_OPEN_PATHS = frozenset({"/healthz"})

_LOG_FIELDS = (
    "request_id",
    "key_id",
    "event_id",
    "verdict",
    "risk",
    "categories",
    "upstream_ms",
    "stream_outcome",
    "events",
    "prompt",
)


def scoped_id(key_id: str, client_id: str) -> str:
    """The store id of an event a client sent to /v1/scan: its id inside the sending key's namespace.

    So no client can name (and so replace or shadow) a record of the proxy (`gw-...`) or of another key;
    and the store keeps the first record of each id (sealed), so not even the same key can rewrite one.
    """
    return f"scan:{key_id}:{client_id}"


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # later calls wait for the disconnect, as the server would deliver it

    return replay


def _body_schema(name: str) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{name}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": ref}}}}


def create_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    sink: RecordSink | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """Build the guard app; `engine`, `sink` and `transport` are injectable for tests and benchmarks."""
    from stormwatch.verdict import Policy

    metrics = Metrics()
    judge = None
    if settings.judge is not None:
        from stormwatch.detectors.judge import Judge

        judge = Judge(settings.judge, on_outcome=lambda o: metrics.judge_outcomes.labels(o).inc())
    if engine is None:
        engine = Engine.default(fast=not settings.full, policy=Policy.load(settings.policy), judge=judge)
    elif judge is not None and engine.judge is None:
        engine.judge = judge  # an injected engine (tests, benchmarks) gets the configured judge
    screener = Screener(engine, metrics, inline_chars=settings.inline_chars(), threads=settings.scan_threads)
    keyring = KeyRing(settings.keys_file)
    install_redaction()  # httpx logs each upstream URL: mask credentials and query values in it

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = sink if sink is not None else await anyio.to_thread.run_sync(open_sink, settings.store)
        writer = StoreWriter(
            store,
            maxsize=settings.writer_queue,
            batch=settings.writer_batch,
            flush_s=settings.writer_flush_s,
            dead_letter=Path(settings.store + ".deadletter.jsonl") if settings.store else None,
            on_written=metrics.store_written.inc,
            on_error=metrics.store_errors.inc,
        )
        writer.start()
        metrics.bind_queue_depth(writer.depth)
        upstream = Upstream(settings, metrics, transport)
        await anyio.to_thread.run_sync(screener.warm_up)
        app.state.guard = Guard(
            settings=settings,
            metrics=metrics,
            keyring=keyring,
            limiter=RateLimiter(rate=settings.rate_per_s, burst=settings.burst),
            screener=screener,
            writer=writer,
            proxy=ChatProxy(settings, upstream, screener, writer, metrics),
        )
        LOGGER.info(
            "guard started",
            extra={
                "upstream": bool(settings.upstream_url),
                "keys": len(keyring),
                "full": settings.full,
                "store": bool(settings.store),
                "judge": settings.judge.model if settings.judge else None,
            },
        )
        try:
            yield
        finally:
            await upstream.aclose()
            if judge is not None:
                judge.close()
            await anyio.to_thread.run_sync(writer.close)
            LOGGER.info("guard stopped", extra={"written": writer.written, "lost": writer.lost})

    app = FastAPI(
        title="Stormwatch guard",
        version=__version__,
        description="Scanning API and OpenAI-compatible screening proxy. Every route but /healthz needs "
        '`Authorization: Bearer <key>`; errors are OpenAI-style `{"error": {message, type, code, param}}`.',
        lifespan=lifespan,
        exception_handlers=HANDLERS,
        # the schema maps the whole surface: off unless asked for, and then behind the key like the rest
        docs_url="/docs" if settings.docs else None,
        redoc_url="/redoc" if settings.docs else None,
        openapi_url="/openapi.json" if settings.docs else None,
    )
    app.add_middleware(
        GuardMiddleware,
        max_body=settings.max_body_bytes,
        metrics=metrics,
        keyring=keyring,
        throttle=AuthThrottle(
            burst=settings.auth_failure_burst, per_s=settings.auth_failures_per_minute / 60.0
        ),
        max_in_flight=settings.max_in_flight,
    )

    @app.get("/healthz", response_model=Health, tags=["ops"])
    async def healthz(request: Request) -> JSONResponse:
        """Liveness: 200 while the store writer runs (no key needed)."""
        ok = _guard(request).writer.alive
        return JSONResponse({"status": "ok" if ok else "degraded"}, status_code=200 if ok else 503)

    @app.get(
        "/metrics",
        tags=["ops"],
        responses={200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text format."}, **_ERRORS},
        response_class=Response,
    )
    async def metrics_route(request: Request, _: KeyRecord = Depends(require_key)) -> Response:
        """Prometheus metrics: requests, verdicts, latency histograms, upstream errors, store writer."""
        return Response(_guard(request).metrics.render(), media_type=CONTENT_TYPE)

    @app.post(
        "/v1/scan",
        response_model=ScanResponse,
        responses=_ERRORS,
        tags=["scan"],
        openapi_extra=_body_schema("ScanRequest"),
    )
    async def scan(request: Request, key: KeyRecord = Depends(require_key)) -> JSONResponse:
        """Scan one event, a list or `{"events": [...]}` (the `stormwatch scan` contract); same shape back."""
        g = _guard(request)
        try:
            body = json.loads(await request.body())
        except (ValueError, RecursionError) as exc:
            raise ApiError(
                422, f"request body is not valid JSON: {str(exc)[:200]}", code="invalid_json"
            ) from exc
        s = g.settings
        events, shape = events_from_body(
            body, max_batch=s.max_batch, max_messages=s.max_messages, max_chars=s.max_message_chars
        )
        request.state.events = len(events)
        verdicts = await g.screener.scan(events, phase="scan") if events else []
        for ev, v in zip(events, verdicts, strict=True):
            sid = scoped_id(key.id, ev.id)
            await g.writer.submit(ev.model_copy(update={"id": sid}), v.model_copy(update={"id": sid}))
        out = [v.contract() for v in verdicts]
        payload: Any = out[0] if shape == "one" else out if shape == "list" else {"verdicts": out}
        return JSONResponse(payload)

    @app.post(
        "/v1/chat/completions",
        responses=_PROXY_ERRORS,
        tags=["proxy"],
        openapi_extra=_body_schema("ChatCompletionRequest"),
        response_class=Response,
    )
    async def chat_completions(request: Request, key: KeyRecord = Depends(require_key)) -> Response:
        """OpenAI-compatible chat completions, screened on the way in and out (JSON or SSE stream)."""
        return await _guard(request).proxy.handle(request, key.id)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            _, defs = models_json_schema(
                [(ScanRequest, "validation"), (ChatCompletionRequest, "validation")],
                ref_template="#/components/schemas/{model}",
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for name, sub in defs.get("$defs", {}).items():
                components.setdefault(name, sub)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
