"""Threat-actor profiles: curated attribution signals plus a minimal profile for every ATT&CK group."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from stormwatch.errors import KnowledgeBaseError, UnknownIdError
from stormwatch.kb.taxonomy import (
    ATLAS_TECHNIQUE_PATTERN,
    ATTACK_TECHNIQUE_PATTERN,
    DATA_DIR,
    SLUG_PATTERN,
    Taxonomy,
    YamlDocument,
    closest,
    load_taxonomy,
    read_yaml_document,
)

__all__ = [
    "ACTORS_PATH",
    "ActiveHours",
    "ActorFile",
    "ActorProfile",
    "ActorRegistry",
    "InterestTheme",
    "LlmTtpObservation",
    "SourceRef",
    "TechniqueRef",
    "load_actor_profiles",
    "normalize_name",
    "profiles_for_attack_groups",
]

ACTORS_PATH = DATA_DIR / "actors.yaml"
GROUP_ID_PATTERN = r"^G\d{4}$"
_TECHNIQUE_RE = re.compile(rf"{ATTACK_TECHNIQUE_PATTERN}|{ATLAS_TECHNIQUE_PATTERN}")
_GROUP_RE = re.compile(GROUP_ID_PATTERN)
_NAME_NOISE = re.compile(r"[\s\-_.'’]+")

ProfileKind = Literal["tracked-actor", "generic", "attack-group"]
Motivation = Literal["espionage", "destruction", "financial", "influence", "hacktivism", "unknown"]
Basis = Literal["llm-report", "public-reporting", "attack-group"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def normalize_name(name: str) -> str:
    """Look-up key for actor names: case-folded, without spaces, hyphens, dots or underscores."""
    return _NAME_NOISE.sub("", name.casefold())


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SourceRef(_Frozen):
    """A public report or reference a profile relies on."""

    title: str = Field(min_length=3, max_length=300)
    publisher: str | None = None
    date: str | None = Field(default=None, pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$")
    url: str | None = Field(default=None, pattern=r"^https://\S+$", max_length=500)


class LlmTtpObservation(_Frozen):
    """An LLM-themed TTP (taxonomy slug) observed for the actor, with a one-line paraphrase."""

    slug: str = Field(pattern=SLUG_PATTERN)
    note: str = Field(min_length=3, max_length=300)


class TechniqueRef(_Frozen):
    """An ATT&CK or ATLAS technique tied to the profile and where the tie comes from."""

    id: str = Field(pattern=rf"{ATTACK_TECHNIQUE_PATTERN}|{ATLAS_TECHNIQUE_PATTERN}")
    basis: Basis
    note: str | None = Field(default=None, max_length=300)


class InterestTheme(_Frozen):
    """A targeting theme with lowercase keyword phrases usable for matching prompt text."""

    theme: str = Field(min_length=3, max_length=120)
    keywords: tuple[str, ...] = Field(min_length=1, max_length=64)

    @field_validator("keywords")
    @classmethod
    def _lowercase(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        """Keywords are stored case-folded and stripped; empty ones are refused."""
        out = tuple(k.strip().casefold() for k in value)
        if any(not k for k in out):
            raise ValueError("empty keyword")
        return out


class ActiveHours(_Frozen):
    """An assumed working window in UTC: [start, end) hours on the listed UTC weekdays."""

    start: int = Field(ge=0, le=23)
    end: int = Field(ge=1, le=24)
    days: tuple[Weekday, ...] = Field(min_length=1, max_length=7)
    assumption: str = Field(min_length=3, max_length=300)

    @model_validator(mode="after")
    def _check(self) -> ActiveHours:
        """The window is not empty."""
        if self.start == self.end % 24:
            raise ValueError("start and end are the same hour")
        return self

    def contains(self, when: datetime) -> bool:
        """Whether a timezone-aware (or UTC-naive) time falls inside the window."""
        utc = when.astimezone(UTC) if when.tzinfo else when
        if _WEEKDAYS[utc.weekday()] not in self.days:
            return False
        hour = utc.hour
        if self.start < self.end:
            return self.start <= hour < self.end
        return hour >= self.start or hour < self.end  # window wraps past midnight UTC


class ActorProfile(_Frozen):
    """Everything Stormwatch holds about one actor for attribution."""

    name: str = Field(min_length=2, max_length=120)
    profile_kind: ProfileKind
    microsoft_name: str | None = None
    aliases: tuple[str, ...] = ()
    origin: str | None = None
    motivation: Motivation = "unknown"
    attack_group_id: str | None = Field(default=None, pattern=GROUP_ID_PATTERN)
    related_attack_group_ids: tuple[str, ...] = ()
    attack_group_note: str | None = Field(default=None, max_length=400)
    observed_llm_use: bool = False
    llm_ttps: tuple[LlmTtpObservation, ...] = ()
    techniques: tuple[TechniqueRef, ...] = ()
    interests: tuple[InterestTheme, ...] = ()
    languages: tuple[str, ...] = ()
    target_languages: tuple[str, ...] = ()
    active_hours_utc: ActiveHours | None = None
    sectors: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    notes: str | None = Field(default=None, max_length=600)
    sources: tuple[SourceRef, ...] = ()

    @field_validator("languages", "target_languages")
    @classmethod
    def _iso639(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        """Languages are ISO 639-1 codes."""
        for code in value:
            if not re.fullmatch(r"[a-z]{2}", code):
                raise ValueError(f"{code!r} is not an ISO 639-1 language code")
        return value

    @field_validator("related_attack_group_ids")
    @classmethod
    def _group_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        """Related groups are ATT&CK group ids."""
        for gid in value:
            if not _GROUP_RE.fullmatch(gid):
                raise ValueError(f"{gid!r} is not an ATT&CK group id (G0000)")
        return value

    @model_validator(mode="after")
    def _check(self) -> ActorProfile:
        """No repeated slugs or technique ids; an observed LLM use names its TTPs and sources."""
        slugs = [t.slug for t in self.llm_ttps]
        if len(set(slugs)) != len(slugs):
            raise ValueError("llm_ttps repeats a slug")
        ids = [t.id for t in self.techniques]
        if len(set(ids)) != len(ids):
            raise ValueError("techniques repeats an id")
        if self.observed_llm_use and not (self.llm_ttps and self.sources):
            raise ValueError("observed_llm_use is true but llm_ttps or sources is empty")
        return self

    @property
    def names(self) -> tuple[str, ...]:
        """Name, Microsoft name, aliases and ATT&CK group ids: every string this profile answers to."""
        out = [self.name]
        if self.microsoft_name:
            out.append(self.microsoft_name)
        out.extend(self.aliases)
        out.extend(g for g in (self.attack_group_id, *self.related_attack_group_ids) if g)
        seen: set[str] = set()
        unique = []
        for n in out:
            key = normalize_name(n)
            if key not in seen:
                seen.add(key)
                unique.append(n)
        return tuple(unique)

    @property
    def group_ids(self) -> tuple[str, ...]:
        """The ATT&CK group id and any related group ids."""
        return tuple(g for g in (self.attack_group_id, *self.related_attack_group_ids) if g)

    @property
    def technique_ids(self) -> frozenset[str]:
        """Every technique id tied to the profile."""
        return frozenset(t.id for t in self.techniques)

    @property
    def llm_ttp_slugs(self) -> tuple[str, ...]:
        """Taxonomy slugs observed for the actor."""
        return tuple(t.slug for t in self.llm_ttps)

    @property
    def keywords(self) -> tuple[str, ...]:
        """All interest keywords, flattened, without repeats."""
        return tuple(dict.fromkeys(k for theme in self.interests for k in theme.keywords))


class ActorFile(_Frozen):
    """The on-disk shape of an actor-profile YAML file."""

    version: int = 1
    references: dict[str, SourceRef] = Field(default_factory=dict)
    actors: tuple[ActorProfile, ...] = Field(min_length=1)


# --------------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------------


class ActorRegistry:
    """Read-only actor profiles with case-insensitive look-up by name, alias or ATT&CK group id.

    Precedence when profiles share a name: curated profiles (tracked-actor, generic) first, then an ATT&CK
    group's own name or id, then other groups' aliases. With strict=True any shared name is an error;
    otherwise a name shared at equal precedence becomes ambiguous and `get` refuses it, listing candidates.
    """

    def __init__(self, profiles: Iterable[ActorProfile], *, strict: bool = True) -> None:
        self._profiles: tuple[ActorProfile, ...] = tuple(profiles)
        self._index: dict[str, tuple[int, ActorProfile]] = {}
        self._ambiguous: dict[str, tuple[int, list[str]]] = {}
        for profile in self._profiles:
            own = {normalize_name(n) for n in (profile.name, *profile.group_ids)}
            for name in profile.names:
                key = normalize_name(name)
                self._add(key, profile, self._rank(profile, key in own), strict=strict)

    @staticmethod
    def _rank(profile: ActorProfile, own_name: bool) -> int:
        # Curated names beat everything; a group's own name or id beats another group's alias for it.
        if profile.profile_kind != "attack-group":
            return 2
        return 1 if own_name else 0

    def _add(self, key: str, profile: ActorProfile, rank: int, *, strict: bool) -> None:
        if key in self._ambiguous:
            held_rank, names = self._ambiguous[key]
            if rank > held_rank:
                del self._ambiguous[key]
                self._index[key] = (rank, profile)
            elif rank == held_rank:
                names.append(profile.name)
            return
        held = self._index.get(key)
        if held is None or held[1] is profile:
            self._index[key] = (rank, profile) if held is None else held
            return
        if strict:
            raise KnowledgeBaseError(
                f"actor name {key!r} is used by both {held[1].name!r} and {profile.name!r}"
            )
        if rank > held[0]:
            self._index[key] = (rank, profile)
        elif rank == held[0]:
            del self._index[key]
            self._ambiguous[key] = (rank, [held[1].name, profile.name])

    def __len__(self) -> int:
        return len(self._profiles)

    def __iter__(self) -> Iterator[ActorProfile]:
        return iter(self._profiles)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and normalize_name(name) in self._index

    def get(self, name_or_alias: str) -> ActorProfile:
        """The profile for a name, alias or group id (case-insensitive); UnknownIdError with close matches."""
        key = normalize_name(name_or_alias)
        found = self._index.get(key)
        if found is not None:
            return found[1]
        if key in self._ambiguous:
            raise UnknownIdError(
                "actor (ambiguous name)", name_or_alias, sorted(set(self._ambiguous[key][1]))
            )
        choices = {n: None for p in self._profiles for n in p.names}
        raise UnknownIdError("actor", name_or_alias, closest(name_or_alias, choices))

    def find(self, name_or_alias: str) -> ActorProfile | None:
        """Like `get`, but None when the name is unknown or ambiguous."""
        found = self._index.get(normalize_name(name_or_alias))
        return None if found is None else found[1]

    def all(self) -> tuple[ActorProfile, ...]:
        """Every profile, curated ones first, in file order."""
        return self._profiles

    def observed_llm_users(self) -> tuple[ActorProfile, ...]:
        """Profiles whose sources report LLM use."""
        return tuple(p for p in self._profiles if p.observed_llm_use)

    def by_group_id(self, group_id: str) -> ActorProfile | None:
        """The profile for an ATT&CK group id (primary or related), if any."""
        wanted = group_id.strip().upper()
        return next((p for p in self._profiles if wanted in p.group_ids), None)

    def with_attack_groups(self, kb: object) -> ActorRegistry:
        """A registry that adds every ATT&CK group of `kb`: curated profiles gain their groups' techniques,
        every other group gets a minimal profile (see profiles_for_attack_groups)."""
        groups = {g.attack_group_id: g for g in profiles_for_attack_groups(kb) if g.attack_group_id}
        merged: list[ActorProfile] = []
        claimed: set[str] = set()
        for profile in self._profiles:
            extra: list[TechniqueRef] = []
            have = set(profile.technique_ids)
            for gid in profile.group_ids:
                claimed.add(gid)
                group = groups.get(gid)
                if group is None:
                    continue
                for ref in group.techniques:
                    if ref.id not in have:
                        have.add(ref.id)
                        extra.append(ref)
            merged.append(profile.model_copy(update={"techniques": profile.techniques + tuple(extra)}))
        merged.extend(g for gid, g in groups.items() if gid not in claimed)
        return ActorRegistry(merged, strict=False)


# --------------------------------------------------------------------------------------------------
# Profiles from the ATT&CK knowledge base
# --------------------------------------------------------------------------------------------------


def _as_str_list(value: object) -> list[str]:
    if value is None or isinstance(value, str):
        return [value] if isinstance(value, str) else []
    if isinstance(value, Iterable):
        return [item if isinstance(item, str) else str(getattr(item, "id", item)) for item in value]
    return []


def _kb_groups(kb: object) -> list[object]:
    """Group records from the kb: `kb.groups()` (a method or attribute; a list, iterator or mapping)."""
    attr = getattr(kb, "groups", None)
    if attr is None:
        raise KnowledgeBaseError(
            "the knowledge base has no `groups` listing; profiles_for_attack_groups needs "
            "kb.groups() -> Iterable[Group] with .id .name .aliases .microsoft_name .origin .techniques"
        )
    items = attr() if callable(attr) else attr
    if isinstance(items, Mapping):
        items = items.values()
    if not isinstance(items, Iterable):
        raise KnowledgeBaseError(f"kb.groups gave {type(items).__name__}, not an iterable of groups")
    return list(items)


def _motivation_from_origin(origin: str | None) -> Motivation:
    text = (origin or "").casefold()
    if "financ" in text:
        return "financial"
    if "influence" in text:
        return "influence"
    return "unknown"


def profiles_for_attack_groups(kb: object) -> list[ActorProfile]:
    """A minimal profile (group id, names, Microsoft name, origin, techniques) for every ATT&CK group in kb.

    Needs `kb.groups()` yielding records with `.id .name .aliases .microsoft_name .origin .techniques`
    (techniques as ids or objects with `.id`) and optionally `.other_names`; revoked or deprecated groups
    (`.revoked`/`.deprecated` true) are skipped. Missing optional attributes are tolerated.
    """
    out: list[ActorProfile] = []
    for group in _kb_groups(kb):
        gid = str(getattr(group, "id", ""))
        if (
            not _GROUP_RE.fullmatch(gid)
            or getattr(group, "revoked", False)
            or getattr(group, "deprecated", False)
        ):
            continue
        name = str(getattr(group, "name", "") or gid)
        microsoft_name = getattr(group, "microsoft_name", None)
        seen = {normalize_name(name), normalize_name(gid)}
        aliases: list[str] = []
        for alias in [
            *([microsoft_name] if microsoft_name else []),
            *_as_str_list(getattr(group, "aliases", ())),
            *_as_str_list(getattr(group, "other_names", ())),  # vendor names from Microsoft's mapping
        ]:
            key = normalize_name(alias)
            if key and key not in seen:
                seen.add(key)
                aliases.append(alias)
        techniques = tuple(
            TechniqueRef(id=t, basis="attack-group")
            for t in dict.fromkeys(_as_str_list(getattr(group, "techniques", ())))
            if _TECHNIQUE_RE.fullmatch(t)
        )
        origin = getattr(group, "origin", None)
        out.append(
            ActorProfile(
                name=name,
                profile_kind="attack-group",
                microsoft_name=microsoft_name if isinstance(microsoft_name, str) else None,
                aliases=tuple(a for a in aliases if a != microsoft_name),
                origin=origin if isinstance(origin, str) else None,
                motivation=_motivation_from_origin(origin if isinstance(origin, str) else None),
                attack_group_id=gid,
                techniques=techniques,
                sources=(
                    SourceRef(
                        title=f"MITRE ATT&CK group {gid}", url=f"https://attack.mitre.org/groups/{gid}/"
                    ),
                ),
            )
        )
    return out


# --------------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------------


def _read_actor_file(path: Path) -> tuple[YamlDocument, ActorFile]:
    doc = read_yaml_document(path)
    return doc, doc.validate(ActorFile)


def _check_names_unique(entries: list[tuple[YamlDocument, int, ActorProfile]]) -> None:
    owner: dict[str, str] = {}
    for doc, index, profile in entries:
        for name in profile.names:
            key = normalize_name(name)
            if key in owner and owner[key] != profile.name:
                raise doc.error(
                    f"name or alias {name!r} is already used by {owner[key]!r}", ("actors", index, "aliases")
                )
            owner[key] = profile.name


def _check_slugs(entries: list[tuple[YamlDocument, int, ActorProfile]], taxonomy: Taxonomy) -> None:
    for doc, index, profile in entries:
        for j, obs in enumerate(profile.llm_ttps):
            if obs.slug not in taxonomy:
                hint = closest(obs.slug, taxonomy.slugs())
                raise doc.error(
                    f"unknown taxonomy slug {obs.slug!r}" + (f"; closest: {', '.join(hint)}" if hint else ""),
                    ("actors", index, "llm_ttps", j, "slug"),
                )


def _build(path: Path, extra: Path | None, taxonomy: Taxonomy) -> ActorRegistry:
    doc, parsed = _read_actor_file(path)
    entries = [(doc, i, p) for i, p in enumerate(parsed.actors)]
    if extra is not None:
        # An overlay replaces profiles with the same (normalised) name and appends new ones.
        extra_doc, extra_parsed = _read_actor_file(extra)
        for i, profile in enumerate(extra_parsed.actors):
            key = normalize_name(profile.name)
            entries = [e for e in entries if normalize_name(e[2].name) != key or e[0] is extra_doc]
            entries.append((extra_doc, i, profile))
    _check_names_unique(entries)
    _check_slugs(entries, taxonomy)
    return ActorRegistry((p for _doc, _i, p in entries), strict=True)


@functools.lru_cache(maxsize=8)
def _load_cached(path: str, extra: str | None) -> ActorRegistry:
    return _build(Path(path), None if extra is None else Path(extra), load_taxonomy())


def load_actor_profiles(
    path: str | Path | None = None, *, extra: str | Path | None = None, taxonomy: Taxonomy | None = None
) -> ActorRegistry:
    """Load the packaged actor profiles (or `path`), with an optional overlay file; slugs are checked
    against `taxonomy` (default: the packaged taxonomy). Cached when no taxonomy is passed."""
    base = Path(path) if path is not None else ACTORS_PATH
    extra_path = None if extra is None else Path(extra)
    if taxonomy is not None:
        return _build(base, extra_path, taxonomy)
    return _load_cached(str(base.resolve()), None if extra_path is None else str(extra_path.resolve()))
