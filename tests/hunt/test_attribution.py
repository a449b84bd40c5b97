"""Attribution: ranked candidates with evidence; unattributed when nothing is close."""

from __future__ import annotations

from collections import Counter

from stormwatch.hunt.attribution import attribute_cluster, signals_of
from stormwatch.hunt.profiles import display_name, load_profiles


def _hours(offset: int) -> list[int]:
    hours = [0] * 24
    for local in range(9, 18):
        hours[(local - offset) % 24] += 10
    return hours


def test_forest_blizzard_like_cluster() -> None:
    sig = signals_of(
        Counter({"llm-informed-reconnaissance": 30, "llm-enhanced-scripting": 12}),
        Counter({"T1592": 3}),
        ["Explain how satellite communication protocols handle link encryption"] * 10
        + ["Summarize radar imaging systems of NATO logistics units"] * 5
        + ["Напиши скрипт PowerShell"] * 5,
        Counter({"en": 15, "ru": 5}),
        _hours(3),
    )
    ranked = attribute_cluster(sig, load_profiles())
    assert ranked and ranked[0].actor == "Forest Blizzard"
    assert ranked[0].group_id == "G0007"
    assert 0.0 <= ranked[0].score <= 1.0
    assert any(e.startswith("interests:") for e in ranked[0].evidence)


def test_unattributed_when_nothing_close() -> None:
    sig = signals_of(
        Counter({"fraud-scam": 40}), Counter(), ["Write ten fake reviews for a phone charger"] * 20,
        Counter({"en": 20}), _hours(1),
    )  # fmt: skip
    assert attribute_cluster(sig, load_profiles()) == []


def test_every_candidate_has_evidence() -> None:
    sig = signals_of(
        Counter({"llm-supported-social-engineering": 10, "llm-informed-reconnaissance": 10}),
        Counter({"T1566": 5}),
        ["List experts at a think tank who publish on North Korea sanctions"] * 10,
        Counter({"ko": 4, "en": 10}),
        _hours(9),
    )
    ranked = attribute_cluster(sig, load_profiles())
    assert ranked[0].actor == "Emerald Sleet"
    assert all(a.evidence for a in ranked)


def test_profiles_come_from_the_knowledge_base() -> None:
    profiles = load_profiles()
    names = {display_name(p) for p in profiles}
    assert {
        "Forest Blizzard",
        "Emerald Sleet",
        "Crimson Sandstorm",
        "Charcoal Typhoon",
        "Salmon Typhoon",
    } <= names
    assert sum(p.profile_kind == "attack-group" for p in profiles) > 50  # every tracked ATT&CK group


def test_attack_group_scored_by_technique_overlap_alone() -> None:
    group = next(p for p in load_profiles() if p.profile_kind == "attack-group" and len(p.technique_ids) >= 8)
    techs = sorted(t for t in group.technique_ids if t.startswith("T"))[:6]
    sig = signals_of(
        Counter(), Counter({t: 5 for t in techs}), ["hello"] * 10, Counter({"en": 10}), _hours(0)
    )
    ranked = attribute_cluster(sig, load_profiles())
    mine = [a for a in ranked if a.group_id == group.attack_group_id]
    assert mine and 0.4 <= mine[0].score <= 0.5
    assert mine[0].evidence and mine[0].evidence[0].startswith("ATT&CK:")
