"""ATT&CK Navigator layers (format 4.5): an Enterprise layer and an ATLAS layer, techniques scored by count.

ATLAS layers name the `tactic` of every technique entry (one entry per tactic), as MITRE's own ATLAS
layers do: the ATLAS matrix repeats techniques across tactics and an entry without a tactic is ambiguous.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from stormwatch.export._common import ExportOptions
from stormwatch.export._data import ExportData

__all__ = [
    "ATLAS_DOMAIN",
    "ENTERPRISE_DOMAIN",
    "LAYER_VERSION",
    "build_layers",
    "export_navigator",
    "layer_paths",
    "tactic_shortname",
]

LAYER_VERSION = "4.5"
NAVIGATOR_VERSION = "5.1.0"
ENTERPRISE_DOMAIN = "enterprise-attack"
ATLAS_DOMAIN = "atlas-atlas"  # the domain id the ATLAS Navigator uses for its matrix
_GRADIENT = ["#ffffff", "#ffb000", "#d62728"]


def _domain_of(tid: str) -> str:
    return ATLAS_DOMAIN if tid.startswith("AML.") else ENTERPRISE_DOMAIN


def _per_tactic(entry: dict[str, Any], tactics: list[str]) -> list[dict[str, Any]]:
    """One copy of an ATLAS layer entry per tactic shortname (the entry unchanged when it has none)."""
    return [{"techniqueID": entry["techniqueID"], "tactic": ta, **entry} for ta in tactics] or [entry]


def _atlas_tactics(kb: Any, tid: str) -> list[str]:
    return [tactic_shortname(kb, ta) for ta in kb.technique(tid).tactics]


def _no_tactics(kb: Any, tid: str) -> list[str]:
    return []


def tactic_shortname(kb: Any, tactic_id: str) -> str:
    """The Navigator's tactic key: the KB's shortname, else the slug of the name ("AI Model Access" ->
    "ai-model-access", the form the ATLAS matrix uses)."""
    t = kb.tactic(tactic_id)
    return str(t.shortname or re.sub(r"[^a-z0-9]+", "-", t.name.lower()).strip("-"))


def build_layers(data: ExportData, options: ExportOptions) -> dict[str, dict[str, Any]]:
    """One layer per domain (`enterprise-attack`, `atlas-atlas`) over all clusters in `data`."""
    from stormwatch.kb import load_kb

    kb = load_kb()
    score: Counter[str] = Counter()
    notes: dict[str, list[str]] = defaultdict(list)
    cats: dict[str, Counter[str]] = defaultdict(Counter)
    evidence: dict[str, list[str]] = defaultdict(list)
    for cd in data.clusters:
        for ts in cd.techniques:
            score[ts.id] += ts.count
            cats[ts.id].update(ts.categories)
            notes[ts.id].append(f"{cd.cluster.designation}: {ts.count} events")
            evidence[ts.id].extend(e for e in ts.examples if e not in evidence[ts.id])
    names = [cd.cluster.designation for cd in data.clusters]
    title = names[0] if len(names) == 1 else f"{len(names)} clusters"
    layers: dict[str, dict[str, Any]] = {}
    for domain, label in ((ENTERPRISE_DOMAIN, "ATT&CK Enterprise"), (ATLAS_DOMAIN, "ATLAS")):
        ids = sorted(t for t in score if _domain_of(t) == domain)
        techniques: list[dict[str, Any]] = []
        parents = sorted({p for t in ids if (p := kb.technique(t).parent) and p not in score})
        tactics = _atlas_tactics if domain == ATLAS_DOMAIN else _no_tactics
        for p in parents:  # unscored parent entries so the Navigator opens the scored sub-techniques
            techniques += _per_tactic(
                {"techniqueID": p, "showSubtechniques": True, "enabled": True}, tactics(kb, p)
            )
        for t in ids:
            c = ", ".join(f"{k} ({v})" for k, v in sorted(cats[t].items(), key=lambda kv: (-kv[1], kv[0])))
            comment = "; ".join(notes[t]) + (f". LLM-themed TTP categories: {c}" if c else "")
            if evidence[t]:
                comment += ". Evidence: " + " | ".join(evidence[t][:3])
            meta = [{"name": "categories", "value": c}] if c else []
            meta += [{"name": "evidence", "value": e} for e in evidence[t][:3]]
            entry = {
                "techniqueID": t,
                "score": score[t],
                "comment": comment,
                "enabled": True,
                "metadata": meta,
                "showSubtechniques": False,
            }
            techniques += _per_tactic(entry, tactics(kb, t))
        techniques.sort(key=lambda e: (str(e["techniqueID"]), str(e.get("tactic", ""))))
        versions = {"layer": LAYER_VERSION, "navigator": NAVIGATOR_VERSION}
        if domain == ENTERPRISE_DOMAIN:
            versions["attack"] = str(kb.sources.get("attack", {}).get("version", "")).split(".")[0] or "18"
        top = max((score[t] for t in ids), default=0)
        layers[domain] = {
            "name": f"Stormwatch {title} ({label})",
            "versions": versions,
            "domain": domain,
            "description": f"Techniques seen in LLM misuse by {', '.join(names) or 'no cluster'}, "
            f"scored by event count. Produced by {options.org_name}; TLP:{options.tlp.upper()}.",
            "sorting": 3,
            "hideDisabled": False,
            "techniques": techniques,
            "gradient": {"colors": _GRADIENT, "minValue": 0, "maxValue": max(top, 1)},
            "legendItems": [],
            "metadata": [
                {"name": "clusters", "value": ", ".join(names)},
                {"name": "tlp", "value": f"TLP:{options.tlp.upper()}"},
            ],
            "showTacticRowBackground": False,
            "selectTechniquesAcrossTactics": True,
            "selectSubtechniquesWithParent": False,
        }
    return layers


def layer_paths(out: Path) -> dict[str, Path]:
    """Where the two layers go: `out` for Enterprise, `<stem>.atlas<suffix>` beside it for ATLAS."""
    suffix = out.suffix or ".json"
    return {ENTERPRISE_DOMAIN: out, ATLAS_DOMAIN: out.with_name(f"{out.stem}.atlas{suffix}")}


def export_navigator(data: ExportData, options: ExportOptions, out: Path) -> list[Path]:
    """Write the Enterprise layer to `out` and the ATLAS layer beside it; returns both paths."""
    layers = build_layers(data, options)
    written = []
    for domain, path in layer_paths(out).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(layers[domain], indent=2, ensure_ascii=False) + "\n", "utf-8")
        written.append(path)
    return written
