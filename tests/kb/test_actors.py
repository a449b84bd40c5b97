"""Contract, golden and loader tests for the threat-actor profiles."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from stormwatch.errors import ConfigError, KnowledgeBaseError, UnknownIdError
from stormwatch.kb import load_kb
from stormwatch.kb.actors import (
    ACTORS_PATH,
    ActiveHours,
    ActorRegistry,
    load_actor_profiles,
    normalize_name,
    profiles_for_attack_groups,
)
from stormwatch.kb.taxonomy import load_taxonomy

REPORT_ACTORS = {
    "Forest Blizzard": ("G0007", "Russia"),
    "Emerald Sleet": ("G0094", "North Korea"),
    "Crimson Sandstorm": ("G1012", "Iran"),
    "Charcoal Typhoon": ("G1006", "China"),
    "Salmon Typhoon": (None, "China"),
}
MICROSOFT_2024_URL = "https://www.microsoft.com/en-us/security/blog/2024/02/14/staying-ahead-of-threat-actors-in-the-age-of-ai/"


@pytest.fixture(scope="module")
def reg() -> ActorRegistry:
    return load_actor_profiles()


@pytest.fixture(scope="module")
def kb() -> Any:
    return load_kb()


def _actor_yaml(name: str, **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"name": name, "profile_kind": "tracked-actor", "aliases": [], "origin": "Nowhere"}
    base.update(overrides)
    return base


def _write(tmp_path: Path, name: str, actors: list[dict[str, Any]]) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"version": 1, "actors": actors}, sort_keys=False), encoding="utf-8")
    return path


def _kb_group_or_none(kb: Any, name: str) -> Any:
    try:
        return kb.group(name)
    except KnowledgeBaseError:
        return None


# --- contract -----------------------------------------------------------------------------------------


def test_every_id_exists_in_kb(reg: ActorRegistry, kb: Any) -> None:
    missing = [(p.name, i) for p in reg for i in (*p.technique_ids, *p.group_ids) if not kb.has_id(i)]
    assert missing == []


def test_no_cited_id_is_revoked_or_deprecated(reg: ActorRegistry, kb: Any) -> None:
    records = [(i, kb.technique(i)) for p in reg for i in p.technique_ids]
    records += [(g, kb.group(g)) for p in reg for g in p.group_ids]
    stale = [
        i for i, r in records if r.id != i or getattr(r, "revoked", False) or getattr(r, "deprecated", False)
    ]
    assert stale == []


def test_every_llm_ttp_is_a_taxonomy_slug(reg: ActorRegistry) -> None:
    slugs = set(load_taxonomy().slugs())
    assert [(p.name, s) for p in reg for s in p.llm_ttp_slugs if s not in slugs] == []


def test_group_ids_point_at_the_same_actor(reg: ActorRegistry, kb: Any) -> None:
    """Each curated profile shares at least one name with the ATT&CK group it cites."""
    mismatched = []
    for profile in reg:
        if profile.attack_group_id is None:
            continue
        group = kb.group(profile.attack_group_id)
        kb_names = {normalize_name(n) for n in (group.name, *group.aliases, group.microsoft_name or "")}
        ours = {normalize_name(n) for n in profile.names if n != profile.attack_group_id}
        if not kb_names & ours:
            mismatched.append((profile.name, profile.attack_group_id))
    assert mismatched == []


def test_null_group_ids_are_explained_and_still_absent_from_kb(reg: ActorRegistry, kb: Any) -> None:
    """Salmon Typhoon has no ATT&CK group today; fail when one appears so the profile gets updated."""
    for profile in reg:
        if profile.attack_group_id is not None or profile.profile_kind != "tracked-actor":
            continue
        assert profile.attack_group_note, profile.name
        for name in profile.names:
            group = _kb_group_or_none(kb, name)
            if group is not None:
                assert normalize_name(name) not in {normalize_name(n) for n in (group.name, *group.aliases)}


def test_report_actors_are_complete(reg: ActorRegistry) -> None:
    for name, (group_id, origin) in REPORT_ACTORS.items():
        p = reg.get(name)
        assert (p.attack_group_id, p.origin, p.microsoft_name) == (group_id, origin, name)
        assert p.observed_llm_use
        assert p.llm_ttps and p.interests and p.languages and p.sectors and p.regions
        assert p.active_hours_utc is not None and p.active_hours_utc.assumption
        assert MICROSOFT_2024_URL in {s.url for s in p.sources}
        assert (
            "llm-informed-reconnaissance" in p.llm_ttp_slugs
            or "llm-supported-social-engineering" in p.llm_ttp_slugs
        )
    others = [p for p in reg if p.name not in REPORT_ACTORS]
    assert others and not any(p.observed_llm_use for p in others)
    assert {p.name for p in reg.observed_llm_users()} == set(REPORT_ACTORS)


# --- golden values --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "alias", ["APT28", "apt28", "Fancy Bear", "STRONTIUM", "forest blizzard", "g0007", "Sofacy"]
)
def test_forest_blizzard_aliases_resolve(reg: ActorRegistry, alias: str) -> None:
    p = reg.get(alias)
    assert (p.name, p.attack_group_id, p.origin) == ("Forest Blizzard", "G0007", "Russia")


def test_golden_profiles(reg: ActorRegistry) -> None:
    fb = reg.get("Forest Blizzard")
    assert {"llm-informed-reconnaissance", "llm-enhanced-scripting"} <= set(fb.llm_ttp_slugs)
    assert "satellite communication" in fb.keywords and "radar imaging" in fb.keywords
    assert "ru" in fb.languages
    es = reg.get("Kimsuky")
    assert es.name == "Emerald Sleet"
    assert "cve-2022-30190" in es.keywords
    assert "llm-assisted-vulnerability-research" in es.llm_ttp_slugs
    assert reg.get("Tortoise Shell").name == "Crimson Sandstorm" == reg.get("tortoiseshell").name
    assert reg.get("Imperial Kitten").name == "Crimson Sandstorm"
    assert reg.get("Aquatic Panda").name == "Charcoal Typhoon"
    assert reg.get("G0143").name == "Charcoal Typhoon"
    salmon = reg.get("APT4")
    assert (salmon.name, salmon.attack_group_id) == ("Salmon Typhoon", None)
    assert "llm-aided-technical-translation" in salmon.llm_ttp_slugs
    assert reg.by_group_id("g1012") is reg.get("CURIUM")
    assert reg.find("nobody at all") is None


def test_unknown_actor_names_close_matches(reg: ActorRegistry) -> None:
    with pytest.raises(UnknownIdError) as info:
        reg.get("Forrest Blizard")
    assert "Forest Blizzard" in info.value.suggestions


def test_active_hours() -> None:
    hours = load_actor_profiles().get("Forest Blizzard").active_hours_utc
    assert hours is not None
    assert hours.contains(datetime(2024, 2, 13, 8, 0, tzinfo=UTC))  # Tuesday
    assert not hours.contains(datetime(2024, 2, 13, 20, 0, tzinfo=UTC))
    assert not hours.contains(datetime(2024, 2, 17, 8, 0, tzinfo=UTC))  # Saturday
    night = ActiveHours(start=22, end=6, days=("mon",), assumption="wraps midnight")
    assert night.contains(datetime(2024, 2, 12, 23, 0)) and night.contains(datetime(2024, 2, 12, 2, 0))
    assert not night.contains(datetime(2024, 2, 12, 12, 0))


# --- ATT&CK groups -----------------------------------------------------------------------------------------


def _fake_group(gid: str, name: str, aliases: list[str], techniques: list[str], **kw: Any) -> SimpleNamespace:
    return SimpleNamespace(
        id=gid,
        name=name,
        aliases=aliases,
        techniques=techniques,
        microsoft_name=kw.get("microsoft_name"),
        origin=kw.get("origin"),
    )


def test_profiles_for_attack_groups_with_a_stand_in_kb(reg: ActorRegistry) -> None:
    fake = SimpleNamespace(
        groups=lambda: [
            _fake_group("G0007", "APT28", ["APT28", "Fancy Bear"], ["T1566.001", "T1059", "S0001"]),
            _fake_group(
                "G0900",
                "Alpha",
                ["Shared Alias"],
                ["T1003"],
                microsoft_name="Teal Tempest",
                origin="Financially motivated",
            ),
            _fake_group("G0901", "Beta", ["Shared Alias", "Fancy Bear"], ["T1005"]),
            SimpleNamespace(id="G0902", name="Gone", aliases=[], techniques=[], revoked=True),
        ]
    )
    profiles = profiles_for_attack_groups(fake)
    assert [p.attack_group_id for p in profiles] == ["G0007", "G0900", "G0901"]
    alpha = profiles[1]
    assert (alpha.microsoft_name, alpha.motivation, alpha.profile_kind) == (
        "Teal Tempest",
        "financial",
        "attack-group",
    )
    assert profiles[0].technique_ids == {"T1566.001", "T1059"}

    merged = reg.with_attack_groups(fake)
    fb = merged.get("APT28")
    assert fb.name == "Forest Blizzard" and "T1566.001" in fb.technique_ids
    assert {t.basis for t in fb.techniques if t.id == "T1566.001"} == {"attack-group"}
    assert merged.get("Teal Tempest").attack_group_id == "G0900"
    assert merged.get("Fancy Bear").name == "Forest Blizzard"  # curated profile wins over a group alias
    with pytest.raises(UnknownIdError) as info:
        merged.get("shared alias")
    assert set(info.value.suggestions) == {"Alpha", "Beta"}
    assert len(merged) == len(reg) + 2


def test_kb_without_groups_is_a_clear_error() -> None:
    with pytest.raises(KnowledgeBaseError, match="groups"):
        profiles_for_attack_groups(SimpleNamespace())


def test_every_attack_group_gets_a_profile(reg: ActorRegistry, kb: Any) -> None:
    merged = reg.with_attack_groups(kb)
    group_profiles = profiles_for_attack_groups(kb)
    assert len(group_profiles) > 150
    for gp in group_profiles:
        assert gp.attack_group_id is not None
        assert merged.by_group_id(gp.attack_group_id) is not None
    fb = merged.get("APT28")
    assert fb.name == "Forest Blizzard"
    assert len(fb.technique_ids) > 50  # the group's ATT&CK techniques were merged in
    oilrig = merged.get("OilRig")
    assert (oilrig.attack_group_id, oilrig.profile_kind) == ("G0049", "attack-group")


# --- loader ----------------------------------------------------------------------------------------------


def test_duplicate_alias_is_rejected_with_file_and_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "dup.yaml", [_actor_yaml("One", aliases=["Shared"]), _actor_yaml("Two", aliases=["SHARED"])]
    )
    with pytest.raises(ConfigError) as info:
        load_actor_profiles(path)
    assert str(path.resolve()) in str(info.value)
    assert "already used by 'One'" in str(info.value)
    assert info.value.location is not None


def test_duplicate_name_is_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, "dup.yaml", [_actor_yaml("Same Name"), _actor_yaml("same-name")])
    with pytest.raises(ConfigError, match="already used"):
        load_actor_profiles(path)


def test_unknown_slug_is_rejected(tmp_path: Path) -> None:
    bad = _actor_yaml("One", llm_ttps=[{"slug": "llm-informed-recon", "note": "typo"}])
    path = _write(tmp_path, "slug.yaml", [bad])
    with pytest.raises(ConfigError, match="llm-informed-reconnaissance") as info:
        load_actor_profiles(path)
    assert "actors[0].llm_ttps[0].slug" in str(info.value)


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ({"attack_group_id": "APT28"}, "actors[0].attack_group_id"),
        ({"languages": ["russian"]}, "ISO 639-1"),
        ({"observed_llm_use": True}, "observed_llm_use"),
        ({"techniques": [{"id": "T1059", "basis": "rumour"}]}, "basis"),
        ({"active_hours_utc": {"start": 5, "end": 5, "days": ["mon"], "assumption": "x y z"}}, "same hour"),
    ],
)
def test_invalid_profile_is_a_located_config_error(
    tmp_path: Path, override: dict[str, Any], needle: str
) -> None:
    path = _write(tmp_path, "bad.yaml", [_actor_yaml("One", **override)])
    with pytest.raises(ConfigError) as info:
        load_actor_profiles(path)
    assert needle in str(info.value)
    assert str(path.resolve()) in str(info.value)


def test_malformed_yaml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("actors:\n  - name: 'unterminated\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_actor_profiles(path)
    assert str(path.resolve()) in str(info.value) and "invalid YAML" in str(info.value)


def test_overlay_replaces_and_adds(tmp_path: Path) -> None:
    extra = _write(
        tmp_path,
        "extra.yaml",
        [
            _actor_yaml("Forest Blizzard", aliases=["APT28"], origin="Russia", attack_group_id="G0007"),
            _actor_yaml("Storm-9999", aliases=["Test Cluster"]),
        ],
    )
    reg = load_actor_profiles(extra=extra)
    assert reg.get("APT28").llm_ttps == ()
    assert reg.get("test cluster").name == "Storm-9999"
    assert len(reg) == len(load_actor_profiles()) + 1
    assert load_actor_profiles() is load_actor_profiles()


def test_shipped_file_is_the_default() -> None:
    assert ACTORS_PATH.is_file()
    assert load_actor_profiles(ACTORS_PATH, taxonomy=load_taxonomy()).get("Salmon Typhoon").origin == "China"
