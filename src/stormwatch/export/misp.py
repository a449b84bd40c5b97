"""MISP events (one per cluster) built with `pymisp`: attributes, ATT&CK/ATLAS galaxy tags, TLP, summary.

Also a MISP feed (`export_misp_feed`: manifest.json, hashes.csv, one `<uuid>.json` per event) and the
`stormwatch` MISP taxonomy (`misp_taxonomy`) that defines the `stormwatch:category="<slug>"` tags.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

from pymisp import MISPEvent, MISPOrganisation

from stormwatch.errors import KnowledgeBaseError
from stormwatch.export._common import ExportError, ExportOptions, det_uuid, iso
from stormwatch.export._data import ClusterData, ExportData
from stormwatch.export.indicators import NORMALIZATION, SCHEME

__all__ = [
    "TAXONOMY_NAMESPACE",
    "activity_group_tag",
    "build_events",
    "export_misp",
    "export_misp_feed",
    "galaxy_tag",
    "load_events",
    "misp_taxonomy",
]

TAXONOMY_NAMESPACE = "stormwatch"

_THREAT_LEVEL_HIGH, _THREAT_LEVEL_MEDIUM = 1, 2
_ANALYSIS_COMPLETE = 2
_DISTRIBUTION_ORG_ONLY = 0


@cache
def _attack_names() -> frozenset[str]:
    from stormwatch.kb import load_kb

    return frozenset(t.name for t in load_kb().techniques(domain="enterprise-attack", include_inactive=True))


def galaxy_tag(technique_id: str) -> str:
    """MISP's galaxy tag for an ATT&CK or ATLAS technique.

    The two galaxies name values differently: `mitre-attack-pattern` values are "<name> - <id>"
    (`misp-galaxy:mitre-attack-pattern="Phishing - T1566"`); `mitre-atlas-attack-pattern` values are the
    bare ATLAS name, with " (ATLAS)" appended where an ATT&CK technique has the same name
    (`misp-galaxy:mitre-atlas-attack-pattern="LLM Prompt Injection"`, `="Phishing (ATLAS)"`).
    """
    from stormwatch.kb import load_kb

    t = load_kb().technique(technique_id)
    if t.domain == "atlas":
        value = f"{t.name} (ATLAS)" if t.name in _attack_names() else t.name
        return f'misp-galaxy:mitre-atlas-attack-pattern="{value}"'
    return f'misp-galaxy:mitre-attack-pattern="{t.name} - {t.id}"'


def activity_group_tag(actor: str, group_id: str | None = None) -> str | None:
    """The `microsoft-activity-group` galaxy tag of an actor Microsoft tracks, by its current Microsoft name.

    `actor` may be the Microsoft name or any other name Microsoft's map knows; failing that, the ATT&CK
    group's Microsoft name. None when Microsoft does not track the actor.
    """
    from stormwatch.kb import load_kb

    kb = load_kb()
    try:
        return f'misp-galaxy:microsoft-activity-group="{kb.microsoft_actor(actor).name}"'
    except KnowledgeBaseError:
        pass
    if group_id:
        try:
            name = kb.group(group_id).microsoft_name
        except KnowledgeBaseError:
            name = None
        if name:
            return f'misp-galaxy:microsoft-activity-group="{name}"'
    return None


def _summary(cd: ClusterData, confident: float) -> str:
    c = cd.cluster
    lines = [
        f"# {c.designation}",
        "",
        f"{len(c.accounts)} accounts, {c.events} events, {iso(c.first_seen) or '?'} to {iso(c.last_seen) or '?'}.",
        "",
        "## LLM-themed TTP categories",
        *[f"- {k}: {v}" for k, v in sorted(c.categories.items(), key=lambda kv: (-kv[1], kv[0]))],
        "",
        "## Techniques",
        *[f"- {t.id}: {t.count} events" for t in cd.techniques],
        "",
        "## Attribution",
    ]
    if not c.attribution:
        lines.append("Unattributed: no known actor profile is close enough.")
    for a in c.attribution:
        mark = "" if a.score >= confident else " (below the confidence cut; not tagged)"
        lines.append(f"- {a.actor} ({a.group_id or 'no ATT&CK group'}), score {a.score:.2f}{mark}")
        lines += [f"  - {e}" for e in a.evidence]
    return "\n".join(lines) + "\n"


def build_event(cd: ClusterData, options: ExportOptions, now: Any) -> MISPEvent:
    """The MISP event of one cluster."""
    from stormwatch.kb import load_kb

    kb = load_kb()
    c = cd.cluster
    key = (options.org_name, c.id)
    ev = MISPEvent()
    ev.uuid = str(det_uuid("misp-event", *key))
    ev.info = f"Stormwatch {c.designation}: LLM misuse activity cluster ({len(c.accounts)} accounts)"
    ev.date = now.date()
    ev.timestamp = now
    top = c.attribution[0].score if c.attribution else 0.0
    ev.threat_level_id = _THREAT_LEVEL_HIGH if top >= options.confident_score else _THREAT_LEVEL_MEDIUM
    ev.analysis = _ANALYSIS_COMPLETE
    ev.distribution = _DISTRIBUTION_ORG_ONLY
    ev.add_tag(f"tlp:{options.tlp}")
    for slug in sorted(c.categories):
        ev.add_tag(f'stormwatch:category="{slug}"')
    for ts in cd.techniques:
        ev.add_tag(galaxy_tag(ts.id))
    for a in c.attribution:
        if a.score < options.confident_score:
            continue
        if (ms := activity_group_tag(a.actor, a.group_id)) is not None:
            ev.add_tag(ms)
        if not a.group_id:
            continue
        try:
            g = kb.group(a.group_id)
        except KnowledgeBaseError:
            continue
        ev.add_tag(f'misp-galaxy:mitre-intrusion-set="{g.name} - {g.id}"')

    def attr(kind: str, value: str, *, category: str, comment: str, to_ids: bool, part: str) -> None:
        ev.add_attribute(kind, value, category=category, comment=comment, to_ids=to_ids,
                         uuid=str(det_uuid("misp-attribute", *key, part)), timestamp=now)  # fmt: skip

    for inf in cd.infrastructure:
        what = "network" if inf.network else "address"
        attr("ip-src", inf.value, category="Network activity", to_ids=True, part=f"ip|{inf.value}",
             comment=f"Source {what} of {inf.accounts} cluster accounts, {inf.events} events")  # fmt: skip
    for p in cd.prompts:
        label = f"{p.category}; " if p.category else ""
        attr("sha256", p.sha256, category="Payload delivery", to_ids=True, part=f"sha|{p.sha256}",
             comment=f"Malicious LLM prompt ({label}{p.count} events): SHA-256 of prompt normalized {NORMALIZATION}")  # fmt: skip
        attr("text", p.minhash, category="Other", to_ids=False, part=f"minhash|{p.sha256}",
             comment=f"{SCHEME} fingerprint of prompt {p.sha256[:16]} (match with stormwatch scan --indicators)")  # fmt: skip
    report = ev.add_event_report(
        name=f"{c.designation} summary", content=_summary(cd, options.confident_score)
    )
    report.uuid = str(det_uuid("misp-report", *key))
    report.timestamp = now
    report.distribution = _DISTRIBUTION_ORG_ONLY
    return ev


def build_events(data: ExportData, options: ExportOptions) -> list[MISPEvent]:
    """One MISP event per cluster."""
    now = data.clock(options)
    return [build_event(cd, options, now) for cd in data.clusters]


def export_misp(data: ExportData, options: ExportOptions, out: Path) -> list[Path]:
    """Write `{"Event": ...}` for one cluster, or MISP's `{"response": [{"Event": ...}, ...]}` for several.

    MISP's "Import from MISP JSON" reads every event of a response list; pymisp's `MISPEvent.load` reads
    only the first, so read such a file with `load_events` (or share many events as a feed).
    """
    events = [{"Event": json.loads(e.to_json(sort_keys=True))} for e in build_events(data, options)]
    if not events:
        raise ExportError("no clusters to export")
    doc: dict[str, Any] = events[0] if len(events) == 1 else {"response": events}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n", "utf-8")
    return [out]


def load_events(source: str | Path | dict[str, Any] | list[Any]) -> list[MISPEvent]:
    """Every event of a MISP JSON document: `{"Event": …}`, `{"response": [{"Event": …}, …]}` or a list."""
    doc: Any = source
    if isinstance(source, Path):
        doc = json.loads(source.read_text("utf-8"))
    elif isinstance(source, str):
        doc = json.loads(source)
    items = doc.get("response", doc) if isinstance(doc, dict) else doc
    items = [items] if isinstance(items, dict) else items
    if not isinstance(items, list) or not items:
        raise ExportError(
            "not a MISP JSON document: expected {'Event': …} or {'response': [{'Event': …}, …]}"
        )
    events = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("Event"), dict):
            raise ExportError(f"MISP JSON item {i}: expected an object with an 'Event' object")
        ev = MISPEvent()
        ev.load(json.dumps(item))  # pymisp pops keys from a dict; the caller's document stays whole
        events.append(ev)
    return events


def export_misp_feed(data: ExportData, options: ExportOptions, out: Path) -> list[Path]:
    """Write a MISP feed into the directory `out`: one `<event uuid>.json` per cluster, manifest.json and
    hashes.csv (MD5 of each attribute value and its event uuid), the layout MISP's feeds read."""
    events = build_events(data, options)
    if not events:
        raise ExportError("no clusters to export")
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out}: a MISP feed is a directory; give a directory path with -o")
    org = MISPOrganisation()
    org.name = options.org_name
    org.uuid = str(det_uuid("misp-org", options.org_name))
    out.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {}
    hashes: list[str] = []
    written: list[Path] = []
    for ev in events:
        ev.Orgc = org
        feed = ev.to_feed()  # {"Event": {...}}, MISP's feed form (no local ids, no distribution)
        manifest.update(ev.manifest)
        hashes += [
            f"{hashlib.md5(a.value.encode('utf-8'), usedforsecurity=False).hexdigest()},{ev.uuid}"
            for a in ev.attributes
        ]
        path = out / f"{ev.uuid}.json"
        path.write_text(json.dumps(feed, indent=2, sort_keys=True, ensure_ascii=False) + "\n", "utf-8")
        written.append(path)
    (out / "manifest.json").write_text(
        json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n", "utf-8"
    )
    (out / "hashes.csv").write_text("".join(f"{h}\n" for h in hashes), "utf-8")
    return [out / "manifest.json", out / "hashes.csv", *written]


def misp_taxonomy() -> dict[str, Any]:
    """The `stormwatch` MISP taxonomy (machinetag.json format): one `category` predicate whose values are
    the LLM-themed TTP category slugs, so MISP knows every `stormwatch:category="<slug>"` tag."""
    from stormwatch.kb.taxonomy import load_taxonomy

    cats = sorted(load_taxonomy().categories(), key=lambda c: c.slug)
    return {
        "namespace": TAXONOMY_NAMESPACE,
        "expanded": "Stormwatch LLM misuse",
        "description": "LLM-themed TTP categories Stormwatch assigns to activity clusters misusing large "
        "language models (Microsoft and OpenAI's LLM-themed TTPs, mapped to MITRE ATT&CK and ATLAS).",
        "version": 1,
        "predicates": [
            {
                "value": "category",
                "expanded": "LLM-themed TTP category",
                "description": "What the cluster used the model for; one tag per category seen.",
            }
        ],
        "values": [
            {
                "predicate": "category",
                "entry": [
                    {"value": c.slug, "expanded": c.name, "description": " ".join(c.definition.split())}
                    for c in cats
                ],
            }
        ],
    }
