"""OpenAI Chat Completions log lines: content parts, tool messages and calls, response, auto-detection."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ingest_helpers import Writer

from stormwatch.ingest import IngestReport, read_events
from stormwatch.models import Event, Message

LOG_LINE: dict[str, Any] = {
    "request": {
        "model": "gpt-4o",
        "user": "user-123",
        "metadata": {"team": "red"},
        "messages": [
            {"role": "system", "content": "You are a coding assistant."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What does this screenshot show?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                    {"type": "text", "text": "Explain the login form."},
                    {"type": "image_url", "image_url": {"url": "https://example.test/x.png"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {
                            "name": "fetch_url",
                            "arguments": '{"url": "https://target.test/login"}',
                        },
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "name": "fetch_url", "content": "<html>login</html>"},
        ],
    },
    "response": {
        "id": "chatcmpl-abc123",
        "object": "chat.completion",
        "created": 1714557600,
        "model": "gpt-4o-2024-08-06",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "It is a login page."},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    },
}


def read_one(write_lines: Writer, record: dict[str, Any], fmt: str = "auto") -> Event:
    report = IngestReport()
    events = list(read_events(write_lines("o.jsonl", [record]), format=fmt, report=report))  # type: ignore[arg-type]
    assert report.bad_records == 0, report.errors
    (event,) = events
    return event


def test_openai_log_line(write_lines: Writer) -> None:
    event = read_one(write_lines, LOG_LINE)
    assert event.id == "chatcmpl-abc123"
    assert event.timestamp == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert event.account_id == "user-123"
    assert event.model == "gpt-4o"
    assert event.messages == (
        Message(role="system", content="You are a coding assistant."),
        Message(role="user", content="What does this screenshot show?\nExplain the login form."),
        Message(role="assistant", content='[tool call] fetch_url({"url": "https://target.test/login"})'),
        Message(role="tool", content="<html>login</html>", name="fetch_url"),
    )
    assert event.response == "It is a login page."
    assert event.metadata == {"team": "red", "finish_reason": "stop", "skipped_parts": {"image_url": 2}}


def test_explicit_openai_format_rejects_generic_lines(write_lines: Writer) -> None:
    report = IngestReport()
    path = write_lines("o.jsonl", [LOG_LINE, {"id": "g", "prompt": "generic"}])
    events = list(read_events(path, format="openai", report=report))
    assert [e.id for e in events] == ["chatcmpl-abc123"]
    assert [(e.line, e.field, e.kind) for e in report.errors] == [(2, "request", "invalid-value")]


def test_mixed_lines_are_detected_per_line(write_lines: Writer) -> None:
    path = write_lines(
        "mixed.jsonl", [{"id": "g1", "prompt": "generic"}, LOG_LINE, {"id": "g2", "text": "t"}]
    )
    events = list(read_events(path, format="jsonl"))
    assert [e.id for e in events] == ["g1", "chatcmpl-abc123", "g2"]


def test_top_level_fields_win_over_request_and_response(write_lines: Writer) -> None:
    record = {
        **LOG_LINE,
        "id": "log-1",
        "timestamp": "2024-06-01T00:00:00Z",
        "account_id": "acct-9",
        "source_ip": "198.51.100.7",
        "metadata": {"team": "blue", "org_hash": "o1"},
    }
    event = read_one(write_lines, record)
    assert (event.id, event.account_id, event.source_ip) == ("log-1", "acct-9", "198.51.100.7")
    assert event.timestamp == datetime(2024, 6, 1, tzinfo=UTC)
    assert event.metadata["team"] == "blue" and event.metadata["org_hash"] == "o1"


def test_refusal_tool_call_response_and_legacy_function_role(write_lines: Writer) -> None:
    record = {
        "request": {
            "messages": [
                {"role": "user", "content": "Write ransomware."},
                {"role": "function", "name": "lookup", "content": "data"},
                {"role": "assistant", "content": "ok", "function_call": {"name": "run", "arguments": "{}"}},
            ]
        },
        "response": {
            "created": 1714557600000,
            "model": "gpt-4o-mini",
            "choices": [
                {
                    "message": {
                        "role": "assistant",
                        "content": None,
                        "refusal": "I can't help with that.",
                        "tool_calls": [
                            {"type": "function", "function": {"name": "noop", "arguments": {"a": 1}}}
                        ],
                    },
                    "finish_reason": "content_filter",
                }
            ],
        },
    }
    event = read_one(write_lines, record)
    assert event.model == "gpt-4o-mini"
    assert event.timestamp == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert event.messages[1] == Message(role="tool", content="data", name="lookup")
    assert event.messages[2].content == "ok\n[tool call] run({})"
    assert event.response == 'I can\'t help with that.\n[tool call] noop({"a":1})'
    assert event.metadata["refusal"] is True and event.metadata["finish_reason"] == "content_filter"
    assert event.id.startswith("ev-")


def test_content_parts_input_text_and_other_parts(write_lines: Writer) -> None:
    record = {
        "request": {
            "messages": [
                {
                    "role": "developer",
                    "content": [{"type": "input_text", "text": "dev note"}],
                },
                {
                    "role": "user",
                    "content": [
                        {"type": "input_audio", "input_audio": {"data": "..."}},
                        {"type": "text", "text": "transcribe"},
                        {"type": "file", "file": {"file_id": "f"}},
                    ],
                },
            ]
        }
    }
    event = read_one(write_lines, record)
    assert [(m.role, m.content) for m in event.messages] == [
        ("developer", "dev note"),
        ("user", "transcribe"),
    ]
    assert event.response is None
    assert event.metadata == {"skipped_parts": {"input_audio": 1, "file": 1}}


def test_image_only_request_is_missing_text(write_lines: Writer) -> None:
    record = {
        "id": "img",
        "request": {
            "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]
        },
    }
    report = IngestReport()
    assert list(read_events(write_lines("o.jsonl", [record]), report=report)) == []
    (err,) = report.errors
    assert (err.kind, err.field, err.record_id) == ("missing-text", "messages", "img")
    assert "1 non-text parts skipped" in err.reason


def test_bad_content_part_names_its_field(write_lines: Writer) -> None:
    record = {"request": {"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]}}
    report = IngestReport()
    list(read_events(write_lines("o.jsonl", [record]), report=report))
    assert [(e.kind, e.field) for e in report.errors] == [("wrong-type", "messages[0].content[0].text")]


def test_responses_api_shapes(write_lines: Writer) -> None:
    record = {
        "request": {"model": "gpt-4.1", "input": "Summarise this", "instructions": "Be brief"},
        "response": {
            "id": "resp_1",
            "created_at": 1714557600,
            "output": [
                {"type": "reasoning", "summary": []},
                {"type": "message", "content": [{"type": "output_text", "text": "Summary."}]},
            ],
        },
    }
    event = read_one(write_lines, record)
    assert event.id == "resp_1"
    assert [(m.role, m.content) for m in event.messages] == [
        ("system", "Be brief"),
        ("user", "Summarise this"),
    ]
    assert event.response == "Summary."


def test_anthropic_style_system_and_content_blocks(write_lines: Writer) -> None:
    record = {
        "request": {
            "model": "claude-x",
            "system": "Be terse.",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "Hello"}]}],
        },
        "response": {"id": "msg_1", "content": [{"type": "text", "text": "Hi."}]},
    }
    event = read_one(write_lines, record)
    assert event.id == "msg_1"
    assert [(m.role, m.content) for m in event.messages] == [("system", "Be terse."), ("user", "Hello")]
    assert event.response == "Hi."
