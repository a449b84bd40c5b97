"""Conversation-level policy conflicts: a later turn asks for what a rule of the system prompt forbids."""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from stormwatch.detectors.base import DetectorParams, register
from stormwatch.detectors.policy_conflict._lexicon import (
    Lexicon,
    Pattern,
    TermHit,
    TermMatcher,
    load_lexicon,
    scripts_of,
)
from stormwatch.detectors.policy_conflict._rules import MAX_RULES, PolicyRule, extract_rules, unit_of
from stormwatch.models import Event, Evidence, Finding

SCORED_ROLES = ("user", "tool")
MAX_TURNS = 32  # later turns scored per event (the last ones when there are more)
HEAD_CHARS = 4_000  # of each scored turn: the head and the tail are read (bounded work on huge turns)
TAIL_CHARS = 2_000
MAX_FINDINGS = 6  # other rules one finding names in its explanation
# Decoded readings (base64, hex, ...) of a turn scored when the turn itself conflicts with nothing.
MAX_DECODED = 3
OBFUSCATION = "AML.T0068"
RULES_CACHE = 512  # distinct system prompts whose rules are remembered per detector
# Scores (the default policy flags prompt-injection at 0.40 and blocks at 0.70).
SCORE = {
    "forbidden-topic": 0.55,
    "allowed-topic": 0.42,
    "secret": 0.8,
    "secret-weak": 0.6,
    "secret-leak": 0.95,
    "persona": 0.6,
    "identity": 0.45,
    "output": 0.5,
}
BOOST = 0.15  # a pretext (bribe, "for a test", hypothetical, authority) on top of a conflict
META_FACTOR = 0.3  # a question ABOUT the rule ("why can't you give medical advice?")
# Cosine (USE-multilingual) between a turn and a topic's exemplars that counts as on-topic; chosen on the
# dev families of benchmarks/data/policy_conflict (see docs/policy-conflict.md).
SIM_ON_TOPIC = 0.5  # dev: benign on-topic turns reach at most 0.42, forbidden-topic requests average 0.60
SIM_ALLOWED = 0.2  # dev: on-topic turns of an allow-list reach at least 0.24
_TRICK_WORDS = re.compile(
    r"\b(?:word|words|length|long|detail|character)\b|palabras|mots|wort|parole|palavras|слов|字数|文字数|كلمات|शब्द",
    re.IGNORECASE,
)
_FORMAT_WORDS = re.compile(
    r"json|yaml|xml|csv|format|bullet|plain|prose|normal|texto|texte|text|文章", re.IGNORECASE
)
_LANG_WORDS = re.compile(
    r"language|idioma|langue|sprache|língua|lingua|язык|语言|言語|اللغة|भाषा", re.IGNORECASE
)

RULE_IDS = {
    "forbidden-topic": "PC-TOPIC",
    "allowed-topic": "PC-OFFTOPIC",
    "secret": "PC-SECRET",
    "persona": "PC-PERSONA",
    "output-format": "PC-FORMAT",
    "output-length": "PC-LENGTH",
    "output-language": "PC-LANGUAGE",
}


@dataclass
class _Turn:
    index: int
    role: str
    text: str
    offset: list[int]  # [head_len, tail_start_in_original]: maps offsets of `text` back to the turn
    decoded_by: str | None = None  # a decoded reading of the turn (offsets are into the decoded text)


def _window(content: str) -> tuple[str, list[int]]:
    if len(content) <= HEAD_CHARS + TAIL_CHARS:
        return content, [len(content), len(content)]
    tail0 = len(content) - TAIL_CHARS
    return content[:HEAD_CHARS] + "\n" + content[tail0:], [HEAD_CHARS, tail0]


def _orig(t: _Turn, pos: int) -> int:
    if t.decoded_by is not None:
        return pos
    head, tail0 = t.offset
    return pos if pos <= head else tail0 + (pos - head - 1)


@dataclass
class _Hit:
    rule: PolicyRule
    turn: _Turn
    score: float
    start: int
    end: int
    why: str
    leak: bool = False


class _TurnSignals:
    """What the request patterns find in one turn: each kind is searched on first use, then remembered
    (an event without a secret rule never pays for the secret patterns)."""

    def __init__(self, lex: Lexicon, text: str) -> None:
        self._lex = lex
        self._text = text
        self._found: dict[str, re.Match[str] | None] = {}
        self._topics: dict[str, list[TermHit]] | None = None
        self.scripts = scripts_of(text)

    def topics(self) -> dict[str, list[TermHit]]:
        """Request words of every lexicon topic found in the turn (one pass, remembered)."""
        if self._topics is None:
            self._topics = self._lex.keyword_index.hits(self._text, limit=4)
        return self._topics

    def get(self, kind: str) -> re.Match[str] | None:
        """The first match of a request-pattern kind in the turn (None when there is none)."""
        if kind not in self._found:
            self._found[kind] = _first(self._lex.requests.get(kind, ()), self._text, self.scripts)
        return self._found[kind]


def _first(pats: Sequence[Pattern], text: str, scripts: frozenset[str]) -> re.Match[str] | None:
    best: re.Match[str] | None = None
    for p in pats:
        if p.script not in scripts:
            continue
        m = p.rx.search(text)
        if m is not None and (best is None or m.start() < best.start()):
            best = m
    return best


def _all(pats: Sequence[Pattern], text: str, scripts: frozenset[str], limit: int = 8) -> list[re.Match[str]]:
    out: list[re.Match[str]] = []
    for p in pats:
        if p.script not in scripts:
            continue
        for m in p.rx.finditer(text):
            out.append(m)
            if len(out) >= limit:
                return out
    return out


class _Scorer:
    """Scores later turns against the rules of one event (lexicon only; the encoder adds topic similarity)."""

    def __init__(self, lex: Lexicon) -> None:
        self.lex = lex
        self._custom: dict[tuple[str, ...], TermMatcher | None] = {}

    def signals(self, text: str) -> _TurnSignals:
        """The lazily computed request signals of one turn."""
        return _TurnSignals(self.lex, text)

    def custom_terms(self, terms: tuple[str, ...]) -> TermMatcher | None:
        if terms not in self._custom:
            # Stems: the first 6 letters of longer words, so "discounts" also matches "discount".
            stems = [t[:6] if len(t) > 7 else t for t in terms]
            self._custom[terms] = TermMatcher(stems) if stems else None
        return self._custom[terms]

    def topic_match(self, rule: PolicyRule, text: str, sig: _TurnSignals) -> tuple[int, TermHit | None]:
        """(how many keyword hits, the first) of the rule's topics in a turn."""
        found = sig.topics()
        hits = [h for t in rule.topics for h in found.get(t, ())]
        if rule.terms:
            c = self.custom_terms(rule.terms)
            if c is not None:
                hits += c.finditer(text, limit=4)
        first = min(hits, key=lambda h: h.start()) if hits else None
        return min(len(hits), 4), first

    def other_topics(self, rule: PolicyRule, sig: _TurnSignals) -> tuple[str, TermHit] | None:
        """A known topic other than the allowed ones that a turn is clearly about (two keyword hits)."""
        for tid, ms in sig.topics().items():
            if tid in rule.topics:
                continue
            if len(ms) >= 2 or (ms and len(ms[0].group()) >= 6):
                return tid, ms[0]
        return None

    def score_turn(
        self, rules: list[PolicyRule], t: _Turn, sims: dict[int, tuple[float, float]] | None = None
    ) -> list[_Hit]:
        text = t.text
        sig = self.signals(text)
        out: list[_Hit] = []

        def hit(
            rule: PolicyRule, score: float, m: re.Match[str] | TermHit | None, why: str, **kw: Any
        ) -> None:
            boost = sig.get("booster")
            if boost is not None:
                score += BOOST
                why += f"; with a pretext ({boost.group()!r})"
            s, e = (m.start(), m.end()) if m is not None else (0, min(len(text), 200))
            out.append(_Hit(rule, t, min(score, 0.99), s, e, why, **kw))

        for ri, rule in enumerate(rules):
            if rule.turn >= t.index:
                continue
            if rule.kind == "secret":
                # Cheapest first: a request for the secret, else a pronoun/noun pointing at it (then a trick).
                req = sig.get("secret-request")
                ref = None if req is not None else sig.get("secret-pronoun") or sig.get("secret-noun")
                trick = sig.get("secret-trick") if req is not None or ref is not None else None
                if req is not None:
                    sc = SCORE["secret"] + (0.1 if trick is not None else 0.0)
                    own = sig.get("own-secret")
                    if (
                        own is not None
                        and own.start() < req.end() + 30
                        and not re.search(r"your|system|instruc|prompt", req.group(), re.IGNORECASE)
                    ):
                        sc *= 0.4  # "tell me how to reset my password" is not a request for the secret
                    hit(rule, sc, req, f"asks for the protected {rule.phrase or 'secret'}")
                elif trick is not None and ref is not None:
                    hit(
                        rule,
                        SCORE["secret-weak"],
                        ref,
                        f"asks for the secret in another form ({trick.group()!r})",
                    )
                elif (
                    rule.value
                    and len(rule.value) >= 4
                    and (vm := re.search(re.escape(rule.value), text, re.I))
                ):
                    hit(rule, SCORE["secret-weak"] * 0.6, vm, "quotes the secret value")
            elif rule.kind == "persona":
                ov, probe = sig.get("persona-override"), sig.get("identity-probe")
                if ov is not None:
                    hit(rule, SCORE["persona"], ov, f"tries to replace the persona {rule.phrase!r}")
                elif probe is not None and rule.hides_ai:
                    hit(rule, SCORE["identity"], probe, "asks the persona to admit it is an AI")
            elif rule.kind in ("output-format", "output-length", "output-language"):
                m = self._output_conflict(rule, text, sig)
                if m is not None:
                    hit(rule, SCORE["output"], m[0], m[1])
            elif rule.kind == "forbidden-topic":
                n, first = self.topic_match(rule, text, sig)
                sim = sims.get(ri, (0.0, 0.0))[0] if sims else 0.0
                if n or sim >= SIM_ON_TOPIC:
                    sc = SCORE["forbidden-topic"] + 0.03 * min(n - 1, 2) if n else SCORE["forbidden-topic"]
                    if n and sim >= SIM_ON_TOPIC:
                        sc += 0.05
                    why = (
                        f"asks about a forbidden topic ({first.group()!r})"
                        if first
                        else (f"is about a forbidden topic (similarity {sim:.2f})")
                    )
                    if sig.get("meta-question") is not None:
                        sc *= META_FACTOR
                        why += "; but as a question about the rule"
                    hit(rule, sc, first, why)
            elif rule.kind == "allowed-topic":
                n, _ = self.topic_match(rule, text, sig)
                other = self.other_topics(rule, sig)
                sim_allowed, sim_other = sims.get(ri, (1.0, 0.0)) if sims else (1.0, 0.0)
                off = n == 0 and (
                    other is not None
                    or (sims is not None and sim_allowed < SIM_ALLOWED and sim_other >= SIM_ON_TOPIC)
                )
                if off and sig.get("meta-question") is None:
                    om = other[1] if other else None
                    what = f"{other[0]} ({om.group()!r})" if other and om else f"similarity {sim_other:.2f}"
                    hit(rule, SCORE["allowed-topic"], om, f"is off the allowed topic {rule.phrase!r}: {what}")
        return out

    def _output_conflict(
        self, rule: PolicyRule, text: str, sig: _TurnSignals
    ) -> tuple[re.Match[str] | None, str] | None:
        ov = sig.get("limit-override")
        rq = self.lex.requests
        if rule.kind == "output-length":
            for m in _all(rq.get("length-request", ()), text, sig.scripts):
                n, unit = int(m.group("n")), unit_of(m.group("unit"))
                if unit == "char" and rule.unit == "word":  # CJK counts characters: about two per word
                    n, unit = n // 2, "word"
                if rule.limit is not None and unit == rule.unit and n > rule.limit:
                    return m, f"asks for {m.group()} (limit {rule.limit} {rule.unit}s)"
            if (
                ov is not None
                and (_TRICK_WORDS.search(ov.group()) or not _FORMAT_WORDS.search(ov.group()))
                and not _LANG_WORDS.search(ov.group())
            ):
                return ov, "asks to ignore the length limit"
        elif rule.kind == "output-language":
            for m in _all(rq.get("language-request", ()), text, sig.scripts):
                code = self.lex.language_code(m.group("lang"))
                if code and code != rule.language:
                    return m, f"asks for an answer in {m.group('lang')} (rule: only {rule.phrase})"
            if ov is not None and _LANG_WORDS.search(ov.group()):
                return ov, "asks to ignore the language rule"
        elif ov is not None and _FORMAT_WORDS.search(ov.group()):
            return ov, f"asks to drop the required format ({rule.phrase})"
        return None


def _scored_turns(event: Event, first_rule_turn: int) -> list[_Turn]:
    out: list[_Turn] = []
    for i, m in enumerate(event.turns()):
        if i <= first_rule_turn or not m.content:
            continue
        if m.role in SCORED_ROLES or (m.role == "assistant" and i == len(event.messages)):
            text, off = _window(m.content)
            out.append(_Turn(i, m.role, text, off))
    return out[-MAX_TURNS:]


def _category(h: _Hit) -> tuple[str, tuple[str, ...]]:
    if h.turn.role == "tool":
        return "indirect-prompt-injection", ("AML.T0051", "AML.T0051.001")
    if h.rule.kind == "secret":
        return "system-prompt-extraction", ("AML.T0056", "AML.T0051", "AML.T0051.000")
    return "prompt-injection", ("AML.T0051", "AML.T0051.000")


def _finding(det: str, h: _Hit, others: list[_Hit]) -> Finding:
    cat, techs = _category(h)
    s, e = _orig(h.turn, h.start), _orig(h.turn, h.end)
    src = h.turn.text[h.start : h.end][:200]
    r = h.rule
    rule_id = "PC-SECRET-LEAK" if h.leak else RULE_IDS[r.kind]
    expl = (
        f"turn {h.turn.index} ({h.turn.role}) {h.why}; conflicts with the {r.kind} rule of turn {r.turn}: "
        f"{r.text!r}"
    )
    if others:
        expl += "; also conflicts with " + "; ".join(
            f"the {o.rule.kind} rule {o.rule.text!r} (turn {o.turn.index}, {o.score:.2f})" for o in others
        )
    return Finding(
        detector=det,
        rule=f"{rule_id}/{r.kind}",
        score=round(min(1.0, max(0.0, h.score)), 4),
        category=cat,
        techniques=(*techs, OBFUSCATION) if h.turn.decoded_by else techs,
        evidence=(
            Evidence(turn=h.turn.index, start=s, end=max(s, e), text=src, decoded_by=h.turn.decoded_by),
            Evidence(turn=r.turn, start=r.start, end=r.end, text=r.text[:200]),
        ),
        explanation=expl,
    )


def _leaks(rules: list[PolicyRule], event: Event) -> list[_Hit]:
    """An answer that contains a secret's value."""
    if event.response is None:
        return []
    resp = event.response[: HEAD_CHARS + TAIL_CHARS]
    idx = len(event.messages)
    out = []
    for r in rules:
        if r.kind == "secret" and r.value and len(r.value) >= 4:
            at = resp.lower().find(r.value.lower())
            if at >= 0:
                t = _Turn(idx, "assistant", resp, [len(resp), len(resp)])
                out.append(
                    _Hit(
                        r,
                        t,
                        SCORE["secret-leak"],
                        at,
                        at + len(r.value),
                        "the answer reveals the secret",
                        True,
                    )
                )
    return out


def _best(hits: list[_Hit]) -> list[tuple[_Hit, list[_Hit]]]:
    """The strongest hit per rule, then one finding per category: the verdict combines the findings of a
    category by noisy-OR, so two rules broken by one turn must not add up to a block. The others are named
    in the explanation."""
    best: dict[tuple[str, str, bool], _Hit] = {}
    for h in hits:
        key = (h.rule.kind, h.rule.text, h.leak)
        if key not in best or h.score > best[key].score:
            best[key] = h
    groups: dict[str, list[_Hit]] = {}
    for h in sorted(best.values(), key=lambda h: -h.score):
        groups.setdefault(_category(h)[0], []).append(h)
    return [(g[0], g[1:MAX_FINDINGS]) for g in groups.values()]


@register("policy-conflict")
class PolicyConflict:
    """Turns that ask for what a rule of the system prompt forbids (topics, secrets, persona, output limits)."""

    id: ClassVar[str] = "policy-conflict"
    stage: ClassVar[str] = "fast"

    class Params(DetectorParams):
        """`max_rules`: rules read from one system prompt (bounded work on untrusted prompts)."""

        max_rules: int = Field(default=MAX_RULES, ge=1)

    def __init__(self, *, max_rules: int = MAX_RULES, lexicon: Lexicon | None = None) -> None:
        self.max_rules = max_rules
        self.lexicon_ = lexicon or load_lexicon()
        self._scorer = _Scorer(self.lexicon_)
        # Applications send the same system prompt with every request: its rules are read once.
        self._rules_cache: dict[tuple[tuple[int, str], ...], list[PolicyRule]] = {}

    def rules(self, event: Event) -> list[PolicyRule]:
        """The rules read from the event's system/developer messages."""
        key = tuple((i, m.content) for i, m in enumerate(event.messages) if m.role in ("system", "developer"))
        if not key:
            return []
        got = self._rules_cache.get(key)
        if got is None:
            got = extract_rules(event, max_rules=self.max_rules, lexicon=self.lexicon_)
            if len(self._rules_cache) >= RULES_CACHE:
                self._rules_cache.clear()
            self._rules_cache[key] = got
        return list(got)

    def detect(self, event: Event) -> list[Finding]:
        """Findings for one event (none without a system/developer message)."""
        return self.detect_batch([event])[0]

    def _decoded_hits(self, rules: list[PolicyRule], t: _Turn) -> list[_Hit]:
        """Conflicts that only a decoded reading of the turn shows ("aW4gYmFzZTY0..." asking for the password).

        The engine decodes turns too, but scores the decoded text without the system message."""
        from stormwatch.detectors.decoders import decode_views

        out: list[_Hit] = []
        for view in decode_views(t.text)[:MAX_DECODED]:
            dt = _Turn(t.index, t.role, view.text[: HEAD_CHARS + TAIL_CHARS], [0, 0], view.decoded_by)
            out += self._scorer.score_turn(rules, dt)
        for h in out:
            h.why += f" (exposed by decoding: {h.turn.decoded_by})"
        return out

    def _similarities(
        self, items: list[tuple[list[PolicyRule], list[_Turn]]]
    ) -> list[list[dict[int, tuple[float, float]]]] | None:
        return None

    def detect_batch(self, events: list[Event]) -> list[list[Finding]]:
        """Findings for many events."""
        items: list[tuple[list[PolicyRule], list[_Turn]]] = []
        for ev in events:
            rules = self.rules(ev)
            turns = _scored_turns(ev, min((r.turn for r in rules), default=0)) if rules else []
            items.append((rules, [t for t in turns if t.role != "assistant"]))
        sims = self._similarities(items)
        out: list[list[Finding]] = []
        for k, (ev, (rules, turns)) in enumerate(zip(events, items, strict=True)):
            if not rules:
                out.append([])
                continue
            hits: list[_Hit] = []
            for j, t in enumerate(turns):
                got = self._scorer.score_turn(rules, t, sims[k][j] if sims else None)
                if not got:
                    got = self._decoded_hits(rules, t)
                hits += got
            hits += _leaks(rules, ev)
            out.append([_finding(self.id, h, others) for h, others in _best(hits)])
        return out


@register("policy-conflict-embed")
class PolicyConflictEmbed(PolicyConflict):
    """Policy conflicts with topic similarity from the shipped multilingual encoder (USE) on top of the lexicon."""

    id: ClassVar[str] = "policy-conflict-embed"
    stage: ClassVar[str] = "learned"
    supersedes: ClassVar[tuple[str, ...]] = ("policy-conflict",)

    def __init__(
        self, *, max_rules: int = MAX_RULES, lexicon: Lexicon | None = None, embedder: Any = None
    ) -> None:
        super().__init__(max_rules=max_rules, lexicon=lexicon)
        self._embedder = embedder
        self._embedders: Any = None
        self._proto: dict[str, Any] = {}

    @classmethod
    def from_params(
        cls, params: PolicyConflict.Params, shared: MutableMapping[Hashable, Any]
    ) -> PolicyConflictEmbed:
        """The detector over the build pool's encoders (USE-multilingual loaded once, shared with
        `learned-embed` built in the same pool)."""
        from stormwatch.detectors.learned.detector import shared_embedders

        det = cls(max_rules=params.max_rules)
        det._embedders = shared_embedders(shared)
        return det

    def _encoder(self) -> Any:
        if self._embedder is None:
            from stormwatch.detectors.learned._model import USE, Embedders

            if self._embedders is None:
                self._embedders = Embedders()
            if not self._embedders.available(USE):
                return None
            self._embedder = self._embedders.get(USE)
        return self._embedder

    def _embedded(self, enc: Any, key: str, texts: Callable[[], list[str]]) -> Any:
        """Embeddings of `texts()`, remembered under `key`; bounded like the rules cache, because rule phrases
        come from (untrusted) system prompts."""
        got = self._proto.get(key)
        if got is None:
            if len(self._proto) >= RULES_CACHE:
                self._proto.clear()
            got = self._proto[key] = np.asarray(enc.embed(texts()), dtype=np.float32)
        return got

    def _prototypes(self, enc: Any, rule: PolicyRule) -> Any:
        topics = self.lexicon_.topics
        return self._embedded(
            enc,
            "|".join(rule.topics) + "#" + rule.phrase,
            lambda: [e for t in rule.topics if t in topics for e in topics[t].exemplars] + [rule.phrase],
        )

    def _other_prototypes(self, enc: Any, rule: PolicyRule) -> Any:
        topics = self.lexicon_.topics
        return self._embedded(
            enc,
            "other#" + "|".join(rule.topics),
            lambda: [e for tid, t in topics.items() if tid not in rule.topics for e in t.exemplars],
        )

    def _similarities(
        self, items: list[tuple[list[PolicyRule], list[_Turn]]]
    ) -> list[list[dict[int, tuple[float, float]]]] | None:
        topical = [
            (k, j)
            for k, (rules, turns) in enumerate(items)
            if any(r.kind in ("forbidden-topic", "allowed-topic") for r in rules)
            for j in range(len(turns))
        ]
        out: list[list[dict[int, tuple[float, float]]]] = [[{} for _ in turns] for _, turns in items]
        if not topical:
            return out
        enc = self._encoder()
        if enc is None:  # no encoder installed: the lexicon alone (the fast path) decides
            return None
        vecs = np.asarray(enc.embed([items[k][1][j].text for k, j in topical]), dtype=np.float32)
        for (k, j), v in zip(topical, vecs, strict=True):
            for ri, r in enumerate(items[k][0]):
                if r.kind == "forbidden-topic":
                    out[k][j][ri] = (float((self._prototypes(enc, r) @ v).max()), 0.0)
                elif r.kind == "allowed-topic":
                    own = float((self._prototypes(enc, r) @ v).max())
                    other = float((self._other_prototypes(enc, r) @ v).max())
                    out[k][j][ri] = (own, other)
        return out
