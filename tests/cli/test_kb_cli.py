"""`stormwatch kb …` commands: human and --json output, exit code 2 with close matches for unknown keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from stormwatch.cli.kb import kb_app
from stormwatch.kb import DATA_FILE

app = typer.Typer()
app.add_typer(kb_app, name="kb")
runner = CliRunner()


def _run(*args: str) -> Any:
    return runner.invoke(app, ["kb", *args])


def _json(*args: str) -> Any:
    result = _run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize(("key", "name"), [("T1566", "Phishing"), ("AML.T0051", "LLM Prompt Injection")])
def test_technique(key: str, name: str) -> None:
    result = _run("technique", key)
    assert result.exit_code == 0, result.output
    assert key in result.stdout and name in result.stdout
    data = _json("technique", key)
    assert (data["id"], data["name"]) == (key, name)


def test_technique_json_fields() -> None:
    data = _json("technique", "t1566.001")
    assert data["tactics"] == ["TA0001"]
    assert data["tactic_names"] == ["Initial Access"]
    assert data["stix_id"].startswith("attack-pattern--")


def test_revoked_technique_notes_replacement() -> None:
    result = _run("technique", "T1193")
    assert result.exit_code == 0
    assert "replaced by T1566.001" in result.stdout
    assert _json("technique", "T1193")["id"] == "T1566.001"


@pytest.mark.parametrize("alias", ["Forest Blizzard", "APT28", "STRONTIUM", "Fancy Bear"])
def test_actor_by_alias(alias: str) -> None:
    data = _json("actor", alias)
    assert (data["id"], data["microsoft_name"], data["origin"]) == ("G0007", "Forest Blizzard", "Russia")
    assert data["kind"] == "nation-state"
    assert data["technique_count"] == len(data["techniques"]) > 50
    assert "CHOPSTICK" in data["software_names"]
    human = _run("actor", alias)
    assert human.exit_code == 0
    assert "G0007" in human.stdout and "Forest Blizzard" in human.stdout and "Russia" in human.stdout


def test_actor_shows_llm_ttps_when_profiles_exist() -> None:
    data = _json("actor", "APT28")
    try:
        from stormwatch.kb.actors import load_actor_profiles  # noqa: F401
    except ImportError:
        assert data["llm_ttps"] is None
    else:
        assert data["llm_ttps"], "Forest Blizzard has a profile with LLM-themed TTPs"
        assert "llm-informed-reconnaissance" in {t["slug"] for t in data["llm_ttps"]}


def test_actor_only_in_microsofts_map() -> None:
    data = _json("actor", "Salmon Typhoon")
    assert (data["name"], data["origin"], data["group_id"]) == ("Salmon Typhoon", "China", None)


def test_search() -> None:
    hits = _json("search", "phishing")
    assert hits[0]["id"] == "T1566"
    result = _run("search", "prompt", "injection", "-n", "3")
    assert result.exit_code == 0
    assert "AML.T0051" in result.stdout


def test_info() -> None:
    data = _json("info")
    assert data["sources"]["attack"]["version"] == "18.1"
    assert data["sources"]["atlas"]["version"] == "5.6.0"
    assert data["counts"]["technique"] == 1005
    result = _run("info")
    assert result.exit_code == 0 and "18.1" in result.stdout and "5.6.0" in result.stdout


def test_ttp() -> None:
    pytest.importorskip("stormwatch.kb.taxonomy")
    data = _json("ttp", "llm-informed-reconnaissance")
    assert data["slug"] == "llm-informed-reconnaissance"
    assert "TA0043" in data["attack_tactics"]
    result = _run("ttp", "llm-informed-reconnaissance")
    assert result.exit_code == 0 and "TA0043 Reconnaissance" in result.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("technique", "T9999"), "unknown technique"),
        (("technique", "T1566.009"), "T1566.001"),
        (("actor", "Forrest Blizard"), "unknown actor"),
        (("ttp", "llm-informed-recon"), "llm-informed-reconnaissance"),
    ],
)
@pytest.mark.parametrize("as_json", [False, True])
def test_unknown_exits_2_with_closest_matches(args: tuple[str, ...], expected: str, as_json: bool) -> None:
    if args[0] == "ttp":
        pytest.importorskip("stormwatch.kb.taxonomy")
    result = _run(*args, *(["--json"] if as_json else []))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "closest matches" in result.stderr
    assert expected in result.stderr


@pytest.mark.shared
def test_build_writes_the_committed_bytes(shared: Path, tmp_path: Path) -> None:
    out = tmp_path / "kb.json"
    args = [
        "build",
        "--attack",
        str(shared / "attack" / "enterprise-attack-18.1.json"),
        "--atlas",
        str(shared / "atlas" / "ATLAS.yaml"),
        "--actors",
        str(shared / "mstic" / "MicrosoftMapping.json"),
        "-o",
        str(out),
    ]
    data = _json(*args)
    assert data["counts"]["group"] == 187
    assert out.read_bytes() == DATA_FILE.read_bytes()


def test_build_missing_file_exits_1(tmp_path: Path) -> None:
    result = _run("build", "--attack", str(tmp_path / "a.json"), "--atlas", str(tmp_path / "b.yaml"))
    assert result.exit_code == 1
    assert "cannot read" in result.stderr


def test_update_from_file(tmp_path: Path) -> None:
    attack = tmp_path / "bundle.json"
    attack.write_text(json.dumps({"type": "bundle", "id": "bundle--x-v1.0", "objects": []}), encoding="utf-8")
    atlas = tmp_path / "ATLAS.yaml"
    atlas.write_text("id: ATLAS\nversion: 1.2.3\nmatrices: []\n", encoding="utf-8")
    out = tmp_path / "kb.json"
    data = _json("update", "--from-file", str(attack), "--from-file", str(atlas), "-o", str(out))
    assert data["sources"]["atlas"]["version"] == "1.2.3"
    assert data["counts"]["technique"] == 0
    assert out.is_file()


def test_update_from_file_needs_attack_and_atlas(tmp_path: Path) -> None:
    atlas = tmp_path / "ATLAS.yaml"
    atlas.write_text("id: ATLAS\nmatrices: []\n", encoding="utf-8")
    result = _run("update", "--from-file", str(atlas), "-o", str(tmp_path / "kb.json"))
    assert result.exit_code == 1
    assert "missing the attack" in result.stderr
