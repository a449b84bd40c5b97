"""Reading a judge model's answer: the strict JSON schema first, Llama-Guard / Qwen3Guard plain text second.

The answer is untrusted text from a model: it is only ever parsed as JSON data with bounded effort, never
evaluated, and the rationale is cleaned of control characters and truncated before it is stored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterator
from types import MappingProxyType
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, ValidationError

from stormwatch.errors import StormwatchError

NO_CATEGORY = "none"
_MAX_JSON_TRIES = 8
_PLAIN_SCAN_CHARS = 2000
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_SPACE = re.compile(r"\s+")
_LLAMA_CODE = re.compile(r"\bS(\d{1,2})\b")
_QWEN_SAFETY = re.compile(r"(?im)^\W*safety\W*:\W*(safe|unsafe|controversial)\b")
_QWEN_CATEGORIES = re.compile(r"(?im)^\W*categories\W*:\s*(.{0,300})$")

# MLCommons hazard codes as Llama Guard 3/4 answer them. Generic harm maps to `harmful-content`; the stage
# replaces it with the engine's own top category when the engine already named one.
LLAMA_GUARD_CATEGORIES = MappingProxyType(
    {
        "S1": "harmful-content",  # violent crimes
        "S2": "harmful-content",  # non-violent crimes (cyber crime included)
        "S3": "harmful-content",  # sex-related crimes
        "S4": "harmful-content",  # child sexual exploitation
        "S5": "harmful-content",  # defamation
        "S6": "harmful-content",  # specialised advice
        "S7": "llm-data-exfiltration",  # privacy: leaking personal data
        "S8": "harmful-content",  # intellectual property
        "S9": "harmful-content",  # indiscriminate weapons
        "S10": "harmful-content",  # hate
        "S11": "harmful-content",  # suicide and self-harm
        "S12": "harmful-content",  # sexual content
        "S13": "influence-operations",  # elections
        "S14": "prompt-injection",  # code-interpreter abuse
    }
)
QWEN3GUARD_CATEGORIES = MappingProxyType(
    {
        "jailbreak": "jailbreak",
        "politically sensitive topics": "influence-operations",
        "pii": "llm-data-exfiltration",
    }
)
GENERIC_CATEGORY = "harmful-content"


class AnswerError(StormwatchError):
    """A judge answer that follows neither the JSON schema nor a known plain form."""

    def __init__(self, reason: str, excerpt: str = "") -> None:
        self.reason = reason
        self.excerpt = excerpt
        shown = f": {excerpt!r}" if excerpt else ""
        super().__init__(f"judge answer rejected ({reason}){shown}")


class JudgeAnswer(BaseModel):
    """A judge's decision, validated and cleaned."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    violation: bool
    category: str | None = Field(default=None, description="A taxonomy slug, None when unknown or none.")
    confidence: float = Field(ge=0.0, le=1.0)
    rationale: str = ""
    form: Literal["json", "plain"] = "json"
    off_schema_category: bool = Field(default=False, description="The model named a category we lack.")


class _Wire(BaseModel):
    """The JSON object the policy asks for; extra keys are ignored, wrong types are not."""

    model_config = ConfigDict(extra="ignore")

    violation: StrictBool
    category: StrictStr | None = None
    confidence: float = Field(strict=True, ge=0, le=1)
    rationale: StrictStr = ""


def answer_schema(categories: Collection[str]) -> dict[str, Any]:
    """The JSON Schema of an answer (sent as `response_format` so servers can enforce it)."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["violation", "category", "confidence", "rationale"],
        "properties": {
            "violation": {"type": "boolean"},
            "category": {"type": "string", "enum": [*sorted(categories), NO_CATEGORY]},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "rationale": {"type": "string", "maxLength": 400},
        },
    }


def clean_text(text: str, limit: int) -> str:
    """Model text made safe to store and show: no control or bidi characters, one-line, at most `limit`."""
    flat = _SPACE.sub(" ", _CONTROL.sub(" ", text)).strip()
    if len(flat) <= limit:
        return flat
    return flat[: max(0, limit - 1)].rstrip() + "…"


def parse_answer(
    text: str,
    *,
    categories: Collection[str],
    max_rationale_chars: int = 300,
    plain_confidence: float = 0.8,
) -> JudgeAnswer:
    """Parse a judge's answer; raise `AnswerError` when it is neither schema JSON nor a known plain form."""
    body = text.rsplit("</think>", 1)[-1] if "</think>" in text else text  # drop exposed reasoning
    if not body.strip():
        raise AnswerError("empty answer")
    for obj in _json_objects(body):
        if isinstance(obj, dict) and "violation" in obj:
            return _from_wire(obj, categories, max_rationale_chars)
    plain = _from_plain(body[:_PLAIN_SCAN_CHARS], categories, plain_confidence)
    if plain is not None:
        return plain
    raise AnswerError("no JSON answer object and no safe/unsafe line", clean_text(body, 80))


def _json_objects(text: str) -> Iterator[Any]:
    """JSON values starting at '{' in the text (fences and chatter around them ignored); bounded tries."""
    decoder = json.JSONDecoder()
    start = 0
    for _ in range(_MAX_JSON_TRIES):
        i = text.find("{", start)
        if i < 0:
            return
        try:
            obj, end = decoder.raw_decode(text, i)
        except (ValueError, RecursionError):
            start = i + 1
            continue
        yield obj
        start = end


def _from_wire(obj: dict[str, Any], categories: Collection[str], max_rationale: int) -> JudgeAnswer:
    try:
        wire = _Wire.model_validate(obj)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "answer"
        raise AnswerError(f"field {field!r}: {first['msg']}") from exc
    category, off_schema = _category(wire.category, categories)
    return JudgeAnswer(
        violation=wire.violation,
        category=category if wire.violation else None,
        confidence=float(wire.confidence),
        rationale=clean_text(wire.rationale, max_rationale),
        form="json",
        off_schema_category=off_schema and wire.violation,
    )


def _category(raw: str | None, categories: Collection[str]) -> tuple[str | None, bool]:
    if raw is None:
        return None, False
    slug = raw.strip().lower()
    if slug in ("", NO_CATEGORY):
        return None, False
    if slug in categories:
        return slug, False
    return None, True


def _from_plain(text: str, categories: Collection[str], confidence: float) -> JudgeAnswer | None:
    lines = [ln.strip().strip("*`'\".").lower() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return None
    if lines[0] == "safe":
        return JudgeAnswer(violation=False, confidence=confidence, rationale="safe", form="plain")
    if lines[0] == "unsafe":
        codes = [f"S{int(n)}" for n in _LLAMA_CODE.findall(" ".join(lines[1:3]).upper())]
        slug = next((LLAMA_GUARD_CATEGORIES[c] for c in codes if c in LLAMA_GUARD_CATEGORIES), None)
        return _plain_violation(slug, confidence, "unsafe " + ",".join(codes), categories)
    m = _QWEN_SAFETY.search(text)
    if m is None:
        return None
    label = m.group(1).lower()
    if label == "safe":
        return JudgeAnswer(violation=False, confidence=confidence, rationale="Safety: Safe", form="plain")
    cm = _QWEN_CATEGORIES.search(text)
    names = [n.strip().lower() for n in cm.group(1).split(",")] if cm else []
    slug = next((QWEN3GUARD_CATEGORIES[n] for n in names if n in QWEN3GUARD_CATEGORIES), None)
    # "Controversial" means harmful in some contexts: a violation with half the plain confidence.
    conf = confidence if label == "unsafe" else confidence / 2
    return _plain_violation(slug, conf, f"Safety: {label}; {', '.join(names)}".rstrip("; "), categories)


def _plain_violation(
    slug: str | None, confidence: float, rationale: str, categories: Collection[str]
) -> JudgeAnswer:
    chosen = slug if slug is not None else GENERIC_CATEGORY
    return JudgeAnswer(
        violation=True,
        category=chosen if chosen in categories else None,
        confidence=confidence,
        rationale=clean_text(rationale, 120),
        form="plain",
    )
