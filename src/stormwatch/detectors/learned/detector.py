"""The learned cascade as two registered detectors: `learned-fast` (stage 1) and `learned-embed` (stage 2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from stormwatch.calibration import apply_risk_curve
from stormwatch.detectors.base import register
from stormwatch.detectors.learned._features import chunks
from stormwatch.detectors.learned._model import BENIGN, E5, USE, Exemplar, Models, needs_e5
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
STAGE2_CHUNKS = 2  # at most this many windows per event (those stage 1 scores highest) are embedded
DEFAULT_BAND = (0.1, 0.8)  # used when the stage-2 model file carries no calibrated band


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
    tactic_p: float = 1.0  # the tactic head's probability for `tactic`


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


@cache
def _technique_tactics(technique: str) -> frozenset[str]:
    from stormwatch.kb import load_kb

    try:
        return frozenset(load_kb().tactics_for(technique))
    except Exception:  # an id the knowledge base does not know constrains nothing
        return frozenset()


def _pick_technique(techniques: list[str], probs: npt.NDArray[np.float32], tactic: str) -> str | None:
    """The most probable technique that belongs to the predicted tactic (None when none does)."""
    for j in np.argsort(-probs)[:10]:
        if tactic in _technique_tactics(techniques[int(j)]):
            return techniques[int(j)]
    return None


# Stage 1's n-gram tactic head is right ~35 % of the time on unseen phrasings: its tactic travels in a
# finding (where the verdict ranks it) only when it is confident; the explanation always names it.
FAST_TACTIC_MIN_P = 0.2
CYBER_SHARE = 0.25  # a tactic is reported when the cyber-operation categories hold this much probability


def _wants_tactic(cat: str | None, scores: dict[str, float]) -> bool:
    """Whether an assessment gets an ATT&CK tactic: a cyber category on top, or a large cyber share."""
    if cat and cat.startswith("llm-"):
        return True
    mal = sum(v for k, v in scores.items() if k != BENIGN)
    return mal > 0 and sum(v for k, v in scores.items() if k.startswith("llm-")) / mal >= CYBER_SHARE


class _FastMemo:
    """The last batch's stage-1 result, so `learned-fast` and `learned-embed` share one stage-1 pass.

    One tuple (events, result) swapped atomically, so concurrent callers never see a mixed pair.
    """

    last: ClassVar[tuple[list[Event], list[Assessment | None]] | None] = None


def assess_fast(events: list[Event]) -> list[Assessment | None]:
    """Stage 1 for every event (None for events with no scannable text)."""
    memo = _FastMemo.last
    if (
        memo is not None
        and len(memo[0]) == len(events)
        and all(a is b for a, b in zip(memo[0], events, strict=True))
    ):
        return list(memo[1])
    model = Models.fast()
    cks = _chunks_of(events)
    out: list[Assessment | None] = [None] * len(events)
    if cks:
        pm, pc, pt = model.predict([c.text for c in cks])
        for i, c in enumerate(cks):
            cur = out[c.event]
            if cur is not None and cur.p_malicious >= pm[i]:
                continue
            scores = {k: float(v) for k, v in zip(model.categories, pc[i], strict=True)}
            cat = _category(scores, c.role)
            tac = model.tactics[int(np.argmax(pt[i]))] if _wants_tactic(cat, scores) else None
            out[c.event] = Assessment(
                float(pm[i]),
                cat,
                scores,
                tac,
                None,
                c.turn,
                c.start,
                c.text,
                "fast",
                p_stage1=float(pm[i]),
                tactic_p=float(pt[i].max()),
            )
    _FastMemo.last = (list(events), list(out))
    return out


def risk_curve() -> list[list[float]] | None:
    """The stage-2 model's calibrated risk curve (None for models trained before it existed)."""
    if Models.available(USE):
        c = Models.embed(USE)[0].meta.get("risk_curve")
        return [list(map(float, x)) for x in c] if c else None
    return None


def stage2_band() -> tuple[float, float]:
    """Stage-1 scores in [low, high) go to stage 2 (calibrated at training time, stored in use.npz)."""
    if Models.available(USE):
        b = Models.embed(USE)[0].meta.get("band")
        if b:
            return float(b[0]), float(b[1])
    return DEFAULT_BAND


# Texts USE-multilingual does not cover (Indic scripts, Persian-only letters): "e5" embeds them with
# multilingual-e5 (~25-35 ms per event at 64 characters on 2 cores), "tactic" (the default) uses e5 only to
# map already-flagged requests to an ATT&CK tactic and lets USE score them, "use" sends everything to USE,
# "off" leaves them to stage 1 alone. Measured trade-offs: docs/quality.md.
E5_ROUTE = "tactic"


def _route(text: str, *, tactic: bool = False) -> str | None:
    """Which stage-2 embedding a chunk goes to (None: stage 1 only)."""
    if needs_e5(text):
        if (E5_ROUTE == "e5" or (E5_ROUTE == "tactic" and tactic)) and Models.available(E5):
            return E5
        if E5_ROUTE == "off":
            return None
    if Models.available(USE):
        return USE
    return E5 if Models.available(E5) else None


def assess_embed(events: list[Event], base: list[Assessment | None]) -> list[Assessment | None]:
    """Stage 2 for the given events, refining their stage-1 assessments (stacked, calibrated)."""
    fm = Models.fast()
    cks = _chunks_of(events)
    per: dict[int, list[_Chunk]] = {}
    for c in cks:
        per.setdefault(c.event, []).append(c)
    flat: list[_Chunk] = []
    for lst in per.values():
        if len(lst) > STAGE2_CHUNKS:  # long events: embed only the windows stage 1 finds most suspicious
            p, _, _ = fm.predict([c.text for c in lst])
            lst = [lst[int(j)] for j in sorted(np.argsort(-p)[:STAGE2_CHUNKS])]
        flat += lst
    out = list(base)
    if not flat:
        return out
    p1, _, _ = fm.predict([c.text for c in flat])
    routes: dict[str, list[int]] = {}
    for i, c in enumerate(flat):
        r = _route(c.text)
        if r is not None:
            routes.setdefault(r, []).append(i)
    best: dict[int, tuple[float, Assessment]] = {}
    for kind, idx in routes.items():
        em, embedder = Models.embed(kind)
        # Length-sorted batches: the encoders pad (or budget tokens) per batch.
        order = sorted(idx, key=lambda i: len(flat[i].text))
        emb = embedder.embed([flat[i].text for i in order])
        pc, pt, pk = em.heads(emb)
        p2 = 1.0 - pc[:, em.categories.index(BENIGN)]
        pm = em.combine(p1[order], p2)
        nbrs = em.neighbours(emb, k=3)
        for j, i in enumerate(order):
            c = flat[i]
            if c.event in best and best[c.event][0] >= pm[j]:
                continue
            scores = {k: float(v) for k, v in zip(em.categories, pc[j], strict=True)}
            cat = _category(scores, c.role)
            tac = tech = None
            if _wants_tactic(cat, scores):
                tac = em.tactics[int(np.argmax(pt[j]))]
                tech = _pick_technique(em.techniques, pk[j], tac)
            b = base[c.event]
            p_s1 = b.p_malicious if b is not None else float(p1[i])
            best[c.event] = (
                float(pm[j]),
                Assessment(
                    float(pm[j]),
                    cat,
                    scores,
                    tac,
                    tech,
                    c.turn,
                    c.start,
                    c.text,
                    f"embed-{kind}",
                    nbrs[j],
                    p_s1,
                ),
            )
    for ev, (_, a) in best.items():
        out[ev] = a
    return out


def _is_cyber(a: Assessment | None, floor: float) -> bool:
    return a is not None and a.p_malicious >= floor and _wants_tactic(a.category, a.category_scores)


def _e5_tactics(out: list[Assessment | None], floor: float) -> None:
    """Indic/Persian cyber requests: the ATT&CK tactic from multilingual-e5 (USE maps them poorly)."""
    idx = [i for i, a in enumerate(out) if a is not None and needs_e5(a.text) and _is_cyber(a, floor)]
    if idx and E5_ROUTE == "tactic":
        tac = refine_tactics([out[i] for i in idx])
        for j, i in enumerate(idx):
            out[i] = tac[j]


TACTIC_CHARS = 160  # the tactic refinement embeds only the start of the window stage 1 scored highest


def refine_tactics(base: list[Assessment | None]) -> list[Assessment | None]:
    """Stage-2 tactic/technique (and exemplars) for events stage 1 already settled as malicious cyber requests.

    The score stays stage 1's; only the ATT&CK mapping and the neighbours come from the embedding heads,
    which transfer across languages and phrasings far better than stage 1's n-gram tactic head. Only the
    first TACTIC_CHARS characters of the highest-scoring window are embedded (the request is usually there)."""
    out = list(base)
    routes: dict[str, list[int]] = {}
    for i, b in enumerate(base):
        r = _route(b.text, tactic=True) if b is not None else None
        if r is not None:
            routes.setdefault(r, []).append(i)
    for kind, idx in routes.items():
        em, embedder = Models.embed(kind)
        texts = {i: b.text[:TACTIC_CHARS] for i in idx if (b := base[i]) is not None}
        order = sorted(texts, key=lambda i: len(texts[i]))
        emb = embedder.embed([texts[i] for i in order])
        _, pt, pk = em.heads(emb)
        nbrs = em.neighbours(emb, k=3)
        for j, i in enumerate(order):
            b = base[i]
            if b is None:
                continue
            tac = em.tactics[int(np.argmax(pt[j]))]
            out[i] = Assessment(
                b.p_malicious,
                b.category,
                b.category_scores,
                tac,
                _pick_technique(em.techniques, pk[j], tac),
                b.turn,
                b.start,
                b.text,
                f"{b.stage}+tactic-embed-{kind}",
                nbrs[j],
                b.p_stage1,
            )
    return out


def _finding(det: str, a: Assessment, risk: float | None = None) -> Finding:
    cat = a.category or "harmful-content"
    techs: tuple[str, ...] = ATLAS_IDS.get(cat, ())
    # The predicted tactic travels as a TA id so the verdict's `tactics` uses it rather than the
    # category's default tactic.
    if a.tactic and a.tactic.startswith("TA") and (a.stage != "fast" or a.tactic_p >= FAST_TACTIC_MIN_P):
        techs = (*techs, a.tactic)
    if a.technique:
        techs = (*techs, a.technique)
    top = sorted(((v, k) for k, v in a.category_scores.items() if k != BENIGN), reverse=True)[:3]
    expl = f"learned {a.stage} model: P(malicious)={a.p_malicious:.2f}"
    if risk is not None:
        expl += f", calibrated risk {risk:.2f}"
    expl += "; top categories " + ", ".join(f"{k} {v:.2f}" for v, k in top)
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
        score=min(1.0, max(0.0, a.p_malicious if risk is None else risk)),
        category=cat,
        techniques=techs,
        evidence=(Evidence(turn=a.turn, start=a.start, end=a.start + len(ev_text), text=ev_text),),
        explanation=expl,
    )


def assess(
    events: list[Event], *, stage2: bool = True, band: tuple[float, float] | None = None
) -> list[Assessment | None]:
    """The full cascade: stage 1 on everything; stage 2 decides every event stage 1 does not settle as
    clearly benign (stage-1 score at or above the band's low end; `band` may also cap the top)."""
    lo, hi = band or (stage2_band()[0], float("inf"))
    base = assess_fast(events)
    if not stage2:
        return base
    idx = [i for i, a in enumerate(base) if a is not None and lo <= a.p_malicious < hi]
    if idx:
        refined = assess_embed([events[i] for i in idx], [base[i] for i in idx])
        for j, i in enumerate(idx):
            base[i] = refined[j]
        _e5_tactics(base, 0.0)
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
        """Findings for many events. On the fast path this stage's findings are final (no stage 2 re-reads
        them), so it reports only above the larger of `threshold` and the model's calibrated `emit_threshold`
        (stage-1 P at 0.2 % FPR on general-benign calibration rows, written by `stormwatch train`)."""
        cut = max(self.threshold, float(Models.fast().meta.get("emit_threshold", 0.0)))
        return [
            [_finding(self.id, a)] if a is not None and a.p_malicious >= cut else []
            for a in assess_fast(list(events))
        ]


@register("learned-embed")
class LearnedEmbed:
    """The full cascade (default engine): stage 1 settles clear benign windows (P < band low); every other
    event is decided by stage 2 (USE-multilingual, or e5 for Indic/Persian text) stacked with stage 1.

    It supersedes `learned-fast`: when both are configured the engine runs only this one, so a stage-1
    false positive is always re-read by stage 2 instead of standing on its own."""

    id: ClassVar[str] = "learned-embed"
    stage: ClassVar[str] = "learned"
    supersedes: ClassVar[tuple[str, ...]] = ("learned-fast",)
    # Findings carry the calibrated risk (see `_calibration`): 0.35 ≈ 3 % of ordinary prompts, the lowest
    # risk worth a finding (the default policy flags at 0.45 ≈ 1 %).
    min_risk: ClassVar[float] = 0.35

    def detect(self, event: Event) -> list[Finding]:
        """Findings for one event."""
        return self.detect_batch([event])[0]

    def detect_batch(self, events: list[Event]) -> list[list[Finding]]:
        """Findings for many events (one embedding call per route per batch)."""
        evs = list(events)
        lo, _ = stage2_band()
        base = assess_fast(evs)
        out: list[list[Finding]] = [[] for _ in evs]
        idx = [i for i, a in enumerate(base) if a is not None and a.p_malicious >= lo]
        if not idx:
            return out
        refined = assess_embed([evs[i] for i in idx], [base[i] for i in idx])
        curve = risk_curve()
        risks = [apply_risk_curve(a.p_malicious, curve) if a is not None else 0.0 for a in refined]
        gated = [a if r >= self.min_risk else None for a, r in zip(refined, risks, strict=True)]
        _e5_tactics(gated, 0.0)
        refined = [g if g is not None else a for g, a in zip(gated, refined, strict=True)]
        for j, i in enumerate(idx):
            a = refined[j]
            if a is not None and a.stage != "fast" and risks[j] >= self.min_risk:
                out[i] = [_finding(self.id, a, risks[j])]
        return out
