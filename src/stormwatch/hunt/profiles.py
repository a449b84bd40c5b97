"""Actor profiles the hunt scores clusters against: the knowledge base's, completed by built-in signals.

The five actors of the Microsoft/OpenAI report (February 2024) carry LLM-themed TTPs, interest and
targeting themes, languages and a likely working-hours UTC offset, stated here as data in our own words.
When `stormwatch.kb.actors.load_actor_profiles()` is available its fields take precedence and the
built-in values only fill gaps. Every other ATT&CK group is scored by technique overlap alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any


@dataclass(frozen=True)
class ActorProfile:
    """What we expect a known actor's LLM use to look like."""

    name: str
    group_id: str | None = None
    llm_ttps: tuple[str, ...] = ()
    interests: tuple[str, ...] = ()  # lower-case phrases; a prompt "mentions" one when it contains it
    languages: tuple[str, ...] = ()
    utc_offsets: tuple[float, ...] = ()
    techniques: frozenset[str] = field(default_factory=frozenset)
    llm_profile: bool = True  # False: a tracked group known only by its ATT&CK techniques


BUILTIN: tuple[ActorProfile, ...] = (
    ActorProfile(
        name="Forest Blizzard",
        group_id="G0007",
        llm_ttps=(
            "llm-informed-reconnaissance",
            "llm-enhanced-scripting",
            "llm-enhanced-anomaly-detection-evasion",
        ),
        interests=(
            "satellite",
            "radar",
            "satcom",
            "спутник",
            "радар",
            "ukrain",
            "nato",
            "defence ministr",
            "armed forces",
            "military",
        ),
        languages=("ru", "en"),
        utc_offsets=(3.0,),
    ),
    ActorProfile(
        name="Emerald Sleet",
        group_id="G0094",
        llm_ttps=(
            "llm-informed-reconnaissance",
            "llm-supported-social-engineering",
            "llm-assisted-vulnerability-research",
            "llm-enhanced-scripting",
        ),
        interests=(
            "north korea",
            "pyongyang",
            "korean",
            "think tank",
            "sanctions",
            "nuclear",
            "follina",
            "cve-2022-30190",
            "북한",
            "전문가",
            "inter-korean",
        ),
        languages=("ko", "en"),
        utc_offsets=(9.0,),
    ),
    ActorProfile(
        name="Crimson Sandstorm",
        group_id="G1012",
        llm_ttps=(
            "llm-supported-social-engineering",
            "llm-enhanced-scripting",
            "llm-aided-development",
            "llm-enhanced-anomaly-detection-evasion",
        ),
        interests=(
            "feminist",
            "development agency",
            "women's rights",
            "aid worker",
            "defence industry",
            "defense industry",
            "windows defender",
            "android app",
            "scrape",
            "سازمان توسعه",
        ),
        languages=("fa", "en"),
        utc_offsets=(3.5,),
    ),
    ActorProfile(
        name="Charcoal Typhoon",
        group_id="G1006",
        llm_ttps=(
            "llm-informed-reconnaissance",
            "llm-enhanced-scripting",
            "llm-supported-social-engineering",
            "llm-refined-operational-command",
            "llm-aided-technical-translation",
        ),
        interests=(
            "taiwan",
            "thailand",
            "mongolia",
            "malaysia",
            "france",
            "nepal",
            "cybersecurity tools",
            "security products",
            "oppose",
            "网络安全",
            "反对",
        ),
        languages=("zh", "en"),
        utc_offsets=(8.0,),
    ),
    ActorProfile(
        name="Salmon Typhoon",
        group_id=None,
        llm_ttps=(
            "llm-informed-reconnaissance",
            "llm-enhanced-scripting",
            "llm-aided-technical-translation",
            "llm-enhanced-anomaly-detection-evasion",
            "llm-refined-operational-command",
        ),
        interests=(
            "intelligence agenc",
            "intelligence service",
            "defense contractor",
            "defence contractor",
            "threat actors",
            "cryptograph",
            "hypersonic",
            "jamming",
            "officials",
            "translate",
            "翻译",
            "负责人",
            "技术论文",
        ),
        languages=("zh", "en"),
        utc_offsets=(8.0,),
    ),
)


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Mapping):
        value = list(value)
    if isinstance(value, Iterable):
        return tuple(str(v) for v in value if v)
    return ()


def _offsets(value: Any) -> tuple[float, ...]:
    out: list[float] = []
    for v in value if isinstance(value, list | tuple) else [value]:
        if isinstance(v, int | float):
            out.append(float(v))
        elif isinstance(v, str):
            s = v.upper().replace("UTC", "").replace(":30", ".5").strip() or "0"
            try:
                out.append(float(s))
            except ValueError:
                continue
    return tuple(out)


def _from_kb_profile(raw: Any) -> ActorProfile | None:
    name = _get(raw, "microsoft_name") or _get(raw, "name")
    if not name:
        return None
    interests = (
        _strings(_get(raw, "interests")) + _strings(_get(raw, "targeting")) + _strings(_get(raw, "keywords"))
    )
    hours = _get(raw, "utc_offsets") or _get(raw, "utc_offset") or _get(raw, "active_hours_utc_offset") or []
    return ActorProfile(
        name=str(name),
        group_id=_get(raw, "attack_group_id") or _get(raw, "group_id"),
        llm_ttps=_strings(_get(raw, "llm_ttps")),
        interests=tuple(s.lower() for s in interests),
        languages=_strings(_get(raw, "languages")),
        utc_offsets=_offsets(hours),
        techniques=frozenset(_strings(_get(raw, "techniques"))),
    )


def _merge(base: ActorProfile, extra: ActorProfile) -> ActorProfile:
    return replace(
        base,
        group_id=extra.group_id or base.group_id,
        llm_ttps=tuple(dict.fromkeys(extra.llm_ttps + base.llm_ttps)),
        interests=tuple(dict.fromkeys(extra.interests + base.interests)),
        languages=extra.languages or base.languages,
        utc_offsets=extra.utc_offsets or base.utc_offsets,
        techniques=extra.techniques | base.techniques,
    )


def _kb_profiles() -> list[ActorProfile]:
    try:
        from stormwatch.kb.actors import load_actor_profiles  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return []
    try:
        raw = load_actor_profiles()
    except Exception:
        return []
    items = raw.values() if isinstance(raw, Mapping) else raw
    return [p for p in (_from_kb_profile(r) for r in items) if p is not None]


def _group_techniques(group_id: str | None) -> frozenset[str]:
    if not group_id:
        return frozenset()
    try:
        from stormwatch.kb import load_kb

        return frozenset(load_kb().group(group_id).techniques)
    except Exception:
        return frozenset()


@cache
def load_profiles(include_groups: bool = True) -> tuple[ActorProfile, ...]:
    """Built-in LLM profiles merged with the KB's, plus (optionally) every ATT&CK group by techniques."""
    by_name = {p.name: p for p in BUILTIN}
    for p in _kb_profiles():
        by_name[p.name] = _merge(by_name[p.name], p) if p.name in by_name else p
    out = [replace(p, techniques=p.techniques | _group_techniques(p.group_id)) for p in by_name.values()]
    if include_groups:
        seen = {p.group_id for p in out if p.group_id}
        try:
            from stormwatch.kb import load_kb

            for g in load_kb().groups():
                if g.id in seen or not g.techniques:
                    continue
                out.append(
                    ActorProfile(
                        name=g.microsoft_name or g.name,
                        group_id=g.id,
                        techniques=frozenset(g.techniques),
                        llm_profile=False,
                    )
                )
        except Exception:
            pass
    return tuple(out)
