"""Microsoft's naming taxonomy: every family parses into kind and origin or motivation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stormwatch.errors import UnknownIdError
from stormwatch.kb import ActorKind, load_kb, parse_actor_name
from stormwatch.kb.naming import FAMILIES, family_for


@pytest.mark.parametrize(
    ("name", "family", "kind", "origin"),
    [
        ("Forest Blizzard", "Blizzard", ActorKind.NATION_STATE, "Russia"),
        ("Charcoal Typhoon", "Typhoon", ActorKind.NATION_STATE, "China"),
        ("Peach Sandstorm", "Sandstorm", ActorKind.NATION_STATE, "Iran"),
        ("Emerald Sleet", "Sleet", ActorKind.NATION_STATE, "North Korea"),
        ("Plaid Rain", "Rain", ActorKind.NATION_STATE, "Lebanon"),
        ("Zigzag Hail", "Hail", ActorKind.NATION_STATE, "South Korea"),
        ("Marbled Dust", "Dust", ActorKind.NATION_STATE, "Türkiye"),
        ("Canvas Cyclone", "Cyclone", ActorKind.NATION_STATE, "Vietnam"),
        ("Daffodil Gust", "Gust", ActorKind.NATION_STATE, "United Arab Emirates"),
        ("Fallow Squall", "Squall", ActorKind.NATION_STATE, "Singapore"),
        ("Octo Tempest", "Tempest", ActorKind.FINANCIALLY_MOTIVATED, None),
        ("Caramel Tsunami", "Tsunami", ActorKind.PSOA, None),
        ("Taizi Flood", "Flood", ActorKind.INFLUENCE, None),
        ("Storm-0558", "Storm", ActorKind.EMERGING, None),
        ("storm 558", "Storm", ActorKind.EMERGING, None),
        ("CovertNetwork-1658", "CovertNetwork", ActorKind.COVERT_NETWORK, None),
        ("DEV-0537", "DEV", ActorKind.EMERGING, None),
    ],
)
def test_parse(name: str, family: str, kind: ActorKind, origin: str | None) -> None:
    parsed = parse_actor_name(name)
    assert (parsed.family, parsed.kind, parsed.origin) == (family, kind, origin)


def test_parse_normalises() -> None:
    assert parse_actor_name("  octo   TEMPEST ").name == "Octo Tempest"
    assert parse_actor_name("storm 558").name == "Storm-0558"
    assert parse_actor_name("Octo Tempest").motivation == "financially motivated"
    assert parse_actor_name("Caramel Tsunami").motivation == "private-sector offensive actor"
    assert parse_actor_name("Taizi Flood").motivation == "influence operations"


@pytest.mark.parametrize("name", ["APT28", "Fancy Bear", "Pawn Storm", "", "Forest Blizard", "Storm-"])
def test_non_microsoft_names_raise(name: str) -> None:
    with pytest.raises(UnknownIdError) as err:
        parse_actor_name(name)
    assert err.value.suggestions
    assert family_for(name) is None


def test_typo_suggests_the_right_family() -> None:
    with pytest.raises(UnknownIdError) as err:
        parse_actor_name("Forest Blizard")
    assert err.value.suggestions[0] == "Forest Blizzard"


def test_every_name_in_microsofts_map_parses() -> None:
    names = [a.name for a in load_kb().records("microsoft-actor")]
    assert len(names) == 166
    for name in names:
        parsed = parse_actor_name(name)
        assert parsed.family.lower() in FAMILIES


@given(
    adjective=st.text(alphabet=st.characters(min_codepoint=97, max_codepoint=122), min_size=1, max_size=12),
    family=st.sampled_from(
        [f.name for f in FAMILIES.values() if f.name not in {"Storm", "DEV", "CovertNetwork"}]
    ),
)
def test_any_adjective_family_name_parses(adjective: str, family: str) -> None:
    parsed = parse_actor_name(f"{adjective} {family.lower()}")
    assert parsed.family == family
    assert parsed.name == f"{adjective.capitalize()} {family}"


@given(number=st.integers(min_value=0, max_value=99999))
def test_any_storm_number_parses(number: int) -> None:
    parsed = parse_actor_name(f"Storm-{number:04d}")
    assert parsed.kind is ActorKind.EMERGING
    assert int(parsed.designation) == number
