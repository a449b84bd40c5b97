"""Scan-API input (the generic JSONL record forms of `stormwatch scan`) → Event, with errors naming the field.

Kept here until `stormwatch.ingest` offers a one-object converter; the rules match the generic JSONL reader:
`prompt` or `messages`, other known Event fields typed, unknown fields kept in `metadata`.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from stormwatch.api._errors import ApiError, validation_error
from stormwatch.models import Event

_FIELDS = set(Event.model_fields)


def _too_large(param: str, what: str, size: int, limit: int) -> ApiError:
    return ApiError(
        413,
        f"{param}: {what} has {size} {'characters' if 'message' in what or 'text' in what else 'items'}; "
        f"the limit is {limit}",
        code="too_large",
        param=param,
    )


def event_from_json(obj: Any, *, where: str, max_messages: int, max_chars: int) -> Event:
    """One JSON object → Event; raises ApiError 422 (naming `where.field`) or 413 when over a bound."""
    if not isinstance(obj, dict):
        raise ApiError(
            422,
            f"{where or 'body'}: an event must be a JSON object",
            code="invalid_field",
            param=where or None,
        )
    pre = f"{where}." if where else ""
    data: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for k, v in obj.items():
        (data if k in _FIELDS or k == "prompt" else extra)[k] = v
    if "id" not in data:
        raise ApiError(422, f"{pre}id: field required", code="invalid_field", param=f"{pre}id")
    prompt = data.pop("prompt", None)
    if prompt is not None:
        if "messages" in data:
            raise ApiError(
                422,
                f"{pre}prompt: give 'prompt' or 'messages', not both",
                code="invalid_field",
                param=f"{pre}prompt",
            )
        if not isinstance(prompt, str):
            raise ApiError(422, f"{pre}prompt: must be a string", code="invalid_field", param=f"{pre}prompt")
        data["messages"] = [{"role": "user", "content": prompt}]
    elif "messages" not in data and "response" not in data:
        raise ApiError(
            422,
            f"{pre}prompt: one of 'prompt', 'messages' or 'response' is required",
            code="invalid_field",
            param=f"{pre}prompt",
        )
    msgs = data.get("messages")
    if isinstance(msgs, list):
        if len(msgs) > max_messages:
            raise _too_large(f"{pre}messages", "the event", len(msgs), max_messages)
        for i, m in enumerate(msgs):
            c = m.get("content") if isinstance(m, dict) else None
            if isinstance(c, str) and len(c) > max_chars:
                raise _too_large(f"{pre}messages.{i}.content", "the message", len(c), max_chars)
    resp = data.get("response")
    if isinstance(resp, str) and len(resp) > max_chars:
        raise _too_large(f"{pre}response", "the response text", len(resp), max_chars)
    if extra:
        meta = data.get("metadata")
        if meta is not None and not isinstance(meta, dict):
            raise ApiError(
                422, f"{pre}metadata: must be an object", code="invalid_field", param=f"{pre}metadata"
            )
        data["metadata"] = {**extra, **(meta or {})}
    try:
        return Event.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, where) from exc


def events_from_body(
    body: Any, *, max_batch: int, max_messages: int, max_chars: int
) -> tuple[list[Event], str]:
    """Events of a scan request and its shape: "one" (an object), "list" or "batch" (`{"events": [...]}`)."""
    if isinstance(body, dict) and "events" in body and "id" not in body:
        unknown = sorted(set(body) - {"events"})
        if unknown:
            raise ApiError(
                422, f"{unknown[0]}: unknown field in a batch", code="invalid_field", param=unknown[0]
            )
        items, shape, prefix = body["events"], "batch", "events"
        if not isinstance(items, list):
            raise ApiError(422, "events: must be a list", code="invalid_field", param="events")
    elif isinstance(body, list):
        items, shape, prefix = body, "list", ""
    else:
        return [event_from_json(body, where="", max_messages=max_messages, max_chars=max_chars)], "one"
    if len(items) > max_batch:
        raise ApiError(
            413,
            f"{prefix or 'body'}: batch of {len(items)} events; the limit is {max_batch}",
            code="too_large",
            param=prefix or None,
        )
    events = [
        event_from_json(
            o, where=f"{prefix}.{i}" if prefix else str(i), max_messages=max_messages, max_chars=max_chars
        )
        for i, o in enumerate(items)
    ]
    return events, shape
