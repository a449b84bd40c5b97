"""Hooks for the hunt's report.html: per-cluster export files and an inline Navigator heat map."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from stormwatch.errors import KnowledgeBaseError
from stormwatch.export._common import ExportOptions
from stormwatch.export._data import gather
from stormwatch.models import Cluster
from stormwatch.store.base import Store

EXPORTS_DIR = "exports"


def _color(score: float, top: float) -> str:
    x = 0.0 if top <= 0 else max(0.0, min(1.0, score / top))
    # white → amber → red, the layer's gradient
    if x < 0.5:
        r, g, b = 255, int(255 - (255 - 176) * x * 2), int(255 * (1 - x * 2))
    else:
        r, g, b = (
            int(255 - (255 - 214) * (x - 0.5) * 2),
            int(176 - (176 - 39) * (x - 0.5) * 2),
            int(40 * (x - 0.5) * 2),
        )
    return f"#{r:02x}{g:02x}{b:02x}"


def navigator_svg_or_html(layer: Mapping[str, Any]) -> str:
    """A self-contained HTML heat map of one Navigator layer: a column per tactic, cells shaded by score."""
    from stormwatch.kb import load_kb

    kb = load_kb()
    by_tactic: dict[str, list[tuple[str, str, float, str]]] = defaultdict(list)
    scored = [t for t in layer.get("techniques", []) if isinstance(t.get("score"), int | float)]
    # ATLAS layers repeat a technique once per tactic (`tactic`); the map places it by the KB's tactics.
    scored = list({str(t["techniqueID"]): t for t in scored}.values())
    top = max((float(t["score"]) for t in scored), default=0.0)
    for t in scored:
        tid = str(t["techniqueID"])
        try:
            tech = kb.technique(tid)
        except KnowledgeBaseError:
            by_tactic["other"].append((tid, tid, float(t["score"]), str(t.get("comment", ""))))
            continue
        for ta in tech.tactics or ["other"]:
            by_tactic[ta].append((tid, tech.name, float(t["score"]), str(t.get("comment", ""))))
    if not by_tactic:
        return f"<p class='muted'>{escape(str(layer.get('name', 'layer')))}: no techniques.</p>"
    cols = sorted(by_tactic, key=lambda ta: (ta == "other", ta))
    head = "".join(f"<th>{escape(kb.tactic(ta).name if ta != 'other' else 'Other')}</th>" for ta in cols)
    cells = []
    for ta in cols:
        items = sorted(by_tactic[ta], key=lambda x: (-x[2], x[0]))
        cells.append(
            "<td style='vertical-align:top;padding:2px'>"
            + "".join(
                f"<div title='{escape(comment)}' style='background:{_color(score, top)};border:1px solid #ccd;"
                f"margin:2px 0;padding:2px 4px;font-size:12px'><b>{escape(tid)}</b> {escape(name)}"
                f" <span style='float:right'>{score:g}</span></div>"
                for tid, name, score, comment in items
            )
            + "</td>"
        )
    return (
        f"<div class='navigator-heatmap'><div class='muted'>{escape(str(layer.get('name', '')))}</div>"
        f"<table><tr>{head}</tr><tr>{''.join(cells)}</tr></table></div>"
    )


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name) or "cluster"


def report_links(
    out_dir: Path,
    clusters: Sequence[Cluster | Mapping[str, Any]],
    *,
    store: Store | None = None,
    options: ExportOptions | None = None,
) -> dict[str, dict[str, Any]]:
    """Write each cluster's exports under `out_dir/exports/` and return, per cluster id, relative links + heat map.

    Each value holds `stix`, `navigator`, `navigator_atlas`, `misp` and (with a store) `indicators`: paths
    relative to `out_dir`, ready for `<a href>`; and `heatmap_html`: `navigator_svg_or_html` of both layers.
    """
    from stormwatch.export import EXPORTERS
    from stormwatch.export.navigator import build_layers

    opts = options or ExportOptions()
    models = [c if isinstance(c, Cluster) else Cluster.model_validate(c) for c in clusters]
    exports = out_dir / EXPORTS_DIR
    exports.mkdir(parents=True, exist_ok=True)
    data = gather(models, hunt_dir=out_dir if (out_dir / "findings.parquet").exists() else None, store=store,
                  producer=opts.org_name)  # fmt: skip
    links: dict[str, dict[str, Any]] = {}
    for cd in data.clusters:
        one = type(data)(clusters=[cd], sources=data.sources)
        stem = _safe(cd.cluster.designation)
        entry: dict[str, Any] = {}
        formats = ["stix", "navigator", "misp"] + (["indicators"] if store is not None else [])
        for fmt in formats:
            suffix = {"stix": ".stix.json", "navigator": ".navigator.json", "misp": ".misp.json"}.get(
                fmt, ".indicators.json"
            )
            written = EXPORTERS[fmt](one, opts, exports / f"{stem}{suffix}")
            entry[fmt] = written[0].relative_to(out_dir).as_posix()
            if fmt == "navigator" and len(written) > 1:
                entry["navigator_atlas"] = written[1].relative_to(out_dir).as_posix()
        layers = build_layers(one, opts)
        entry["heatmap_html"] = "".join(navigator_svg_or_html(layer) for layer in layers.values())
        links[cd.cluster.id] = entry
    return links
