"""Frozen records the knowledge base hands out; each is built on first access from one data-file row."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = [
    "CaseStudy",
    "Group",
    "MicrosoftActor",
    "Mitigation",
    "SearchHit",
    "Software",
    "Tactic",
    "Technique",
]

Domain = Literal["enterprise-attack", "atlas"]


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Technique(_Record):
    """An ATT&CK technique or sub-technique (T…) or an ATLAS technique (AML.T…)."""

    id: str
    name: str
    domain: Domain
    tactics: list[str]
    platforms: list[str]
    url: str
    stix_id: str | None
    parent: str | None
    deprecated: bool
    revoked: bool
    revoked_by: str | None
    attack_refs: list[str]
    maturity: str | None

    @property
    def is_subtechnique(self) -> bool:
        """True for a sub-technique (T1566.001, AML.T0051.000)."""
        return self.parent is not None

    @property
    def active(self) -> bool:
        """Neither deprecated nor revoked."""
        return not (self.deprecated or self.revoked)


class Tactic(_Record):
    """An ATT&CK tactic (TA…) or an ATLAS tactic (AML.TA…)."""

    id: str
    name: str
    shortname: str | None
    domain: Domain
    url: str
    stix_id: str | None
    attack_refs: list[str]


class Group(_Record):
    """An ATT&CK group (G…) with its Microsoft name, origin and "uses" edges."""

    id: str
    name: str
    aliases: list[str]
    microsoft_name: str | None
    origin: str | None
    url: str
    stix_id: str
    deprecated: bool
    revoked: bool
    revoked_by: str | None
    techniques: list[str]
    software: list[str]
    other_names: list[str]

    @property
    def active(self) -> bool:
        """Neither deprecated nor revoked."""
        return not (self.deprecated or self.revoked)


class Software(_Record):
    """An ATT&CK software entry (S…): malware or tool."""

    id: str
    name: str
    aliases: list[str]
    type: Literal["malware", "tool"]
    platforms: list[str]
    url: str
    stix_id: str
    deprecated: bool
    revoked: bool
    revoked_by: str | None

    @property
    def active(self) -> bool:
        """Neither deprecated nor revoked."""
        return not (self.deprecated or self.revoked)


class Mitigation(_Record):
    """An ATT&CK mitigation (M…) or an ATLAS mitigation (AML.M…) with the techniques it mitigates."""

    id: str
    name: str
    domain: Domain
    url: str
    stix_id: str | None
    deprecated: bool
    techniques: list[str]


class CaseStudy(_Record):
    """An ATLAS case study (AML.CS…) with the techniques its procedure uses."""

    id: str
    name: str
    url: str
    techniques: list[str]


class MicrosoftActor(_Record):
    """One actor of Microsoft's naming map, with the ATT&CK group it stands for when there is one."""

    name: str
    family: str | None
    kind: str | None
    origin: str | None
    motivation: str | None
    other_names: list[str]
    group_id: str | None


class SearchHit(_Record):
    """One fuzzy-search result."""

    kind: str
    id: str
    name: str
    score: float
    matched: str
