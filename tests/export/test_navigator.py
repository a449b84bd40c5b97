"""Navigator layers: format 4.5 required fields, every technique id in the KB, scores and comments."""

from __future__ import annotations

import json
from pathlib import Path

from stormwatch.export.navigator import (
    ATLAS_DOMAIN,
    ENTERPRISE_DOMAIN,
    build_layers,
    export_navigator,
    tactic_shortname,
)
from stormwatch.kb import load_kb
from stormwatch.store import DuckDBStore

from ._support import check_golden, fixed_data, fixed_options


def test_layers_have_required_fields_and_known_ids(store: DuckDBStore) -> None:
    layers = build_layers(fixed_data(store), fixed_options())
    assert set(layers) == {ENTERPRISE_DOMAIN, ATLAS_DOMAIN}
    kb = load_kb()
    for domain, layer in layers.items():
        assert isinstance(layer["name"], str) and layer["name"]
        assert layer["domain"] == domain
        assert layer["versions"]["layer"] == "4.5"
        for t in layer["techniques"]:
            assert kb.has_id(t["techniqueID"]), t["techniqueID"]
            assert kb.technique(t["techniqueID"]).domain == ("atlas" if domain == ATLAS_DOMAIN else domain)
    ent = {t["techniqueID"]: t for t in layers[ENTERPRISE_DOMAIN]["techniques"]}
    assert ent["T1566"]["score"] == 2
    assert "llm-supported-social-engineering" in ent["T1566"]["comment"]
    assert "Evidence:" in ent["T1566"]["comment"]
    assert ent["T1562"] == {"techniqueID": "T1562", "showSubtechniques": True, "enabled": True}
    assert [t["techniqueID"] for t in layers[ATLAS_DOMAIN]["techniques"]] == ["AML.T0051", "AML.T0051.000"]


def test_export_writes_two_golden_layers(store: DuckDBStore, tmp_path: Path) -> None:
    paths = export_navigator(fixed_data(store), fixed_options(), tmp_path / "storm.json")
    assert [p.name for p in paths] == ["storm.json", "storm.atlas.json"]
    check_golden("navigator_enterprise.json", paths[0].read_text("utf-8"))
    check_golden("navigator_atlas.json", paths[1].read_text("utf-8"))
    assert json.loads(paths[1].read_text("utf-8"))["domain"] == ATLAS_DOMAIN


def test_atlas_entries_name_their_tactic_like_mitres_layers(store: DuckDBStore) -> None:
    data = fixed_data(store)
    kb = load_kb()
    layers = build_layers(data, fixed_options())
    for t in layers[ATLAS_DOMAIN]["techniques"]:  # every ATLAS entry: one of its KB tactics, by shortname
        assert t["tactic"] in {tactic_shortname(kb, ta) for ta in kb.technique(t["techniqueID"]).tactics}
    assert all("tactic" not in t for t in layers[ENTERPRISE_DOMAIN]["techniques"])  # Enterprise unchanged
    assert (
        tactic_shortname(kb, "AML.TA0000") == "ai-model-access"
    )  # ATLAS tactics have no shortname in the KB
    # A technique under several ATLAS tactics gets one scored entry per tactic.
    cd = data.clusters[0]
    multi = "AML.T0054"  # LLM Jailbreak: Defense Evasion and Privilege Escalation
    assert len(kb.technique(multi).tactics) == 2
    extra = cd.model_copy(
        update={"techniques": [*cd.techniques, cd.techniques[0].model_copy(update={"id": multi})]}
    )
    entries = [t for t in build_layers(type(data)(clusters=[extra]), fixed_options())[ATLAS_DOMAIN]["techniques"]
               if t["techniqueID"] == multi]  # fmt: skip
    assert sorted(t["tactic"] for t in entries) == sorted(
        tactic_shortname(kb, ta) for ta in kb.technique(multi).tactics
    )
    assert {t["score"] for t in entries} == {cd.techniques[0].count}
