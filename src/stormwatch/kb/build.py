"""Build the compact knowledge-base data file from MITRE ATT&CK, MITRE ATLAS and Microsoft's naming map.

Only facts are kept (ids, names, tactic ids, platforms, URLs, flags, STIX ids, relationship edges); no
descriptions. The output is canonical JSON (sorted keys, sorted rows, one row per line), so the same inputs
always give the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from stormwatch.errors import KnowledgeBaseError
from stormwatch.kb._format import COLUMNS, DATA_FILE, FORMAT_VERSION
from stormwatch.kb.naming import ActorKind, parse_actor_name

__all__ = [
    "DATA_FILE",
    "FORMAT_VERSION",
    "MAX_INPUT_BYTES",
    "build_kb",
    "build_kb_bytes",
    "canonical_json",
    "write_kb",
]

MAX_INPUT_BYTES = 256 * 1024 * 1024
ATTACK_DOMAIN = "enterprise-attack"
ATLAS_DOMAIN = "atlas"
ATLAS_URL = "https://atlas.mitre.org"


def _read_bytes(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_INPUT_BYTES:
            raise KnowledgeBaseError(f"{path}: {size} bytes is over the {MAX_INPUT_BYTES}-byte input limit")
        return path.read_bytes()
    except OSError as exc:
        raise KnowledgeBaseError(f"{path}: cannot read ({exc.strerror or exc})") from exc


def _source(path: Path, data: bytes, version: str | None, **extra: int) -> dict[str, Any]:
    return {"file": path.name, "sha256": hashlib.sha256(data).hexdigest(), "version": version, **extra}


def _mitre_ref(obj: Mapping[str, Any]) -> tuple[str, str] | None:
    for ref in obj.get("external_references", []):
        if ref.get("source_name") == "mitre-attack" and ref.get("external_id"):
            return str(ref["external_id"]), str(ref.get("url", ""))
    return None


def _attack_version(bundle: Mapping[str, Any], objects: list[dict[str, Any]], path: Path) -> str | None:
    for obj in objects:
        if obj.get("type") == "x-mitre-collection" and obj.get("x_mitre_version"):
            return str(obj["x_mitre_version"])
    for text in (str(bundle.get("id", "")), path.name):
        found = re.search(r"v?(\d+\.\d+)", text)
        if found:
            return found.group(1)
    return None


def _flags(obj: Mapping[str, Any]) -> tuple[bool, bool]:
    return bool(obj.get("x_mitre_deprecated", False)), bool(obj.get("revoked", False))


def _sorted_unique(values: Iterable[str]) -> list[str]:
    return sorted(set(values))


def _aliases(name: str, aliases: Iterable[str]) -> list[str]:
    """ATT&CK's convention: the primary name first, then the other aliases (sorted here)."""
    return [name, *sorted({str(a) for a in aliases} - {name})]


def _load_attack(path: Path) -> tuple[dict[str, list[list[Any]]], dict[str, Any], dict[str, dict[str, Any]]]:
    """Tables from the STIX bundle, its source record, and groups keyed by G-id (for the naming merge)."""
    raw = _read_bytes(path)
    try:
        bundle = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise KnowledgeBaseError(f"{path}: not a JSON STIX bundle ({exc})") from exc
    if (
        not isinstance(bundle, dict)
        or bundle.get("type") != "bundle"
        or not isinstance(bundle.get("objects"), list)
    ):
        raise KnowledgeBaseError(f"{path}: not a STIX bundle (no type 'bundle' with a list of objects)")
    objects: list[dict[str, Any]] = [o for o in bundle["objects"] if isinstance(o, dict)]

    by_stix: dict[str, tuple[str, str]] = {}  # STIX id -> (type, external id)
    for obj in objects:
        ref = _mitre_ref(obj)
        otype = str(obj.get("type", ""))
        if ref is None:
            continue
        if otype == "course-of-action" and not ref[0].startswith("M"):
            continue  # pre-2019 mitigations reuse technique ids (T1174…): deprecated and colliding
        by_stix[str(obj["id"])] = (otype, ref[0])

    tactic_by_short: dict[str, str] = {}
    for obj in objects:
        if obj.get("type") == "x-mitre-tactic":
            tactic_by_short[str(obj["x_mitre_shortname"])] = by_stix[str(obj["id"])][1]

    revoked_by: dict[str, str] = {}
    uses: dict[str, set[str]] = defaultdict(set)
    mitigates: dict[str, set[str]] = defaultdict(set)
    revoked_stix = {str(o["id"]) for o in objects if o.get("revoked")}
    for rel in objects:
        if rel.get("type") != "relationship" or rel.get("revoked") or rel.get("x_mitre_deprecated"):
            continue
        src, dst = by_stix.get(str(rel.get("source_ref"))), by_stix.get(str(rel.get("target_ref")))
        if src is None or dst is None:
            continue
        kind = rel.get("relationship_type")
        if kind == "revoked-by":
            revoked_by[src[1]] = dst[1]
        elif str(rel["target_ref"]) in revoked_stix or str(rel["source_ref"]) in revoked_stix:
            continue
        elif kind == "uses" and src[0] == "intrusion-set":
            uses[src[1]].add(dst[1])
        elif kind == "mitigates" and src[0] == "course-of-action":
            mitigates[src[1]].add(dst[1])

    tables: dict[str, list[list[Any]]] = defaultdict(list)
    groups: dict[str, dict[str, Any]] = {}
    for obj in objects:
        stix_id = str(obj.get("id", ""))
        if stix_id not in by_stix:
            continue
        otype, ext_id = by_stix[stix_id]
        url = _mitre_ref(obj) or ("", "")
        deprecated, revoked = _flags(obj)
        name = str(obj.get("name", ""))
        if otype == "attack-pattern":
            tactics = [
                tactic_by_short[p["phase_name"]]
                for p in obj.get("kill_chain_phases", [])
                if p.get("kill_chain_name") == "mitre-attack" and p.get("phase_name") in tactic_by_short
            ]
            parent = ext_id.split(".")[0] if "." in ext_id else None
            tables["techniques"].append(
                [
                    ext_id,
                    name,
                    ATTACK_DOMAIN,
                    _sorted_unique(tactics),
                    _sorted_unique(obj.get("x_mitre_platforms", [])),
                    url[1],
                    stix_id,
                    parent,
                    deprecated,
                    revoked,
                    revoked_by.get(ext_id),
                    [],
                    None,
                ]
            )
        elif otype == "x-mitre-tactic":
            tables["tactics"].append(
                [ext_id, name, str(obj.get("x_mitre_shortname", "")), ATTACK_DOMAIN, url[1], stix_id, []]
            )
        elif otype == "intrusion-set":
            edges = uses.get(ext_id, set())
            groups[ext_id] = {
                "id": ext_id,
                "name": name,
                "aliases": _aliases(name, obj.get("aliases", [])),
                "microsoft_name": None,
                "origin": None,
                "url": url[1],
                "stix_id": stix_id,
                "deprecated": deprecated,
                "revoked": revoked,
                "revoked_by": revoked_by.get(ext_id),
                "techniques": sorted(e for e in edges if e.startswith("T")),
                "software": sorted(e for e in edges if e.startswith("S")),
                "other_names": [],
            }
        elif otype in ("malware", "tool"):
            tables["software"].append(
                [
                    ext_id,
                    name,
                    _aliases(name, obj.get("x_mitre_aliases", [])),
                    otype,
                    _sorted_unique(obj.get("x_mitre_platforms", [])),
                    url[1],
                    stix_id,
                    deprecated,
                    revoked,
                    revoked_by.get(ext_id),
                ]
            )
        elif otype == "course-of-action":
            tables["mitigations"].append(
                [
                    ext_id,
                    name,
                    ATTACK_DOMAIN,
                    url[1],
                    stix_id,
                    deprecated,
                    sorted(mitigates.get(ext_id, set())),
                ]
            )
    source = _source(path, raw, _attack_version(bundle, objects, path), objects=len(objects))
    return dict(tables), source, groups


def _atlas_url(kind: str, ident: str) -> str:
    return f"{ATLAS_URL}/{kind}/{ident}"


def _attack_refs(item: Mapping[str, Any]) -> list[str]:
    ref = item.get("ATT&CK-reference")
    refs = ref if isinstance(ref, list) else [ref] if ref else []
    return _sorted_unique(str(r["id"]) for r in refs if isinstance(r, dict) and r.get("id"))


def _load_atlas(path: Path) -> tuple[dict[str, list[list[Any]]], dict[str, Any]]:
    raw = _read_bytes(path)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        doc = yaml.load(raw, Loader=loader)  # a SafeLoader
    except yaml.YAMLError as exc:
        raise KnowledgeBaseError(f"{path}: not valid ATLAS YAML ({exc})") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("matrices"), list):
        raise KnowledgeBaseError(f"{path}: not an ATLAS data file (no 'matrices' list)")
    tables: dict[str, list[list[Any]]] = defaultdict(list)
    parent_tactics: dict[str, list[str]] = {}
    for matrix in doc["matrices"]:
        for tactic in matrix.get("tactics", []):
            tid = str(tactic["id"])
            tables["tactics"].append(
                [
                    tid,
                    str(tactic["name"]),
                    None,
                    ATLAS_DOMAIN,
                    _atlas_url("tactics", tid),
                    None,
                    _attack_refs(tactic),
                ]
            )
        techniques = matrix.get("techniques", [])
        for tech in techniques:
            if "subtechnique-of" not in tech:
                parent_tactics[str(tech["id"])] = _sorted_unique(str(t) for t in tech.get("tactics", []))
        for tech in techniques:
            tid = str(tech["id"])
            parent = str(tech["subtechnique-of"]) if "subtechnique-of" in tech else None
            tactics = tech.get("tactics") or (parent_tactics.get(parent, []) if parent else [])
            tables["techniques"].append(
                [
                    tid,
                    str(tech["name"]),
                    ATLAS_DOMAIN,
                    _sorted_unique(str(t) for t in tactics),
                    [],
                    _atlas_url("techniques", tid),
                    None,
                    parent,
                    bool(tech.get("deprecated", False)),
                    False,
                    None,
                    _attack_refs(tech),
                    str(tech["maturity"]) if tech.get("maturity") else None,
                ]
            )
        for mit in matrix.get("mitigations", []):
            mid = str(mit["id"])
            techs = _sorted_unique(str(t["id"]) for t in mit.get("techniques", []) if isinstance(t, dict))
            tables["mitigations"].append(
                [mid, str(mit["name"]), ATLAS_DOMAIN, _atlas_url("mitigations", mid), None, False, techs]
            )
    for study in doc.get("case-studies", []):
        sid = str(study["id"])
        steps = [
            str(s["technique"])
            for s in study.get("procedure", [])
            if isinstance(s, dict) and "technique" in s
        ]
        tables["case_studies"].append(
            [sid, str(study["name"]), _atlas_url("studies", sid), _sorted_unique(steps)]
        )
    source = _source(
        path,
        raw,
        str(doc.get("version")) if doc.get("version") else None,
        case_studies=len(tables["case_studies"]),
    )
    return dict(tables), source


def _norm(name: str) -> str:
    return " ".join(name.split()).casefold()


def _split_names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def _origin_country(origin_text: str) -> str | None:
    first = origin_text.split(",")[0].strip()
    non_countries = {
        "",
        "financially motivated",
        "private sector offensive actor",
        "group in development",
        "influence operations",
        "covert network",
    }
    if first.casefold() in non_countries:
        return None
    return "South Korea" if first == "Korea" else first


def _read_mstic(path: Path) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Microsoft's naming map as {name: {origin_text, other_names}} and its source record."""
    raw = _read_bytes(path)
    try:
        entries = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise KnowledgeBaseError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(entries, list):
        raise KnowledgeBaseError(f"{path}: expected a list of actors")
    actors: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not str(entry.get("Threat actor name", "")).strip():
            continue
        name = " ".join(str(entry["Threat actor name"]).split())
        actors[name] = {
            "origin_text": str(entry.get("Origin/Threat", "")).strip(),
            "other_names": _split_names(str(entry.get("Other names", ""))),
        }
    return actors, _source(path, raw, None, actors=len(actors))


def _microsoft_rank(alias: str, in_map: bool) -> int | None:
    """How strongly an ATT&CK alias names the group in Microsoft's taxonomy (lower is stronger), or None."""
    try:
        parsed = parse_actor_name(alias)
    except KnowledgeBaseError:
        return None
    if parsed.family == "DEV":
        return None  # superseded by the 2023 taxonomy
    weather = parsed.kind is not ActorKind.EMERGING and parsed.kind is not ActorKind.COVERT_NETWORK
    return (0 if weather else 2) + (0 if in_map else 1)


def _assign_microsoft_names(
    groups: dict[str, dict[str, Any]], actors: Mapping[str, Mapping[str, Any]]
) -> dict[str, str]:
    """Microsoft name of each ATT&CK group: {G-id: name}.

    ATT&CK's own aliases win (it cites Microsoft): a weather name over a Storm-#### designation, a name the
    naming map knows over one it does not. Failing that, a group takes the map actor with the most "other
    names" that are a name or alias of the group.
    """
    canonical = {_norm(name): name for name in actors}
    assigned: dict[str, str] = {}
    alias_index: dict[str, set[str]] = defaultdict(set)
    for gid in sorted(groups):
        group = groups[gid]
        if group["revoked"]:
            continue
        ranked: list[tuple[int, str]] = []
        for alias in group["aliases"]:
            alias_index[_norm(alias)].add(gid)
            rank = _microsoft_rank(alias, _norm(alias) in canonical)
            if rank is not None:
                display = canonical.get(_norm(alias)) or parse_actor_name(alias).name
                ranked.append((rank, display))
        if ranked:
            assigned[gid] = sorted(ranked)[0][1]
    taken = set(assigned.values())
    candidates: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for name in sorted(actors):
        if name in taken:
            continue
        hits: dict[str, int] = defaultdict(int)
        for other in actors[name]["other_names"]:
            for gid in alias_index.get(_norm(other), set()):
                hits[gid] += 1
        for gid, count in hits.items():
            if gid not in assigned:
                candidates[gid].append((-count, name))
    for gid, ranked_names in candidates.items():
        assigned[gid] = sorted(ranked_names)[0][1]
    return assigned


def _actor_facts(name: str, origin_text: str) -> tuple[str | None, str | None, str | None, str | None]:
    """(family, kind, motivation, origin) of a Microsoft actor name; origin from the family, else the map."""
    try:
        parsed = parse_actor_name(name)
    except KnowledgeBaseError:
        return None, None, None, _origin_country(origin_text)
    family_origin = parsed.origin if parsed.kind is ActorKind.NATION_STATE else None
    return parsed.family, parsed.kind.value, parsed.motivation, family_origin or _origin_country(origin_text)


def _merge_microsoft(
    groups: dict[str, dict[str, Any]], actors: Mapping[str, Mapping[str, Any]]
) -> list[list[Any]]:
    """Set microsoft_name, origin and other_names on the groups; the microsoft_actors table rows."""
    assigned = _assign_microsoft_names(groups, actors)
    group_of: dict[str, str] = {}
    for gid in sorted(assigned):
        group_of.setdefault(assigned[gid], gid)
    for gid in sorted(assigned):
        name = assigned[gid]
        group = groups[gid]
        actor = actors.get(name, {})
        group["microsoft_name"] = name
        group["origin"] = _actor_facts(name, str(actor.get("origin_text", "")))[3]
        known = {_norm(a) for a in group["aliases"]}
        if _norm(name) not in known:
            group["aliases"] = [*group["aliases"], name]
            known.add(_norm(name))
        group["other_names"] = sorted({n for n in actor.get("other_names", []) if _norm(n) not in known})
    rows: list[list[Any]] = []
    for name in sorted(actors):
        actor = actors[name]
        family, kind, motivation, origin = _actor_facts(name, str(actor["origin_text"]))
        rows.append([name, family, kind, origin, motivation, list(actor["other_names"]), group_of.get(name)])
    return rows


def build_kb(attack: Path, atlas: Path, actors: Path | None = None) -> dict[str, Any]:
    """The knowledge-base document built from the three official files (the naming map is optional)."""
    attack_tables, attack_source, groups = _load_attack(Path(attack))
    atlas_tables, atlas_source = _load_atlas(Path(atlas))
    sources: dict[str, Any] = {"attack": attack_source, "atlas": atlas_source}
    ms_actors: dict[str, dict[str, Any]] = {}
    if actors is not None:
        ms_actors, sources["mstic"] = _read_mstic(Path(actors))
    ms_rows = _merge_microsoft(groups, ms_actors)
    group_cols = COLUMNS["groups"]
    tables: dict[str, list[list[Any]]] = {name: [] for name in COLUMNS}
    for part in (attack_tables, atlas_tables):
        for name, rows in part.items():
            tables[name].extend(rows)
    tables["groups"] = [[g[c] for c in group_cols] for g in groups.values()]
    tables["microsoft_actors"] = ms_rows
    doc: dict[str, Any] = {"format": FORMAT_VERSION, "sources": sources, "tables": {}}
    for name, rows in tables.items():
        seen: set[str] = set()
        for row in rows:
            if row[0] in seen:
                raise KnowledgeBaseError(f"duplicate {name} id {row[0]!r} in the inputs")
            seen.add(row[0])
        doc["tables"][name] = {"columns": list(COLUMNS[name]), "rows": sorted(rows, key=lambda r: str(r[0]))}
    return doc


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(doc: Mapping[str, Any]) -> bytes:
    """The canonical encoding of a knowledge-base document: sorted keys, one table row per line, UTF-8.

    One row per line keeps `git diff` of an ATT&CK or ATLAS update readable.
    """
    lines = ["{", f'"format":{_dumps(doc["format"])},', f'"sources":{_dumps(doc["sources"])},', '"tables":{']
    names = sorted(doc["tables"])
    for i, name in enumerate(names):
        table = doc["tables"][name]
        rows = table["rows"]
        lines.append(f'{_dumps(name)}:{{"columns":{_dumps(table["columns"])},"rows":[')
        lines.extend(_dumps(row) + ("," if j < len(rows) - 1 else "") for j, row in enumerate(rows))
        lines.append("]}" + ("," if i < len(names) - 1 else ""))
    lines.append("}}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def build_kb_bytes(attack: Path, atlas: Path, actors: Path | None = None) -> bytes:
    """The data file for these inputs; identical inputs give identical bytes."""
    return canonical_json(build_kb(attack, atlas, actors))


def write_kb(attack: Path, atlas: Path, actors: Path | None = None, out: Path = DATA_FILE) -> Path:
    """Build and write the data file atomically; returns its path."""
    data = build_kb_bytes(attack, atlas, actors)
    out = Path(out)
    tmp = out.with_name(out.name + ".tmp")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        tmp.replace(out)
    except OSError as exc:
        raise KnowledgeBaseError(f"{out}: cannot write ({exc.strerror or exc})") from exc
    return out
