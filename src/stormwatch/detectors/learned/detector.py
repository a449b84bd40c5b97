"""The learned cascade as two registered detectors: `learned-fast` (stage 1) and `learned-embed` (stage 2)."""

from __future__ import annotations

from collections.abc import Hashable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt
from pydantic import Field, model_validator

from stormwatch.calibration import apply_risk_curve
from stormwatch.detectors.base import DetectorParams, register
from stormwatch.detectors.learned._features import chunks
from stormwatch.detectors.learned._model import (
    BENIGN,
    E5,
    MODEL_DIR,
    USE,
    CascadeModels,
    Embedders,
    Exemplar,
    needs_e5,
)
from stormwatch.models import Event, Evidence, Finding

SCANNED_ROLES = ("user", "tool", "developer")
INJECTION_KINDS = ("prompt-injection", "jailbreak", "system-prompt-extraction", "indirect-prompt-injection")
ATLAS_IDS = {
    "prompt-injection": ("AML.T0051",),
    "indirect-prompt-injection": ("AML.T0051",),
    "jailbreak": ("AML.T0054",),
    "system-prompt-extraction": ("AML.T0056",),
}
_FALLBACK_BAND = (0.1, 0.8)  # the stage-2 band of model files trained before it was calibrated
_MODELS = "learned.models"  # build-pool keys (see `Cascade.shared`)
_EMBEDDERS = "learned.embedders"
_CASCADE = "learned.cascade"

# Texts USE-multilingual does not cover (Indic scripts, Persian-only letters): "e5" embeds them with
# multilingual-e5 (~25-35 ms per event at 64 characters on 2 cores), "tactic" (the default) uses e5 only to
# map already-flagged requests to an ATT&CK tactic and lets USE score them, "use" sends everything to USE,
# "off" leaves them to stage 1 alone. Measured trade-offs: docs/quality.md.
E5Route = Literal["tactic", "e5", "use", "off"]


class CascadeParams(DetectorParams):
    """What configures the learned cascade (both stages); the defaults are the shipped behaviour.

    `model_dir`: folder of fast.npz / use.npz / embed.npz; `e5_route`: see `E5Route`; `band`: stage-1
    scores in [low, high) go to stage 2 (None: the band calibrated in use.npz); `stage2_chunks`: windows per
    event embedded by stage 2 (those stage 1 scores highest); `chunk_chars`, `chunk_overlap`, `max_chunks`:
    the windows a turn is cut into; `max_turn_chars`: characters of one turn read (the cut is bounded work);
    `tactic_chars`: characters of the top window embedded to map a request to a tactic;
    `fast_tactic_min_p`: stage 1's tactic travels in a finding only above this probability;
    `cyber_share`: share of malicious probability on cyber categories that earns a tactic."""

    model_dir: Path = MODEL_DIR
    e5_route: E5Route = "tactic"
    band: tuple[float, float] | None = None
    stage2_chunks: int = Field(default=2, ge=1)
    chunk_chars: int = Field(default=800, gt=0)
    chunk_overlap: int = Field(default=100, ge=0)
    max_chunks: int = Field(default=32, ge=1)
    max_turn_chars: int = Field(default=200_000, gt=0)
    tactic_chars: int = Field(default=160, gt=0)
    fast_tactic_min_p: float = Field(default=0.2, ge=0.0, le=1.0)
    cyber_share: float = Field(default=0.25, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _consistent(self) -> CascadeParams:
        if self.chunk_overlap >= self.chunk_chars:
            raise ValueError("chunk_overlap must be smaller than chunk_chars")
        if self.band is not None and not 0.0 <= self.band[0] <= self.band[1]:
            raise ValueError("band is (low, high) with 0 <= low <= high")
        return self

    def cascade_params(self) -> CascadeParams:
        """Only the cascade's own fields (what decides whether two detectors can share one cascade)."""
        return CascadeParams.model_validate({k: getattr(self, k) for k in CascadeParams.model_fields})


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


def _category(scores: dict[str, float], role: str) -> str | None:
    mal = {k: v for k, v in scores.items() if k != BENIGN}
    if not mal:
        return None
    cat = max(mal, key=lambda k: mal[k])
    if role == "tool" and cat in INJECTION_KINDS:
        return "indirect-prompt-injection"
    return cat


def shared_embedders(pool: MutableMapping[Hashable, Any]) -> Embedders:
    """The one set of stage-2 encoders of a build pool (made on first request)."""
    got = pool.get((_EMBEDDERS,))
    if not isinstance(got, Embedders):
        got = pool[(_EMBEDDERS,)] = Embedders()
    return got


class Cascade:
    """The learned cascade configured by `CascadeParams`: stage 1 (hashed n-grams) settles clear benign
    windows, stage 2 (USE-multilingual, or e5 for Indic/Persian text) decides the rest.

    The models live in a `CascadeModels` passed in (or made here); `shared` builds one per model directory
    in a build pool, so detectors built together load each model once. The last stage-1 batch is
    remembered per cascade, so `learned-fast` and `learned-embed` sharing one cascade run stage 1 once."""

    def __init__(self, params: CascadeParams | None = None, models: CascadeModels | None = None) -> None:
        self.params = CascadeParams() if params is None else params.cascade_params()
        self.models = CascadeModels(self.params.model_dir) if models is None else models
        # One tuple (events, result) swapped atomically, so concurrent callers never see a mixed pair.
        self._memo: tuple[list[Event], list[Assessment | None]] | None = None
        self._tactics_of: dict[str, frozenset[str]] = {}

    @classmethod
    def shared(cls, params: CascadeParams, pool: MutableMapping[Hashable, Any]) -> Cascade:
        """The cascade of these parameters in a build pool: one per distinct configuration, over one
        `CascadeModels` per model directory and one set of encoders for the whole pool."""
        own = params.cascade_params()
        got = pool.get((_CASCADE, own))
        if isinstance(got, Cascade):
            return got
        embedders = shared_embedders(pool)
        key = (_MODELS, own.model_dir.resolve())
        models = pool.get(key)
        if not isinstance(models, CascadeModels):
            models = pool[key] = CascadeModels(own.model_dir, embedders)
        cascade = pool[(_CASCADE, own)] = cls(own, models)
        return cascade

    # ---------------------------------------------------------------------------------------- helpers
    def _chunks_of(self, events: list[Event]) -> list[_Chunk]:
        p = self.params
        out: list[_Chunk] = []
        for ei, ev in enumerate(events):
            for ti, m in enumerate(ev.turns()):
                if m.role not in SCANNED_ROLES or not m.content.strip():
                    continue
                windows = chunks(m.content[: p.max_turn_chars], p.chunk_chars, p.chunk_overlap, p.max_chunks)
                for start, text in windows:
                    out.append(_Chunk(ei, ti, start, text, m.role))
        return out

    def _technique_tactics(self, technique: str) -> frozenset[str]:
        got = self._tactics_of.get(technique)
        if got is None:
            from stormwatch.kb import load_kb

            try:
                got = frozenset(load_kb().tactics_for(technique))
            except Exception:  # an id the knowledge base does not know constrains nothing
                got = frozenset()
            self._tactics_of[technique] = got
        return got

    def _pick_technique(
        self, techniques: list[str], probs: npt.NDArray[np.float32], tactic: str
    ) -> str | None:
        """The most probable technique that belongs to the predicted tactic (None when none does)."""
        for j in np.argsort(-probs)[:10]:
            if tactic in self._technique_tactics(techniques[int(j)]):
                return techniques[int(j)]
        return None

    def wants_tactic(self, cat: str | None, scores: dict[str, float]) -> bool:
        """Whether an assessment gets an ATT&CK tactic: a cyber category on top, or a large cyber share."""
        if cat and cat.startswith("llm-"):
            return True
        mal = sum(v for k, v in scores.items() if k != BENIGN)
        return (
            mal > 0
            and sum(v for k, v in scores.items() if k.startswith("llm-")) / mal >= self.params.cyber_share
        )

    # ---------------------------------------------------------------------------------------- stage 1
    def assess_fast(self, events: list[Event]) -> list[Assessment | None]:
        """Stage 1 for every event (None for events with no scannable text)."""
        memo = self._memo
        if (
            memo is not None
            and len(memo[0]) == len(events)
            and all(a is b for a, b in zip(memo[0], events, strict=True))
        ):
            return list(memo[1])
        model = self.models.fast()
        cks = self._chunks_of(events)
        out: list[Assessment | None] = [None] * len(events)
        if cks:
            pm, pc, pt = model.predict([c.text for c in cks])
            for i, c in enumerate(cks):
                cur = out[c.event]
                if cur is not None and cur.p_malicious >= pm[i]:
                    continue
                scores = {k: float(v) for k, v in zip(model.categories, pc[i], strict=True)}
                cat = _category(scores, c.role)
                tac = model.tactics[int(np.argmax(pt[i]))] if self.wants_tactic(cat, scores) else None
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
        self._memo = (list(events), list(out))
        return out

    # ---------------------------------------------------------------------------------------- stage 2
    def risk_curve(self) -> list[list[float]] | None:
        """The stage-2 model's calibrated risk curve (None for models trained before it existed)."""
        if self.models.available(USE):
            c = self.models.embed(USE)[0].meta.get("risk_curve")
            return [list(map(float, x)) for x in c] if c else None
        return None

    def stage2_band(self) -> tuple[float, float]:
        """Stage-1 scores in [low, high) go to stage 2: the `band` parameter, else the band calibrated at
        training time (stored in use.npz)."""
        if self.params.band is not None:
            return self.params.band
        if self.models.available(USE):
            b = self.models.embed(USE)[0].meta.get("band")
            if b:
                return float(b[0]), float(b[1])
        return _FALLBACK_BAND

    def route(self, text: str, *, tactic: bool = False) -> str | None:
        """Which stage-2 embedding a chunk goes to (None: stage 1 only)."""
        r = self.params.e5_route
        if needs_e5(text):
            if (r == "e5" or (r == "tactic" and tactic)) and self.models.available(E5):
                return E5
            if r == "off":
                return None
        if self.models.available(USE):
            return USE
        return E5 if self.models.available(E5) else None

    def assess_embed(self, events: list[Event], base: list[Assessment | None]) -> list[Assessment | None]:
        """Stage 2 for the given events, refining their stage-1 assessments (stacked, calibrated)."""
        fm = self.models.fast()
        n2 = self.params.stage2_chunks
        cks = self._chunks_of(events)
        per: dict[int, list[_Chunk]] = {}
        for c in cks:
            per.setdefault(c.event, []).append(c)
        flat: list[_Chunk] = []
        for lst in per.values():
            if len(lst) > n2:  # long events: embed only the windows stage 1 finds most suspicious
                p, _, _ = fm.predict([c.text for c in lst])
                lst = [lst[int(j)] for j in sorted(np.argsort(-p)[:n2])]
            flat += lst
        out = list(base)
        if not flat:
            return out
        p1, _, _ = fm.predict([c.text for c in flat])
        routes: dict[str, list[int]] = {}
        for i, c in enumerate(flat):
            r = self.route(c.text)
            if r is not None:
                routes.setdefault(r, []).append(i)
        best: dict[int, tuple[float, Assessment]] = {}
        for kind, idx in routes.items():
            em, embedder = self.models.embed(kind)
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
                if self.wants_tactic(cat, scores):
                    tac = em.tactics[int(np.argmax(pt[j]))]
                    tech = self._pick_technique(em.techniques, pk[j], tac)
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

    def _is_cyber(self, a: Assessment | None, floor: float) -> bool:
        return a is not None and a.p_malicious >= floor and self.wants_tactic(a.category, a.category_scores)

    def e5_tactics(self, out: list[Assessment | None], floor: float = 0.0) -> None:
        """Indic/Persian cyber requests: the ATT&CK tactic from multilingual-e5 (USE maps them poorly)."""
        idx = [
            i for i, a in enumerate(out) if a is not None and needs_e5(a.text) and self._is_cyber(a, floor)
        ]
        if idx and self.params.e5_route == "tactic":
            tac = self.refine_tactics([out[i] for i in idx])
            for j, i in enumerate(idx):
                out[i] = tac[j]

    def refine_tactics(self, base: list[Assessment | None]) -> list[Assessment | None]:
        """Stage-2 tactic/technique (and exemplars) for events stage 1 already settled as malicious cyber
        requests.

        The score stays stage 1's; only the ATT&CK mapping and the neighbours come from the embedding heads,
        which transfer across languages and phrasings far better than stage 1's n-gram tactic head. Only the
        first `tactic_chars` characters of the highest-scoring window are embedded (the request is usually
        there)."""
        out = list(base)
        routes: dict[str, list[int]] = {}
        for i, b in enumerate(base):
            r = self.route(b.text, tactic=True) if b is not None else None
            if r is not None:
                routes.setdefault(r, []).append(i)
        for kind, idx in routes.items():
            em, embedder = self.models.embed(kind)
            texts = {i: b.text[: self.params.tactic_chars] for i in idx if (b := base[i]) is not None}
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
                    self._pick_technique(em.techniques, pk[j], tac),
                    b.turn,
                    b.start,
                    b.text,
                    f"{b.stage}+tactic-embed-{kind}",
                    nbrs[j],
                    b.p_stage1,
                )
        return out

    def assess(
        self, events: list[Event], *, stage2: bool = True, band: tuple[float, float] | None = None
    ) -> list[Assessment | None]:
        """The full cascade: stage 1 on everything; stage 2 decides every event stage 1 does not settle as
        clearly benign (stage-1 score at or above the band's low end; `band` may also cap the top)."""
        lo, hi = band or (self.stage2_band()[0], float("inf"))
        base = self.assess_fast(events)
        if not stage2:
            return base
        idx = [i for i, a in enumerate(base) if a is not None and lo <= a.p_malicious < hi]
        if idx:
            refined = self.assess_embed([events[i] for i in idx], [base[i] for i in idx])
            for j, i in enumerate(idx):
                base[i] = refined[j]
            self.e5_tactics(base, 0.0)
        return base

    def finding(self, det: str, a: Assessment, risk: float | None = None) -> Finding:
        """The finding of one assessment, reported by detector `det` (with its calibrated risk, if any)."""
        cat = a.category or "harmful-content"
        techs: tuple[str, ...] = ATLAS_IDS.get(cat, ())
        # The predicted tactic travels as a TA id so the verdict's `tactics` uses it rather than the
        # category's default tactic. Stage 1's n-gram tactic head is right ~35 % of the time on unseen
        # phrasings: its tactic travels only when confident; the explanation always names it.
        if (
            a.tactic
            and a.tactic.startswith("TA")
            and (a.stage != "fast" or a.tactic_p >= self.params.fast_tactic_min_p)
        ):
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
                f"{e.label}{'/' + e.technique if e.technique else ''} [{e.id}] ({s:.2f})"
                for e, s in a.neighbours
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


@register("learned-fast")
class LearnedFast:
    """Stage 1: hashed character n-grams + linear heads; reports only clear cases (P >= threshold)."""

    id: ClassVar[str] = "learned-fast"
    stage: ClassVar[str] = "fast"

    class Params(CascadeParams):
        """The cascade's parameters plus `threshold`: the least stage-1 P(malicious) reported."""

        threshold: float = Field(default=0.8, ge=0.0, le=1.0)

    def __init__(self, cascade: Cascade | None = None, *, threshold: float = 0.8) -> None:
        self.cascade = Cascade() if cascade is None else cascade
        self.threshold = threshold

    @classmethod
    def from_params(cls, params: LearnedFast.Params, shared: MutableMapping[Hashable, Any]) -> LearnedFast:
        """Stage 1 over the pool's cascade of these parameters (models loaded once per pool)."""
        return cls(Cascade.shared(params, shared), threshold=params.threshold)

    def detect(self, event: Event) -> list[Finding]:
        """Findings for one event."""
        return self.detect_batch([event])[0]

    def detect_batch(self, events: list[Event]) -> list[list[Finding]]:
        """Findings for many events. On the fast path this stage's findings are final (no stage 2 re-reads
        them), so it reports only above the larger of `threshold` and the model's calibrated `emit_threshold`
        (stage-1 P at 0.2 % FPR on general-benign calibration rows, written by `stormwatch train`)."""
        c = self.cascade
        cut = max(self.threshold, float(c.models.fast().meta.get("emit_threshold", 0.0)))
        return [
            [c.finding(self.id, a)] if a is not None and a.p_malicious >= cut else []
            for a in c.assess_fast(list(events))
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

    class Params(CascadeParams):
        """The cascade's parameters plus `min_risk`: the least calibrated risk worth a finding (0.35 ≈ 3 %
        of ordinary prompts; the default policy flags at 0.45 ≈ 1 %)."""

        min_risk: float = Field(default=0.35, ge=0.0, le=1.0)

    def __init__(self, cascade: Cascade | None = None, *, min_risk: float = 0.35) -> None:
        self.cascade = Cascade() if cascade is None else cascade
        self.min_risk = min_risk

    @classmethod
    def from_params(cls, params: LearnedEmbed.Params, shared: MutableMapping[Hashable, Any]) -> LearnedEmbed:
        """The cascade of these parameters from the pool (models loaded once per pool)."""
        return cls(Cascade.shared(params, shared), min_risk=params.min_risk)

    def detect(self, event: Event) -> list[Finding]:
        """Findings for one event."""
        return self.detect_batch([event])[0]

    def detect_batch(self, events: list[Event]) -> list[list[Finding]]:
        """Findings for many events (one embedding call per route per batch)."""
        c = self.cascade
        evs = list(events)
        lo, _ = c.stage2_band()
        base = c.assess_fast(evs)
        out: list[list[Finding]] = [[] for _ in evs]
        idx = [i for i, a in enumerate(base) if a is not None and a.p_malicious >= lo]
        if not idx:
            return out
        refined = c.assess_embed([evs[i] for i in idx], [base[i] for i in idx])
        curve = c.risk_curve()
        risks = [apply_risk_curve(a.p_malicious, curve) if a is not None else 0.0 for a in refined]
        gated = [a if r >= self.min_risk else None for a, r in zip(refined, risks, strict=True)]
        c.e5_tactics(gated, 0.0)
        refined = [g if g is not None else a for g, a in zip(gated, refined, strict=True)]
        for j, i in enumerate(idx):
            a = refined[j]
            if a is not None and a.stage != "fast" and risks[j] >= self.min_risk:
                out[i] = [c.finding(self.id, a, risks[j])]
        return out
