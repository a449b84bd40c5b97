"""Fetch the latest official ATT&CK, ATLAS and Microsoft naming files and rebuild the knowledge base.

The only place in the library that uses the network, and only when a person runs `stormwatch kb update`.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from stormwatch.errors import KnowledgeBaseError
from stormwatch.kb._format import DATA_FILE
from stormwatch.kb.build import MAX_INPUT_BYTES, write_kb

__all__ = ["SOURCE_URLS", "Sources", "classify_files", "fetch_sources", "update_kb"]

SOURCE_URLS: dict[str, str] = {
    "attack": "https://raw.githubusercontent.com/mitre-attack/attack-stix-data/master/enterprise-attack/enterprise-attack.json",
    "atlas": "https://raw.githubusercontent.com/mitre-atlas/atlas-data/main/dist/ATLAS.yaml",
    "mstic": "https://raw.githubusercontent.com/microsoft/mstic/master/PublicFeeds/ThreatActorNaming/MicrosoftMapping.json",
}
_FILE_NAMES = {"attack": "enterprise-attack.json", "atlas": "ATLAS.yaml", "mstic": "MicrosoftMapping.json"}
_CHUNK = 1 << 20

Opener = Callable[..., IO[bytes]]


@dataclass(frozen=True)
class Sources:
    """Paths of the three input files of a build (the naming map is optional)."""

    attack: Path
    atlas: Path
    mstic: Path | None = None


def _download(url: str, dest: Path, *, timeout: float, opener: Opener) -> Path:
    request = urllib.request.Request(url, headers={"User-Agent": "stormwatch-kb-update"})
    try:
        with opener(request, timeout=timeout) as response, dest.open("wb") as out:
            total = 0
            while chunk := response.read(_CHUNK):
                total += len(chunk)
                if total > MAX_INPUT_BYTES:
                    raise KnowledgeBaseError(f"{url}: larger than {MAX_INPUT_BYTES} bytes; refusing it")
                out.write(chunk)
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise KnowledgeBaseError(
            f"cannot fetch {url} ({reason}); is this machine offline? "
            "Use `stormwatch kb update --from-file PATH` with files fetched elsewhere."
        ) from exc
    return dest


def fetch_sources(
    dest_dir: Path,
    *,
    urls: Mapping[str, str] = SOURCE_URLS,
    timeout: float = 60.0,
    opener: Opener = urllib.request.urlopen,
) -> Sources:
    """Download the official files into dest_dir; raises KnowledgeBaseError when offline or on HTTP errors."""
    paths = {
        kind: _download(url, Path(dest_dir) / _FILE_NAMES[kind], timeout=timeout, opener=opener)
        for kind, url in urls.items()
    }
    if "attack" not in paths or "atlas" not in paths:
        raise KnowledgeBaseError("an update needs at least the 'attack' and 'atlas' sources")
    return Sources(paths["attack"], paths["atlas"], paths.get("mstic"))


def _sniff(path: Path) -> str:
    """Which source a file is: 'attack' (STIX bundle), 'atlas' (YAML) or 'mstic' (JSON list)."""
    if path.suffix.lower() in {".yaml", ".yml"}:
        return "atlas"
    try:
        with path.open("rb") as stream:
            head = stream.read(4096).lstrip()
    except OSError as exc:
        raise KnowledgeBaseError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if head.startswith(b"["):
        return "mstic"
    if head.startswith(b"{"):
        return "attack"
    raise KnowledgeBaseError(
        f"{path}: not an ATT&CK bundle (.json), ATLAS file (.yaml) or naming map (.json)"
    )


def classify_files(files: Sequence[Path]) -> Sources:
    """Sort given files into ATT&CK bundle, ATLAS YAML and Microsoft naming map by their content."""
    found: dict[str, Path] = {}
    for path in files:
        kind = _sniff(Path(path))
        if kind in found:
            raise KnowledgeBaseError(f"two {kind} files given: {found[kind]} and {path}")
        found[kind] = Path(path)
    missing = [k for k in ("attack", "atlas") if k not in found]
    if missing:
        raise KnowledgeBaseError(f"--from-file is missing the {' and '.join(missing)} file(s)")
    return Sources(found["attack"], found["atlas"], found.get("mstic"))


def update_kb(
    files: Sequence[Path] = (),
    *,
    out: Path = DATA_FILE,
    urls: Mapping[str, str] = SOURCE_URLS,
    timeout: float = 60.0,
    opener: Opener = urllib.request.urlopen,
) -> dict[str, Any]:
    """Rebuild the data file from given files, or from freshly fetched official ones; returns its sources."""
    from stormwatch.kb.knowledge import load_kb

    workdir = Path(tempfile.mkdtemp(prefix="stormwatch-kb-"))
    try:
        sources = (
            classify_files(files)
            if files
            else fetch_sources(workdir, urls=urls, timeout=timeout, opener=opener)
        )
        written = write_kb(sources.attack, sources.atlas, sources.mstic, out=out)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    load_kb.cache_clear()
    doc = json.loads(written.read_bytes())
    result: dict[str, Any] = doc["sources"]
    return result
