"""The learned cascade as two registered detectors: `learned-fast` (stage 1) and `learned-embed` (stage 2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from stormwatch.detectors.base import register
from stormwatch.detectors.learned._features import chunks
from stormwatch.detectors.learned._model import BENIGN, Exemplar, Models
from stormwatch.models import Event, Evidence, Finding

SCANNED_ROLES = ("user", "tool", "developer")
INJECTION_KINDS = ("prompt-injection", "jailbreak", "system-prompt-extraction", "indirect-prompt-injection")
ATLAS_IDS = {
    "prompt-injection": ("AML.T0051",),
    "indirect-prompt-injection": ("AML.T0051",),
    "jailbreak": ("AML.T0054",),
    "system-prompt-extraction": ("AML.T0056",),
}
MAX_TURN_CHARS = 200_000  # bounded work per turn: longer content is cut (and the cut is stated)
STAGE2_CHUNKS = 4  # at most this many windows per event go through the embedding model


@dataclass
class Assessment:
    """The cascade's view of one event (all scores, whether or not a finding is emitted)."""

    p_malicious: float
    category: str | None
    category_scores: dict[str, float]
    tactic: str | None
    technique: str | None
    turn: int
    start: int
    text: str
    stage: str
    neighbours: list[tuple[Exemplar, float]] = field(default_factory=list)
    p_stage1: float = 0.0


@dataclass
class _Chunk:
    event: int
    turn: int
    start: int
    text: str
    role: str


def _chunks_of(events: list[Event]) -> list[_Chunk]:
    out: list[_Chunk] = []
    for ei, ev in enumerate(events):
        for ti, m in enumerate(ev.turns()):
            if m.role not in SCANNED_ROLES or not m.content.strip():
                continue
            for start, text in chunks(m.content[:MAX_TURN_CHARS]):
                out.append(_Chunk(ei, ti, start, text, m.role))
    return out


def _category(scores: dict[str, float], role: str) -> str | None:
    mal = {k: v for k, v in scores.items() if k != BENIGN}
    if not mal:
        return None
    cat = max(mal, key=lambda k: mal[k])
    if role == "tool" and cat in INJECTION_KINDS:
        return "indirect-prompt-injection"
    return cat


def assess_fast(events: list[Event]) -> list[Assessment | None]:
    """Stage 1 for every event (None for events with no scannable text)."""
    model = Models.fast()
    cks = _chunks_of(events)
    out: list[Assessment | None] = [None] * len(events)
    if not cks:
        return out
    pm, pc, pt = model.predict([c.text for c in cks])
    for i, c in enumerate(cks):
        cur = out[c.event]
        if cur is not None and cur.p_malicious >= pm[i]:
            continue
        scores = {k: float(v) for k, v in zip(model.categories, pc[i], strict=True)}
        cat = _category(scores, c.role)
        tac = model.tactics[int(np.argmax(pt[i]))] if cat and cat.startswith("llm-") else None
        out[c.event] = Assessment(
            float(pm[i]), cat, scores, tac, None, c.turn, c.start, c.text, "fast", p_stage1=float(pm[i])
        )
    return out


def assess_embed(events: list[Event], base: list[Assessment | None]) -> list[Assessment | None]:
    """Stage 2 for the given events, refining their stage-1 assessments (stacked, calibrated)."""
    em, embedder = Models.embed()
    fm = Models.fast()
    cks = _chunks_of(events)
    per: dict[int, list[_Chunk]] = {}
    for c in cks:
        lst = per.setdefault(c.event, [])
        if len(lst) < STAGE2_CHUNKS:
            lst.append(c)
    flat = [c for lst in per.values() for c in lst]
    out = list(base)
    if not flat:
        return out
    texts = [c.text for c in flat]
    emb = embedder.embed(texts)
    p1, _, _ = fm.predict(texts)
    pc, pt, pk = em.heads(emb)
    p2 = 1.0 - pc[:, em.categories.index(BENIGN)]
    pm = em.combine(p1, p2)
    nbrs = em.neighbours(emb, k=3)
    best: dict[int, int] = {}
    for i, c in enumerate(flat):
        if c.event not in best or pm[i] > pm[best[c.event]]:
            best[c.event] = i
    for ev, i in best.items():
        c = flat[i]
        scores = {k: float(v) for k, v in zip(em.categories, pc[i], strict=True)}
        cat = _category(scores, c.role)
        tac = tech = None
        if cat and cat.startswith("llm-"):
            tac = em.tactics[int(np.argmax(pt[i]))]
            tech = em.techniques[int(np.argmax(pk[i]))]
        p_s1 = base[ev].p_malicious if base[ev] is not None else float(p1[i])  # type: ignore[union-attr]
        out[ev] = Assessment(
            float(pm[i]), cat, scores, tac, tech, c.turn, c.start, c.text, "embed", nbrs[i], p_s1
        )
    return out


def _finding(det: str, a: Assessment) -> Finding:
    cat = a.category or "harmful-content"
    techs: tuple[str, ...] = ATLAS_IDS.get(cat, ())
    if a.technique:
        techs = (*techs, a.technique)
    top = sorted(((v, k) for k, v in a.category_scores.items() if k != BENIGN), reverse=True)[:3]
    expl = f"learned {a.stage} model: P(malicious)={a.p_malicious:.2f}; top categories " + ", ".join(
        f"{k} {v:.2f}" for v, k in top
    )
    if a.tactic:
        expl += f"; ATT&CK tactic {a.tactic}"
    if a.neighbours:
        expl += "; similar to known " + ", ".join(
            f"{e.label}{'/' + e.technique if e.technique else ''} [{e.id}] ({s:.2f})" for e, s in a.neighbours
        )
    ev_text = a.text[:300]
    return Finding(
        detector=det,
        rule=f"learned/{cat}" + (f"/{a.tactic}" if a.tactic else ""),
        score=min(1.0, max(0.0, a.p_malicious)),
        category=cat,
        techniques=techs,
        evidence=(Evidence(turn=a.turn, start=a.start, end=a.start + len(ev_text), text=ev_text),),
        explanation=expl,
    )


def assess(
    events: list[Event], *, stage2: bool = True, band: tuple[float, float] | None = None
) -> list[Assessment | None]:
    """The full cascade: stage 1 on everything, stage 2 on events whose stage-1 score is inside `band`."""
    lo, hi = band or (LearnedFast.settle_low, LearnedFast.threshold)
    base = assess_fast(events)
    if not stage2:
        return base
    idx = [i for i, a in enumerate(base) if a is not None and lo <= a.p_malicious < hi]
    if idx:
        refined = assess_embed([events[i] for i in idx], [base[i] for i in idx])
        for j, i in enumerate(idx):
            base[i] = refined[j]
    return base


@register("learned-fast")
class LearnedFast:
    """Stage 1: hashed character n-grams + linear heads; reports only clear cases (P >= threshold)."""

    id: ClassVar[str] = "learned-fast"
    stage: ClassVar[str] = "fast"
    threshold: ClassVar[float] = 0.8
    settle_low: ClassVar[float] = 0.1

    def detect(self, event: Event) -> list[Finding]:
        """Findings for one event."""
        return self.detect_batch([event])[0]

    def detect_batch(self, events: list[Event]) -> list[list[Finding]]:
        """Findings for many events."""
        return [
            [_finding(self.id, a)] if a is not None and a.p_malicious >= self.threshold else []
            for a in assess_fast(list(events))
        ]


@register("learned-embed")
class LearnedEmbed:
    """Stage 2: multilingual e5 embedding + heads + known-exemplar neighbours, for stage-1's uncertain band."""

    id: ClassVar[str] = "learned-embed"
    stage: ClassVar[str] = "learned"
    threshold: ClassVar[float] = 0.5

    def detect(self, event: Event) -> list[Finding]:
        """Findings for one event."""
        return self.detect_batch([event])[0]

    def detect_batch(self, events: list[Event]) -> list[list[Finding]]:
        """Findings for many events (one embedding call per batch)."""
        evs = list(events)
        base = assess_fast(evs)
        idx = [
            i
            for i, a in enumerate(base)
            if a is not None and LearnedFast.settle_low <= a.p_malicious < LearnedFast.threshold
        ]
        out: list[list[Finding]] = [[] for _ in evs]
        if not idx:
            return out
        refined = assess_embed([evs[i] for i in idx], [base[i] for i in idx])
        for j, i in enumerate(idx):
            a = refined[j]
            if a is not None and a.p_malicious >= self.threshold:
                out[i] = [_finding(self.id, a)]
        return out
