"""The rules-as-data files of the answer detectors, validated and compiled to RE2 once per process."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from stormwatch.detectors.rules._re2 import UnsupportedRegex, compile_re2
from stormwatch.errors import ConfigError

DATA_DIR = Path(__file__).parent / "data"


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Indicator(_Strict):
    """One observable of a malware behaviour."""

    what: str
    w: float = Field(gt=0.0, le=1.0)
    re: str


class Behaviour(_Strict):
    """A malware behaviour: indicators whose weights add up, its category and ATT&CK techniques."""

    id: str
    name: str
    category: str
    techniques: tuple[str, ...]
    indicators: tuple[Indicator, ...] = Field(min_length=1)


class MalwareRules(_Strict):
    """malware.yaml."""

    version: int
    fire: float = Field(default=1.0, gt=0.0)
    prose_factor: float = Field(default=0.5, ge=0.0, le=1.0)
    behaviours: tuple[Behaviour, ...] = Field(min_length=1)


class Marker(_Strict):
    """A jailbreak compliance marker."""

    id: str
    score: float = Field(gt=0.0, le=1.0)
    lang: str
    re: str
    head: bool = False


class ComplianceRules(_Strict):
    """compliance.yaml."""

    version: int
    head_chars: int = Field(default=400, ge=1)
    markers: tuple[Marker, ...] = Field(min_length=1)


class PhishingRules(_Strict):
    """phishing.yaml: signal groups, each a list of regexes."""

    version: int
    groups: dict[str, tuple[str, ...]]


PHISHING_GROUPS = ("structure", "urgency", "credential", "money", "impersonation")


def _load(name: str) -> Any:
    path = DATA_DIR / name
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(str(path), f"cannot read: {exc}") from exc


def _compile(source: str, location: str, pattern: str) -> Any:
    try:
        return compile_re2(pattern)
    except UnsupportedRegex as exc:
        raise ConfigError(source, str(exc), location) from exc


def _validated(model: type[BaseModel], name: str) -> Any:
    try:
        return model.model_validate(_load(name))
    except ValidationError as exc:
        raise ConfigError(name, str(exc).splitlines()[0] + ": " + str(exc.errors()[0]["loc"])) from exc


@cache
def malware_rules() -> tuple[MalwareRules, tuple[tuple[Any, ...], ...]]:
    """The behaviours and, per behaviour, the compiled regex of each indicator."""
    rules: MalwareRules = _validated(MalwareRules, "malware.yaml")
    compiled = tuple(
        tuple(_compile("malware.yaml", f"{b.id}/{i.what}", i.re) for i in b.indicators)
        for b in rules.behaviours
    )
    return rules, compiled


@cache
def compliance_rules() -> tuple[ComplianceRules, tuple[Any, ...]]:
    """The markers and their compiled regexes."""
    rules: ComplianceRules = _validated(ComplianceRules, "compliance.yaml")
    return rules, tuple(_compile("compliance.yaml", f"{m.id}/{m.lang}", m.re) for m in rules.markers)


@cache
def phishing_rules() -> dict[str, tuple[Any, ...]]:
    """Compiled regexes per signal group."""
    rules: PhishingRules = _validated(PhishingRules, "phishing.yaml")
    missing = [g for g in PHISHING_GROUPS if g not in rules.groups]
    if missing:
        raise ConfigError("phishing.yaml", f"missing signal groups: {', '.join(missing)}")
    return {
        g: tuple(_compile("phishing.yaml", f"{g}[{k}]", p) for k, p in enumerate(pats))
        for g, pats in rules.groups.items()
    }
