"""Request and response models of the HTTP API (they also generate the OpenAPI schema)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from stormwatch.models import Message

ChatRole = Literal["system", "user", "assistant", "tool", "developer", "function"]


class ContentPart(BaseModel):
    """One part of a multi-part message; only `text` parts are screened."""

    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    """One chat message as the OpenAI API takes it."""

    model_config = ConfigDict(extra="allow")

    role: ChatRole
    content: str | list[ContentPart] | None = None
    name: str | None = None

    def text(self) -> str:
        """The screened text: the content string or the joined text parts (plus tool-call arguments)."""
        if isinstance(self.content, str):
            out = self.content
        elif self.content:
            out = "\n".join(p.text for p in self.content if p.text)
        else:
            out = ""
        calls = (self.model_extra or {}).get("tool_calls")
        if isinstance(calls, list):
            args = [
                str(c.get("function", {}).get("arguments", ""))
                for c in calls
                if isinstance(c, dict) and isinstance(c.get("function"), dict)
            ]
            out = "\n".join([out, *args]) if out else "\n".join(args)
        return out


class ChatCompletionRequest(BaseModel):
    """An OpenAI chat-completions request; fields the guard does not read are forwarded untouched."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1)
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    user: str | None = None


class ScanEventIn(BaseModel):
    """One event to scan: the minimal form (`id` + `prompt`) or the full Event form (`messages`).

    Fields not listed here are kept in `metadata`, as `stormwatch scan` does.
    """

    model_config = ConfigDict(extra="allow")

    id: str
    prompt: str | None = Field(default=None, description="One user turn (minimal form).")
    messages: list[Message] | None = Field(default=None, description="The conversation (full form).")
    response: str | None = None
    timestamp: str | None = None
    account_id: str | None = None
    org_id: str | None = None
    session_id: str | None = None
    source_ip: str | None = None
    user_agent: str | None = None
    api_key_id: str | None = None
    model: str | None = None
    metadata: dict[str, Any] | None = None


class ScanBatchIn(BaseModel):
    """A batch of events to scan."""

    model_config = ConfigDict(extra="forbid")

    events: list[ScanEventIn]


class ScanRequest(RootModel[ScanEventIn | list[ScanEventIn] | ScanBatchIn]):
    """One event, a list of events, or `{"events": [...]}`."""


class EvidenceOut(BaseModel):
    """A span that supports a finding."""

    turn: int
    start: int
    end: int
    text: str
    decoded_by: str | None = None


class FindingOut(BaseModel):
    """One detector's claim."""

    detector: str
    rule: str
    score: float
    category: str | None
    techniques: list[str]
    """Technique ids only (T…, AML.T…)."""
    tactics: list[str] = Field(default_factory=list)
    """Tactic ids (TA…, AML.TA…) the detector named directly."""
    evidence: list[EvidenceOut]
    explanation: str


class VerdictOut(BaseModel):
    """The scan output contract (docs/schemas/scan-output.schema.json)."""

    id: str
    risk: float = Field(ge=0, le=1)
    verdict: Literal["allow", "flag", "block"]
    categories: list[str]
    techniques: list[str]
    tactics: list[str]
    findings: list[FindingOut]
    reasons: list[str]


class ScanBatchOut(BaseModel):
    """Verdicts of a `{"events": [...]}` batch, in input order."""

    verdicts: list[VerdictOut]


class ScanResponse(RootModel[VerdictOut | list[VerdictOut] | ScanBatchOut]):
    """Same shape as the input: one verdict, a list, or `{"verdicts": [...]}`."""


class ErrorDetail(BaseModel):
    """The OpenAI-style error object."""

    message: str
    type: str
    code: str | None
    param: str | None


class ErrorResponse(BaseModel):
    """Every error the guard answers with."""

    error: ErrorDetail


class Health(BaseModel):
    """Liveness."""

    status: Literal["ok", "degraded"]
