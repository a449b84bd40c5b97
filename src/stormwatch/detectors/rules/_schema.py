"""Pydantic models of a rule pack as an analyst writes it in YAML."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

Severity = Literal["low", "medium", "high", "critical"]
TurnRole = Literal["system", "user", "assistant", "tool", "developer", "any"]
RegexFlag = Literal["dotall", "multiline", "verbose", "ascii"]

RULE_ID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{2,63}$")
# Format-level check only; whether an id really exists is checked against the knowledge base at load.
TECHNIQUE_ID_RE = re.compile(r"^(?:TA\d{4}|T\d{4}(?:\.\d{3})?|AML\.TA?\d{4}(?:\.\d{3})?)$")


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class KeywordsPattern(_Strict):
    """Any of the keywords, case-insensitive and word-boundary aware; a trailing `*` matches a word prefix."""

    keywords: list[str] = Field(min_length=1)

    @field_validator("keywords")
    @classmethod
    def _non_empty(cls, value: list[str]) -> list[str]:
        for kw in value:
            core = kw.strip().rstrip("*").strip()
            if len(core) < 2:
                raise ValueError(f"keyword {kw!r} is too short (at least 2 characters before any '*')")
            if "*" in kw.strip()[:-1]:
                raise ValueError(f"keyword {kw!r}: '*' is only allowed at the end")
        return value


class RegexPattern(_Strict):
    """A Python regular expression, matched case-insensitively on the normalized text.

    It runs on RE2 (linear time), so lookarounds and backreferences are refused at load; for the common
    "not followed by" case write the lookahead's body as `unless_followed_by`: a match is dropped when that
    regex matches right where it ends.
    """

    regex: str = Field(min_length=1)
    flags: list[RegexFlag] = Field(default_factory=list)
    unless_followed_by: str | None = Field(default=None, min_length=1)


class YaraPattern(_Strict):
    """A YARA-X rule (a full `rule x { ... }` or just its `strings:`/`condition:` body) run on the text."""

    yara: str = Field(min_length=1)


class AllPattern(_Strict):
    """Every sub-pattern must match somewhere in the turn."""

    all: list[Pattern] = Field(min_length=1)


class AnyPattern(_Strict):
    """At least one sub-pattern must match."""

    any: list[Pattern] = Field(min_length=1)


class NearPattern(_Strict):
    """Every sub-pattern matches within `within` characters of the first one's match (in order if `ordered`)."""

    near: list[Pattern] = Field(min_length=2, max_length=4)
    within: int = Field(default=60, ge=0, le=2000)
    ordered: bool = False


def _pattern_kind(value: Any) -> str | None:
    if isinstance(value, BaseModel):
        for kind, cls in _KINDS.items():
            if isinstance(value, cls):
                return kind
        return None
    if isinstance(value, dict):
        for kind in _KINDS:
            if kind in value:
                return kind
    return None


Pattern = Annotated[
    Annotated[KeywordsPattern, Tag("keywords")]
    | Annotated[RegexPattern, Tag("regex")]
    | Annotated[YaraPattern, Tag("yara")]
    | Annotated[AllPattern, Tag("all")]
    | Annotated[AnyPattern, Tag("any")]
    | Annotated[NearPattern, Tag("near")],
    Discriminator(
        _pattern_kind,
        custom_error_type="pattern_kind",
        custom_error_message="a pattern needs one of: keywords, regex, yara, all, any, near",
    ),
]

_KINDS: dict[str, type[BaseModel]] = {
    "keywords": KeywordsPattern,
    "regex": RegexPattern,
    "yara": YaraPattern,
    "all": AllPattern,
    "any": AnyPattern,
    "near": NearPattern,
}


class Example(_Strict):
    """An example text placed in a turn of the given role (default: the rule's first turn role)."""

    text: str = Field(min_length=1)
    role: Literal["system", "user", "assistant", "tool", "developer"] | None = None


def _coerce_examples(value: Any) -> Any:
    if isinstance(value, list):
        return [{"text": v} if isinstance(v, str) else v for v in value]
    return value


class Examples(_Strict):
    """Texts the rule must fire on (`positive`) and must stay silent on (`negative`)."""

    positive: list[Example] = Field(default_factory=list)
    negative: list[Example] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _strings_to_examples(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: _coerce_examples(v) for k, v in data.items()}
        return data


def _default_turns() -> list[TurnRole]:
    return ["user", "tool"]


class Rule(_Strict):
    """One detection rule."""

    id: str
    title: str = Field(min_length=1)
    description: str = Field(min_length=1)
    severity: Severity
    score: float = Field(ge=0.0, le=1.0)
    category: str = Field(min_length=1)
    techniques: list[str] = Field(default_factory=list)
    turns: list[TurnRole] = Field(default_factory=_default_turns, min_length=1)
    match: Literal["any", "all"] = "any"
    patterns: list[Pattern] = Field(min_length=1)
    exclude: list[Pattern] = Field(default_factory=list)
    examples: Examples = Field(default_factory=Examples)
    references: list[str] = Field(default_factory=list)
    enabled: bool = True

    @field_validator("id")
    @classmethod
    def _id_format(cls, value: str) -> str:
        if not RULE_ID_RE.match(value):
            raise ValueError(f"rule id {value!r} must match {RULE_ID_RE.pattern}")
        return value

    @field_validator("techniques")
    @classmethod
    def _technique_format(cls, value: list[str]) -> list[str]:
        bad = [t for t in value if not TECHNIQUE_ID_RE.match(t)]
        if bad:
            raise ValueError(f"not ATT&CK/ATLAS ids: {', '.join(bad)}")
        return value

    def roles(self) -> frozenset[str]:
        """The turn roles this rule looks at, with `any` expanded."""
        if "any" in self.turns:
            return frozenset({"system", "user", "assistant", "tool", "developer"})
        return frozenset(self.turns)


class PackInfo(_Strict):
    """Who a pack is and which version."""

    id: str = Field(min_length=1)
    version: str = Field(min_length=1)
    description: str = ""


class RulePack(_Strict):
    """A YAML rule pack: metadata, optional named keyword lists (`@name` in keywords) and rules."""

    pack: PackInfo
    vocabulary: dict[str, list[str]] = Field(default_factory=dict)
    rules: list[Rule] = Field(default_factory=list)


AllPattern.model_rebuild()
AnyPattern.model_rebuild()
NearPattern.model_rebuild()
Rule.model_rebuild()
RulePack.model_rebuild()
