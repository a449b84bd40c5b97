"""The OpenAI-compatible proxy: screen the request, forward it, screen the answer (whole or streamed)."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, NoReturn

import anyio
import httpx
from fastapi import Request
from fastapi.responses import Response, StreamingResponse
from pydantic import ValidationError

from stormwatch.api._errors import ApiError, error_body, validation_error
from stormwatch.api._metrics import Metrics
from stormwatch.api._schemas import ChatCompletionRequest
from stormwatch.api._screen import Screener
from stormwatch.api._settings import Settings
from stormwatch.api._writer import StoreWriter
from stormwatch.models import Event, Message, Role, Verdict

_ROLE: dict[str, Role] = {"function": "tool"}
_SENTENCE_END = (".", "!", "?", "\n", "。")
_DONE = b"data: [DONE]\n\n"
STREAM_WINDOW_CHARS = 6_000  # of a streamed answer, the tail each re-scan reads (the end reads it all)
STREAM_MAX_STEP = 1_000  # characters between two re-scans of a long streamed answer, at most


def _tail(parts: list[str], chars: int) -> str:
    """The last `chars` characters of the joined parts (joins only what it needs)."""
    out: list[str] = []
    size = 0
    for p in reversed(parts):
        out.append(p)
        size += len(p)
        if size >= chars:
            break
    return "".join(reversed(out))[-chars:]


class Upstream:
    """The async HTTP client to the upstream model API (its key comes only from settings/env)."""

    def __init__(
        self, settings: Settings, metrics: Metrics, transport: httpx.AsyncBaseTransport | None = None
    ):
        self.settings = settings
        self.metrics = metrics
        self.url = settings.chat_url()
        timeout = httpx.Timeout(settings.upstream_timeout, connect=settings.upstream_connect_timeout)
        self.client = httpx.AsyncClient(
            timeout=timeout,
            limits=httpx.Limits(max_connections=512, max_keepalive_connections=128),
            transport=transport,
            follow_redirects=False,
        )
        self._headers = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
        basic = settings.upstream_basic_auth()
        if settings.upstream_api_key is not None:
            self._headers["authorization"] = f"Bearer {settings.upstream_api_key.get_secret_value()}"
        elif basic is not None:  # user:pass@ of --upstream-url: a header, never part of a logged URL
            token = base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode("ascii")
            self._headers["authorization"] = f"Basic {token}"

    async def aclose(self) -> None:
        """Close pooled connections."""
        await self.client.aclose()

    async def open(self, body: bytes, *, stream: bool) -> httpx.Response:
        """Send the request and return once the upstream's headers arrive (body not yet read)."""
        if self.url is None:
            raise ApiError(
                503, "the guard has no --upstream-url configured", type="server_error", code="no_upstream"
            )
        read = self.settings.stream_idle_timeout if stream else self.settings.upstream_timeout
        timeout = httpx.Timeout(read, connect=self.settings.upstream_connect_timeout)
        req = self.client.build_request(
            "POST", self.url, content=body, headers=self._headers, timeout=timeout
        )
        t0 = time.perf_counter()
        try:
            resp = await self.client.send(req, stream=True)
        except Exception as exc:
            raise self.failure(exc) from exc
        self.metrics.upstream_seconds.observe(time.perf_counter() - t0)
        return resp

    async def read(self, resp: httpx.Response) -> bytes:
        """The whole body, bounded by max_upstream_bytes."""
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in resp.aiter_bytes():
                size += len(chunk)
                if size > self.settings.max_upstream_bytes:
                    self.metrics.upstream_errors.labels("too_large").inc()
                    raise ApiError(
                        502,
                        "the upstream answer is larger than the guard accepts",
                        type="upstream_error",
                        code="upstream_too_large",
                    )
                chunks.append(chunk)
        except ApiError:
            raise
        except Exception as exc:
            raise self.failure(exc) from exc
        finally:
            await resp.aclose()
        return b"".join(chunks)

    def failure(self, exc: BaseException) -> ApiError:
        """The OpenAI-style error for an upstream transport failure (502 down, 504 slow)."""
        if isinstance(exc, ApiError):
            return exc
        if isinstance(exc, httpx.TimeoutException | TimeoutError):
            self.metrics.upstream_errors.labels("timeout").inc()
            return ApiError(
                504,
                "the upstream model did not answer in time",
                type="upstream_error",
                code="upstream_timeout",
            )
        if isinstance(exc, httpx.ConnectError):
            self.metrics.upstream_errors.labels("connect").inc()
            return ApiError(
                502, "the upstream model is unreachable", type="upstream_error", code="upstream_unavailable"
            )
        if isinstance(exc, httpx.HTTPError):
            self.metrics.upstream_errors.labels("protocol").inc()
            return ApiError(
                502,
                f"the upstream connection failed ({type(exc).__name__})",
                type="upstream_error",
                code="upstream_error",
            )
        raise exc

    def status_error(self, status: int, body: bytes) -> ApiError:
        """Map an upstream error status: client errors pass through, the rest become 502."""
        self.metrics.upstream_errors.labels(f"http_{status // 100}xx").inc()
        if status in (401, 403):
            return ApiError(
                502,
                "the upstream refused the guard's credentials",
                type="upstream_error",
                code="upstream_auth",
            )
        if 400 <= status < 500:
            try:
                err = json.loads(body).get("error", {})
                msg = str(err.get("message", ""))[:2000]
                return ApiError(
                    status,
                    msg or f"upstream answered {status}",
                    type=str(err.get("type") or "invalid_request_error"),
                    code=err.get("code"),
                    param=err.get("param"),
                )
            except (ValueError, AttributeError):
                return ApiError(status, f"upstream answered {status}", type="upstream_error")
        return ApiError(
            502, f"the upstream model failed (HTTP {status})", type="upstream_error", code="upstream_error"
        )


def verdict_headers(v: Verdict, event_id: str) -> dict[str, str]:
    """The x-stormwatch-* response headers."""
    return {
        "x-stormwatch-verdict": v.verdict,
        "x-stormwatch-risk": f"{v.risk:.4f}",
        "x-stormwatch-categories": ",".join(v.categories),
        "x-stormwatch-event-id": event_id,
    }


def blocked(v: Verdict, event_id: str, phase: str) -> ApiError:
    """The 400 answered when the request (or the answer) is blocked."""
    reasons = "; ".join(v.reasons[:3]) or "policy"
    what = "request" if phase == "request" else "model answer"
    return ApiError(
        400,
        f"Stormwatch blocked this {what}: {reasons}",
        type="stormwatch_blocked",
        code=v.categories[0] if v.categories else "policy",
        headers=verdict_headers(v, event_id),
        extra={
            "stormwatch": {
                "event_id": event_id,
                "phase": phase,
                "verdict": v.verdict,
                "risk": round(v.risk, 4),
                "categories": list(v.categories),
                "reasons": list(v.reasons),
            }
        },
    )


def _answer_text(data: Any) -> str:
    out: list[str] = []
    for ch in data.get("choices", []) if isinstance(data, dict) else []:
        msg = ch.get("message") if isinstance(ch, dict) else None
        if isinstance(msg, dict):
            _collect(msg, out)
    return "\n".join(out)


def _delta_text(payload: str) -> tuple[str, bool]:
    """The text a stream chunk adds and whether it carries a final `finish_reason`."""
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError):
        return "", False
    out: list[str] = []
    finished = False
    for ch in data.get("choices", []) if isinstance(data, dict) else []:
        if not isinstance(ch, dict):
            continue
        delta = ch.get("delta")
        if isinstance(delta, dict):
            _collect(delta, out)
        finished = finished or bool(ch.get("finish_reason"))
    return "".join(out), finished


def _collect(msg: dict[str, Any], out: list[str]) -> None:
    if isinstance(msg.get("content"), str):
        out.append(msg["content"])
    for call in msg.get("tool_calls") or []:
        fn = call.get("function") if isinstance(call, dict) else None
        if isinstance(fn, dict) and isinstance(fn.get("arguments"), str):
            out.append(fn["arguments"])


class ChatProxy:
    """Handles /v1/chat/completions for one app."""

    def __init__(
        self,
        settings: Settings,
        upstream: Upstream,
        screener: Screener,
        writer: StoreWriter,
        metrics: Metrics,
    ) -> None:
        self.settings = settings
        self.upstream = upstream
        self.screener = screener
        self.writer = writer
        self.metrics = metrics

    def _event(self, req: ChatCompletionRequest, request: Request, key_id: str) -> Event:
        s = self.settings
        if len(req.messages) > s.max_messages:
            raise ApiError(
                413,
                f"messages: {len(req.messages)} messages; the limit is {s.max_messages}",
                code="too_large",
                param="messages",
            )
        msgs: list[Message] = []
        for i, m in enumerate(req.messages):
            text = m.text()
            if len(text) > s.max_message_chars:
                raise ApiError(
                    413,
                    f"messages.{i}.content: the message has {len(text)} characters; the limit "
                    f"is {s.max_message_chars}",
                    code="too_large",
                    param=f"messages.{i}.content",
                )
            msgs.append(Message(role=_ROLE.get(m.role, m.role), content=text, name=m.name))  # type: ignore[arg-type]
        return Event(
            id=f"gw-{uuid.uuid4().hex}",
            timestamp=datetime.now(UTC),
            account_id=(req.user or None) and req.user[:256],
            api_key_id=key_id,
            source_ip=request.client.host if request.client else None,
            user_agent=(request.headers.get("user-agent") or "")[:512] or None,
            model=req.model[:256],
            messages=tuple(msgs),
            metadata={"source": "stormwatch-guard", "endpoint": "chat.completions", "stream": req.stream},
        )

    async def handle(self, request: Request, key_id: str) -> Response:
        """Screen, forward and screen back one chat-completions call."""
        raw = await request.body()
        try:
            req = ChatCompletionRequest.model_validate_json(raw)
        except ValidationError as exc:
            raise validation_error(exc) from exc
        event = self._event(req, request, key_id)
        state = request.state
        state.event_id = event.id
        if self.settings.log_prompts:
            state.prompt = "\n".join(m.content for m in event.messages)[-2000:]
        [verdict] = await self.screener.scan([event], phase="request")
        self._note(state, verdict)
        if verdict.verdict == "block":
            await self.writer.submit(event, verdict)
            raise blocked(verdict, event.id, "request")
        if req.stream:
            return await self._stream(raw, event, verdict, state)
        return await self._complete(raw, event, verdict, state)

    @staticmethod
    def _note(state: Any, v: Verdict) -> None:
        state.verdict = v.verdict
        state.risk = round(v.risk, 4)
        state.categories = list(v.categories)

    async def _fail(self, event: Event, verdict: Verdict, err: ApiError) -> NoReturn:
        meta = {**event.metadata, "upstream_error": err.code or str(err.status)}
        await self.writer.submit(event.model_copy(update={"metadata": meta}), verdict)
        err.headers.update(verdict_headers(verdict, event.id))
        raise err

    async def _complete(self, raw: bytes, event: Event, verdict: Verdict, state: Any) -> Response:
        t0 = time.perf_counter()
        try:
            async with asyncio.timeout(self.settings.upstream_timeout):
                resp = await self.upstream.open(raw, stream=False)
                body = await self.upstream.read(resp)
        except TimeoutError as exc:
            await self._fail(event, verdict, self.upstream.failure(exc))
        except ApiError as err:
            await self._fail(event, verdict, err)
        state.upstream_ms = round((time.perf_counter() - t0) * 1000, 2)
        if resp.status_code >= 400:
            await self._fail(event, verdict, self.upstream.status_error(resp.status_code, body))
        try:
            data = json.loads(body)
        except ValueError:
            self.metrics.upstream_errors.labels("bad_json").inc()
            await self._fail(
                event,
                verdict,
                ApiError(
                    502, "the upstream answer is not JSON", type="upstream_error", code="upstream_error"
                ),
            )
        full, final = await self.screener.screen_output(event, verdict, _answer_text(data))
        self.screener.count_response(final)
        self._note(state, final)
        await self.writer.submit(full, final)
        if final.verdict == "block":
            raise blocked(final, event.id, "response")
        return Response(
            body,
            status_code=resp.status_code,
            media_type="application/json",
            headers=verdict_headers(final, event.id),
        )

    async def _stream(self, raw: bytes, event: Event, verdict: Verdict, state: Any) -> Response:
        try:
            resp = await self.upstream.open(raw, stream=True)
        except ApiError as err:
            await self._fail(event, verdict, err)
        if resp.status_code >= 400:
            try:
                body = await self.upstream.read(resp)
            except ApiError as err:
                await self._fail(event, verdict, err)
            await self._fail(event, verdict, self.upstream.status_error(resp.status_code, body))
        headers = verdict_headers(verdict, event.id)
        headers["cache-control"] = "no-cache"
        return StreamingResponse(
            self._relay(resp, event, verdict, state), media_type="text/event-stream", headers=headers
        )

    async def _relay(
        self, resp: httpx.Response, event: Event, verdict: Verdict, state: Any
    ) -> AsyncIterator[bytes]:
        s = self.settings
        acc: list[str] = []
        n = scanned = 0
        pending: list[bytes] = []
        full, final = event, verdict
        outcome = "disconnected"  # until the stream ends one of the known ways
        ended = False  # the upstream said the answer is over: `[DONE]` or a final finish_reason
        try:
            async for line in resp.aiter_lines():
                if not line.startswith("data:"):
                    continue
                payload = line[5:].strip()
                if payload == "[DONE]":
                    ended = True
                    break
                delta, finished = _delta_text(payload)
                ended = ended or finished
                pending.append(b"data: " + payload.encode() + b"\n\n")
                if delta:
                    acc.append(delta)
                    n += len(delta)
                grown = n - scanned
                # Re-scan the answer's tail (a sliding window) every `step` characters: the step grows with
                # the answer but stays under STREAM_MAX_STEP, so a harmful part is cut within a bounded
                # number of characters, and each scan reads at most STREAM_WINDOW_CHARS (linear total work).
                step = max(s.stream_scan_chars, min(scanned // 4, STREAM_MAX_STEP))
                if grown >= step or (grown >= step // 4 and delta.rstrip(" ").endswith(_SENTENCE_END)):
                    window = _tail(acc, STREAM_WINDOW_CHARS)
                    full, final = await self.screener.screen_output(event, verdict, window, n - len(window))
                    scanned = n
                    if final.verdict == "block":
                        outcome = "cut"
                        break
                    yield b"".join(pending)
                    pending.clear()
                elif not s.stream_holdback and pending:
                    yield b"".join(pending)
                    pending.clear()
            if outcome != "cut":
                # a close without [DONE] and without a final finish_reason is an answer cut short upstream
                outcome = "complete" if ended else "upstream_truncated"
            if outcome != "cut" and n > scanned:
                full, final = await self.screener.screen_output(event, verdict, "".join(acc))
                if final.verdict == "block":
                    outcome = "cut"
            if outcome == "cut":
                self.metrics.stream_cuts.inc()
                err = blocked(final, event.id, "response")
                body = error_body(err.message, type=err.type, code=err.code)
                body.update(err.extra)
                yield b"data: " + json.dumps(body).encode() + b"\n\n" + _DONE
                return
            if pending:
                yield b"".join(pending)
            if outcome == "upstream_truncated":
                self.metrics.upstream_errors.labels("truncated").inc()
                msg = "the upstream closed the stream before the answer ended (no [DONE], no finish_reason)"
                body = error_body(msg, type="upstream_error", code="upstream_truncated")
                yield b"data: " + json.dumps(body).encode() + b"\n\n"
            yield _DONE
        except (httpx.HTTPError, TimeoutError) as exc:
            err = self.upstream.failure(exc)
            outcome = err.code or "upstream_error"  # the codes already read upstream_timeout, upstream_error
            yield (
                b"data: "
                + json.dumps(error_body(err.message, type=err.type, code=err.code)).encode()
                + b"\n\n"
            )
            yield _DONE
        finally:
            with anyio.CancelScope(shield=True):
                await resp.aclose()
                # The record keeps everything relayed or held, even past the last scan point.
                full = full.model_copy(update={"response": "".join(acc)})
                meta = {**full.metadata, "stream_outcome": outcome}
                self.screener.count_response(final)
                self._note(state, final)
                state.stream_outcome = outcome
                await self.writer.submit(full.model_copy(update={"metadata": meta}), final)
