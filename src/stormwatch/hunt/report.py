"""The analyst's report: one self-contained HTML file (inline CSS and SVG, no network)."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime
from html import escape
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

    from stormwatch.hunt.result import HuntResult
    from stormwatch.store.schema import FindingRow

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1b1f24;max-width:1200px}
h1{margin-bottom:4px}h2{border-bottom:1px solid #ccd;padding-bottom:4px;margin-top:32px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #dde;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f3f4f8}.muted{color:#667}.score{font-weight:600}.card{border:1px solid #dde;border-radius:6px;padding:10px 14px;margin:12px 0}
.ev{margin:2px 0 2px 18px}.mono{font-family:ui-monospace,monospace;font-size:12px}
.hm td{text-align:center;min-width:38px}
.exports a{margin:0 2px}details.heat{margin:6px 0}details.heat summary{cursor:pointer;color:#445}
details.heat table{font-size:12px}.navigator-heatmap td>div{min-width:190px}
.navigator-heatmap td>div span{padding-left:10px}
"""
_COLORS = [
    "#d62728",
    "#1f77b4",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#7f7f7f",
]


def _color(i: int) -> str:
    return _COLORS[i % len(_COLORS)]


def _summary(result: HuntResult) -> str:
    s = result.stats
    attributed = sum(1 for c in result.clusters if c.attribution)
    rows = [
        ("Accounts seen", s.get("accounts", 0)),
        ("Suspicious accounts", s.get("suspicious_accounts", 0)),
        ("Clusters", len(result.clusters)),
        ("Attributed clusters", attributed),
        ("Events scanned this run", s.get("scanned", "—")),
        ("Bad records", s.get("bad_records", "—")),
    ]
    body = "".join(f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in rows)
    return f"<h2>Summary</h2><table>{body}</table>"


_EXPORT_LABELS = (
    ("stix", "STIX 2.1"),
    ("navigator", "ATT&CK Navigator"),
    ("navigator_atlas", "ATLAS Navigator"),
    ("misp", "MISP event"),
    ("indicators", "prompt indicators"),
)


def _exports(entry: dict[str, Any] | None) -> str:
    if not entry:
        return ""
    links = " · ".join(
        f"<a href='{escape(str(entry[key]), quote=True)}'>{label}</a>"
        for key, label in _EXPORT_LABELS
        if entry.get(key)
    )
    out = f"<p class='exports'><span class='muted'>Exports:</span> {links}</p>" if links else ""
    heat = str(entry.get("heatmap_html") or "")
    if heat:
        # produced by stormwatch.export from ids checked against the knowledge base and escaped there
        out += f"<details class='heat' open><summary>Technique heat map (Navigator layers)</summary>{heat}</details>"
    return out


def _clusters(result: HuntResult, exports: dict[str, dict[str, Any]] | None = None) -> str:
    out = ["<h2>Clusters and attribution</h2>"]
    if not result.clusters:
        out.append("<p class='muted'>No clusters: no group of linked suspicious accounts was found.</p>")
    for i, c in enumerate(result.clusters):
        cats = ", ".join(f"{escape(k)} ({v})" for k, v in list(c.categories.items())[:6])
        out.append(f"<div class='card'><h3 style='color:{_color(i)}'>{escape(c.designation)}</h3>")
        out.append(
            f"<p>{len(c.accounts)} accounts, {c.events} events, "
            f"{escape(str(c.first_seen or ''))} → {escape(str(c.last_seen or ''))}<br>"
            f"<span class='muted'>Categories:</span> {cats or '—'}</p>"
        )
        if c.attribution:
            out.append(
                "<table><tr><th>Candidate actor</th><th>Group</th><th>Score</th><th>Evidence</th></tr>"
            )
            for a in c.attribution:
                ev = "".join(f"<div class='ev'>• {escape(e)}</div>" for e in a.evidence)
                out.append(
                    f"<tr><td>{escape(a.actor)}</td><td>{escape(a.group_id or '—')}</td>"
                    f"<td class='score'>{a.score:.2f}</td><td>{ev}</td></tr>"
                )
            out.append("</table>")
        else:
            out.append("<p><b>Unattributed</b> — no known actor profile is close enough.</p>")
        out.append(_exports((exports or {}).get(c.id)))
        accs = ", ".join(escape(a) for a in c.accounts[:30]) + (" …" if len(c.accounts) > 30 else "")
        out.append(f"<p class='mono muted'>{accs}</p></div>")
    return "".join(out)


def _heatmap(result: HuntResult) -> str:
    cats = sorted({k for c in result.clusters for k in c.categories})
    if not cats:
        return ""
    peak = max((v for c in result.clusters for v in c.categories.values()), default=1) or 1
    head = "".join(f"<th>{escape(c.designation)}</th>" for c in result.clusters)
    rows = []
    for cat in cats:
        cells = []
        for c in result.clusters:
            v = c.categories.get(cat, 0)
            alpha = 0.08 + 0.85 * math.sqrt(v / peak) if v else 0
            cells.append(f"<td style='background:rgba(214,39,40,{alpha:.2f})'>{v or ''}</td>")
        rows.append(f"<tr><th>{escape(cat)}</th>{''.join(cells)}</tr>")
    return f"<h2>Categories × clusters</h2><table class='hm'><tr><th></th>{head}</tr>{''.join(rows)}</table>"


def _timeline(result: HuntResult) -> str:
    days: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for c in result.clusters:
        for a in c.accounts:
            for day in result.accounts[a].risk_by_day:
                days[c.designation][day] += 1
    all_days = sorted({d for v in days.values() for d in v})
    if not all_days:
        return ""
    d0 = datetime.fromisoformat(all_days[0])
    span = max(1, (datetime.fromisoformat(all_days[-1]) - d0).days)
    w, left, row_h = 900, 110, 22
    h = row_h * len(result.clusters) + 30
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{w + left + 20}' height='{h}'>"]
    for i, c in enumerate(result.clusters):
        y = 20 + i * row_h
        parts.append(f"<text x='4' y='{y + 4}' font-size='12'>{escape(c.designation)}</text>")
        parts.append(f"<line x1='{left}' y1='{y}' x2='{left + w}' y2='{y}' stroke='#eee'/>")
        for day, n in days[c.designation].items():
            x = left + w * (datetime.fromisoformat(day) - d0).days / span
            r = min(9.0, 2 + math.sqrt(n) * 1.5)
            parts.append(f"<circle cx='{x:.1f}' cy='{y}' r='{r:.1f}' fill='{_color(i)}' fill-opacity='0.6'/>")
    parts.append(f"<text x='{left}' y='{h - 2}' font-size='11'>{all_days[0]}</text>")
    parts.append(f"<text x='{left + w - 70}' y='{h - 2}' font-size='11'>{all_days[-1]}</text></svg>")
    return "<h2>Timeline (active account-days per cluster)</h2>" + "".join(parts)


def _graph(result: HuntResult) -> str:
    if not result.clusters:
        return ""
    cols = max(1, min(4, len(result.clusters)))
    cell = 260
    rows_n = math.ceil(len(result.clusters) / cols)
    pos: dict[str, tuple[float, float]] = {}
    color: dict[str, str] = {}
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{cols * cell}' height='{rows_n * cell}'>"]
    for i, c in enumerate(result.clusters):
        cx, cy = (i % cols) * cell + cell / 2, (i // cols) * cell + cell / 2 + 8
        r = 40 + min(70, 6 * len(c.accounts))
        parts.append(
            f"<text x='{cx - 40}' y='{cy - r - 14}' font-size='12' fill='{_color(i)}'>{escape(c.designation)}</text>"
        )
        for j, a in enumerate(c.accounts):
            ang = 2 * math.pi * j / len(c.accounts)
            pos[a] = (cx + r * math.cos(ang), cy + r * math.sin(ang))
            color[a] = _color(i)
    strongest: dict[tuple[str, str], tuple[float, str]] = {}
    cluster_of = {a: c.designation for c in result.clusters for a in c.accounts}
    for link in result.links:
        if link.a in pos and link.b in pos and cluster_of[link.a] == cluster_of[link.b]:
            w, k = strongest.get((link.a, link.b), (0.0, ""))
            strongest[(link.a, link.b)] = (w + link.weight, k or link.kind)
    for (a, b), (w, kind) in sorted(strongest.items()):
        (x1, y1), (x2, y2) = pos[a], pos[b]
        sw = min(4.0, 0.5 + 2 * w)
        parts.append(
            f"<line x1='{x1:.1f}' y1='{y1:.1f}' x2='{x2:.1f}' y2='{y2:.1f}' stroke='#889' stroke-width='{sw:.1f}' "
            f"stroke-opacity='0.55'><title>{escape(a)} — {escape(b)}: {w:.2f} ({escape(kind)}…)</title></line>"
        )
    for a, (x, y) in sorted(pos.items()):
        parts.append(
            f"<circle cx='{x:.1f}' cy='{y:.1f}' r='6' fill='{color[a]}'><title>{escape(a)}</title></circle>"
        )
    parts.append("</svg>")
    legend = (
        "<p class='muted'>Nodes are accounts; edges are the links inside each cluster, width by total weight "
        "(hover for the total and first reason kind).</p>"
    )
    return "<h2>Account-link graph</h2>" + legend + "".join(parts)


def _links_table(result: HuntResult, per_cluster: int = 6) -> str:
    """Per cluster, its strongest distinct link reasons, each with how many account pairs it ties."""
    cluster_of = {a: c.designation for c in result.clusters for a in c.accounts}
    reasons: dict[str, dict[tuple[str, str], tuple[float, int]]] = defaultdict(dict)
    for x in result.links:
        name = cluster_of.get(x.a)
        if name is None or name != cluster_of.get(x.b):
            continue
        w, n = reasons[name].get((x.kind, x.reason), (0.0, 0))
        reasons[name][(x.kind, x.reason)] = (max(w, x.weight), n + 1)
    if not reasons:
        return ""
    rows = []
    for c in result.clusters:
        top = sorted(reasons.get(c.designation, {}).items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))
        for i, ((kind, reason), (w, n)) in enumerate(top[:per_cluster]):
            head = (
                f"<td rowspan='{min(per_cluster, len(top))}'>{escape(c.designation)}</td>" if i == 0 else ""
            )
            rows.append(
                f"<tr>{head}<td>{escape(kind)}</td><td>{w:.2f}</td><td>{n}</td><td>{escape(reason)}</td></tr>"
            )
    return (
        "<h3>Strongest link reasons within each cluster</h3><table><tr><th>Cluster</th><th>Kind</th>"
        f"<th>Weight</th><th>Pairs</th><th>Reason</th></tr>{''.join(rows)}</table>"
    )


def _examples(result: HuntResult, findings: Mapping[str, list[FindingRow]]) -> str:
    out = ["<h2>Top example prompts</h2>"]
    for c in result.clusters:
        ex = result.examples.get(c.designation, [])
        if not ex:
            continue
        out.append(
            f"<h3>{escape(c.designation)}</h3><table><tr><th>Risk</th><th>Prompt</th><th>Findings</th></tr>"
        )
        for r in ex:
            fs = findings.get(r.id, [])
            ftxt = "<br>".join(
                f"{escape(str(f.category or ''))} <span class='muted'>{escape(str(f.rule))} "
                f"{escape(', '.join(f.techniques))}</span>"
                for f in fs[:4]
            )
            out.append(f"<tr><td>{r.risk:.2f}</td><td>{escape(str(r.prompt)[:300])}</td><td>{ftxt}</td></tr>")
        out.append("</table>")
    return "".join(out)


def render_report(
    result: HuntResult,
    findings: Mapping[str, list[FindingRow]],
    exports: dict[str, dict[str, Any]] | None = None,
) -> str:
    """The whole report as one HTML string; `exports` (from `stormwatch.export.report_links`) adds each
    cluster's export links and Navigator heat map."""
    body = "".join(
        [
            "<h1>Stormwatch hunt report</h1>",
            "<p class='muted'>Clusters of linked suspicious accounts, scored against known actor profiles. "
            "Designations (Storm-####) are temporary and stable across re-runs.</p>",
            _summary(result),
            _clusters(result, exports),
            _heatmap(result),
            _timeline(result),
            _graph(result),
            _links_table(result),
            _examples(result, findings),
        ]
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Stormwatch hunt report</title>"
        f"<style>{_CSS}</style></head><body>{body}</body></html>\n"
    )
