"""The detection engine: run every detector over an event and each decoded view of it, then decide."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

from stormwatch.detectors.base import Detector, create
from stormwatch.models import Event, Evidence, Finding, Message, Verdict
from stormwatch.verdict import Policy

if TYPE_CHECKING:
    from stormwatch.detectors.judge import Judge

OBFUSCATION_TECHNIQUE = "AML.T0068"


@dataclass
class DetectorStats:
    """Time and outcome counters for one detector."""

    calls: int = 0
    seconds: float = 0.0
    errors: int = 0
    findings: int = 0


@dataclass
class EngineStats:
    """Per-detector counters for a run (read them for timing breakdowns)."""

    detectors: dict[str, DetectorStats] = field(default_factory=dict)
    events: int = 0
    decoded_views: int = 0

    def for_detector(self, detector_id: str) -> DetectorStats:
        """The counters of one detector, created on first use."""
        return self.detectors.setdefault(detector_id, DetectorStats())


@dataclass(frozen=True)
class _View:
    event: Event
    turn_map: tuple[int, ...]
    decoded_by: str


class Engine:
    """Runs detectors over events and applies a policy; one instance per process (models load once)."""

    def __init__(
        self,
        *,
        detectors: Sequence[Detector],
        policy: Policy | None = None,
        decode: bool = True,
        judge: Judge | None = None,
    ) -> None:
        # A detector may supersede others (the full learned cascade re-reads what its stage 1 alone would
        # report): superseded detectors are left out when the superseding one is configured.
        ids = {d.id for d in detectors}
        gone = {s for d in detectors if d.id in ids for s in getattr(d, "supersedes", ())}
        self.detectors = [d for d in detectors if d.id not in gone]
        self.policy = policy if policy is not None else Policy.load()
        self.decode = decode
        self.judge = judge
        self.stats = EngineStats()

    @classmethod
    def default(
        cls,
        *,
        fast: bool = False,
        policy: Policy | None = None,
        detector_ids: Iterable[str] | None = None,
        decode: bool = True,
        judge: Judge | None = None,
    ) -> Engine:
        """The engine with every registered detector (learned stages left out when `fast`)."""
        return cls(detectors=create(detector_ids, fast=fast), policy=policy, decode=decode, judge=judge)

    # -- findings -------------------------------------------------------------------------------
    def findings(self, event: Event) -> list[Finding]:
        """All findings for one event: raw turns first, then decoded views."""
        return self.findings_batch([event])[0]

    def findings_batch(self, events: Sequence[Event]) -> list[list[Finding]]:
        """Findings for many events (batch-capable detectors get the whole batch at once)."""
        self.stats.events += len(events)
        raw = self._run_all(list(events))
        if not self.decode:
            return raw
        views: list[_View] = []
        owners: list[int] = []
        for i, ev in enumerate(events):
            for v in _decoded_views(ev):
                views.append(v)
                owners.append(i)
        self.stats.decoded_views += len(views)
        if views:
            decoded = self._run_all([v.event for v in views])
            for v, owner, fs in zip(views, owners, decoded, strict=True):
                raw[owner] = _merge_decoded(raw[owner], fs, v)
        return raw

    def _run_all(self, events: list[Event]) -> list[list[Finding]]:
        out: list[list[Finding]] = [[] for _ in events]
        for det in self.detectors:
            st = self.stats.for_detector(det.id)
            t0 = time.perf_counter()
            batch_fn = getattr(det, "detect_batch", None)
            if batch_fn is not None and len(events) > 1:
                try:
                    results = batch_fn(events)
                    for i, fs in enumerate(results):
                        out[i].extend(fs)
                        st.findings += len(fs)
                except Exception as exc:  # one detector must never lose events
                    for i, ev in enumerate(events):
                        out[i].extend(self._safe_detect(det, ev, st, first_error=exc))
            else:
                for i, ev in enumerate(events):
                    out[i].extend(self._safe_detect(det, ev, st))
            st.calls += len(events)
            st.seconds += time.perf_counter() - t0
        return out

    @staticmethod
    def _safe_detect(
        det: Detector, event: Event, st: DetectorStats, first_error: Exception | None = None
    ) -> list[Finding]:
        try:
            fs = det.detect(event)
        except Exception as exc:  # the finding list records which detector failed
            st.errors += 1
            return [
                Finding(
                    detector=det.id,
                    rule="detector-error",
                    score=0.0,
                    explanation=f"{type(exc).__name__}: {str(exc)[:200]}",
                    error=True,
                )
            ]
        st.findings += len(fs)
        return fs

    # -- verdicts -------------------------------------------------------------------------------
    def scan(self, event: Event) -> Verdict:
        """Findings and verdict for one event."""
        return self.scan_batch([event])[0]

    def scan_batch(self, events: Sequence[Event]) -> list[Verdict]:
        """Findings and verdicts for many events, in input order (then the judge, when one is set)."""
        all_findings = self.findings_batch(events)
        verdicts = [self.decide(ev, fs) for ev, fs in zip(events, all_findings, strict=True)]
        if self.judge is not None:  # the optional last stage: only events in its uncertain band are sent
            verdicts = self.judge.review_batch(events, verdicts, self.decide)
        return verdicts

    def decide(self, event: Event, findings: list[Finding]) -> Verdict:
        """The policy's verdict over findings gathered elsewhere (e.g. request plus streamed answer)."""
        return self.policy.decide(event, findings, tactics_of=_tactics_of)


def _decoded_views(event: Event) -> list[_View]:
    from stormwatch.detectors.decoders import decode_views

    views: list[_View] = []
    for ti, turn in enumerate(event.turns()):
        if not turn.content:
            continue
        for dv in decode_views(turn.content):
            views.append(
                _View(
                    event=Event(
                        id=event.id,
                        account_id=event.account_id,
                        org_id=event.org_id,
                        messages=(Message(role=turn.role, content=dv.text),),
                    ),
                    turn_map=(ti,),
                    decoded_by=dv.decoded_by,
                )
            )
    return views


def _merge_decoded(raw: list[Finding], decoded: list[Finding], view: _View) -> list[Finding]:
    """Add findings that only a decoded view exposed, naming the decoding and adding AML.T0068."""
    seen = {(f.detector, f.rule): f.score for f in raw}
    out = list(raw)
    for f in decoded:
        if f.error:
            continue
        key = (f.detector, f.rule)
        if key in seen and seen[key] >= f.score:
            continue
        evidence = tuple(
            Evidence(
                turn=view.turn_map[e.turn] if e.turn < len(view.turn_map) else view.turn_map[0],
                start=e.start,
                end=e.end,
                text=e.text,
                decoded_by=view.decoded_by,
            )
            for e in f.evidence
        ) or (Evidence(turn=view.turn_map[0], start=0, end=0, text="", decoded_by=view.decoded_by),)
        techniques = (
            f.techniques if OBFUSCATION_TECHNIQUE in f.techniques else (*f.techniques, OBFUSCATION_TECHNIQUE)
        )
        explanation = f"{f.explanation} [exposed by decoding: {view.decoded_by}]"
        out = [g for g in out if (g.detector, g.rule) != key]
        out.append(
            f.model_copy(update={"evidence": evidence, "techniques": techniques, "explanation": explanation})
        )
        seen[key] = f.score
    return out


@cache
def _technique_tactics(technique: str) -> tuple[str, ...]:
    from stormwatch.kb import load_kb

    try:
        return tuple(t for t in load_kb().tactics_for(technique) if t.startswith("TA"))
    except Exception:  # unknown ids are caught by contract tests, not at scan time
        return ()


@cache
def _category_tactics(category: str) -> tuple[str, ...]:
    from stormwatch.kb.taxonomy import load_taxonomy

    try:
        cat = load_taxonomy().get(category)
    except Exception:  # a category missing from the taxonomy gives no tactic
        return ()
    if getattr(cat, "kind", "cyber-operation") != "cyber-operation":
        return ()
    default = getattr(cat, "default_tactic", None)
    return (default,) if default else ()


def _tactics_of(finding: Finding) -> list[str]:
    """ATT&CK tactics implied by a finding: its techniques' tactics, else its category's default tactic."""
    out: list[str] = []
    for t in finding.techniques:
        if t.startswith("T") and not t.startswith("TA"):
            out.extend(_technique_tactics(t))
    if not out and finding.category:
        out.extend(_category_tactics(finding.category))
    return out
