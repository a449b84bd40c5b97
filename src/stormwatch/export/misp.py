"""MISP events (one per cluster) built with `pymisp`: attributes, ATT&CK/ATLAS galaxy tags, TLP, summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pymisp import MISPEvent

from stormwatch.errors import KnowledgeBaseError
from stormwatch.export._common import ExportOptions, det_uuid, iso
from stormwatch.export._data import ClusterData, ExportData
from stormwatch.export.indicators import NORMALIZATION, SCHEME

__all__ = ["build_events", "export_misp", "galaxy_tag"]

_THREAT_LEVEL_HIGH, _THREAT_LEVEL_MEDIUM = 1, 2
_ANALYSIS_COMPLETE = 2
_DISTRIBUTION_ORG_ONLY = 0


def galaxy_tag(technique_id: str) -> str:
    """MISP's galaxy tag for an ATT&CK or ATLAS technique, e.g. `misp-galaxy:mitre-attack-pattern="Phishing - T1566"`."""
    from stormwatch.kb import load_kb

    t = load_kb().technique(technique_id)
    galaxy = "mitre-atlas-attack-pattern" if t.domain == "atlas" else "mitre-attack-pattern"
    return f'misp-galaxy:{galaxy}="{t.name} - {t.id}"'


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
        if a.score < options.confident_score or not a.group_id:
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
    """Write `{"Event": ...}` for one cluster, or MISP's `{"response": [{"Event": ...}, ...]}` for several."""
    events = [{"Event": json.loads(e.to_json(sort_keys=True))} for e in build_events(data, options)]
    doc: dict[str, Any] = events[0] if len(events) == 1 else {"response": events}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n", "utf-8")
    return [out]
