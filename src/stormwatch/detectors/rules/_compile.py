"""Rules compiled for speed: normalized text, matchers and the literal anchors the prefilter uses."""

from __future__ import annotations

import importlib
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any

from stormwatch.detectors.rules._re2 import Translated, compile_re2, lit, translate
from stormwatch.detectors.rules._schema import (
    AllPattern,
    AnyPattern,
    KeywordsPattern,
    NearPattern,
    Pattern,
    RegexPattern,
    Rule,
    YaraPattern,
)

# The regex parser is private (re._parser since 3.11, sre_parse before, which now warns on import); it is
# only used to read literal anchors out of patterns at load time.
_sre_p: Any = importlib.import_module("re._parser")
_sre_c: Any = importlib.import_module("re._constants")

Span = tuple[int, int]
# Spans kept per sub-pattern; bounds the work `near` does on long or repetitive text.
MAX_SPANS = 64

# Length-preserving folds applied before lowercasing, so typographic variants match plain ASCII rules.
_FOLD = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u00a0": " "})
_TOKEN_RE = re.compile(r"\S+")
_BLOCK = 512
_CONTINUATION = bytes(range(0x80, 0xC0))


def _utf8_chars(data: bytes) -> int:
    """Code points in a UTF-8 byte string (bytes that are not continuation bytes)."""
    return len(data.translate(None, _CONTINUATION))


class TurnText:
    """A turn's text and its normalized form (folded, lowercased, whitespace collapsed) with offset mapping."""

    __slots__ = ("_blocks", "_bytes", "_map", "norm", "original")

    def __init__(self, original: str) -> None:
        self.original = original
        low = original.translate(_FOLD).lower()
        norm = " ".join(low.split())
        self._bytes: bytes | None = None
        if not norm.isascii():
            try:
                self._bytes = norm.encode("utf-8")
            except UnicodeEncodeError:  # lone surrogates (JSON allows "\ud800"): one "?" each, offsets kept
                self._bytes = norm.encode("utf-8", "replace")
                norm = self._bytes.decode("utf-8")
        self.norm = norm
        self._map: tuple[list[int], list[int]] | list[int] | None = None
        self._blocks: list[int] | None = None

    @property
    def norm_bytes(self) -> bytes:
        """`norm` as UTF-8, the form RE2 and YARA-X scan (encoded once per turn)."""
        if self._bytes is None:
            self._bytes = self.norm.encode("utf-8")
        return self._bytes

    def char_offset(self, byte_offset: int) -> int:
        """The offset in `norm` of a byte offset into `norm_bytes` (linear set-up, then constant per call)."""
        data = self.norm_bytes
        if len(data) == len(self.norm):
            return byte_offset
        if self._blocks is None:
            counts = [0]
            for b in range(0, len(data), _BLOCK):
                counts.append(counts[-1] + _utf8_chars(data[b : b + _BLOCK]))
            self._blocks = counts
        k = byte_offset // _BLOCK
        return self._blocks[k] + _utf8_chars(data[k * _BLOCK : byte_offset])

    def _build_map(self) -> tuple[list[int], list[int]] | list[int]:
        low = self.original.translate(_FOLD).lower()
        if low == self.norm and len(low) == len(
            self.original
        ):  # common case: no whitespace runs to collapse, offsets are unchanged
            return [0], [0]
        if len(low) == len(self.original):
            norm_starts: list[int] = []
            orig_starts: list[int] = []
            pos = 0
            for m in _TOKEN_RE.finditer(low):
                norm_starts.append(pos)
                orig_starts.append(m.start())
                pos += m.end() - m.start() + 1
            return norm_starts, orig_starts
        # Rare: lowercasing changed the length (e.g. 'İ'); map character by character.
        out: list[int] = []
        space_at = -1
        for i, ch in enumerate(self.original.translate(_FOLD)):
            if ch.isspace():
                if out and space_at < 0:
                    space_at = i
                continue
            if space_at >= 0:
                out.append(space_at)
                space_at = -1
            out.extend([i] * len(ch.lower()))
        out.append(len(self.original))
        return out

    def to_original(self, start: int, end: int) -> Span:
        """Map a span of `norm` back to a span of the original text."""
        if self._map is None:
            self._map = self._build_map()
        m = self._map
        if isinstance(m, list):
            s = m[min(start, len(m) - 1)]
            e = m[min(max(end - 1, start), len(m) - 1)] + 1 if end > start else s
            return s, min(e, len(self.original))
        norm_starts, orig_starts = m
        if not norm_starts:
            return 0, 0

        def one(p: int) -> int:
            k = max(bisect_right(norm_starts, p) - 1, 0)
            return orig_starts[k] + (p - norm_starts[k])

        s = one(start)
        e = one(end - 1) + 1 if end > start else s
        return s, min(e, len(self.original))


@dataclass
class TurnContext:
    """Everything a matcher needs about one turn: text forms and the YARA results for it."""

    text: TurnText
    yara_spans: dict[str, list[Span]] = field(default_factory=dict)
    _bytes_prefix: dict[int, int] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------- anchors
# A prefilter formula says which literals must be present for a pattern to possibly match:
#   ("lits", frozenset[str])  at least one of these substrings of the normalized text
#   ("yara", namespace)       a YARA pattern fired (handled as a separate trigger)
#   ("and", (f, ...)) / ("or", (f, ...)) / TRUE (unknown: assume present) / FALSE
Formula = tuple[Any, ...]
TRUE: Formula = ("true",)
FALSE: Formula = ("false",)
_MAX_SET = 24


def _usable(lit: str) -> bool:
    # Very short literals match nearly everywhere and make the scanner slow; treat them as unknown.
    return len(lit.encode("utf-8")) >= 3 or (len(lit) == 2 and not lit.isalpha())


def f_lits(lits: set[str] | frozenset[str]) -> Formula:
    """A literal-set leaf (TRUE when some literal is too short to be a useful anchor)."""
    if not lits or not all(_usable(x) for x in lits):
        return TRUE
    return ("lits", frozenset(lits))


def f_and(parts: list[Formula]) -> Formula:
    """Conjunction with constant folding."""
    kept: list[Formula] = []
    for p in parts:
        if p == FALSE:
            return FALSE
        if p != TRUE:
            kept.extend(p[1] if p[0] == "and" else (p,))
    if not kept:
        return TRUE
    return kept[0] if len(kept) == 1 else ("and", tuple(kept))


def f_or(parts: list[Formula]) -> Formula:
    """Disjunction with constant folding (literal leaves are merged)."""
    lits: set[str] = set()
    other: list[Formula] = []
    for p in parts:
        if p == TRUE:
            return TRUE
        if p == FALSE:
            continue
        if p[0] == "lits":
            lits |= p[1]
        elif p[0] == "or":
            for q in p[1]:
                if q[0] == "lits":
                    lits |= q[1]
                else:
                    other.append(q)
        else:
            other.append(p)
    kept = ([("lits", frozenset(lits))] if lits else []) + other
    if not kept:
        return FALSE
    return kept[0] if len(kept) == 1 else ("or", tuple(kept))


def f_without_yara(f: Formula) -> Formula:
    """The formula with YARA leaves set to FALSE (they trigger candidates through their own scan results)."""
    if f[0] == "yara":
        return FALSE
    if f[0] == "and":
        return f_and([f_without_yara(x) for x in f[1]])
    if f[0] == "or":
        return f_or([f_without_yara(x) for x in f[1]])
    return f


def _keyword_anchors(kw: str) -> set[str]:
    """Literals one of which any match of the keyword contains: the phrase with each separator variant,
    or its longest word when there would be too many variants."""
    core = kw.strip().lower().rstrip("*").strip()
    parts = [p for p in re.split(r"[\s_-]+", core) if p]
    if len(parts) <= 1:
        return {core}
    if len(parts) > 3:
        return {max(parts, key=len)}
    out = {parts[0]}
    for p in parts[1:]:
        out = {a + sep + p for a in out for sep in (" ", "_", "-", "")}
    return out


def _exact(sub: Any) -> set[str] | None:
    """The finite set of strings a regex subpattern can match exactly, when small; else None."""
    out = {""}
    for op, av in sub:
        piece: set[str] | None
        if op is _sre_c.LITERAL:
            piece = {chr(av).lower()}
        elif op is _sre_c.IN:
            chars = [chr(a).lower() for o, a in av if o is _sre_c.LITERAL]
            piece = set(chars) if len(chars) == len(av) and len(chars) <= 4 else None
        elif op is _sre_c.SUBPATTERN:
            piece = _exact(av[-1])
        elif op is _sre_c.BRANCH:
            acc: set[str] = set()
            for alt in av[1]:
                e = _exact(alt)
                if e is None:
                    return None
                acc |= e
            piece = acc
        elif op in (_sre_c.MAX_REPEAT, _sre_c.MIN_REPEAT) and av[1] <= 4:
            e = _exact(av[2])
            if e is None:
                return None
            piece = set()
            for count in range(av[0], av[1] + 1):
                reps = {""}
                for _ in range(count):
                    reps = {a + b for a in reps for b in e}
                    if len(reps) > _MAX_SET:
                        return None
                piece |= reps
        elif op is _sre_c.AT:
            piece = {""}
        else:
            return None
        if piece is None:
            return None
        out = {a + b for a in out for b in piece}
        if len(out) > _MAX_SET:
            return None
    return out


def regex_formula(sub: Any) -> Formula:
    """Prefilter formula of a parsed regex: literal runs and required groups, AND-ed along the sequence."""
    parts: list[Formula] = []
    run: set[str] = {""}

    def close() -> None:
        nonlocal run
        if run and all(run):
            parts.append(f_lits(run))
        run = {""}

    for op, av in sub:
        piece = _exact([(op, av)])
        if piece is not None and op is not _sre_c.AT:
            grown = {a + b for a in run for b in piece}
            if len(grown) <= _MAX_SET:
                run = grown
                continue
            close()
            run = piece
            continue
        close()
        if op is _sre_c.SUBPATTERN:
            parts.append(regex_formula(av[-1]))
        elif op is _sre_c.ATOMIC_GROUP:
            parts.append(regex_formula(av))
        elif op is _sre_c.BRANCH:
            parts.append(f_or([regex_formula(alt) for alt in av[1]]))
        elif op in (_sre_c.MAX_REPEAT, _sre_c.MIN_REPEAT, _sre_c.POSSESSIVE_REPEAT) and av[0] >= 1:
            parts.append(regex_formula(av[2]))
    close()
    return f_and(parts)


def lower_regex(src: str) -> str:
    """Lowercase a regex's literal characters, leaving escapes (\\S, \\W, \\x41, \\N{...}) untouched.

    Text is matched in lowercase, so this lets patterns run without re.IGNORECASE, which is several times
    slower in CPython.
    """
    out: list[str] = []
    i, n = 0, len(src)
    while i < n:
        ch = src[i]
        if ch == "\\" and i + 1 < n:
            nxt = src[i + 1]
            if nxt == "N" and i + 2 < n and src[i + 2] == "{":
                j = src.find("}", i)
                j = n - 1 if j < 0 else j
            else:
                j = i + 1 + {"x": 2, "u": 4, "U": 8}.get(nxt, 0)
            out.append(src[i : j + 1])
            i = j + 1
            continue
        out.append(ch.lower())
        i += 1
    return "".join(out)


# --------------------------------------------------------------------------------------------- matchers
class Matcher:
    """A compiled pattern: finds spans in the normalized text of a turn."""

    anchors: Formula = TRUE
    label: str = ""

    def spans(self, ctx: TurnContext) -> list[Span]:
        """Spans (in normalized text) where the pattern matches; empty when it does not."""
        raise NotImplementedError


class _Program:
    """One compiled RE2 program and its marker groups."""

    __slots__ = ("ends", "rx", "starts")

    def __init__(self, t: Translated) -> None:
        self.rx: Any = compile_re2(t.pattern)
        self.starts = t.start_groups
        self.ends = t.end_groups


class Re2Pattern:
    """A rule pattern as RE2 programs: one exact on any text, and a cheaper one exact on ASCII text.

    The Unicode program (`translate(...)`) is compiled on the first text that is not ASCII: its Unicode
    classes cost about ten times the compile time of the ASCII program (`translate(..., ascii_text=True)`),
    and most prompts are ASCII. Both translations are checked at load; a race to compile it is harmless.
    """

    __slots__ = ("_ascii", "_unicode", "_unicode_t", "approximate", "pattern", "reject_after")

    def __init__(
        self, t: Translated, reject_after: Re2Pattern | None = None, ascii_t: Translated | None = None
    ) -> None:
        self.pattern = t.pattern
        self.approximate = t.approximate
        self.reject_after = reject_after
        self._unicode_t = t
        self._ascii = _Program(ascii_t) if ascii_t is not None else None
        self._unicode: _Program | None = None if ascii_t is not None else _Program(t)

    def compile_all(self) -> None:
        """Compile the Unicode program now rather than on the first non-ASCII text."""
        self._program(False)

    def _program(self, ascii_text: bool) -> _Program:
        if ascii_text and self._ascii is not None:
            return self._ascii
        prog = self._unicode
        if prog is None:
            prog = self._unicode = _Program(self._unicode_t)
        return prog

    def matches_at(self, data: bytes, pos: int, ascii_text: bool) -> bool:
        """Whether the pattern matches starting exactly at byte `pos` (anchored; linear in the match)."""
        prog = self._program(ascii_text)
        if prog.starts and pos > 0:
            back = pos - 1
            while back > 0 and 0x80 <= data[back] < 0xC0:
                back -= 1
            m = prog.rx.match(data, back)
            if m is not None and any(m.start(g) == pos for g in prog.starts):
                return True
        m = prog.rx.match(data, pos)
        return m is not None and next((m.start(g) for g in prog.starts if m.start(g) >= 0), m.start()) == pos

    def spans(self, text: TurnText) -> list[Span]:
        """Match spans in `text.norm`, left to right without overlap, at most MAX_SPANS (linear time)."""
        data = text.norm_bytes
        n = len(data)
        ascii_text = n == len(text.norm)
        prog = self._program(ascii_text)
        starts, ends = prog.starts, prog.ends
        out: list[Span] = []
        search = prog.rx.search
        pos = last_end = rejected = 0
        while pos <= n:
            m = search(data, pos)
            if m is None:
                break
            s = next((m.start(g) for g in starts if m.start(g) >= 0), m.start())
            e = next((m.start(g) for g in ends if m.start(g) >= 0), m.end())
            if s < last_end:  # reached back into the previous match (only after backing up below)
                pos = last_end
                continue
            if self.reject_after is not None and self.reject_after.matches_at(data, e, ascii_text):
                rejected += 1  # a negative lookahead's case: try again one character later, boundedly
                if rejected > _MAX_REJECTED:
                    break
                pos = max(m.start(), s) + _char_len(data, max(m.start(), s))
                continue
            out.append((s, e))
            if len(out) >= MAX_SPANS:
                break
            last_end = e
            nxt = e if e > s else e + _char_len(data, e)
            if starts and e > s:
                # A leading boundary consumes the character before the real match: let it see the last
                # character of this match (which is why a later match may start inside; skipped above).
                back = e - 1
                while back > 0 and 0x80 <= data[back] < 0xC0:
                    back -= 1
                pos = back if back > m.start() else nxt
            else:
                pos = nxt
        if not ascii_text:
            return [(text.char_offset(a), text.char_offset(b)) for a, b in out]
        return out


_MAX_REJECTED = 4 * MAX_SPANS


def _char_len(data: bytes, at: int) -> int:
    if at >= len(data):
        return 1
    lead = data[at]
    return 1 if lead < 0xC0 else 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4


_SPACED_SCRIPT_MAX = 0x052F  # Latin, Greek, Cyrillic: scripts where word boundaries are spaces.


_ALNUM = r"\pL\pN"
_SEPARATOR = r"[\t-\r\x{1c}-\x{20}\x{85}\pZ_\x{2d}]?"
_ASCII_ALNUM = "0-9A-Za-z"
_ASCII_SEPARATOR = r"[\t-\r\x{1c}-\x{20}_\x{2d}]?"


def _keyword_units(kw: str, ascii_text: bool = False) -> tuple[bool, str, list[str]]:
    """(needs no letter or digit before, what may follow, RE2 units) for one keyword.

    What may follow: "bound" (no letter or digit), "prefix" (the rest of a word, for `word*`), "any".
    """
    raw = kw.strip().lower()
    prefix = raw.endswith("*")
    core = raw.rstrip("*").strip()
    units: list[str] = []
    alnum = _ASCII_ALNUM if ascii_text else _ALNUM
    for i, part in enumerate(core.split()):
        if i:
            units.append(_ASCII_SEPARATOR if ascii_text else _SEPARATOR)
        units.extend(lit(ord(ch)) for ch in part)
    head, tail = core[0], core[-1]
    pre = head.isalnum() and ord(head) <= _SPACED_SCRIPT_MAX
    post = "any"
    if prefix:
        if ord(tail) <= _SPACED_SCRIPT_MAX:
            units.append(f"[{alnum}]*")
    elif tail.isalnum() and ord(tail) <= _SPACED_SCRIPT_MAX:
        post = "bound"
    return pre, post, units


def _trie_regex(seqs: list[list[str]]) -> str:
    """One regex for many unit sequences, factored as a trie so matching dispatches on the first character."""
    root: dict[str, Any] = {}
    for seq in seqs:
        node = root
        for u in seq:
            node = node.setdefault(u, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        alts = [u + build(child) for u, child in node.items() if u]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        if "" in node:
            body = f"(?:{body})?"
        return body

    return build(root)


def keywords_re2(keywords: list[str], ascii_text: bool = False) -> list[Translated]:
    """RE2 patterns for a keyword list ('*' suffix = word prefix), one per kind of edge the keywords need.

    `ascii_text`: patterns exact only on ASCII text (cheaper to compile), in the same order.
    """
    alnum = _ASCII_ALNUM if ascii_text else _ALNUM
    groups: dict[tuple[bool, str], list[list[str]]] = {}
    for kw in sorted({k.strip().lower() for k in keywords}):
        pre, post, units = _keyword_units(kw, ascii_text)
        groups.setdefault((pre, post), []).append(units)
    out: list[Translated] = []
    for (pre, post), seqs in sorted(groups.items()):
        body = _trie_regex(seqs)
        starts: tuple[int, ...] = ()
        ends: tuple[int, ...] = ()
        if pre:
            body = f"(?:\\A|[^{alnum}])()" + body
            starts = (1,)
        if post == "bound":
            body = body + f"()(?:[^{alnum}]|\\z)"
            ends = (len(starts) + 1,)
        out.append(Translated(body, starts, ends))
    return out


class KeywordsMatcher(Matcher):
    """Any of several keywords."""

    def __init__(self, p: KeywordsPattern) -> None:
        kws = sorted({k.strip().lower() for k in p.keywords}, key=len, reverse=True)
        self.patterns = [
            Re2Pattern(t, ascii_t=a)
            for t, a in zip(keywords_re2(kws), keywords_re2(kws, ascii_text=True), strict=True)
        ]
        self.anchors = f_lits(set().union(*(_keyword_anchors(k) for k in kws)))
        self.label = "keywords"

    def spans(self, ctx: TurnContext) -> list[Span]:
        """Spans of keyword hits."""
        if len(self.patterns) == 1:
            return self.patterns[0].spans(ctx.text)
        out: list[Span] = []
        for rx in self.patterns:
            out.extend(rx.spans(ctx.text))
        return sorted(out)[:MAX_SPANS]


_FLAGS = {"dotall": re.DOTALL, "multiline": re.MULTILINE, "verbose": re.VERBOSE, "ascii": re.ASCII}


def regex_flags(names: list[str]) -> int:
    """Python `re` flags for a pattern's `flags:` list."""
    flags = 0
    for f in names:
        flags |= _FLAGS[f]
    return flags


class RegexMatcher(Matcher):
    """A rule regex (Python syntax) run by RE2 on lowercased text, in time linear in the text."""

    def __init__(self, p: RegexPattern) -> None:
        flags = regex_flags(list(p.flags))
        src = lower_regex(p.regex)
        unless = None
        if p.unless_followed_by is not None:
            after = lower_regex(p.unless_followed_by)
            unless = Re2Pattern(translate(after, flags), ascii_t=translate(after, flags, True))
        self.rx = Re2Pattern(translate(src, flags), unless, translate(src, flags, True))
        self.anchors = regex_formula(_sre_p.parse(src, flags))
        self.label = "regex"

    def spans(self, ctx: TurnContext) -> list[Span]:
        """Spans of regex matches."""
        return self.rx.spans(ctx.text)


class YaraMatcher(Matcher):
    """A YARA-X rule compiled into the shared scanner under its own namespace."""

    def __init__(self, p: YaraPattern, namespace: str) -> None:
        self.namespace = namespace
        self.source = wrap_yara(p.yara, namespace)
        self.anchors = ("yara", namespace)
        self.label = "yara"

    def spans(self, ctx: TurnContext) -> list[Span]:
        """Spans reported by the scanner for this namespace."""
        return ctx.yara_spans.get(self.namespace, [])


def wrap_yara(body: str, name: str) -> str:
    """A full YARA source: the text itself if it declares rules, else `body` wrapped in a rule."""
    if re.search(r"^\s*(?:(?:private|global)\s+)*rule\s+\w+", body, re.MULTILINE) or body.lstrip().startswith(
        "import"
    ):
        return body
    return f"rule {name} {{\n{body}\n}}"


class AllMatcher(Matcher):
    """Every child matches; spans are the first span of each child."""

    def __init__(self, children: list[Matcher]) -> None:
        self.children = children
        self.anchors = f_and([c.anchors for c in children])
        self.label = "all"

    def spans(self, ctx: TurnContext) -> list[Span]:
        """First span of each child, or nothing."""
        out: list[Span] = []
        for c in self.children:
            s = c.spans(ctx)
            if not s:
                return []
            out.append(s[0])
        return sorted(out)


class AnyMatcher(Matcher):
    """The first child that matches."""

    def __init__(self, children: list[Matcher]) -> None:
        self.children = children
        self.anchors = f_or([c.anchors for c in children])
        self.label = "any"

    def spans(self, ctx: TurnContext) -> list[Span]:
        """Spans of the first matching child."""
        for c in self.children:
            s = c.spans(ctx)
            if s:
                return s
        return []


class NearMatcher(Matcher):
    """Children matching close together; returns merged spans."""

    def __init__(self, children: list[Matcher], within: int, ordered: bool) -> None:
        self.children = children
        self.within = within
        self.ordered = ordered
        self.anchors = f_and([c.anchors for c in children])
        self.label = "near"

    def spans(self, ctx: TurnContext) -> list[Span]:
        """Merged spans where all children occur close to the first child's match."""
        lists: list[list[Span]] = []
        for c in self.children:
            s = c.spans(ctx)
            if not s:
                return []
            lists.append(s)
        out: list[Span] = []
        for a in lists[0]:
            chosen = [a]
            prev = a
            for other in lists[1:]:
                hit = self._close(a, prev, other)
                if hit is None:
                    break
                chosen.append(hit)
                prev = hit
            else:
                out.append((min(s for s, _ in chosen), max(e for _, e in chosen)))
                if len(out) >= 3:
                    break
        return out

    def _close(self, anchor: Span, prev: Span, cands: list[Span]) -> Span | None:
        for b in cands:
            if self.ordered:
                if b[0] < prev[1]:
                    continue
                if b[0] - anchor[1] <= self.within:
                    return b
                return None  # spans are sorted: later ones are only further away
            gap = max(b[0] - anchor[1], anchor[0] - b[1], 0)
            if gap <= self.within and b != anchor:
                return b
            if b[0] - anchor[1] > self.within:
                return None
        return None


def re2_patterns(m: Matcher) -> list[Re2Pattern]:
    """Every RE2 pattern under a matcher (for warming up: compiling the lazily compiled programs)."""
    out: list[Re2Pattern] = []
    if isinstance(m, KeywordsMatcher):
        out.extend(m.patterns)
    elif isinstance(m, RegexMatcher):
        out.append(m.rx)
        if m.rx.reject_after is not None:
            out.append(m.rx.reject_after)
    for child in getattr(m, "children", []):
        out.extend(re2_patterns(child))
    return out


def compile_pattern(p: Pattern, namespace: str, yara_out: list[YaraMatcher]) -> Matcher:
    """Compile a pattern tree; YARA leaves are collected into `yara_out` with unique namespaces."""
    if isinstance(p, KeywordsPattern):
        return KeywordsMatcher(p)
    if isinstance(p, RegexPattern):
        return RegexMatcher(p)
    if isinstance(p, YaraPattern):
        ym = YaraMatcher(p, f"{namespace}_{len(yara_out)}")
        yara_out.append(ym)
        return ym
    if isinstance(p, AllPattern):
        return AllMatcher([compile_pattern(c, namespace, yara_out) for c in p.all])
    if isinstance(p, AnyPattern):
        return AnyMatcher([compile_pattern(c, namespace, yara_out) for c in p.any])
    if isinstance(p, NearPattern):
        return NearMatcher([compile_pattern(c, namespace, yara_out) for c in p.near], p.within, p.ordered)
    raise TypeError(f"unknown pattern type {type(p).__name__}")  # pragma: no cover


@dataclass
class CompiledRule:
    """A rule ready to run: its matcher, exclusions, roles and prefilter anchors."""

    rule: Rule
    index: int
    source: str
    matcher: Matcher
    excludes: list[Matcher]
    roles: frozenset[str]
    yara: list[YaraMatcher]

    @property
    def anchors(self) -> Formula:
        """Prefilter formula: which literals must be present for the rule to possibly fire."""
        return self.matcher.anchors

    def evaluate(self, ctx: TurnContext) -> list[Span]:
        """Spans (normalized text) where the rule fires in this turn, after exclusions; empty if it does not."""
        spans = self.matcher.spans(ctx)
        if not spans:
            return []
        for ex in self.excludes:
            if ex.spans(ctx):
                return []
        return spans


def compile_rule(rule: Rule, index: int, source: str) -> CompiledRule:
    """Compile one validated rule (raises re.error on a bad regex)."""
    ns = f"y{index}"
    yara_out: list[YaraMatcher] = []
    top = [compile_pattern(p, ns, yara_out) for p in rule.patterns]
    matcher: Matcher = (
        top[0] if len(top) == 1 else (AllMatcher(top) if rule.match == "all" else AnyMatcher(top))
    )
    excludes = [compile_pattern(p, ns, yara_out) for p in rule.exclude]
    return CompiledRule(rule, index, source, matcher, excludes, rule.roles(), yara_out)


def yara_literal(s: str) -> str:
    """A YARA text-string literal for `s` (UTF-8 bytes, non-printables escaped)."""
    out = []
    for b in s.encode("utf-8"):
        c = chr(b)
        if b < 0x80 and (c.isalnum() or c in " -_.,:;!?'()[]{}<>|#/=+*&%$@~^`"):
            out.append(c)
        else:
            out.append(f"\\x{b:02x}")
    return '"' + "".join(out) + '"'
