"""`kb update`: fetching (never over the network in tests), offline errors and --from-file rebuilds."""

from __future__ import annotations

import io
import json
import urllib.error
from pathlib import Path
from typing import Any

import pytest
from kb_fixtures import MiniSources

from stormwatch.errors import KnowledgeBaseError
from stormwatch.kb.update import SOURCE_URLS, classify_files, fetch_sources, update_kb


def _offline(request: Any, timeout: float) -> io.BytesIO:
    raise urllib.error.URLError("Name or service not known")


def test_official_sources_are_mitre_and_microsoft_repositories() -> None:
    assert "mitre-attack/attack-stix-data" in SOURCE_URLS["attack"]
    assert "mitre-atlas/atlas-data" in SOURCE_URLS["atlas"]
    assert SOURCE_URLS["atlas"].endswith("dist/ATLAS.yaml")
    assert "microsoft/mstic" in SOURCE_URLS["mstic"]


def test_offline_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeBaseError, match="offline") as err:
        update_kb(out=tmp_path / "kb.json", opener=_offline)
    assert "--from-file" in str(err.value)
    assert not (tmp_path / "kb.json").exists()


def test_unreachable_url_is_a_clear_error(tmp_path: Path) -> None:
    # A file: URL that does not exist fails like an unreachable host, without touching the network.
    missing = (tmp_path / "nowhere" / "enterprise-attack.json").as_uri()
    with pytest.raises(KnowledgeBaseError, match="cannot fetch"):
        fetch_sources(tmp_path, urls={"attack": missing, "atlas": missing}, timeout=1)


def test_update_with_a_fake_opener(mini_sources: MiniSources, tmp_path: Path) -> None:
    by_url = {
        SOURCE_URLS["attack"]: mini_sources.attack.read_bytes(),
        SOURCE_URLS["atlas"]: mini_sources.atlas.read_bytes(),
        SOURCE_URLS["mstic"]: mini_sources.mstic.read_bytes(),
    }
    seen: list[tuple[str, float]] = []

    def opener(request: Any, timeout: float) -> io.BytesIO:
        seen.append((request.full_url, timeout))
        return io.BytesIO(by_url[request.full_url])

    sources = update_kb(out=tmp_path / "kb.json", opener=opener, timeout=5)
    assert sorted(u for u, _ in seen) == sorted(by_url)
    assert all(t == 5 for _, t in seen)
    assert sources["atlas"]["version"] == "9.9.9"
    assert sources["attack"]["file"] == "enterprise-attack.json"
    assert json.loads((tmp_path / "kb.json").read_bytes())["format"] == 1


def test_from_file_rebuilds_offline(mini_sources: MiniSources, tmp_path: Path) -> None:
    files = [mini_sources.mstic, mini_sources.atlas, mini_sources.attack]  # any order
    sources = update_kb(files, out=tmp_path / "kb.json", opener=_offline)
    assert set(sources) == {"attack", "atlas", "mstic"}


def test_classify_files(mini_sources: MiniSources) -> None:
    found = classify_files([mini_sources.atlas, mini_sources.attack])
    assert (found.attack, found.atlas, found.mstic) == (mini_sources.attack, mini_sources.atlas, None)
    with pytest.raises(KnowledgeBaseError, match="missing the attack"):
        classify_files([mini_sources.atlas])
    with pytest.raises(KnowledgeBaseError, match="two atlas"):
        classify_files([mini_sources.atlas, mini_sources.atlas, mini_sources.attack])
