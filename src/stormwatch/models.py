"""Typed core records that flow through the pipeline: Event → Finding → Verdict → Cluster."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["system", "user", "assistant", "tool", "developer"]
VerdictLabel = Literal["allow", "flag", "block"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Message(_Frozen):
    """One turn of a conversation."""

    role: Role
    content: str
    name: str | None = None


class Event(_Frozen):
    """One logged or live LLM interaction."""

    id: str
    timestamp: datetime | None = None
    account_id: str | None = None
    org_id: str | None = None
    session_id: str | None = None
    source_ip: str | None = None
    user_agent: str | None = None
    api_key_id: str | None = None
    model: str | None = None
    messages: tuple[Message, ...] = ()
    response: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def from_text(cls, text: str, *, id: str = "text-0", role: Role = "user") -> Event:
        """Build a one-turn event from plain text."""
        return cls(id=id, messages=(Message(role=role, content=text),))

    def turns(self) -> list[Message]:
        """Messages plus the response (as an assistant turn) in order; evidence `turn` indexes this list."""
        out = list(self.messages)
        if self.response is not None:
            out.append(Message(role="assistant", content=self.response))
        return out


class Evidence(_Frozen):
    """A span of a turn that supports a finding; offsets are into the (possibly decoded) text."""

    turn: int
    start: int
    end: int
    text: str
    decoded_by: str | None = None


def is_tactic_id(attack_id: str) -> bool:
    """True for an ATT&CK (`TA0001`) or ATLAS (`AML.TA0002`) tactic id, False for a technique id."""
    return attack_id.startswith(("TA", "AML.TA"))


class Finding(_Frozen):
    """One detector's claim about an event."""

    detector: str
    rule: str
    score: float = Field(ge=0.0, le=1.0)
    category: str | None = None
    techniques: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    explanation: str = ""
    error: bool = False


class Verdict(_Frozen):
    """The decision on one event: the public `scan` contract."""

    id: str
    risk: float = Field(ge=0.0, le=1.0)
    verdict: VerdictLabel
    categories: tuple[str, ...] = ()
    techniques: tuple[str, ...] = ()
    tactics: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()
    reasons: tuple[str, ...] = ()
    # Detectors that raised (or a budget that ran out) on this event; in the contract only when non-empty.
    detector_errors: tuple[str, ...] = ()

    def contract(self) -> dict[str, Any]:
        """The JSON object of the documented scan output contract (`detector_errors` only when some failed)."""
        out: dict[str, Any] = {
            "id": self.id,
            "risk": round(self.risk, 4),
            "verdict": self.verdict,
            "categories": list(self.categories),
            "techniques": list(self.techniques),
            "tactics": list(self.tactics),
            "findings": [
                {
                    "detector": f.detector,
                    "rule": f.rule,
                    "score": round(f.score, 4),
                    "category": f.category,
                    # technique ids only; a detector's tactic ids (TA…, AML.TA…) get their own field
                    "techniques": [t for t in f.techniques if not is_tactic_id(t)],
                    "tactics": [t for t in f.techniques if is_tactic_id(t)],
                    "evidence": [e.model_dump() for e in f.evidence],
                    "explanation": f.explanation,
                }
                for f in self.findings
            ],
            "reasons": list(self.reasons),
        }
        if self.detector_errors:
            out["detector_errors"] = list(self.detector_errors)
        return out


class Link(_Frozen):
    """An edge between two accounts with the reason it exists."""

    a: str
    b: str
    kind: str
    weight: float
    reason: str


class Attribution(_Frozen):
    """A ranked candidate actor for a cluster; never without evidence."""

    actor: str
    group_id: str | None = None
    score: float = Field(ge=0.0, le=1.0)
    evidence: tuple[str, ...] = Field(min_length=1)


class Cluster(BaseModel):
    """A set of linked suspicious accounts believed to be one operation."""

    model_config = ConfigDict(extra="forbid")

    id: str
    designation: str
    accounts: list[str]
    events: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    categories: dict[str, int] = Field(default_factory=dict)
    techniques: dict[str, int] = Field(default_factory=dict)
    attribution: list[Attribution] = Field(default_factory=list)
