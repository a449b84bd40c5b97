"""MISP events: built offline with pymisp, load back, carry galaxy and TLP tags and the summary."""

from __future__ import annotations

import json
from pathlib import Path

from pymisp import MISPEvent

from stormwatch.export.misp import build_events, export_misp, galaxy_tag
from stormwatch.store import DuckDBStore

from ._support import check_golden, fixed_data, fixed_options


def test_galaxy_tags() -> None:
    assert galaxy_tag("T1566") == 'misp-galaxy:mitre-attack-pattern="Phishing - T1566"'
    assert galaxy_tag("AML.T0051").startswith('misp-galaxy:mitre-atlas-attack-pattern="')
    assert galaxy_tag("AML.T0051").endswith(' - AML.T0051"')


def test_event_loads_back_and_matches_golden(store: DuckDBStore, tmp_path: Path) -> None:
    (path,) = export_misp(fixed_data(store), fixed_options(), tmp_path / "event.json")
    text = path.read_text("utf-8")
    check_golden("misp_event.json", text)
    ev = MISPEvent()
    ev.load(text)
    tags = {t.name for t in ev.tags}
    assert "tlp:amber" in tags
    assert 'misp-galaxy:mitre-attack-pattern="Phishing - T1566"' in tags
    assert 'misp-galaxy:mitre-intrusion-set="APT28 - G0007"' in tags
    types = sorted({a.type for a in ev.attributes})
    assert types == ["ip-src", "sha256", "text"]
    assert "10.0.0.5" not in text
    assert "Forest Blizzard" in json.loads(text)["Event"]["EventReport"][0]["content"]


def test_events_are_deterministic_and_several_use_response_list(store: DuckDBStore, tmp_path: Path) -> None:
    data = fixed_data(store)
    a = [e.to_json(sort_keys=True) for e in build_events(data, fixed_options())]
    b = [e.to_json(sort_keys=True) for e in build_events(fixed_data(store), fixed_options())]
    assert a == b
    two = type(data)(clusters=data.clusters * 2)
    (path,) = export_misp(two, fixed_options(tlp="green"), tmp_path / "events.json")
    doc = json.loads(path.read_text("utf-8"))
    assert len(doc["response"]) == 2
    for item in doc["response"]:
        ev = MISPEvent()
        ev.load(item)
        assert "tlp:green" in {t.name for t in ev.tags}
