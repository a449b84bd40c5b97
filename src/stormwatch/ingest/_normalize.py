"""Turn one decoded input record (a dict) into an `Event`: field aliases, OpenAI log lines, checks, ids.

Validation is done here by hand, once, and the result is built without pydantic validation (as
`model_construct` does): validating every one of millions of records again would cost more than the rest
of ingest together. A test checks that these Events equal validated ones.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel

from stormwatch.ingest._bad import Bad
from stormwatch.ingest._json import JSONDecodeError, dumps, loads
from stormwatch.ingest._limits import Limits
from stormwatch.ingest._mcp import flatten_mcp, is_mcp_line
from stormwatch.models import Event, Message, Role

_M = TypeVar("_M", bound=BaseModel)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: Input key -> (Event field, priority); a lower priority wins when several aliases are present.
_CANON: dict[str, tuple[str, int]] = {
    "id": ("id", 0),
    "timestamp": ("timestamp", 0),
    "created_at": ("timestamp", 1),
    "created": ("timestamp", 2),
    "ts": ("timestamp", 3),
    "account_id": ("account_id", 0),
    "user_id": ("account_id", 1),
    "user": ("account_id", 2),
    "org_id": ("org_id", 0),
    "organization_id": ("org_id", 1),
    "session_id": ("session_id", 0),
    "conversation_id": ("session_id", 1),
    "thread_id": ("session_id", 2),
    "source_ip": ("source_ip", 0),
    "client_ip": ("source_ip", 1),
    "ip": ("source_ip", 2),
    "user_agent": ("user_agent", 0),
    "api_key_id": ("api_key_id", 0),
    "model": ("model", 0),
    "messages": ("messages", 0),
    "prompt": ("prompt", 0),
    "text": ("prompt", 1),
    "input": ("prompt", 2),
    "system": ("system", 0),
    "response": ("response", 0),
    "completion": ("response", 1),
    "output": ("response", 2),
    "metadata": ("metadata", 0),
}

#: Names a mapping may target: Event fields and the input aliases above.
MAPPING_TARGETS: frozenset[str] = frozenset(_CANON) | {"api_key"}

#: Keys whose values are credentials: dropped wherever they appear (never stored), case-insensitively.
SECRET_KEYS: frozenset[str] = frozenset(
    {"api_key", "apikey", "api-key", "x-api-key", "authorization", "openai_api_key", "openai-api-key"}
)

_ROLES: dict[str, Role] = {
    "system": "system",
    "user": "user",
    "assistant": "assistant",
    "tool": "tool",
    "developer": "developer",
    "function": "tool",
    "human": "user",
    "ai": "assistant",
    "bot": "assistant",
    "model": "assistant",
}
_TEXT_PARTS = frozenset({"text", "input_text", "output_text"})


def api_key_id_for(raw_key: str) -> str:
    """The api_key_id derived from a raw key: `key-` and the first 16 hex digits of its SHA-256."""
    key = raw_key.strip()
    if key[:7].lower() == "bearer ":
        key = key[7:].strip()
    return "key-" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def deterministic_id(line: int, content: bytes) -> str:
    """An id for a record without one: `ev-` and 20 hex digits of SHA-256 over its line number and bytes."""
    return "ev-" + hashlib.sha256(b"%d\n" % line + content).hexdigest()[:20]


def canonical_bytes(record: dict[str, Any]) -> bytes:
    """Key-sorted compact JSON of a record (CSV / Parquet rows), the content a deterministic id hashes."""
    return dumps(record, default=str, sort_keys=True)


# --- scalar fields ---------------------------------------------------------------------------------------


def _ident(value: Any, field: str, limit: int) -> str | None:
    """An identifier: a non-empty string, or an integer written as one."""
    if value is None:
        return None
    t = type(value)
    if t is str:
        if len(value) > limit:
            raise Bad("oversized-field", field, f"over {limit} characters")
        return value or None
    if t is int:
        return str(value)
    if t is float and value.is_integer():
        return str(int(value))
    raise Bad("wrong-type", field, f"expected a string, got {_tname(value)}")


def _string(value: Any, field: str, limit: int) -> str | None:
    if value is None:
        return None
    if type(value) is str:
        if len(value) > limit:
            raise Bad("oversized-field", field, f"over {limit} characters")
        return value or None
    raise Bad("wrong-type", field, f"expected a string, got {_tname(value)}")


def _tname(value: Any) -> str:
    if value is None:
        return "null"
    return {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }.get(type(value), type(value).__name__)


def parse_timestamp(value: Any, field: str = "timestamp") -> datetime | None:
    """An aware UTC datetime from ISO 8601 text or epoch seconds / ms / µs / ns (number or digit string)."""
    if value is None:
        return None
    t = type(value)
    if t is str:
        text = value.strip()
        if not text:
            return None
        if text.isascii() and text.replace(".", "", 1).isdigit() and len(text) != 8:
            # Epoch digits; 8 digits alone are read as an ISO basic date (20240131), not a 1970 instant.
            try:
                number: int | float = int(text)
            except ValueError:
                number = float(text)
            return _from_epoch(number, field)
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise Bad("invalid-timestamp", field, f"not ISO 8601 or epoch: {text[:40]!r}") from None
        return _to_utc(parsed, field)
    if t is int or t is float:
        return _from_epoch(value, field)
    if isinstance(value, datetime):
        return _to_utc(value, field)
    raise Bad("wrong-type", field, f"expected ISO 8601 text or epoch number, got {_tname(value)}")


def _to_utc(parsed: datetime, field: str) -> datetime:
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise Bad("invalid-timestamp", field, "out of range in UTC") from None


def _from_epoch(number: int | float, field: str) -> datetime:
    try:
        if type(number) is int:
            size = abs(number)
            if size >= 10**17:
                delta = timedelta(microseconds=number // 1000)
            elif size >= 10**14:
                delta = timedelta(microseconds=number)
            elif size >= 10**11:
                delta = timedelta(milliseconds=number)
            else:
                delta = timedelta(seconds=number)
        else:
            if not math.isfinite(number):
                raise Bad("invalid-timestamp", field, "not a finite number")
            fsize = abs(number)
            scale = 1e9 if fsize >= 1e17 else 1e6 if fsize >= 1e14 else 1e3 if fsize >= 1e11 else 1.0
            delta = timedelta(seconds=number / scale)
        return _EPOCH + delta
    except (OverflowError, ValueError):
        raise Bad("invalid-timestamp", field, f"epoch value out of range: {number!r}") from None


# --- messages --------------------------------------------------------------------------------------------


def _content_text(value: Any, field: str, limits: Limits, skipped: dict[str, int]) -> str:
    """Text of a message content: a string, null, or an array of parts (text kept, others counted)."""
    if type(value) is str:
        text = value
    elif value is None:
        return ""
    elif type(value) is list:
        texts: list[str] = []
        for i, part in enumerate(value):
            if type(part) is str:
                texts.append(part)
                continue
            if type(part) is not dict:
                reason = f"expected a content part object, got {_tname(part)}"
                raise Bad("wrong-type", f"{field}[{i}]", reason)
            ptype = part.get("type", "text")
            if type(ptype) is not str:
                raise Bad("wrong-type", f"{field}[{i}].type", f"expected a string, got {_tname(ptype)}")
            if ptype in _TEXT_PARTS:
                ptext = part.get("text")
            elif ptype == "refusal":
                ptext = part.get("refusal")
            else:
                key = ptype if len(ptype) <= 40 else "unknown"
                skipped[key] = skipped.get(key, 0) + 1
                continue
            if type(ptext) is not str:
                raise Bad("wrong-type", f"{field}[{i}].text", f"expected a string, got {_tname(ptext)}")
            texts.append(ptext)
        text = "\n".join(texts)
    else:
        raise Bad("wrong-type", field, f"expected a string or an array of parts, got {_tname(value)}")
    if len(text) > limits.max_field_chars:
        raise Bad("oversized-field", field, f"over {limits.max_field_chars} characters")
    return text


def _tool_calls_text(calls: Any, field: str) -> str:
    """Assistant tool calls as text, one `[tool call] name(arguments)` line each, so detectors see them."""
    if type(calls) is dict:
        calls = [calls]
    if type(calls) is not list:
        raise Bad("wrong-type", field, f"expected an array, got {_tname(calls)}")
    out: list[str] = []
    for i, call in enumerate(calls):
        if type(call) is not dict:
            raise Bad("wrong-type", f"{field}[{i}]", f"expected an object, got {_tname(call)}")
        fn = call.get("function")
        if type(fn) is not dict:
            fn = call.get("custom")
        if type(fn) is not dict:
            fn = call
        name = fn.get("name")
        args = fn.get("arguments", fn.get("input"))
        if type(args) is not str:
            args = "" if args is None else dumps(args, default=str).decode("utf-8")
        out.append(f"[tool call] {name if type(name) is str else '?'}({args})")
    return "\n".join(out)


def _messages(value: Any, limits: Limits, skipped: dict[str, int]) -> list[Message]:
    if type(value) is str:
        try:
            value = loads(value.encode("utf-8", "surrogatepass"))
        except JSONDecodeError:
            raise Bad("wrong-type", "messages", "a string that is not a JSON array of messages") from None
    if type(value) is not list:
        raise Bad("wrong-type", "messages", f"expected an array, got {_tname(value)}")
    if len(value) > limits.max_messages:
        raise Bad("too-many-messages", "messages", f"{len(value)} messages, limit {limits.max_messages}")
    out: list[Message] = []
    for i, msg in enumerate(value):
        field = f"messages[{i}]"
        if type(msg) is not dict:
            raise Bad("wrong-type", field, f"expected a message object, got {_tname(msg)}")
        role_in = msg.get("role", "user")
        if type(role_in) is not str:
            raise Bad("wrong-type", f"{field}.role", f"expected a string, got {_tname(role_in)}")
        role = _ROLES.get(role_in) or _ROLES.get(role_in.lower())
        if role is None:
            raise Bad("invalid-value", f"{field}.role", f"unknown role {role_in[:40]!r}")
        content = _content_text(msg.get("content"), f"{field}.content", limits, skipped)
        calls = msg.get("tool_calls") or msg.get("function_call")
        if calls:
            calls_text = _tool_calls_text(calls, f"{field}.tool_calls")
            content = f"{content}\n{calls_text}" if content else calls_text
            if len(content) > limits.max_field_chars:
                raise Bad("oversized-field", f"{field}.content", f"over {limits.max_field_chars} characters")
        name = _string(msg.get("name"), f"{field}.name", limits.max_attr_chars)
        out.append(new_message(role, content, name))
    return out


def _response_text(value: Any, limits: Limits, skipped: dict[str, int], meta: dict[str, Any]) -> str | None:
    """The model's answer: a string, content parts, or an OpenAI response object (choices / output)."""
    if value is None or type(value) is str or type(value) is list:
        if value is None:
            return None
        return _content_text(value, "response", limits, skipped)
    if type(value) is not dict:
        raise Bad("wrong-type", "response", f"expected a string or object, got {_tname(value)}")
    error = value.get("error")
    if error is not None:
        meta.setdefault("response_error", error.get("message") if type(error) is dict else error)
    choices = value.get("choices")
    if type(choices) is list and choices:
        choice = choices[0]
        if type(choice) is not dict:
            raise Bad("wrong-type", "response.choices[0]", f"expected an object, got {_tname(choice)}")
        finish = choice.get("finish_reason")
        if finish is not None:
            meta.setdefault("finish_reason", finish)
        msg = choice.get("message")
        if type(msg) is dict:
            text = _content_text(msg.get("content"), "response.choices[0].message.content", limits, skipped)
            refusal = msg.get("refusal")
            if not text and type(refusal) is str:
                text = refusal
                meta.setdefault("refusal", True)
            calls = msg.get("tool_calls") or msg.get("function_call")
            if calls:
                calls_text = _tool_calls_text(calls, "response.choices[0].message.tool_calls")
                text = f"{text}\n{calls_text}" if text else calls_text
            if len(text) > limits.max_field_chars:
                raise Bad("oversized-field", "response", f"over {limits.max_field_chars} characters")
            return text
        if "text" in choice:
            return _content_text(choice.get("text"), "response.choices[0].text", limits, skipped)
        return None
    output = value.get("output")
    if type(output) is list:  # Responses API: output items of type "message" carry content parts
        texts = [
            _content_text(item.get("content"), "response.output.content", limits, skipped)
            for item in output
            if type(item) is dict and item.get("type", "message") == "message"
        ]
        text = "\n".join(t for t in texts if t)
        if len(text) > limits.max_field_chars:
            raise Bad("oversized-field", "response", f"over {limits.max_field_chars} characters")
        return text
    for key in ("content", "text"):
        if key in value:
            return _content_text(value[key], f"response.{key}", limits, skipped)
    return None


# --- secrets ---------------------------------------------------------------------------------------------


def _scrub(obj: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """A copy of `obj` without credential keys (also inside a `headers` object) and the first raw key."""
    found: str | None = None
    clean: dict[str, Any] = {}
    for k, v in obj.items():
        lk = k.lower()
        if lk in SECRET_KEYS:
            if found is None and type(v) is str and v.strip():
                found = v
            continue
        if lk == "headers" and type(v) is dict:
            v, inner = _scrub(v)
            found = found or inner
        clean[k] = v
    return clean, found


def _has_secret(obj: dict[str, Any]) -> bool:
    for k, v in obj.items():
        lk = k.lower()
        if lk in SECRET_KEYS or (lk == "headers" and type(v) is dict):
            return True
    return False


# --- records ---------------------------------------------------------------------------------------------


def is_openai_line(record: dict[str, Any]) -> bool:
    """Whether a record is an OpenAI Chat Completions log line: `{"request": {...}, "response": ...}`."""
    return type(record.get("request")) is dict


def _flatten_openai(record: dict[str, Any]) -> dict[str, Any]:
    """Rewrite an OpenAI log line into the generic form; top-level fields win over request/response ones."""
    req = record["request"]
    if _has_secret(req):
        req, raw_key = _scrub(req)
    else:
        raw_key = None
    resp = record.get("response")
    out = {k: v for k, v in record.items() if k != "request" and k != "response"}
    present = {_CANON[k][0] for k in out if k in _CANON}
    if raw_key is not None and "api_key" not in out:
        out["api_key"] = raw_key
    if "messages" not in present:
        if "messages" in req:
            out["messages"] = req["messages"]
        elif "input" in req:
            out["messages" if type(req["input"]) is list else "prompt"] = req["input"]
        elif "prompt" in req:
            out["prompt"] = req["prompt"]
    if "system" not in out:  # Responses-API `instructions`, Anthropic-style `system`
        system = req.get("instructions", req.get("system"))
        if system is not None:
            out["system"] = system
    if "account_id" not in present and req.get("user") is not None:
        out["account_id"] = req["user"]
    req_meta = req.get("metadata")
    if type(req_meta) is dict and req_meta:
        top = out.get("metadata")
        out["metadata"] = {**req_meta, **top} if type(top) is dict else req_meta if top is None else top
    model = req.get("model")
    if type(resp) is dict:
        if out.get("id") is None and resp.get("id") is not None:
            out["id"] = resp["id"]
        if "timestamp" not in present:
            created = resp.get("created", resp.get("created_at"))
            if created is not None:
                out["timestamp"] = created
        if model is None:
            model = resp.get("model")
    if "model" not in present and model is not None:
        out["model"] = model
    if resp is not None and "response" not in present:
        out["response"] = resp
    return out


def _fast_constructor(cls: type[_M]) -> Callable[[dict[str, Any]], _M]:
    """A constructor that does what `model_construct` does for our plain models, without its per-field loop.

    Falls back to `model_construct` when a model grows aliases, a post-init hook or extra fields.
    """
    names = tuple(cls.model_fields)
    plain = (
        not cls.__pydantic_root_model__
        and cls.__pydantic_post_init__ is None
        and cls.model_config.get("extra") != "allow"
        and all(f.alias is None and f.validation_alias is None for f in cls.model_fields.values())
    )
    if not plain:  # pragma: no cover - guarded by a test on the current models
        return lambda values: cls.model_construct(**values)
    new = object.__new__
    setattr_ = object.__setattr__

    def construct(values: dict[str, Any]) -> _M:
        obj = new(cls)
        setattr_(obj, "__dict__", values)
        setattr_(obj, "__pydantic_fields_set__", set(names))
        setattr_(obj, "__pydantic_extra__", None)
        setattr_(obj, "__pydantic_private__", None)
        return obj

    return construct


_new_event = _fast_constructor(Event)
_new_message = _fast_constructor(Message)


def new_message(role: Role, content: str, name: str | None = None) -> Message:
    """A Message from already-checked values (no pydantic validation)."""
    return _new_message({"role": role, "content": content, "name": name})


def build_event(
    record: dict[str, Any], *, line: int, raw: bytes | None, limits: Limits
) -> tuple[Event | None, str | None, Bad | None]:
    """Build an Event from a record: (event, id, None), or (None, id if known, the problem)."""
    rid: str | None = None
    keys: dict[str, str] = {}
    try:
        if type(record.get("request")) is dict:
            record = _flatten_openai(record)
        elif is_mcp_line(record):
            record = flatten_mcp(record)
        rid = _ident(record.get("id"), "id", limits.max_attr_chars)
        if rid is None:
            rid = deterministic_id(line, raw if raw is not None else canonical_bytes(record))
        return _build(record, rid, keys, limits), rid, None
    except Bad as bad:
        if bad.field is not None and bad.field in keys:
            bad.field = keys[bad.field]  # the field as the input spelled it (`user`, not account_id)
        return None, rid, bad
    except (
        TypeError,
        ValueError,
        AttributeError,
        KeyError,
        IndexError,
        OverflowError,
        RecursionError,
    ) as exc:
        # A record shape no check foresaw: counted as bad with the cause, never raised out of a reader.
        return None, rid, Bad("internal-error", None, f"unexpected {type(exc).__name__}: {str(exc)[:120]}")


def check_tree(value: Any, field: str, *, max_depth: int, max_nodes: int) -> None:
    """Reject a JSON tree deeper than `max_depth` or with more than `max_nodes` values (iteratively, so a
    deep tree cannot exhaust the stack here, nor later in pickling or `json.dumps`)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    nodes = 0
    while stack:
        node, depth = stack.pop()
        nodes += 1
        if nodes > max_nodes:
            raise Bad("oversized-field", field, f"more than {max_nodes} values")
        t = type(node)
        if t is dict or t is list or t is tuple:
            if depth >= max_depth:
                raise Bad("nested-too-deep", field, f"nested deeper than {max_depth} levels")
            children = node.values() if t is dict else node
            stack.extend((child, depth + 1) for child in children)


def _build(record: dict[str, Any], rid: str, keys: dict[str, str], limits: Limits) -> Event:
    vals: dict[str, Any] = {}
    extras: dict[str, Any] = {}
    raw_key: str | None = None
    canon = _CANON
    for k, v in record.items():
        entry = canon.get(k)
        if entry is None:
            lk = k.lower()
            if lk in SECRET_KEYS:
                if raw_key is None and type(v) is str and v.strip():
                    raw_key = v
                continue
            if lk == "headers" and type(v) is dict:
                v, inner = _scrub(v)
                raw_key = raw_key or inner
            extras[k] = v
            continue
        if v is None:
            continue
        name = entry[0]
        if name in vals:
            prev = keys[name]
            if entry[1] >= canon[prev][1]:
                extras[k] = v
                continue
            extras[prev] = vals[name]
        vals[name] = v
        keys[name] = k
    get = vals.get
    attr = limits.max_attr_chars
    skipped: dict[str, int] = {}

    meta = get("metadata")
    if meta is None:
        meta = {}
    elif type(meta) is dict:
        if _has_secret(meta):
            meta, inner = _scrub(meta)
            raw_key = raw_key or inner
    elif type(meta) is str and meta.lstrip().startswith("{"):
        try:
            parsed = loads(meta.encode("utf-8", "surrogatepass"))
        except JSONDecodeError:
            raise Bad("wrong-type", "metadata", "a string that is not a JSON object") from None
        meta, inner = _scrub(parsed)
        raw_key = raw_key or inner
    else:
        raise Bad("wrong-type", "metadata", f"expected an object, got {_tname(meta)}")
    if extras:
        for k, v in extras.items():
            meta.setdefault(k, v)

    messages_in = get("messages")
    prompt_in = get("prompt")
    if messages_in is None and type(prompt_in) is list:
        messages_in, prompt_in = prompt_in, None  # Responses-API style `input: [messages]`
    msgs = _messages(messages_in, limits, skipped) if messages_in is not None else []
    system = get("system")
    if system is not None:
        stext = _content_text(system, "system", limits, skipped)
        if stext:
            msgs.insert(0, new_message("system", stext))
    if prompt_in is not None:
        ptext = _content_text(prompt_in, "prompt", limits, skipped)
        last_user = next((m.content for m in reversed(msgs) if m.role == "user"), None)
        if ptext and ptext != last_user:
            msgs.append(new_message("user", ptext))
    if len(msgs) > limits.max_messages:
        raise Bad("too-many-messages", "messages", f"{len(msgs)} messages, limit {limits.max_messages}")

    response = _response_text(get("response"), limits, skipped, meta) or None
    for m in msgs:
        if m.content:
            break
    else:
        note = f" ({sum(skipped.values())} non-text parts skipped)" if skipped else ""
        field = "messages" if messages_in is not None else "prompt"
        raise Bad("missing-text", field, f"no prompt text: expected prompt, text, input or messages{note}")
    if skipped:
        meta["skipped_parts"] = skipped

    api_key_id = _ident(get("api_key_id"), "api_key_id", attr)
    if api_key_id is None and raw_key is not None:
        api_key_id = api_key_id_for(raw_key)
    if len(meta) > limits.max_metadata_keys:
        raise Bad("too-many-metadata-keys", "metadata", f"{len(meta)} keys, limit {limits.max_metadata_keys}")
    check_tree(meta, "metadata", max_depth=limits.max_metadata_depth, max_nodes=limits.max_metadata_nodes)

    ts = get("timestamp")
    return _new_event(
        {
            "id": rid,
            "timestamp": None if ts is None else parse_timestamp(ts),
            "account_id": _ident(get("account_id"), "account_id", attr),
            "org_id": _ident(get("org_id"), "org_id", attr),
            "session_id": _ident(get("session_id"), "session_id", attr),
            "source_ip": _string(get("source_ip"), "source_ip", attr),
            "user_agent": _string(get("user_agent"), "user_agent", attr),
            "api_key_id": api_key_id,
            "model": _string(get("model"), "model", attr),
            "messages": tuple(msgs),
            "response": response,
            "metadata": meta,
        }
    )
