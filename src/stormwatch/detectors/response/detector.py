"""The answer-side detectors: leakage, jailbreak compliance, malware code and finished phishing."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, ClassVar

from pydantic import Field, field_validator

from stormwatch.detectors.base import DetectorParams, register
from stormwatch.detectors.response._answer import (
    HEAD_CHARS,
    TAIL_CHARS,
    Answer,
    CodeMap,
    Segment,
    answer_of,
    context_of,
)
from stormwatch.detectors.response._data import compliance_rules, malware_rules, phishing_rules
from stormwatch.models import Event, Evidence, Finding

MAX_EVIDENCE = 4  # spans one finding carries
EVIDENCE_CHARS = 200  # of each span's text


def _evidence(ans: Answer, seg: Segment, start: int, end: int) -> Evidence:
    s, e = seg.offset + start, seg.offset + end
    return Evidence(turn=ans.turn, start=s, end=e, text=ans.text[s:e][:EVIDENCE_CHARS])


def _first(rx: Any, ans: Answer) -> tuple[Segment, Any] | None:
    for seg in ans.segments:
        m = rx.search(seg.text)
        if m is not None:
            return seg, m
    return None


MAX_WINDOW = 1_000_000  # the largest head or tail of an answer a detector may be configured to read


class AnswerWindow(DetectorParams):
    """Which part of a long answer is read: the first `head_chars` and the last `tail_chars` characters."""

    head_chars: int = Field(default=HEAD_CHARS, ge=1, le=MAX_WINDOW)
    tail_chars: int = Field(default=TAIL_CHARS, ge=0, le=MAX_WINDOW)


# --- malware behaviours in code ------------------------------------------------------------------


@register("response-malware")
class ResponseMalware:
    """Malware behaviours in the model's answer (keylogging, credential theft, persistence, ransomware, C2)."""

    id: ClassVar[str] = "response-malware"
    stage: ClassVar[str] = "fast"

    class Params(AnswerWindow):
        """`fire` and `prose_factor` override malware.yaml's (the summed weight that fires; the weight
        kept by an indicator found in prose rather than code)."""

        fire: float | None = Field(default=None, gt=0.0, le=10.0)
        prose_factor: float | None = Field(default=None, ge=0.0, le=1.0)

    def __init__(
        self,
        head_chars: int = HEAD_CHARS,
        tail_chars: int = TAIL_CHARS,
        fire: float | None = None,
        prose_factor: float | None = None,
    ) -> None:
        self.head_chars, self.tail_chars = head_chars, tail_chars
        self.fire, self.prose_factor = fire, prose_factor

    def detect(self, event: Event) -> list[Finding]:
        """One finding per behaviour whose indicators in the answer add up to the firing weight."""
        ans = answer_of(event, self.head_chars, self.tail_chars)
        if ans is None:
            return []
        rules, compiled = malware_rules()
        fire = rules.fire if self.fire is None else self.fire
        prose = rules.prose_factor if self.prose_factor is None else self.prose_factor
        maps: dict[int, CodeMap] = {}
        out: list[Finding] = []
        for beh, progs in zip(rules.behaviours, compiled, strict=True):
            total = 0.0
            spans: list[Evidence] = []
            whats: list[str] = []
            for ind, rx in zip(beh.indicators, progs, strict=True):
                hit = _first(rx, ans)
                if hit is None:
                    continue
                seg, m = hit
                cm = maps.get(seg.offset)
                if cm is None:
                    cm = maps[seg.offset] = CodeMap(seg.text)
                in_code = cm.is_code(m.start())
                total += ind.w * (1.0 if in_code else prose)
                whats.append(ind.what if in_code else f"{ind.what} (in prose)")
                spans.append(_evidence(ans, seg, m.start(), m.end()))
            if total + 1e-9 < fire:
                continue
            spans.sort(key=lambda e: e.start)
            out.append(
                Finding(
                    detector=self.id,
                    rule=beh.id,
                    score=round(min(0.97, 0.55 + 0.3 * total), 4),
                    category=beh.category,
                    techniques=beh.techniques,
                    evidence=tuple(spans[:MAX_EVIDENCE]),
                    explanation=f"the answer holds code for {beh.name}: {'; '.join(whats)}",
                )
            )
        return out


# --- jailbreak compliance ------------------------------------------------------------------------

_QUOTE_BEFORE = ('"', "'", "“", "«", "`", "‘")
QUOTED_FACTOR = 0.45  # a marker quoted in an explanation ("the 'DAN Mode enabled' reply ...")


@register("response-jailbreak")
class ResponseJailbreak:
    """Jailbreak compliance in the model's answer ("DAN Mode enabled", "as an unfiltered AI")."""

    id: ClassVar[str] = "response-jailbreak"
    stage: ClassVar[str] = "fast"

    class Params(AnswerWindow):
        """`marker_head_chars` overrides compliance.yaml's head (where head-only markers are looked for);
        `quoted_factor` scales a marker that follows a quote mark."""

        marker_head_chars: int | None = Field(default=None, ge=1, le=MAX_WINDOW)
        quoted_factor: float = Field(default=QUOTED_FACTOR, ge=0.0, le=1.0)

    def __init__(
        self,
        head_chars: int = HEAD_CHARS,
        tail_chars: int = TAIL_CHARS,
        marker_head_chars: int | None = None,
        quoted_factor: float = QUOTED_FACTOR,
    ) -> None:
        self.head_chars, self.tail_chars = head_chars, tail_chars
        self.marker_head_chars, self.quoted_factor = marker_head_chars, quoted_factor

    def detect(self, event: Event) -> list[Finding]:
        """One finding per marker id found (head-only markers in the first characters of the answer)."""
        ans = answer_of(event, self.head_chars, self.tail_chars)
        if ans is None:
            return []
        rules, compiled = compliance_rules()
        mh = rules.head_chars if self.marker_head_chars is None else self.marker_head_chars
        head = Segment(0, ans.text[:mh])
        best: dict[str, Finding] = {}
        for mk, rx in zip(rules.markers, compiled, strict=True):
            if mk.head:
                m = rx.search(head.text)
                hit = (head, m) if m is not None else None
            else:
                hit = _first(rx, ans)
            if hit is None:
                continue
            seg, m = hit
            score = mk.score
            quoted = m.start() > 0 and seg.text[m.start() - 1] in _QUOTE_BEFORE
            if quoted:
                score *= self.quoted_factor
            if mk.id in best and best[mk.id].score >= score:
                continue
            best[mk.id] = Finding(
                detector=self.id,
                rule=mk.id,
                score=round(score, 4),
                category="jailbreak",
                techniques=("AML.T0054",),
                evidence=(_evidence(ans, seg, m.start(), m.end()),),
                explanation=(
                    f"the answer {'quotes' if quoted else 'speaks as'} a jailbroken persona "
                    f"({mk.lang}: {m.group()[:60]!r})"
                ),
            )
        return list(best.values())


# --- finished phishing and fraud -----------------------------------------------------------------

PHISH_TECHNIQUES = ("T1566.002", "T1656", "T1598", "AML.T0052")
FRAUD_TECHNIQUES = ("T1566", "T1656", "T1657")
MIN_STRUCTURE = 2  # message-shape signals that stand in for impersonation


@register("response-phishing")
class ResponsePhishing:
    """A finished phishing or fraud message in the model's answer (ask + urgency + impersonation/shape)."""

    id: ClassVar[str] = "response-phishing"
    stage: ClassVar[str] = "fast"

    class Params(AnswerWindow):
        """`min_structure`: message-shape signals (greeting, sign-off, subject line, ...) that stand in for
        impersonation."""

        min_structure: int = Field(default=MIN_STRUCTURE, ge=1, le=20)

    def __init__(
        self, head_chars: int = HEAD_CHARS, tail_chars: int = TAIL_CHARS, min_structure: int = MIN_STRUCTURE
    ) -> None:
        self.head_chars, self.tail_chars, self.min_structure = head_chars, tail_chars, min_structure

    def detect(self, event: Event) -> list[Finding]:
        """One finding when the answer asks for credentials or money, urgently, as someone it is not."""
        ans = answer_of(event, self.head_chars, self.tail_chars)
        if ans is None:
            return []
        groups = phishing_rules()
        found: dict[str, list[tuple[Segment, Any]]] = {}
        for g, progs in groups.items():
            for rx in progs:
                hit = _first(rx, ans)
                if hit is not None:
                    found.setdefault(g, []).append(hit)
        cred, money = "credential" in found, "money" in found
        shaped = len(found.get("structure", ())) >= self.min_structure
        impersonates = "impersonation" in found
        if not ((cred or money) and "urgency" in found and (impersonates or shaped)):
            return []
        score = 0.6 + 0.1 * impersonates + 0.1 * shaped + 0.05 * (cred and money)
        spans = [
            _evidence(ans, seg, m.start(), m.end())
            for g in ("credential", "money", "urgency", "impersonation")
            for seg, m in found.get(g, ())[:1]
        ]
        spans.sort(key=lambda e: e.start)
        what: list[str] = [g for g in ("credential", "money", "urgency", "impersonation") if g in found]
        if shaped:
            what.append("message shape")
        return [
            Finding(
                detector=self.id,
                rule="RESP-PHISH-CRED" if cred else "RESP-FRAUD-PAY",
                score=round(min(score, 0.95), 4),
                category="llm-supported-social-engineering" if cred else "fraud-scam",
                techniques=PHISH_TECHNIQUES if cred else FRAUD_TECHNIQUES,
                evidence=tuple(spans[:MAX_EVIDENCE]),
                explanation=f"the answer is a finished {'phishing' if cred else 'fraud'} message: "
                + ", ".join(what),
            )
        ]


# --- system-prompt leakage -----------------------------------------------------------------------

SHINGLE = 5  # words per shingle
MIN_CONTEXT_WORDS = 12  # shorter system prompts ("You are a helpful assistant.") are not compared
MAX_CONTEXT_WORDS = 8_000  # of the system/developer messages (bounded work)
MAX_ANSWER_WORDS = 16_000  # of each answer segment
MIN_RUN = 15  # words in a row copied from the system prompt that make a finding on their own
MIN_RUN_WITH_SHARE = 8  # ... or this many, when the answer also holds SHARE of the prompt's shingles
SHARE = 0.3
FULL_SHARE = 0.6  # share of the prompt's shingles that scores as a whole-prompt leak
MIN_SECRET = 4  # characters of a canary or secret value
_WORD = re.compile(r"\w+")
_SECRET_IN_PROMPT = re.compile(
    r"(?i)\b(?:password|passcode|passphrase|pass\s?word|secret(?:\s+(?:code|key|word|phrase))?|api[\s_-]?key|"
    r"access\s+(?:code|token|key)|token|code\s?word|pin|canary(?:[\s_-]?token)?)\b"
    r"(?:\s+(?:is|was|=|:)|\s*[:=])\s*[\"'`“]?([^\s\"'`”,;]{4,120})"
)
_KEY_SHAPED = re.compile(
    r"\b(?:sk-[A-Za-z0-9_-]{16,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}|xox[abpr]-[A-Za-z0-9-]{10,}|"
    r"AIza[0-9A-Za-z_-]{30,})"
)
_COMMON = frozenset({"never", "secret", "private", "confidential", "hidden", "provided", "below", "above"})


def _check_canaries(canaries: Sequence[str]) -> None:
    bad = [c for c in canaries if not isinstance(c, str) or len(c.strip()) < MIN_SECRET]
    if bad:
        raise ValueError(f"response-leakage canaries: each needs at least {MIN_SECRET} characters: {bad!r}")


def _secret_like(value: str, quoted: bool) -> bool:
    v = value.rstrip(".")
    if len(v) < MIN_SECRET or v.lower() in _COMMON:
        return False
    return quoted or not v.isalpha() or v.isupper() or any(c.isupper() for c in v[1:])


def _secrets(context: list[str]) -> list[str]:
    out: list[str] = []
    for text in context:
        for m in _SECRET_IN_PROMPT.finditer(text[: MAX_CONTEXT_WORDS * 8]):
            quoted = m.start(1) > 0 and text[m.start(1) - 1] in "\"'`“"
            if _secret_like(m.group(1), quoted):
                out.append(m.group(1).rstrip("."))
        out.extend(m.group() for m in _KEY_SHAPED.finditer(text[: MAX_CONTEXT_WORDS * 8]))
    return list(dict.fromkeys(out))


def _words(text: str, limit: int) -> list[tuple[str, int, int]]:
    out: list[tuple[str, int, int]] = []
    for m in _WORD.finditer(text):
        out.append((m.group().lower(), m.start(), m.end()))
        if len(out) >= limit:
            break
    return out


@register("response-leakage")
class ResponseLeakage:
    """System-prompt leakage in the model's answer: the prompt repeated, a canary or a named secret.

    `canaries`: operator canary tokens planted in the system prompt; any of them in an answer is a leak.
    `min_run`, `min_run_with_share`, `share`: how much verbatim overlap with the system prompt is a leak.
    """

    id: ClassVar[str] = "response-leakage"
    stage: ClassVar[str] = "fast"

    class Params(AnswerWindow):
        """Operator canaries and the overlap thresholds (see the class docstring)."""

        canaries: tuple[str, ...] = Field(default=(), max_length=1_000)
        min_run: int = Field(default=MIN_RUN, ge=SHINGLE, le=10_000)
        min_run_with_share: int = Field(default=MIN_RUN_WITH_SHARE, ge=SHINGLE, le=10_000)
        share: float = Field(default=SHARE, gt=0.0, le=1.0)

        @field_validator("canaries")
        @classmethod
        def _long_enough(cls, v: tuple[str, ...]) -> tuple[str, ...]:
            _check_canaries(v)
            return tuple(c.strip() for c in v)

    def __init__(
        self,
        canaries: Sequence[str] = (),
        head_chars: int = HEAD_CHARS,
        tail_chars: int = TAIL_CHARS,
        min_run: int = MIN_RUN,
        min_run_with_share: int = MIN_RUN_WITH_SHARE,
        share: float = SHARE,
    ) -> None:
        _check_canaries(canaries)
        self.canaries = tuple(c.strip() for c in canaries)
        self.head_chars, self.tail_chars = head_chars, tail_chars
        self.min_run, self.min_run_with_share, self.share = min_run, min_run_with_share, share

    def detect(self, event: Event) -> list[Finding]:
        """Findings for canaries, secrets and long or wide verbatim overlap with the system prompt."""
        ans = answer_of(event, self.head_chars, self.tail_chars)
        if ans is None:
            return []
        context = context_of(event, ans.turn)
        out: list[Finding] = []
        for c in self.canaries:
            f = self._literal(ans, c, "RESP-LEAK-CANARY", 0.97, "system-prompt-extraction", ("AML.T0056",))
            if f is not None:
                out.append(f.model_copy(update={"explanation": "the answer holds an operator canary token"}))
        for s in _secrets(context):
            if s in self.canaries:
                continue
            f = self._literal(ans, s, "RESP-LEAK-SECRET", 0.95, "llm-data-exfiltration", ("AML.T0057",))
            if f is not None:
                out.append(f)
        overlap = self._overlap(ans, context)
        if overlap is not None:
            out.append(overlap)
        return out

    def _literal(
        self, ans: Answer, value: str, rule: str, score: float, category: str, techniques: tuple[str, ...]
    ) -> Finding | None:
        for seg in ans.segments:
            at = seg.text.find(value)
            if at >= 0:
                return Finding(
                    detector=self.id,
                    rule=rule,
                    score=score,
                    category=category,
                    techniques=techniques,
                    evidence=(_evidence(ans, seg, at, at + len(value)),),
                    explanation="the answer holds a secret named in the system prompt",
                )
        return None

    def _overlap(self, ans: Answer, context: list[str]) -> Finding | None:
        ctx: list[str] = []
        for text in context:
            ctx.extend(w for w, _, _ in _words(text, MAX_CONTEXT_WORDS - len(ctx)))
            if len(ctx) >= MAX_CONTEXT_WORDS:
                break
        if len(ctx) < MIN_CONTEXT_WORDS:
            return None
        shingles = {tuple(ctx[i : i + SHINGLE]) for i in range(len(ctx) - SHINGLE + 1)}
        seen: set[tuple[str, ...]] = set()
        best: tuple[int, Segment, int, int] | None = None  # (run words, segment, start char, end char)
        for seg in ans.segments:
            words = _words(seg.text, MAX_ANSWER_WORDS)
            run_start = -1
            for i in range(len(words) - SHINGLE + 1):
                key = tuple(w for w, _, _ in words[i : i + SHINGLE])
                if key in shingles:
                    seen.add(key)
                    if run_start < 0:
                        run_start = i
                    n = i - run_start + SHINGLE
                    if best is None or n > best[0]:
                        best = (n, seg, words[run_start][1], words[i + SHINGLE - 1][2])
                else:
                    run_start = -1
        if best is None:
            return None
        share = len(seen) / len(shingles)
        run, seg, s, e = best
        if run < self.min_run and not (share >= self.share and run >= self.min_run_with_share):
            return None
        score = 0.5 + 0.45 * min(1.0, share / FULL_SHARE)
        return Finding(
            detector=self.id,
            rule="RESP-LEAK-PROMPT",
            score=round(min(score, 0.95), 4),
            category="system-prompt-extraction",
            techniques=("AML.T0056",),
            evidence=(_evidence(ans, seg, s, e),),
            explanation=(
                f"the answer repeats the system prompt: {share:.0%} of its {SHINGLE}-word shingles, "
                f"{run} words in a row"
            ),
        )
