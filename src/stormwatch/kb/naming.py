"""Microsoft's weather-themed threat-actor naming taxonomy: family → origin or motivation, as data."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from stormwatch.errors import UnknownIdError

__all__ = [
    "FAMILIES",
    "ActorKind",
    "ActorName",
    "Family",
    "family_for",
    "parse_actor_name",
]


class ActorKind(StrEnum):
    """The kind of actor a Microsoft family name stands for."""

    NATION_STATE = "nation-state"
    FINANCIALLY_MOTIVATED = "financially-motivated"
    PSOA = "psoa"
    INFLUENCE = "influence"
    EMERGING = "emerging"
    COVERT_NETWORK = "covert-network"


@dataclass(frozen=True, slots=True)
class Family:
    """One Microsoft family name and what it says about the actors that carry it."""

    name: str
    kind: ActorKind
    origin: str | None = None
    motivation: str | None = None
    source: str = "Microsoft threat actor naming (April 2023)"


_MS_MAP = "country given for every actor of this family in MicrosoftMapping.json"

# Microsoft's published families. The later ones (Gust, Squall, Vortex, Lightning) are not in the 2023 table;
# their origin is taken from the mapping file's "Origin/Threat" column where it states one.
FAMILIES: dict[str, Family] = {
    f.name.lower(): f
    for f in (
        Family("Blizzard", ActorKind.NATION_STATE, "Russia"),
        Family("Typhoon", ActorKind.NATION_STATE, "China"),
        Family("Sandstorm", ActorKind.NATION_STATE, "Iran"),
        Family("Sleet", ActorKind.NATION_STATE, "North Korea"),
        Family("Rain", ActorKind.NATION_STATE, "Lebanon"),
        Family("Hail", ActorKind.NATION_STATE, "South Korea"),
        Family("Dust", ActorKind.NATION_STATE, "Türkiye"),
        Family("Cyclone", ActorKind.NATION_STATE, "Vietnam"),
        Family("Gust", ActorKind.NATION_STATE, "United Arab Emirates", source=_MS_MAP),
        Family("Squall", ActorKind.NATION_STATE, "Singapore", source=_MS_MAP),
        Family("Vortex", ActorKind.NATION_STATE, "Pakistan", source=_MS_MAP),
        Family(
            "Lightning",
            ActorKind.NATION_STATE,
            None,
            source="family used in MicrosoftMapping.json; its origin is not stated there",
        ),
        Family("Tempest", ActorKind.FINANCIALLY_MOTIVATED, motivation="financially motivated"),
        Family("Tsunami", ActorKind.PSOA, motivation="private-sector offensive actor"),
        Family("Flood", ActorKind.INFLUENCE, motivation="influence operations"),
        Family("Storm", ActorKind.EMERGING, motivation="group in development (emerging or unknown)"),
        Family(
            "CovertNetwork",
            ActorKind.COVERT_NETWORK,
            motivation="covert network of compromised devices",
            source="designation used in MicrosoftMapping.json",
        ),
        Family(
            "DEV",
            ActorKind.EMERGING,
            motivation="group in development (pre-2023 designation)",
            source="Microsoft's designation for developing groups before April 2023",
        ),
    )
}

_NUMBERED = re.compile(r"^(storm|dev|covertnetwork)[-\s]?(\d{1,5})$", re.IGNORECASE)
_NAMED = re.compile(r"^([A-Za-zÀ-ÿ]+)\s+([A-Za-z]+)$")
_MAX_NAME = 200


class ActorName(BaseModel):
    """A parsed Microsoft actor name: family, kind, and origin or motivation."""

    model_config = ConfigDict(frozen=True)

    name: str
    designation: str
    family: str
    kind: ActorKind
    origin: str | None
    motivation: str | None


def family_for(name: str) -> Family | None:
    """The family of a Microsoft actor name, or None when the name does not follow the taxonomy."""
    try:
        return FAMILIES[parse_actor_name(name).family.lower()]
    except UnknownIdError:
        return None


def parse_actor_name(name: str) -> ActorName:
    """Parse a Microsoft actor name ('Forest Blizzard', 'Storm-0558', 'Octo Tempest') into its parts."""
    text = " ".join(name.split())[:_MAX_NAME]
    numbered = _NUMBERED.match(text)
    if numbered:
        family = FAMILIES[numbered.group(1).lower()]
        number = numbered.group(2).zfill(4)
        return ActorName(
            name=f"{family.name}-{number}",
            designation=number,
            family=family.name,
            kind=family.kind,
            origin=family.origin,
            motivation=family.motivation,
        )
    named = _NAMED.match(text)
    if named:
        family_key = named.group(2).lower()
        found = FAMILIES.get(family_key)
        if found is not None and family_key not in {"storm", "dev", "covertnetwork"}:
            adjective = named.group(1).capitalize()
            return ActorName(
                name=f"{adjective} {found.name}",
                designation=adjective,
                family=found.name,
                kind=found.kind,
                origin=found.origin,
                motivation=found.motivation,
            )
    raise UnknownIdError("Microsoft actor name", name, _closest_names(text))


def _closest_names(text: str) -> list[str]:
    """Well-formed names close to a malformed one: the same adjective with the nearest family names."""
    from rapidfuzz import fuzz, process

    words = text.split()
    adjective = words[0].capitalize() if len(words) == 2 else "<Adjective>"
    last = words[-1] if words else ""
    named = [f.name for f in FAMILIES.values() if f.name not in {"Storm", "DEV", "CovertNetwork"}]
    found = process.extract(last, named, scorer=fuzz.ratio, limit=3)
    return [f"{adjective} {family}" for family, _, _ in found] + ["Storm-####"]
