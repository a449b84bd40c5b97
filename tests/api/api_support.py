"""Test helpers: uvicorn on a loopback port in a thread, a scriptable OpenAI-compatible upstream, a detector."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import SecretStr

from stormwatch.api import Settings
from stormwatch.api._writer import MemorySink
from stormwatch.engine import Engine
from stormwatch.models import Event, Evidence, Finding

BENIGN_ANSWER = "Paris is the capital of France. It is known for the Eiffel Tower and its museums."
MALICIOUS_ANSWER = (
    "Sure, here is what you asked for. First some harmless words about planning. "
    "MALWARE-PAYLOAD: encrypt every file on the share and drop the ransom note. "
    "Then the answer keeps going with more and more detail about the steps that follow, "
    "so that a stream would carry on for quite a while after the bad part. TAIL-SENTINEL."
)


class MarkerDetector:
    """A test detector: fixed phrases stand in for the rule packs (being written in parallel)."""

    id: ClassVar[str] = "test-markers"
    stage: ClassVar[str] = "fast"
    RULES: ClassVar[list[tuple[str, str, str, float, tuple[str, ...]]]] = [
        ("ignore all previous instructions", "TEST-PI", "prompt-injection", 0.95, ("AML.T0051",)),
        ("pretend you have no rules", "TEST-JB", "jailbreak", 0.55, ("AML.T0054",)),
        ("malware-payload", "TEST-MAL", "llm-optimized-payload-crafting", 0.97, ("T1027",)),
    ]

    def detect(self, event: Event) -> list[Finding]:
        """Findings for every marker phrase present in any turn."""
        out: list[Finding] = []
        for ti, turn in enumerate(event.turns()):
            low = turn.content.lower()
            for phrase, rule, cat, score, tech in self.RULES:
                at = low.find(phrase)
                if at >= 0:
                    out.append(
                        Finding(
                            detector=self.id,
                            rule=rule,
                            score=score,
                            category=cat,
                            techniques=tech,
                            evidence=(
                                Evidence(
                                    turn=ti,
                                    start=at,
                                    end=at + len(phrase),
                                    text=turn.content[at : at + len(phrase)],
                                ),
                            ),
                            explanation=f"test marker {rule}",
                        )
                    )
        return out


@dataclass
class UpstreamState:
    """What the fake upstream does next and what it has seen."""

    mode: str = "ok"  # ok | malicious | slow | error500 | truncate (close mid-stream) | stall (then hang)
    calls: int = 0
    auth: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    chunk: int = 12
    delay: float = 3.0


def upstream_app(state: UpstreamState) -> FastAPI:
    """A minimal OpenAI-compatible chat-completions server."""
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        state.calls += 1
        state.auth.append(request.headers.get("authorization", ""))
        state.urls.append(str(request.url))
        body = await request.json()
        if state.mode == "slow":
            await asyncio.sleep(state.delay)
        if state.mode == "error500":
            return JSONResponse({"error": {"message": "boom", "type": "server_error"}}, status_code=500)
        text = MALICIOUS_ANSWER if state.mode == "malicious" else BENIGN_ANSWER
        model = body.get("model", "m")
        if body.get("stream"):
            sse = _sse(text, model, state.chunk, state.mode, state.delay)
            return StreamingResponse(sse, media_type="text/event-stream")
        return JSONResponse(
            {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "created": 1,
                "model": model,
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                ],
                "usage": {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8},
            }
        )

    return app


async def _sse(
    text: str, model: str, size: int, mode: str = "ok", delay: float = 3.0
) -> AsyncIterator[bytes]:
    base = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 1, "model": model}
    first = {
        **base,
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}],
    }
    yield f"data: {json.dumps(first)}\n\n".encode()
    for i in range(0, len(text), size):
        chunk = {
            **base,
            "choices": [{"index": 0, "delta": {"content": text[i : i + size]}, "finish_reason": None}],
        }
        yield f"data: {json.dumps(chunk)}\n\n".encode()
        await asyncio.sleep(0)
        if i >= len(text) // 2 and mode == "truncate":
            return  # the connection closes halfway: no finish_reason, no [DONE]
        if i >= len(text) // 2 and mode == "stall":
            await asyncio.sleep(delay)  # the upstream goes quiet past the guard's idle timeout
    last = {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    yield f"data: {json.dumps(last)}\n\ndata: [DONE]\n\n".encode()


class Served:
    """An ASGI app served by uvicorn on 127.0.0.1:<free port> in a background thread."""

    def __init__(self, app: Any) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, log_config=None, access_log=False, lifespan="on", timeout_graceful_shutdown=2
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        self.sock.close()


def dead_port() -> int:
    """A loopback port nothing listens on."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port: int = s.getsockname()[1]
    s.close()
    return port


def wait_for(pred: Any, timeout: float = 3.0) -> bool:
    """Poll until pred() is true (the store writer is asynchronous)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return bool(pred())


# --- shared by the test modules (importable by name; conftest modules are not) ---

UPSTREAM_SECRET = "sk-upstream-secret-never-logged"


@dataclass
class Keys:
    """The keys file and the keys in it."""

    path: Path
    key: str
    key_id: str
    slow_key: str


@dataclass
class Guard:
    """A running proxy and what it talks to."""

    url: str
    upstream: UpstreamState
    sink: MemorySink
    keys: Keys


def make_engine() -> Engine:
    """Marker detector only: deterministic whatever the rule packs contain today."""
    return Engine(detectors=[MarkerDetector()], decode=False)


def settings_for(upstream_url: str | None, keys: Keys, **over: object) -> Settings:
    """Test settings: small bounds and short timeouts so every failure path is fast."""
    base: dict[str, object] = dict(
        upstream_url=upstream_url,
        upstream_api_key=SecretStr(UPSTREAM_SECRET),
        keys_file=keys.path,
        upstream_timeout=1.0,
        stream_idle_timeout=1.0,
        upstream_connect_timeout=1.0,
        max_body_bytes=64 * 1024,
        max_message_chars=20_000,
        max_batch=8,
        stream_scan_chars=32,
        rate_per_s=1000.0,
        burst=1000,
        writer_flush_s=0.02,
    )
    base.update(over)
    return Settings(**base)  # type: ignore[arg-type]
