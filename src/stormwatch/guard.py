"""The in-process guard: screen a conversation (and the model's answer) before it reaches the model or the user.

For applications that call a model themselves instead of going through `stormwatch serve`::

    from stormwatch.config import Config
    from stormwatch.guard import Guard

    guard = Guard(Config(fast=True))          # or Guard(runtime) / Guard(runtime, engine=engine)
    decision = guard.check([{"role": "user", "content": prompt}])
    if decision.action == "block":
        ...                                    # refuse; decision.event_id is the id to quote and log

The guard takes the code path `stormwatch scan` and the proxy take: the messages are read by the ingest
parser (`stormwatch.ingest.event_from_record`: the same roles, aliases, content parts and tool-call
rendering), and the verdict comes from the runtime's `Engine` (`Runtime.engine()`) with its policy. So the
same text gets the same verdict through `scan`, the proxy and the guard. A `Decision` carries ids only
(detector and rule ids, categories, ATT&CK / ATLAS ids), never the matched text or a detector's
explanation: it is meant to be shown to or logged for the caller, and quoting the match helps an attacker
tune an evasion. The full `Verdict` (with evidence) is on `Guard.verdict`.

A Guard holds its engine and nothing else; this module keeps no state of its own.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from stormwatch.config import Config
from stormwatch.engine import Engine
from stormwatch.errors import InputRecordError
from stormwatch.ingest import Limits, RecordError, event_from_record
from stormwatch.models import Event, Message, Verdict, VerdictLabel
from stormwatch.runtime import Runtime

__all__ = ["Decision", "Guard", "GuardInputError", "MessageLike", "check"]

_SOURCE = "guard"


class GuardInputError(InputRecordError):
    """A message handed to the guard is malformed; `index` is its place in the list (None: the list itself
    or the answer), `field` the field as the caller spelled it (`messages[1].role`, `response`)."""

    def __init__(self, field: str | None, reason: str, index: int | None = None) -> None:
        super().__init__(_SOURCE, None, field, reason)
        self.index = index


class Decision(BaseModel):
    """What the guard decided about one conversation (or exchange): ids and scores, never matched text."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: str = Field(description="Id of the screened event (the caller's, or derived from the input).")
    action: VerdictLabel = Field(description="allow, flag or block (the verdict policy's decision).")
    risk: float = Field(ge=0.0, le=1.0)
    categories: tuple[str, ...] = ()
    techniques: tuple[str, ...] = Field(default=(), description="ATT&CK / ATLAS technique ids.")
    tactics: tuple[str, ...] = Field(default=(), description="ATT&CK / ATLAS tactic ids.")
    reasons: tuple[str, ...] = Field(
        default=(), description="`detector:rule` of each finding, strongest first (no matched text)."
    )
    detector_errors: tuple[str, ...] = Field(default=(), description="Detectors that failed on this input.")

    @classmethod
    def from_verdict(cls, verdict: Verdict) -> Decision:
        """The caller-safe summary of a verdict: its findings' ids, not their evidence or explanations."""
        reasons = dict.fromkeys(f"{f.detector}:{f.rule}" for f in verdict.findings if not f.error)
        return cls(
            event_id=verdict.id,
            action=verdict.verdict,
            risk=verdict.risk,
            categories=verdict.categories,
            techniques=verdict.techniques,
            tactics=verdict.tactics,
            reasons=tuple(reasons),
            detector_errors=verdict.detector_errors,
        )


MessageLike = Message | Mapping[str, Any]


class Guard:
    """Screens conversations with one engine built from a `Runtime` (or a `Config`); safe to share."""

    def __init__(
        self,
        runtime: Runtime | Config | None = None,
        *,
        engine: Engine | None = None,
        limits: Limits | None = None,
    ) -> None:
        """`runtime`: a Runtime, or a Config to build one from (default: `Config()`, every detector).
        `engine`: reuse an engine built by `runtime.engine()` (e.g. one a server already holds).
        `limits`: bounds on one conversation (default: the ingest defaults `scan` uses)."""
        if runtime is None:
            runtime = Config()
        self.runtime = runtime if isinstance(runtime, Runtime) else Runtime.from_config(runtime)
        self.engine = engine if engine is not None else self.runtime.engine()
        self.limits = limits if limits is not None else Limits()

    def event(
        self, messages: Sequence[MessageLike], answer: Any = None, *, event_id: str | None = None
    ) -> Event:
        """The Event the guard screens: `messages` (OpenAI-style dicts or `Message`s) and, when given, the
        model's `answer` (text, content parts or an OpenAI response object). Raises `GuardInputError`."""
        if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence):
            raise GuardInputError("messages", f"expected a list of messages, got {type(messages).__name__}")
        if not messages:
            raise GuardInputError("messages", "no messages to screen")
        rows: list[dict[str, Any]] = []
        for i, m in enumerate(messages):
            if isinstance(m, Message):
                rows.append(m.model_dump(exclude_none=True))
            elif isinstance(m, Mapping):
                rows.append(dict(m))
            else:
                raise GuardInputError(
                    f"messages[{i}]", f"expected a message object, got {type(m).__name__}", index=i
                )
        record: dict[str, Any] = {"messages": rows}
        if answer is not None:
            record["response"] = answer
        record["id"] = event_id if event_id is not None else _derived_id(record)
        try:
            return event_from_record(record, source=_SOURCE, limits=self.limits)
        except RecordError as err:
            raise GuardInputError(err.field, err.reason, index=_index_of(err.field)) from err

    def verdict(
        self, messages: Sequence[MessageLike], answer: Any = None, *, event_id: str | None = None
    ) -> Verdict:
        """The engine's full verdict (findings with evidence: for the operator's log, not the caller)."""
        return self.engine.scan(self.event(messages, answer, event_id=event_id))

    def check(self, messages: Sequence[MessageLike], *, event_id: str | None = None) -> Decision:
        """Screen a request before it goes to the model."""
        return Decision.from_verdict(self.verdict(messages, event_id=event_id))

    def check_response(
        self, messages: Sequence[MessageLike], answer: Any, *, event_id: str | None = None
    ) -> Decision:
        """Screen the exchange once the model answered: the request and `answer` together, so the answer
        detectors (prompt leakage, jailbreak compliance, malware, phishing) see the system prompt too."""
        if answer is None:
            raise GuardInputError("response", "no answer to screen (use check() for the request alone)")
        return Decision.from_verdict(self.verdict(messages, answer, event_id=event_id))


def check(messages: Sequence[MessageLike], *, guard: Guard, event_id: str | None = None) -> Decision:
    """`guard.check(messages)`; the guard is required (this module holds none)."""
    return guard.check(messages, event_id=event_id)


def _derived_id(record: dict[str, Any]) -> str:
    """`guard-` + 20 hex digits of SHA-256 over the input: the same input gets the same id."""
    blob = json.dumps(record, sort_keys=True, default=str, ensure_ascii=False).encode(
        "utf-8", "surrogatepass"
    )
    return "guard-" + hashlib.sha256(blob).hexdigest()[:20]


def _index_of(field: str | None) -> int | None:
    if field and field.startswith("messages["):
        head = field[len("messages[") :].split("]", 1)[0]
        if head.isdigit():
            return int(head)
    return None
