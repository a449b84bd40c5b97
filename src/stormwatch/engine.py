"""The detection engine: run every detector over an event and each decoded view of it, then decide.

Work is bounded per event by a budget counted in work, not seconds (issue 16): every character handed to a
detector counts once per detector, and decoding counts the characters it examines and produces. An event
whose work would exceed the budget is scanned as far as the budget goes and gets an error finding
(`engine` / `work-budget`), so the policy's `on_detector_error` decides its verdict; the same event gives
the same verdict on an idle and on a busy machine. A wall-clock limit (`runaway_s`) only ends a runaway
batch, again with an error finding (`engine` / `runaway`).

An Engine may be shared by worker threads (the API runs scans in a thread pool): a scan keeps its state in
local variables, and the shared counters in `stats` are updated under a lock. Detectors must be safe to
call concurrently too (the rule detector keeps its YARA scanners per thread).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

from stormwatch.detectors.base import Detector, create
from stormwatch.models import Event, Evidence, Finding, Message, Verdict
from stormwatch.verdict import Policy

if TYPE_CHECKING:
    from stormwatch.detectors.judge import Judge

OBFUSCATION_TECHNIQUE = "AML.T0068"
#: Work one event may cost when neither the Engine nor the policy says otherwise: 64 Mi units, about 1.5 s
#: on the full default engine (a 1 MiB prompt full of base64 blobs, all its views decoded, fits).
DEFAULT_MAX_WORK = 64 * 1_048_576
#: Wall-clock seconds after which a batch is treated as a runaway and its remaining detectors are skipped.
DEFAULT_RUNAWAY_S = 120.0
ENGINE_ID = "engine"


@dataclass
class DetectorStats:
    """Time and outcome counters for one detector."""

    calls: int = 0
    seconds: float = 0.0
    errors: int = 0
    findings: int = 0


@dataclass
class EngineStats:
    """Per-detector counters for a run (read them for timing breakdowns and error metrics).

    `for_detector(id).errors` counts the events on which detector `id` raised; `for_detector("engine")`
    counts events that exhausted their work budget or were cut short as runaways (also in
    `budget_exhausted` / `runaways`). Read them under `lock` when scans run on other threads.
    """

    detectors: dict[str, DetectorStats] = field(default_factory=dict)
    events: int = 0
    decoded_views: int = 0
    budget_exhausted: int = 0
    runaways: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def for_detector(self, detector_id: str) -> DetectorStats:
        """The counters of one detector, created on first use."""
        return self.detectors.setdefault(detector_id, DetectorStats())

    def snapshot(self) -> dict[str, DetectorStats]:
        """A copy of the per-detector counters, taken under the lock."""
        with self.lock:
            return {k: DetectorStats(**vars(v)) for k, v in self.detectors.items()}


@dataclass(frozen=True)
class _View:
    event: Event
    turn_map: tuple[int, ...]
    decoded_by: str


@dataclass
class _Meter:
    """One event's work: what it may cost, what it has cost, and whether something was left undone."""

    limit: int
    used: int = 0
    exhausted: bool = False
    skipped: list[str] = field(default_factory=list)

    @property
    def left(self) -> int:
        return max(self.limit - self.used, 0)


@dataclass
class _Run:
    """Counters of one findings_batch call, merged into EngineStats at its end (under the lock)."""

    per_detector: dict[str, DetectorStats] = field(default_factory=dict)
    runaway: str | None = None

    def of(self, detector_id: str) -> DetectorStats:
        return self.per_detector.setdefault(detector_id, DetectorStats())


class Engine:
    """Runs detectors over events and applies a policy; one instance per process (models load once).

    `max_work` bounds each event's work (see the module docstring; default: the policy's `max_work`, else
    DEFAULT_MAX_WORK); `runaway_s` is the wall-clock limit that ends a runaway batch (None: none).
    """

    def __init__(
        self,
        *,
        detectors: Sequence[Detector],
        policy: Policy | None = None,
        decode: bool = True,
        judge: Judge | None = None,
        max_work: int | None = None,
        runaway_s: float | None = DEFAULT_RUNAWAY_S,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        # A detector may supersede others (the full learned cascade re-reads what its stage 1 alone would
        # report): superseded detectors are left out when the superseding one is configured.
        ids = {d.id for d in detectors}
        gone = {s for d in detectors if d.id in ids for s in getattr(d, "supersedes", ())}
        self.detectors: tuple[Detector, ...] = tuple(d for d in detectors if d.id not in gone)
        self.policy = policy if policy is not None else Policy.load()
        self.decode = decode
        self.judge = judge
        if max_work is None:
            max_work = self.policy.max_work if self.policy.max_work is not None else DEFAULT_MAX_WORK
        if max_work < 1:
            raise ValueError("max_work must be at least 1")
        self.max_work = max_work
        self.runaway_s = runaway_s
        self.clock = clock
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
        max_work: int | None = None,
        runaway_s: float | None = DEFAULT_RUNAWAY_S,
    ) -> Engine:
        """The engine with every registered detector (learned stages left out when `fast`)."""
        return cls(
            detectors=create(detector_ids, fast=fast),
            policy=policy,
            decode=decode,
            judge=judge,
            max_work=max_work,
            runaway_s=runaway_s,
        )

    def with_detectors(self, extra: Sequence[Detector]) -> Engine:
        """A new engine with `extra` detectors after this one's (same policy, judge, budgets and clock);
        this engine is left as it is, so one shared by threads never changes under them."""
        return Engine(
            detectors=[*self.detectors, *extra],
            policy=self.policy,
            decode=self.decode,
            judge=self.judge,
            max_work=self.max_work,
            runaway_s=self.runaway_s,
            clock=self.clock,
        )

    def warm_up(self) -> None:
        """Do before the first real event what detectors otherwise do on first use.

        Calls each detector's `warm_up()` where it has one (the rule detector compiles its Unicode RE2
        programs), then scans a short ASCII, a short non-ASCII and a long text (the learned model's
        first long input costs it about a second of set-up). The scans count in `stats`.
        """
        for det in self.detectors:
            warm = getattr(det, "warm_up", None)
            if callable(warm):
                warm()
        self.scan_batch(
            [
                Event.from_text("warm-up: hello", id="warm-up-0"),
                Event.from_text("warm-up: привет, ¿qué tal? 你好", id="warm-up-1"),
                Event.from_text("warm-up " * 6000, id="warm-up-2"),
            ]
        )

    # -- findings -------------------------------------------------------------------------------
    def findings(self, event: Event) -> list[Finding]:
        """All findings for one event: raw turns first, then decoded views."""
        return self.findings_batch([event])[0]

    def findings_batch(self, events: Sequence[Event]) -> list[list[Finding]]:
        """Findings for many events (batch-capable detectors get the whole batch at once)."""
        run = _Run()
        started = self.clock()
        n_det = max(len(self.detectors), 1)
        meters = [_Meter(self.max_work) for _ in events]
        scanned: list[Event] = []
        for ev, meter in zip(events, meters, strict=True):
            ev = _without_lone_surrogates(ev)
            cost = _chars(ev) * n_det
            if cost > meter.limit:  # scan what the budget allows: the first turns, the first characters
                ev = _truncated(ev, meter.limit // n_det)
                meter.exhausted = True
                meter.skipped.append(f"{_chars(events[len(scanned)]) - _chars(ev)} characters of its turns")
                cost = _chars(ev) * n_det
            meter.used += cost
            scanned.append(ev)
        raw = self._run_all(scanned, run, started)
        n_views = 0
        if self.decode and run.runaway is None:
            views: list[_View] = []
            owners: list[int] = []
            for i, ev in enumerate(scanned):
                if (
                    run.runaway is None
                    and self.runaway_s is not None
                    and self.clock() - started > self.runaway_s
                ):
                    run.runaway = (
                        f"stopped after {self.runaway_s:g} s (wall-clock limit for runaways) while decoding"
                    )
                if run.runaway is not None:
                    break  # the batch is a runaway: every event gets the error finding below
                for v in self._decoded_views(ev, meters[i], n_det, run, started):
                    views.append(v)
                    owners.append(i)
            n_views = len(views)
            if views:
                decoded = self._run_all([v.event for v in views], run, started)
                for v, owner, fs in zip(views, owners, decoded, strict=True):
                    raw[owner] = _merge_decoded(raw[owner], fs, v)
        exhausted = 0
        for i, meter in enumerate(meters):
            if meter.exhausted:
                exhausted += 1
                raw[i].append(
                    Finding(
                        detector=ENGINE_ID,
                        rule="work-budget",
                        score=0.0,
                        explanation=(
                            f"work budget of {meter.limit:,} exhausted (scanning it all needs more); "
                            f"not scanned: {'; '.join(meter.skipped)}"
                        ),
                        error=True,
                    )
                )
            if run.runaway is not None:
                raw[i].append(
                    Finding(
                        detector=ENGINE_ID, rule="runaway", score=0.0, explanation=run.runaway, error=True
                    )
                )
        with self.stats.lock:
            self.stats.events += len(events)
            self.stats.decoded_views += n_views
            self.stats.budget_exhausted += exhausted
            self.stats.runaways += len(events) if run.runaway is not None else 0
            for det_id, st in run.per_detector.items():
                tot = self.stats.for_detector(det_id)
                tot.calls += st.calls
                tot.seconds += st.seconds
                tot.errors += st.errors
                tot.findings += st.findings
            if exhausted or run.runaway is not None:
                self.stats.for_detector(ENGINE_ID).errors += exhausted + (
                    len(events) if run.runaway is not None else 0
                )
        return raw

    def _decoded_views(
        self, event: Event, meter: _Meter, n_det: int, run: _Run, started: float
    ) -> list[_View]:
        """Decoded views of each turn that fit in what is left of the event's budget."""
        from stormwatch.detectors.decoders import decode_report

        views: list[_View] = []
        for ti, turn in enumerate(event.turns()):
            if not turn.content:
                continue
            if meter.exhausted:
                meter.skipped.append(f"decoding of turn {ti}")
                continue
            report = decode_report(turn.content, max_work=meter.left, clock=self.clock)
            meter.used += report.work
            if report.exhausted == "work":
                meter.exhausted = True
                meter.skipped.append(f"part of the decoding of turn {ti}")
            elif report.exhausted == "time":
                run.runaway = f"decoding turn {ti} ran past its wall-clock limit (a runaway)"
            for dv in report.views:
                cost = len(dv.text) * n_det
                if cost > meter.left:
                    meter.exhausted = True
                    meter.skipped.append(f"decoded views of turn {ti} from {dv.decoded_by}")
                    break
                meter.used += cost
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

    def _run_all(self, events: list[Event], run: _Run, started: float) -> list[list[Finding]]:
        out: list[list[Finding]] = [[] for _ in events]
        for k, det in enumerate(self.detectors):
            if run.runaway is None and self.runaway_s is not None and self.clock() - started > self.runaway_s:
                left = ", ".join(d.id for d in self.detectors[k:])
                run.runaway = (
                    f"stopped after {self.runaway_s:g} s (wall-clock limit for runaways); not run: {left}"
                )
            if run.runaway is not None:
                break
            st = run.of(det.id)
            t0 = time.perf_counter()
            batch_fn = getattr(det, "detect_batch", None)
            if batch_fn is not None and len(events) > 1:
                try:
                    results = batch_fn(events)
                    for i, fs in enumerate(results):
                        out[i].extend(fs)
                        st.findings += len(fs)
                except Exception:  # one detector must never lose events: retry them one by one
                    for i, ev in enumerate(events):
                        out[i].extend(self._safe_detect(det, ev, st))
            else:
                for i, ev in enumerate(events):
                    out[i].extend(self._safe_detect(det, ev, st))
            st.calls += len(events)
            st.seconds += time.perf_counter() - t0
        return out

    @staticmethod
    def _safe_detect(det: Detector, event: Event, st: DetectorStats) -> list[Finding]:
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


_SURROGATE = re.compile("[\ud800-\udfff]")


def _valid_text(text: str) -> str:
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)  # one for one, so evidence offsets stay right
    return text


def _without_lone_surrogates(event: Event) -> Event:
    """The event with lone surrogates (JSON allows "\\ud800") as U+FFFD: detectors that encode text to
    UTF-8 (tokenisers, scanners) would otherwise raise on it, and an attacker could switch them off."""
    messages = tuple(
        m if (c := _valid_text(m.content)) is m.content else m.model_copy(update={"content": c})
        for m in event.messages
    )
    response = _valid_text(event.response) if event.response is not None else None
    if response is event.response and all(a is b for a, b in zip(messages, event.messages, strict=True)):
        return event
    return event.model_copy(update={"messages": messages, "response": response})


def _chars(event: Event) -> int:
    return sum(len(m.content) for m in event.messages) + len(event.response or "")


def _truncated(event: Event, allowance: int) -> Event:
    """The event with its turns cut so that they hold at most `allowance` characters together (in order)."""
    left = allowance
    messages: list[Message] = []
    for m in event.messages:
        keep = m.content[: max(left, 0)]
        left -= len(keep)
        messages.append(m if len(keep) == len(m.content) else m.model_copy(update={"content": keep}))
    response = event.response[: max(left, 0)] if event.response is not None else None
    return event.model_copy(update={"messages": tuple(messages), "response": response})


def _merge_decoded(raw: list[Finding], decoded: list[Finding], view: _View) -> list[Finding]:
    """Add findings that only a decoded view exposed, naming the decoding and adding AML.T0068."""
    seen = {(f.detector, f.rule): f.score for f in raw}
    out = list(raw)
    for f in decoded:
        if f.error:  # a detector that fails on a decoded view failed on the event (never fail open)
            if not any(g.error and g.detector == f.detector for g in out):
                out.append(
                    f.model_copy(update={"explanation": f"{f.explanation} [on the {view.decoded_by} view]"})
                )
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
