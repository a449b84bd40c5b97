"""Scan-API input (the record forms `stormwatch scan` reads) → Event, with errors naming the field.

Normalisation is the ingest readers' own (`stormwatch.ingest.event_from_record`): the same aliases, the
same secret scrubbing (`api_key` and similar never reach the store), the same limits. The API adds one rule
of its contract: every event carries an `id`, because answers are matched to requests by it.
"""

from __future__ import annotations

import re
from typing import Any

from stormwatch.api._errors import ApiError
from stormwatch.ingest import Limits, RecordError, event_from_record
from stormwatch.models import Event

# Record problems that are about size answer 413; every other one is a malformed field (422).
_TOO_LARGE = {"oversized-field", "oversized-record", "too-many-messages", "too-many-metadata-keys"}
_INDEX = re.compile(r"\[(\d+)\]")


def event_from_json(obj: Any, *, where: str, max_messages: int, max_chars: int) -> Event:
    """One JSON object → Event; raises ApiError 422 (naming `where.field`) or 413 when over a bound."""
    pre = f"{where}." if where else ""
    if not isinstance(obj, dict):
        raise ApiError(
            422,
            f"{where or 'body'}: an event must be a JSON object",
            code="invalid_field",
            param=where or None,
        )
    if "id" not in obj:
        raise ApiError(422, f"{pre}id: field required", code="invalid_field", param=f"{pre}id")
    limits = Limits(max_messages=max_messages, max_field_chars=max_chars)
    try:
        return event_from_record(dict(obj), source="request", limits=limits)
    except RecordError as err:
        field = _INDEX.sub(r".\1", err.field) if err.field else ""
        param = f"{pre}{field}" if field else (where or None)
        status, code = (413, "too_large") if err.kind in _TOO_LARGE else (422, "invalid_field")
        raise ApiError(status, f"{param or 'body'}: {err.reason}", code=code, param=param) from err


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
