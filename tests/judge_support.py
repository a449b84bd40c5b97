"""A fake judge: an OpenAI-compatible chat-completions server on loopback, scripted by what the prompt says.

Importable by name from every test folder (tests/ is on sys.path through the root conftest).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx


def answer(violation: bool, category: str = "none", confidence: float = 0.9, rationale: str = "ok") -> str:
    """A schema answer as a model would write it."""
    return json.dumps(
        {"violation": violation, "category": category, "confidence": confidence, "rationale": rationale}
    )


def completion(content: str, model: str = "fake-judge") -> dict[str, Any]:
    """A chat-completions response body carrying `content`."""
    return {
        "id": "chatcmpl-judge",
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        ],
    }


def conversation_text(body: dict[str, Any]) -> str:
    """The text of the judged conversation inside a request body (the last message)."""
    return str(body["messages"][-1]["content"])


@dataclass
class Script:
    """What the fake judge answers: the first rule whose marker is in the conversation, else `default`."""

    rules: list[tuple[str, str]] = field(default_factory=list)
    default: str = answer(False, confidence=0.5, rationale="nothing forbidden")
    status: int = 200
    raw_body: bytes | None = None
    delay_s: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    auth: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def respond(self, body: dict[str, Any], authorization: str) -> tuple[int, bytes]:
        """Record the request and produce (status, body bytes)."""
        with self.lock:
            self.requests.append(body)
            self.auth.append(authorization)
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.raw_body is not None:
            return self.status, self.raw_body
        text = conversation_text(body)
        content = next((c for marker, c in self.rules if marker in text), self.default)
        return self.status, json.dumps(completion(content, str(body.get("model", "")))).encode()

    def transport(self) -> httpx.MockTransport:
        """The same script as an in-memory httpx transport (unit tests)."""

        def handle(request: httpx.Request) -> httpx.Response:
            status, data = self.respond(json.loads(request.content), request.headers.get("authorization", ""))
            return httpx.Response(status, content=data, headers={"content-type": "application/json"})

        return httpx.MockTransport(handle)


class FakeJudgeServer:
    """`Script` served over real HTTP on 127.0.0.1:<free port> (ThreadingHTTPServer in a thread)."""

    def __init__(self, script: Script) -> None:
        self.script = script
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                n = int(self.headers.get("content-length", "0"))
                body = json.loads(self.rfile.read(n))
                if self.path != "/v1/chat/completions":
                    status, data = 404, b'{"error": {"message": "not found"}}'
                else:
                    status, data = outer.script.respond(body, self.headers.get("authorization", ""))
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FakeJudgeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(10)
