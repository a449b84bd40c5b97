"""Server-side pieces of the console pages: SVG charts, the link graph and its layout, heat maps, evidence
highlighting and prompt hiding. Pure functions of their inputs (deterministic: seeded layout, sorted)."""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from markupsafe import Markup, escape
from pydantic import BaseModel, ConfigDict

from stormwatch.store._triage import DayCount, Identifier
from stormwatch.store.schema import FindingRow

__all__ = [
    "GraphEdge",
    "GraphNode",
    "HeatColumn",
    "bars_svg",
    "graph_svg",
    "heat_map",
    "highlight",
    "hour_histogram_svg",
    "link_graph",
    "prompt_view",
]

# Identifier kinds drawn in the link graph (IP /24 network, raw IP, client, key, org, hashed identities).
GRAPH_KINDS = (
    "net",
    "ip",
    "user_agent",
    "api_key_id",
    "org",
    "payment_hash",
    "card_hash",
    "email_hash",
    "email_domain_hash",
    "phone_hash",
    "device_id",
    "billing_hash",
)
_KIND_COLOUR = {
    "account": "#1f4e79",
    "net": "#c0504d",
    "ip": "#e46c0a",
    "user_agent": "#7f6000",
    "api_key_id": "#5f497a",
    "org": "#31859b",
}


def prompt_view(text: str | None, *, hide: bool) -> str:
    """The prompt as shown: the text, or only its hash and length when prompt text is hidden by config."""
    if text is None:
        return ""
    if not hide:
        return text
    return f"[hidden: sha256 {hashlib.sha256(text.encode('utf-8')).hexdigest()[:16]}…, {len(text)} chars]"


def highlight(text: str, findings: Sequence[FindingRow]) -> Markup:
    """The prompt with each finding's evidence spans wrapped in <mark> (title: detector/rule), escaped."""
    spans: list[tuple[int, int, str]] = []
    for f in findings:
        try:
            evidence = json.loads(f.evidence or "[]")
        except json.JSONDecodeError:
            continue
        for ev in evidence if isinstance(evidence, list) else []:
            if not isinstance(ev, dict):
                continue
            snippet = str(ev.get("text") or "")
            start, end = ev.get("start"), ev.get("end")
            if isinstance(start, int) and isinstance(end, int) and text[start:end] == snippet and snippet:
                spans.append((start, end, f"{f.detector}/{f.rule}"))
            elif snippet and (pos := text.find(snippet)) >= 0:
                spans.append((pos, pos + len(snippet), f"{f.detector}/{f.rule}"))
    spans.sort()
    out: list[str] = []
    at = 0
    for start, end, title in spans:
        if start < at:  # overlapping spans: the first one wins
            continue
        out.append(str(escape(text[at:start])))
        out.append(f'<mark title="{escape(title)}">{escape(text[start:end])}</mark>')
        at = end
    out.append(str(escape(text[at:])))
    return Markup("".join(out))


def bars_svg(days: Sequence[DayCount], *, width: int = 720, height: int = 160) -> Markup:
    """Stacked daily bars: allowed (grey), flagged (amber), blocked (red); each bar's numbers on hover."""
    if not days:
        return Markup('<p class="muted">no events</p>')
    top = max(d.events for d in days) or 1
    bw = width / len(days)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height + 20}" role="img" aria-label="events per day">'
    ]
    for i, d in enumerate(days):
        x = i * bw
        y0: float = height
        for n, colour in (
            (d.events - d.flagged - d.blocked, "#bfbfbf"),
            (d.flagged, "#f0a30a"),
            (d.blocked, "#c0392b"),
        ):
            h = height * n / top
            parts.append(
                f'<rect x="{x:.1f}" y="{y0 - h:.1f}" width="{max(bw - 1, 1):.1f}" height="{h:.1f}" fill="{colour}"/>'
            )
            y0 -= h
        label = f"{d.day:%Y-%m-%d}: {d.events} events, {d.flagged} flagged, {d.blocked} blocked"
        parts.append(
            f'<rect x="{x:.1f}" y="0" width="{bw:.1f}" height="{height}" fill="transparent"><title>{escape(label)}</title></rect>'
        )
    parts.append(f'<text x="0" y="{height + 15}" class="axis">{days[0].day:%Y-%m-%d}</text>')
    parts.append(
        f'<text x="{width}" y="{height + 15}" class="axis" text-anchor="end">{days[-1].day:%Y-%m-%d}</text>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))


def hour_histogram_svg(hours: Sequence[int], *, width: int = 480, height: int = 120) -> Markup:
    """Events by hour of day (UTC), 24 bars: the working-hours signal attribution relies on."""
    top = max(hours, default=0) or 1
    bw = width / 24
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height + 20}" role="img" aria-label="hour-of-day histogram">'
    ]
    for h, n in enumerate(hours):
        bh = height * n / top
        parts.append(
            f'<rect x="{h * bw:.1f}" y="{height - bh:.1f}" width="{bw - 2:.1f}" height="{bh:.1f}" fill="#1f4e79">'
            f"<title>{h:02d}:00–{h:02d}:59 UTC: {n} events</title></rect>"
        )
        if h % 3 == 0:
            parts.append(f'<text x="{h * bw:.1f}" y="{height + 15}" class="axis">{h:02d}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


class HeatColumn(BaseModel):
    """One tactic column of a Navigator-style heat map: (technique id, name, count, shade 0..1) cells."""

    model_config = ConfigDict(frozen=True)

    tactic: str
    cells: tuple[tuple[str, str, int, float], ...]


def heat_map(techniques: Mapping[str, int], kb: Any, *, domain: str) -> list[HeatColumn]:
    """Techniques of one domain ("enterprise-attack" or "atlas") grouped by tactic, shaded by count."""
    picked = {
        t: n
        for t, n in techniques.items()
        if (t.startswith("AML.") == (domain == "atlas"))
        and not (t.startswith("TA") or t.startswith("AML.TA"))
    }
    top = max(picked.values(), default=0) or 1
    cols: dict[str, list[tuple[str, str, int, float]]] = defaultdict(list)
    order: dict[str, int] = {}
    for tid, n in sorted(picked.items()):
        try:
            tech = kb.technique(tid)
            name, tactics = str(tech.name), list(tech.tactics) or ["other"]
        except Exception:  # an id the knowledge base does not know still shows, under "other"
            name, tactics = tid, ["other"]
        for ta in tactics:
            try:
                tname = str(kb.tactic(ta).name) if ta != "other" else "other"
            except Exception:
                tname = ta
            order.setdefault(tname, len(order) if tname != "other" else 999)
            cols[tname].append((tid, name, int(n), round(n / top, 3)))
    return [HeatColumn(tactic=t, cells=tuple(cols[t])) for t in sorted(cols, key=lambda t: (order[t], t))]


class GraphNode(BaseModel):
    """A node of the link graph: an account or an identifier, with its layout position."""

    model_config = ConfigDict(frozen=True)

    id: str
    kind: str
    label: str
    x: float
    y: float


class GraphEdge(BaseModel):
    """An account–identifier edge and the reason it exists (shown on hover)."""

    model_config = ConfigDict(frozen=True)

    a: str
    b: str
    reason: str
    weight: int


def _short(value: str, n: int = 22) -> str:
    return value if len(value) <= n else value[: n - 1] + "…"


def link_graph(
    accounts: Sequence[str], idents: Sequence[Identifier], *, seed: int = 7, max_idents: int = 60
) -> tuple[list[GraphNode], list[GraphEdge]]:
    """Accounts and the identifiers that tie them (values used by two or more of the accounts), laid out
    with a seeded force-directed layout (Fruchterman–Reingold) in the unit square."""
    users: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for i in idents:
        if i.kind in GRAPH_KINDS:
            users[(i.kind, i.value)][i.account_id] = i.events
    shared = sorted(((k, v) for k, v in users.items() if len(v) >= 2), key=lambda kv: (-len(kv[1]), kv[0]))[
        :max_idents
    ]
    ids = [f"acct:{a}" for a in accounts] + [f"{k}:{v}" for (k, v), _ in shared]
    labels = {f"acct:{a}": a for a in accounts} | {f"{k}:{v}": f"{k} {_short(v)}" for (k, v), _ in shared}
    kinds = {f"acct:{a}": "account" for a in accounts} | {f"{k}:{v}": k for (k, v), _ in shared}
    edges: list[GraphEdge] = []
    for (k, v), accs in shared:
        for a, n in sorted(accs.items()):
            reason = f"{a} used {k} {v} in {n} event{'s' if n != 1 else ''}; {len(accs)} of these accounts share it"
            edges.append(GraphEdge(a=f"acct:{a}", b=f"{k}:{v}", reason=reason, weight=n))
    pos = _layout(ids, [(e.a, e.b) for e in edges], seed=seed)
    nodes = [
        GraphNode(id=i, kind=kinds[i], label=labels[i], x=float(pos[j, 0]), y=float(pos[j, 1]))
        for j, i in enumerate(ids)
    ]
    return nodes, edges


def _layout(
    ids: Sequence[str], edges: Sequence[tuple[str, str]], *, seed: int, iters: int = 150
) -> np.ndarray[Any, Any]:
    n = len(ids)
    rng = np.random.default_rng(seed)
    pos = rng.random((n, 2))
    if n <= 1:
        return np.full((n, 2), 0.5)
    index = {k: i for i, k in enumerate(ids)}
    ei = np.array([[index[a], index[b]] for a, b in edges], dtype=int).reshape(-1, 2)
    k = math.sqrt(1.0 / n)
    t = 0.1
    for _ in range(iters):
        delta = pos[:, None, :] - pos[None, :, :]
        dist = np.maximum(np.linalg.norm(delta, axis=-1), 1e-4)
        disp = (delta / dist[..., None] * (k * k / dist)[..., None]).sum(axis=1)
        if len(ei):
            d = pos[ei[:, 0]] - pos[ei[:, 1]]
            dl = np.maximum(np.linalg.norm(d, axis=1), 1e-4)
            f = d / dl[:, None] * (dl * dl / k)[:, None]
            np.add.at(disp, ei[:, 0], -f)
            np.add.at(disp, ei[:, 1], f)
        length = np.maximum(np.linalg.norm(disp, axis=1), 1e-4)
        pos += disp / length[:, None] * np.minimum(length, t)[:, None]
        t *= 0.97
    lo, hi = pos.min(axis=0), pos.max(axis=0)
    span = np.where(hi - lo > 1e-9, hi - lo, 1.0)
    result: np.ndarray[Any, Any] = 0.05 + 0.9 * (pos - lo) / span
    return result


def graph_svg(
    nodes: Sequence[GraphNode], edges: Sequence[GraphEdge], *, width: int = 900, height: int = 560
) -> Markup:
    """The link graph as SVG: each edge's reason and each node's value in its hover title; accounts link
    to their account page."""
    if not nodes:
        return Markup('<p class="muted">no accounts</p>')
    at = {n.id: (n.x * width, n.y * height) for n in nodes}
    parts = [
        f'<svg id="link-graph" class="graph" viewBox="0 0 {width} {height}" role="img" aria-label="link graph">'
    ]
    for e in edges:
        (x1, y1), (x2, y2) = at[e.a], at[e.b]
        sw = 1 + min(4.0, math.log1p(e.weight))
        parts.append(
            f'<line class="edge" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke-width="{sw:.1f}">'
            f"<title>{escape(e.reason)}</title></line>"
        )
    for n in nodes:
        x, y = at[n.id]
        colour = _KIND_COLOUR.get(n.kind, "#4f6228")
        title = escape(n.id.split(":", 1)[1] if n.kind != "account" else n.label)
        if n.kind == "account":
            href = escape(f"/accounts/{n.label}")
            parts.append(
                f'<a href="{href}"><circle class="node account" cx="{x:.1f}" cy="{y:.1f}" r="9" fill="{colour}">'
                f"<title>account {title}</title></circle></a>"
            )
        else:
            parts.append(
                f'<rect class="node ident" x="{x - 6:.1f}" y="{y - 6:.1f}" width="12" height="12" fill="{colour}">'
                f"<title>{escape(n.kind)}: {title}</title></rect>"
            )
        parts.append(f'<text x="{x + 11:.1f}" y="{y + 4:.1f}" class="nlabel">{escape(n.label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
