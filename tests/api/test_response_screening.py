"""Answer screening end to end through the guard, with the real shipped detectors (no stand-in detector).

A fake upstream answers with text set per test: the guard must cut a stream whose answer turns into
keylogger code within a bounded number of characters, block the same answer when not streamed, block an
answer that repeats the system prompt, and pass ordinary answers unchanged.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import openai
import pytest
from api_support import Keys, Served, settings_for, wait_for
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from stormwatch.api import create_app
from stormwatch.api._proxy import STREAM_MAX_STEP
from stormwatch.api._writer import MemorySink
from stormwatch.engine import Engine

KEYLOGGER = """```c
#include <windows.h>
#include <stdio.h>
HHOOK hook;
LRESULT CALLBACK LowLevelKeyboardProc(int nCode, WPARAM wParam, LPARAM lParam) {
    KBDLLHOOKSTRUCT *k = (KBDLLHOOKSTRUCT *)lParam;
    FILE *f = fopen("keylog.txt", "a");
    fprintf(f, "%lu ", k->vkCode);
    fclose(f);
    return CallNextHookEx(hook, nCode, wParam, lParam);
}
int main(void) {
    ShowWindow(GetConsoleWindow(), SW_HIDE);
    hook = SetWindowsHookEx(WH_KEYBOARD_LL, LowLevelKeyboardProc, NULL, 0);
    MSG msg;
    while (GetMessage(&msg, NULL, 0, 0)) {}
}
```
"""
PROSE = "Keyboards send scan codes that the operating system turns into characters for each window. "
INTRO = PROSE * 220  # ~20,000 characters of harmless text before the harmful part starts
TAIL = "Next we add more features and explain each of them in detail. " * 150 + "TAIL-SENTINEL"
BENIGN_CODE = (
    "Here is a function that reverses a string:\n```python\ndef reverse(s: str) -> str:\n"
    "    return s[::-1]\n```\nIt uses slicing with a step of -1."
)
SYSTEM = (
    "You are Aria, the support assistant of Northwind Traders. Answer only questions about orders, shipping "
    "and returns. Never mention competitors, never promise refunds above 50 euros without a manager, and "
    "escalate angry customers to a human agent. Keep answers under 120 words."
)


@dataclass
class Script:
    """What the fake upstream answers next."""

    text: str = BENIGN_CODE
    chunk: int = 16
    calls: int = 0
    bodies: list[dict[str, Any]] = field(default_factory=list)


def _upstream(script: Script) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        script.calls += 1
        body = await request.json()
        script.bodies.append(body)
        if body.get("stream"):
            return StreamingResponse(_sse(script.text, script.chunk), media_type="text/event-stream")
        msg = {"role": "assistant", "content": script.text}
        return JSONResponse(
            {
                "id": "chatcmpl-r",
                "object": "chat.completion",
                "created": 1,
                "model": body.get("model", "m"),
                "choices": [{"index": 0, "message": msg, "finish_reason": "stop"}],
            }
        )

    return app


async def _sse(text: str, size: int) -> AsyncIterator[bytes]:
    base = {"id": "chatcmpl-r", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    for i in range(0, len(text), size):
        ch = {
            **base,
            "choices": [{"index": 0, "delta": {"content": text[i : i + size]}, "finish_reason": None}],
        }
        yield f"data: {json.dumps(ch)}\n\n".encode()
    last = {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    yield f"data: {json.dumps(last)}\n\ndata: [DONE]\n\n".encode()


@dataclass
class RealGuard:
    url: str
    script: Script
    sink: MemorySink
    key: str


@pytest.fixture(scope="module")
def real_guard(keys: Keys) -> Iterator[RealGuard]:
    """The guard with every shipped fast detector, in front of the scripted upstream."""
    script = Script()
    sink = MemorySink()
    with Served(_upstream(script)) as up:
        app = create_app(
            settings_for(up.url + "/v1", keys, max_message_chars=50_000),
            engine=Engine.default(fast=True),
            sink=sink,
        )
        with Served(app) as srv:
            yield RealGuard(url=srv.url, script=script, sink=sink, key=keys.key)


def _client(g: RealGuard) -> openai.OpenAI:
    return openai.OpenAI(base_url=g.url + "/v1", api_key=g.key, max_retries=0, timeout=30)


def _messages(system: str | None = None) -> list[Any]:
    msgs: list[Any] = [{"role": "user", "content": "Explain how keyboards work, with an example program."}]
    if system:
        msgs.insert(0, {"role": "system", "content": system})
    return msgs


def _stream(g: RealGuard) -> tuple[str, BaseException | None]:
    seen: list[str] = []
    error: BaseException | None = None
    with _client(g) as c:
        try:
            for ch in c.chat.completions.create(model="m", messages=_messages(), stream=True):
                if ch.choices:
                    seen.append(ch.choices[0].delta.content or "")
        except openai.APIError as exc:
            error = exc
    return "".join(seen), error


def _stored(g: RealGuard, answer_prefix: str) -> Any:
    assert wait_for(lambda: any((e.response or "").startswith(answer_prefix) for e in g.sink.events), 5.0)
    i = max(i for i, e in enumerate(g.sink.events) if (e.response or "").startswith(answer_prefix))
    return g.sink.events[i], g.sink.verdicts[i]


def test_stream_turning_into_a_keylogger_is_cut_within_a_bounded_number_of_characters(
    real_guard: RealGuard,
) -> None:
    real_guard.script.text = INTRO + KEYLOGGER + TAIL
    relayed, error = _stream(real_guard)
    assert error is not None and "blocked" in str(error)
    assert "TAIL-SENTINEL" not in relayed
    assert relayed.startswith(INTRO[:1000])  # the harmless start was relayed as it came
    start = len(INTRO)  # where the harmful part starts
    # cut at the latest one scan step after the code is complete enough to read as a keylogger
    assert len(relayed) <= start + len(KEYLOGGER) + STREAM_MAX_STEP + real_guard.script.chunk
    event, verdict = _stored(real_guard, INTRO[:200])
    assert event.metadata["stream_outcome"] == "cut"
    assert verdict.verdict == "block" and "llm-aided-development" in verdict.categories
    assert "T1056.001" in verdict.techniques
    mal = [f for f in verdict.findings if f.detector == "response-malware"]
    assert mal
    turn = len(event.messages)
    for e in mal[0].evidence:  # offsets from the sliding window are moved back into the whole answer
        assert e.turn == turn and start <= e.start and event.response[e.start : e.end].startswith(e.text)


def test_keylogger_answer_blocked_when_not_streamed(real_guard: RealGuard) -> None:
    real_guard.script.text = "Sure, here you go.\n" + KEYLOGGER
    with _client(real_guard) as c, pytest.raises(openai.BadRequestError) as err:
        c.chat.completions.create(model="m", messages=_messages())
    assert err.value.status_code == 400
    _, verdict = _stored(real_guard, "Sure, here you go.")
    assert verdict.verdict == "block"
    assert any(f.detector == "response-malware" and f.rule == "RESP-MAL-KEYLOG" for f in verdict.findings)


def test_answer_repeating_the_system_prompt_is_blocked(real_guard: RealGuard) -> None:
    real_guard.script.text = "My instructions are: " + SYSTEM
    with _client(real_guard) as c, pytest.raises(openai.BadRequestError):
        c.chat.completions.create(model="m", messages=_messages(SYSTEM))
    event, verdict = _stored(real_guard, "My instructions are: ")
    leak = next(f for f in verdict.findings if f.rule == "RESP-LEAK-PROMPT")
    assert "system-prompt-extraction" in verdict.categories
    e = leak.evidence[0]
    assert e.turn == len(event.messages) and event.response[e.start : e.end].startswith(e.text)


def test_dan_compliance_cut_from_stream(real_guard: RealGuard) -> None:
    real_guard.script.text = "DAN Mode enabled. " + "I will now answer without any limits at all. " * 40
    relayed, error = _stream(real_guard)
    assert error is not None
    assert len(relayed) < 400


@pytest.mark.parametrize("text", [BENIGN_CODE, INTRO + BENIGN_CODE])
def test_ordinary_answers_pass_unchanged(real_guard: RealGuard, text: str) -> None:
    real_guard.script.text = text
    relayed, error = _stream(real_guard)
    assert error is None and relayed == text
    with _client(real_guard) as c:
        raw = c.chat.completions.with_raw_response.create(model="m", messages=_messages(SYSTEM))
    assert raw.parse().choices[0].message.content == text
    assert raw.headers["x-stormwatch-verdict"] == "allow"
