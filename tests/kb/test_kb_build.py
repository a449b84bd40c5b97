"""Building the knowledge-base data file: facts kept, descriptions dropped, same inputs → same bytes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from kb_fixtures import MiniSources

from stormwatch.errors import KnowledgeBaseError
from stormwatch.kb import DATA_FILE
from stormwatch.kb.build import build_kb, build_kb_bytes, write_kb
from stormwatch.kb.knowledge import KnowledgeBase, load_kb


def _rows(doc: dict[str, Any], table: str) -> dict[str, dict[str, Any]]:
    t = doc["tables"][table]
    return {str(r[0]): dict(zip(t["columns"], r, strict=True)) for r in t["rows"]}


def test_mini_build_keeps_facts(mini_sources: MiniSources) -> None:
    doc = build_kb(mini_sources.attack, mini_sources.atlas, mini_sources.mstic)
    tech = _rows(doc, "techniques")
    assert tech["T1566.001"]["name"] == "Spearphishing Attachment"
    assert tech["T1566.001"]["tactics"] == ["TA0001"]
    assert tech["T1566.001"]["parent"] == "T1566"
    assert tech["T1566.001"]["stix_id"] == "attack-pattern--p2"
    assert tech["T1566"]["platforms"] == ["Linux", "Windows"]
    assert tech["T1193"]["revoked"] is True
    assert tech["T1193"]["revoked_by"] == "T1566.001"
    # ATLAS sub-techniques inherit their parent's tactics; ATT&CK references are kept.
    assert tech["AML.T0051.000"]["tactics"] == ["AML.TA0005"]
    assert tech["AML.T0052"]["attack_refs"] == ["T1566"]
    assert _rows(doc, "tactics")["AML.TA0005"]["attack_refs"] == ["TA0002"]
    assert _rows(doc, "tactics")["TA0001"]["shortname"] == "initial-access"
    assert _rows(doc, "case_studies")["AML.CS0001"]["techniques"] == ["AML.T0051.000"]
    assert _rows(doc, "mitigations")["AML.M0020"]["techniques"] == ["AML.T0051"]
    assert _rows(doc, "mitigations")["M1017"]["techniques"] == ["T1566"]
    assert doc["sources"]["attack"]["version"] == "9.9"
    assert doc["sources"]["atlas"]["version"] == "9.9.9"
    assert len(doc["sources"]["mstic"]["sha256"]) == 64


def test_mini_build_edges_skip_revoked(mini_sources: MiniSources) -> None:
    group = _rows(build_kb(mini_sources.attack, mini_sources.atlas, mini_sources.mstic), "groups")["G0007"]
    assert group["techniques"] == ["T1566.001"]  # not the revoked T1193, not the revoked edge to T1059
    assert group["software"] == ["S0002", "S0023"]


def test_old_mitigations_with_technique_ids_are_dropped(mini_sources: MiniSources) -> None:
    doc = build_kb(mini_sources.attack, mini_sources.atlas, mini_sources.mstic)
    assert set(_rows(doc, "mitigations")) == {"M1017", "AML.M0020"}


def test_microsoft_names_from_attack_aliases_and_from_the_map(mini_sources: MiniSources) -> None:
    doc = build_kb(mini_sources.attack, mini_sources.atlas, mini_sources.mstic)
    groups = _rows(doc, "groups")
    assert groups["G0007"]["microsoft_name"] == "Forest Blizzard"  # ATT&CK alias
    assert groups["G0007"]["origin"] == "Russia"
    assert groups["G0094"]["microsoft_name"] == "Emerald Sleet"  # via the map's other names
    assert groups["G0094"]["origin"] == "North Korea"
    assert "Emerald Sleet" in groups["G0094"]["aliases"]
    actors = _rows(doc, "microsoft_actors")
    assert actors["Salmon Typhoon"]["group_id"] is None
    assert actors["Salmon Typhoon"]["origin"] == "China"
    assert actors["Octo Tempest"]["kind"] == "financially-motivated"
    assert actors["Octo Tempest"]["origin"] is None
    assert actors["Storm-0558"]["origin"] == "China"  # from the map's Origin/Threat column
    assert actors["Storm-0558"]["kind"] == "emerging"


def test_build_without_the_naming_map(mini_sources: MiniSources) -> None:
    doc = build_kb(mini_sources.attack, mini_sources.atlas)
    assert "mstic" not in doc["sources"]
    assert _rows(doc, "groups")["G0007"]["microsoft_name"] == "Forest Blizzard"
    assert _rows(doc, "groups")["G0094"]["microsoft_name"] is None
    assert doc["tables"]["microsoft_actors"]["rows"] == []


def test_no_descriptions_are_copied(mini_sources: MiniSources) -> None:
    data = build_kb_bytes(mini_sources.attack, mini_sources.atlas, mini_sources.mstic)
    assert b"SECRET-DESCRIPTION" not in data
    assert b'"description"' not in data


def test_same_inputs_same_bytes(mini_sources: MiniSources, tmp_path: Path) -> None:
    first = build_kb_bytes(mini_sources.attack, mini_sources.atlas, mini_sources.mstic)
    # Building twice, or writing to another folder, gives the same bytes.
    out = write_kb(
        mini_sources.attack, mini_sources.atlas, mini_sources.mstic, out=tmp_path / "a" / "kb.json"
    )
    assert out.read_bytes() == first
    assert build_kb_bytes(mini_sources.attack, mini_sources.atlas, mini_sources.mstic) == first
    assert json.loads(first)["format"] == 1
    assert first.endswith(b"\n")


def test_written_file_loads(mini_sources: MiniSources, tmp_path: Path) -> None:
    out = write_kb(mini_sources.attack, mini_sources.atlas, mini_sources.mstic, out=tmp_path / "kb.json")
    kb = KnowledgeBase(json.loads(out.read_bytes()))
    assert kb.technique("T1193").id == "T1566.001"
    assert kb.group("STRONTIUM").microsoft_name == "Forest Blizzard"


@pytest.mark.parametrize("content", ["not json", '{"type": "other"}', "[]"])
def test_bad_attack_file_is_a_clear_error(mini_sources: MiniSources, tmp_path: Path, content: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content, encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match=r"bad\.json"):
        build_kb(bad, mini_sources.atlas)


def test_missing_input_is_a_clear_error(mini_sources: MiniSources, tmp_path: Path) -> None:
    with pytest.raises(KnowledgeBaseError, match="cannot read"):
        build_kb(tmp_path / "absent.json", mini_sources.atlas)
    with pytest.raises(KnowledgeBaseError, match="ATLAS"):
        build_kb(mini_sources.attack, mini_sources.attack)


def test_committed_file_is_compact_and_fact_only() -> None:
    data = DATA_FILE.read_bytes()
    assert len(data) < 2 * 1024 * 1024
    assert b'"description"' not in data
    assert load_kb().sources["attack"]["version"] == "18.1"
    assert load_kb().sources["atlas"]["version"] == "5.6.0"


@pytest.mark.shared
def test_rebuild_from_shared_matches_committed_file(shared: Path) -> None:
    rebuilt = build_kb_bytes(
        shared / "attack" / "enterprise-attack-18.1.json",
        shared / "atlas" / "ATLAS.yaml",
        shared / "mstic" / "MicrosoftMapping.json",
    )
    assert rebuilt == DATA_FILE.read_bytes(), "the committed kb.json is stale: run `stormwatch kb build`"
