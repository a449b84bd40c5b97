"""Golden facts and look-up behaviour of the committed knowledge base."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stormwatch.errors import KnowledgeBaseError, UnknownIdError
from stormwatch.kb import DATA_FILE, KnowledgeBase, load_kb


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    """The committed knowledge base."""
    return load_kb()


def test_public_surface() -> None:
    import stormwatch.kb as pkg

    assert set(pkg.__all__) == {n for n in dir(pkg) if not n.startswith("_")} - {
        "build",
        "knowledge",
        "naming",
        "records",
        "update",
        "taxonomy",
        "actors",
    }


def test_golden_techniques(kb: KnowledgeBase) -> None:
    phishing = kb.technique("T1566")
    assert phishing.name == "Phishing"
    assert phishing.domain == "enterprise-attack"
    assert phishing.url == "https://attack.mitre.org/techniques/T1566"
    assert phishing.stix_id == "attack-pattern--a62a8db3-f23a-4d8f-afd6-9dbc77e7813b"
    sub = kb.technique("T1566.001")
    assert sub.name == "Spearphishing Attachment"
    assert sub.tactics == ["TA0001"]
    assert sub.is_subtechnique and sub.parent == "T1566"
    injection = kb.technique("AML.T0051")
    assert injection.name == "LLM Prompt Injection"
    assert injection.domain == "atlas"
    assert injection.tactics == ["AML.TA0005"]
    assert [kb.technique(f"AML.T0051.00{i}").name for i in range(2)] == ["Direct", "Indirect"]
    assert kb.technique("AML.T0054").name == "LLM Jailbreak"
    assert kb.technique("AML.T0052").attack_refs == ["T1566"]


def test_golden_tactics(kb: KnowledgeBase) -> None:
    assert kb.tactic("TA0001").name == "Initial Access"
    assert kb.tactic("initial-access").id == "TA0001"
    assert kb.tactic("AML.TA0005").name == "Execution"
    assert kb.tactics_for("T1566.001") == ["TA0001"]
    assert kb.tactics_for("AML.T0051.001") == ["AML.TA0005"]


@pytest.mark.parametrize("alias", ["APT28", "STRONTIUM", "Fancy Bear", "Forest Blizzard", "G0007", "sofacy"])
def test_forest_blizzard_aliases(kb: KnowledgeBase, alias: str) -> None:
    group = kb.group(alias)
    assert group.id == "G0007"
    assert group.name == "APT28"
    assert group.microsoft_name == "Forest Blizzard"
    assert group.origin == "Russia"
    assert {"APT28", "STRONTIUM", "Fancy Bear", "Forest Blizzard"} <= set(group.aliases)
    assert len(group.techniques) > 50
    assert "S0023" in group.software  # CHOPSTICK


@pytest.mark.parametrize(
    ("name", "gid", "origin"),
    [
        ("Charcoal Typhoon", "G1006", "China"),
        ("Emerald Sleet", "G0094", "North Korea"),
        ("Crimson Sandstorm", "G1012", "Iran"),
        ("Midnight Blizzard", "G0016", "Russia"),
        ("Octo Tempest", "G1015", None),
    ],
)
def test_report_actors_resolve(kb: KnowledgeBase, name: str, gid: str, origin: str | None) -> None:
    group = kb.group(name)
    assert (group.id, group.microsoft_name, group.origin) == (gid, name, origin)


def test_microsoft_name_assigned_from_the_map(kb: KnowledgeBase) -> None:
    # ATT&CK lists "TWILL TYPHOON" in capitals; the map's spelling is used.
    assert kb.group("Mustang Panda").microsoft_name == "Twill Typhoon"
    assert kb.group("CHROMIUM").id == "G1006"  # another vendor name from Microsoft's map


def test_salmon_typhoon_is_a_microsoft_actor_without_attack_group(kb: KnowledgeBase) -> None:
    with pytest.raises(UnknownIdError):
        kb.group("Salmon Typhoon")
    actor = kb.microsoft_actor("Salmon Typhoon")
    assert (actor.origin, actor.kind, actor.group_id) == ("China", "nation-state", None)
    assert kb.microsoft_actor("sodium").name == "Salmon Typhoon"
    assert kb.microsoft_actor("Forest Blizzard").group_id == "G0007"


def test_case_insensitive_lookups(kb: KnowledgeBase) -> None:
    assert kb.technique("t1566.001").id == "T1566.001"
    assert kb.technique("aml.t0051").id == "AML.T0051"
    assert kb.technique("  phishing ").id == "T1566"  # ATT&CK wins a name shared with ATLAS
    assert kb.technique("llm prompt injection").id == "AML.T0051"
    assert kb.technique("Phishing: Spearphishing Attachment").id == "T1566.001"
    assert kb.group("fancy   bear").id == "G0007"
    assert kb.software("mimikatz").id == "S0002"
    assert kb.mitigation("user training").id == "M1017"
    assert kb.case_study("aml.cs0000").id == "AML.CS0000"


def test_revoked_resolves_to_replacement(kb: KnowledgeBase) -> None:
    assert kb.technique("T1193").id == "T1566.001"
    old = kb.technique("T1193", follow_revoked=False)
    assert old.revoked and old.revoked_by == "T1566.001"
    assert kb.has_id("T1193")
    assert not kb.has_id("T1193", active_only=True)


def test_has_id_covers_every_kind(kb: KnowledgeBase) -> None:
    for ident in ("T1566", "T1566.001", "TA0043", "AML.T0051", "AML.TA0005", "G0007", "S0002", "M1017"):
        assert kb.has_id(ident), ident
        assert kb.has_id(ident.lower()), ident
    for ident in ("T9999", "AML.T9999", "G9999", "", "x" * 5000):
        assert not kb.has_id(ident)


def test_unknown_id_raises_with_suggestions(kb: KnowledgeBase) -> None:
    with pytest.raises(UnknownIdError) as err:
        kb.technique("T1566.009")
    assert err.value.kind == "technique"
    assert err.value.suggestions[0].startswith("T1566.00")
    with pytest.raises(UnknownIdError) as err:
        kb.group("Forrest Blizard")
    assert any("G0007" in s or "Blizzard" in s for s in err.value.suggestions)
    with pytest.raises(UnknownIdError) as err:
        kb.technique("phishin")
    assert err.value.suggestions[0] == "T1566 Phishing"


def test_search_finds_phishing(kb: KnowledgeBase) -> None:
    hits = kb.search("phishing")
    assert hits[0].id == "T1566"
    assert {"T1566", "AML.T0052"} <= {h.id for h in hits}
    assert kb.search("prompt injection", limit=3)[0].id == "AML.T0051"
    assert kb.search("fancy bear", limit=1)[0].id == "G0007"
    assert kb.search("mimikatz", limit=1)[0].kind == "software"
    assert kb.search("   ") == []
    assert len(kb.search("spearphishing", limit=4)) == 4


def test_search_leaves_out_revoked(kb: KnowledgeBase) -> None:
    assert all(
        kb.has_id(h.id, active_only=True)
        for h in kb.search("spearphishing attachment", limit=20)
        if h.kind == "technique"
    )


def test_counts_and_sources(kb: KnowledgeBase) -> None:
    counts = kb.counts()
    assert counts["technique"] == 835 + 170
    assert counts["tactic"] == 14 + 16
    assert counts["group"] == 187
    assert counts["microsoft-actor"] == 166
    assert len(kb.techniques(domain="atlas")) == 170
    assert kb.sources["attack"]["version"] == "18.1"
    assert kb.sources["atlas"]["version"] == "5.6.0"


def test_load_is_cached_and_lazy() -> None:
    assert load_kb() is load_kb()
    # Load-time check without timing: a fresh knowledge base builds no record until one is asked for.
    fresh = KnowledgeBase(json.loads(DATA_FILE.read_bytes()))
    assert sum(len(t._cache) for t in fresh._tables.values()) == 0
    fresh.technique("T1566")
    assert sum(len(t._cache) for t in fresh._tables.values()) == 1


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeBaseError, match="missing"):
        load_kb(tmp_path / "absent.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": 99}', encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match="format"):
        load_kb(bad)
