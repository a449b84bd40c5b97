"""Model Context Protocol (MCP) JSON-RPC log lines, rewritten into the generic record form.

An MCP client and server exchange JSON-RPC 2.0 messages. A log holds one message per line, bare
(`{"jsonrpc": "2.0", "method": "tools/call", ...}`) or wrapped with who and when
(`{"timestamp": ..., "session_id": ..., "account_id": ..., "message": {"jsonrpc": "2.0", ...}}`; every field
beside `message` is read like a generic record's). What detectors see:

- `tools/call` request: an assistant turn `[tool call] NAME(ARGUMENTS)`, the same line shape ingest makes of
  OpenAI tool calls, so the agent-operations rules read both;
- a result with `content` (a tool's output) or `contents` (`resources/read`): a tool turn with the text parts;
- a `tools/list` result: one tool turn per tool, `[tool description] NAME: DESCRIPTION`, followed by the
  descriptions of its input parameters (where tool poisoning hides instructions);
- `sampling/createMessage` (the server asks the client's model) and a `prompts/get` result: their messages, with
  `systemPrompt` as a system turn;
- an error response: a tool turn with the error message.
Protocol lines that carry no text (`initialize`, `ping`, notifications, ...) are bad records of kind
`missing-text` naming the method, so they are counted and never silently dropped. The method and JSON-RPC id go
to `metadata["mcp_method"]` / `metadata["mcp_id"]`.
"""

from __future__ import annotations

from typing import Any

from stormwatch.ingest._bad import Bad

_MAX_PARAM_DESCRIPTIONS = 64


def is_mcp_line(record: dict[str, Any]) -> bool:
    """Whether a record is one MCP JSON-RPC message, bare or under `message`."""
    if record.get("jsonrpc") == "2.0":
        return True
    msg = record.get("message")
    return type(msg) is dict and msg.get("jsonrpc") == "2.0"


def flatten_mcp(record: dict[str, Any]) -> dict[str, Any]:
    """The generic record for one MCP message (see the module docstring)."""
    if record.get("jsonrpc") == "2.0":
        msg, out, prefix = record, {}, ""
    else:
        msg = record["message"]
        out = {k: v for k, v in record.items() if k != "message"}
        prefix = "message."
    method = msg.get("method")
    if method is not None and type(method) is not str:
        raise Bad("wrong-type", f"{prefix}method", f"expected a string, got {type(method).__name__}")
    meta = out.get("metadata")
    metadata: dict[str, Any] = dict(meta) if type(meta) is dict else {}
    if meta is not None and type(meta) is not dict:
        raise Bad("wrong-type", "metadata", f"expected an object, got {type(meta).__name__}")
    kind = method or ("error" if "error" in msg else "result")
    metadata["mcp_method"] = kind
    if msg.get("id") is not None:
        metadata["mcp_id"] = str(msg["id"])
    out["metadata"] = metadata
    out["messages"] = _messages(msg, method, prefix)
    if not out["messages"]:
        raise Bad("missing-text", f"{prefix}method", f"MCP {kind!r} message carries no text to scan")
    return out


def _messages(msg: dict[str, Any], method: str | None, prefix: str) -> list[dict[str, Any]]:
    params = msg.get("params")
    if method == "tools/call":
        if type(params) is not dict:
            raise Bad(
                "wrong-type", f"{prefix}params", "tools/call needs an object with `name` and `arguments`"
            )
        call = {"name": params.get("name"), "arguments": params.get("arguments")}
        return [{"role": "assistant", "content": None, "tool_calls": [call]}]
    if method == "sampling/createMessage":
        if type(params) is not dict:
            raise Bad("wrong-type", f"{prefix}params", "sampling/createMessage needs an object")
        return _prompt_messages(params, f"{prefix}params")
    if method is not None:
        return []  # protocol lines (initialize, ping, notifications/...): no text
    if "error" in msg:
        err = msg["error"]
        text = err.get("message") if type(err) is dict else err
        return [{"role": "tool", "content": text}] if type(text) is str and text else []
    result = msg.get("result")
    if type(result) is not dict:
        raise Bad("wrong-type", f"{prefix}result", "expected a JSON-RPC result object")
    field = f"{prefix}result"
    if "tools" in result:
        return _tool_descriptions(result["tools"], f"{field}.tools")
    if "messages" in result:
        return _prompt_messages(result, field)
    for key in ("content", "contents"):
        if key in result:
            text = _parts_text(result[key], f"{field}.{key}")
            return [{"role": "tool", "content": text}] if text else []
    return []


def _parts_text(parts: Any, field: str) -> str:
    """Text of MCP content parts (`{"type": "text", "text": ...}`; resources carry `text` too)."""
    if type(parts) is dict:
        parts = [parts]
    if type(parts) is not list:
        raise Bad("wrong-type", field, f"expected an array of content parts, got {type(parts).__name__}")
    texts: list[str] = []
    for i, part in enumerate(parts):
        if type(part) is not dict:
            raise Bad("wrong-type", f"{field}[{i}]", f"expected an object, got {type(part).__name__}")
        text = part.get("text")
        if text is not None and type(text) is not str:
            raise Bad("wrong-type", f"{field}[{i}].text", f"expected a string, got {type(text).__name__}")
        if text:
            texts.append(text)
    return "\n".join(texts)


def _tool_descriptions(tools: Any, field: str) -> list[dict[str, Any]]:
    if type(tools) is not list:
        raise Bad("wrong-type", field, f"expected an array of tools, got {type(tools).__name__}")
    out: list[dict[str, Any]] = []
    for i, tool in enumerate(tools):
        if type(tool) is not dict:
            raise Bad("wrong-type", f"{field}[{i}]", f"expected an object, got {type(tool).__name__}")
        name = tool.get("name") if type(tool.get("name")) is str else "?"
        lines = [f"[tool description] {name}: {tool.get('description') or ''}".rstrip()]
        schema = tool.get("inputSchema")
        props = schema.get("properties") if type(schema) is dict else None
        if type(props) is dict:
            for pname, spec in list(props.items())[:_MAX_PARAM_DESCRIPTIONS]:
                desc = spec.get("description") if type(spec) is dict else None
                if type(desc) is str and desc:
                    lines.append(f"  {pname}: {desc}")
        out.append({"role": "tool", "name": name, "content": "\n".join(lines)})
    return out


def _prompt_messages(holder: dict[str, Any], field: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    system = holder.get("systemPrompt")
    if type(system) is str and system:
        out.append({"role": "system", "content": system})
    msgs = holder.get("messages")
    if type(msgs) is not list:
        raise Bad("wrong-type", f"{field}.messages", "expected an array of messages")
    for i, m in enumerate(msgs):
        if type(m) is not dict:
            raise Bad("wrong-type", f"{field}.messages[{i}]", f"expected an object, got {type(m).__name__}")
        role = m.get("role") if m.get("role") in ("user", "assistant") else "user"
        text = _parts_text(m.get("content"), f"{field}.messages[{i}].content")
        if text:
            out.append({"role": role, "content": text})
    return out
