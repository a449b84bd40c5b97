"""Structured JSON logs: one object per line, never secrets, prompt text only when asked for."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

LOGGER = logging.getLogger("stormwatch.api")
_STD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", "color_message"}
# no backslash inside a match: the JSON formatter's escapes (\") must survive so each line stays valid JSON
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@?#\"\\]+@")
_QUERY_VALUE = re.compile(r"([?&][^=&\s\"'#<>\\]+=)[^&\s\"'#<>\\]+")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")


def redact(text: str) -> str:
    """Text with URL credentials (`user:pass@`), every URL query value and bearer/basic tokens masked."""
    if "@" in text:
        text = _USERINFO.sub(r"\1***@", text)
    if "=" in text:
        text = _QUERY_VALUE.sub(r"\1***", text)
    if "earer" in text or "asic" in text:
        text = _BEARER.sub(r"\1 ***", text)
    return text


class RedactFilter(logging.Filter):
    """Masks secrets in a record's message before any handler sees it (installed on httpx's loggers)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the message in place; never drops a record."""
        msg = record.getMessage()
        clean = redact(msg)
        if clean != msg:
            record.msg, record.args = clean, None
        return True


def install_redaction() -> None:
    """Put a `RedactFilter` on the HTTP client loggers (once): they log every request URL."""
    for name in ("httpx", "httpcore"):
        lg = logging.getLogger(name)
        if not any(isinstance(f, RedactFilter) for f in lg.filters):
            lg.addFilter(RedactFilter())


class JsonFormatter(logging.Formatter):
    """Formats a record and its `extra=` fields as one JSON object."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line."""
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for k, v in record.__dict__.items():
            if k not in _STD and not k.startswith("_"):
                out[k] = v
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        # every line passes through redact: a URL with credentials may sit in any message or field
        return redact(json.dumps(out, default=str, ensure_ascii=False))


def setup_json_logging(level: int = logging.INFO) -> None:
    """Send every log record (ours and uvicorn's) to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True
    install_redaction()
