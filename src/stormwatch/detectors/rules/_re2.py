"""Rule regexes translated from Python syntax to RE2, whose matching time is linear in the text.

Python's `re` backtracks: `\\d+\\s+tokens?` retried at every digit of a long run costs time quadratic in
the run, and it holds the GIL meanwhile. RE2 never backtracks, but it has no lookaround or backreferences
and its `\\b`/`\\w` are ASCII-only, while rule authors write Python regexes over Unicode text. So a rule
regex is parsed with Python's own parser and written out again for RE2:

- `\\w`, `\\d`, `\\s` and their negations become the Unicode classes Python means by them.
- A `\\b` whose two sides are known from the pattern (`\\bfoo\\s`) is decided at load time. One side known
  is the common case (`\\b(?:ignore|forget)`): the condition on the other side is folded into the
  neighbouring one-character repeat (`.{0,40}?\\b` becomes `.{0,39}?[^\\pL\\pN_\\n]`), or at the very start or
  end of the pattern checked by consuming one character outside marker groups that give the real match.
  What cannot be placed exactly falls back to RE2's ASCII `\\b` (counted in `approximate`).
- Lookarounds, backreferences, conditionals, atomic groups and possessive repeats are refused with
  `UnsupportedRegex` naming the construct; the loader turns that into an error naming pack, rule and field.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import re2

_sre_p: Any = importlib.import_module("re._parser")
_sre_c: Any = importlib.import_module("re._constants")

_IGNORECASE, _MULTILINE, _DOTALL, _ASCII = 2, 8, 16, 256

W, N = "w", "n"
Types = frozenset[str]
_BOTH: Types = frozenset({W, N})
_ONLY_W: Types = frozenset({W})
_ONLY_N: Types = frozenset({N})
_UNKNOWN = "?"  # outside the match: the character before or after it is not known from the pattern
_START_MARK, _END_MARK = "\x00S", "\x00E"
_NEVER = r"[^\x00-\x{10ffff}]"


class UnsupportedRegex(ValueError):
    """A regex that the linear-time engine cannot run as written (the message names the construct)."""


@dataclass(frozen=True)
class Translated:
    """An RE2 pattern and where in a match the real span of the original regex starts and ends."""

    pattern: str
    start_groups: tuple[int, ...] = ()
    end_groups: tuple[int, ...] = ()
    approximate: int = 0  # `\b` placed with RE2's ASCII word boundary instead of Python's Unicode one


def re2_options() -> re2.Options:
    """RE2 options for rule matching: UTF-8, quiet (the library never writes to stderr), bounded memory."""
    opts = re2.Options()
    opts.log_errors = False
    opts.max_mem = 64 << 20
    return opts


def compile_re2(pattern: str) -> Any:
    """Compile an RE2 pattern with `re2_options()` (raises UnsupportedRegex with RE2's message)."""
    try:
        return re2.compile(pattern, re2_options())
    except re2.error as exc:
        msg = exc.args[0] if exc.args else exc
        if isinstance(msg, bytes):
            msg = msg.decode("utf-8", "replace")
        raise UnsupportedRegex(f"RE2 rejects it: {msg}") from exc


def _is_word(cp: int) -> bool:
    ch = chr(cp)
    return ch.isalnum() or ch == "_"


@dataclass
class _Classes:
    """Class bodies (the text inside `[...]`) for Python's categories in the current mode.

    `ascii`: ASCII classes, for the `ascii` flag or for text known to be ASCII (`ascii_flag` says which:
    Python's ASCII `\\s` lacks the \\x1c-\\x1f separators its Unicode `\\s` has).
    """

    ascii: bool
    ascii_flag: bool = False
    word: str = field(init=False)
    digit: str = field(init=False)
    space: str = field(init=False)

    def __post_init__(self) -> None:
        if self.ascii:
            space = r"\t-\r\x{20}" if self.ascii_flag else r"\t-\r\x{1c}-\x{20}"
            self.word, self.digit, self.space = "0-9A-Za-z_", "0-9", space
        else:
            self.word, self.digit, self.space = r"\pL\pN_", r"\p{Nd}", r"\t-\r\x{1c}-\x{20}\x{85}\pZ"


def lit(cp: int) -> str:
    """One code point as an RE2 literal (ASCII letters and digits as themselves, others as \\x{...})."""
    ch = chr(cp)
    return ch if ch.isascii() and ch.isalnum() else f"\\x{{{cp:x}}}"


def _range_types(lo: int, hi: int) -> Types:
    if hi - lo > 0x3000:
        return _BOTH
    seen = {W if _is_word(cp) else N for cp in range(lo, hi + 1)}
    return frozenset(seen)


_CAT_TYPES: dict[str, Types] = {
    "CATEGORY_WORD": _ONLY_W,
    "CATEGORY_DIGIT": _ONLY_W,
    "CATEGORY_SPACE": _ONLY_N,
    "CATEGORY_NOT_WORD": _ONLY_N,
    "CATEGORY_NOT_DIGIT": _BOTH,
    "CATEGORY_NOT_SPACE": _BOTH,
}


def _is_boundary(op: Any, av: Any) -> bool:
    return op is _sre_c.AT and av in (_sre_c.AT_BOUNDARY, _sre_c.AT_NON_BOUNDARY)


def _single(op: Any) -> bool:
    return op in (_sre_c.LITERAL, _sre_c.NOT_LITERAL, _sre_c.ANY, _sre_c.IN, _sre_c.CATEGORY)


class _Writer:
    def __init__(self, flags: int, ascii_text: bool = False) -> None:
        self.flags = flags
        self.cls = _Classes(bool(flags & _ASCII) or ascii_text, bool(flags & _ASCII))
        self.approximate = 0
        # Parsed items live as long as the translation, so their ids are stable keys here.
        self._edges: dict[tuple[int, bool], tuple[Types, bool]] = {}
        self._keep: list[Any] = []  # items built here stay alive, so their ids stay unique keys

    # -- types -------------------------------------------------------------------------------------
    def char_types(self, op: Any, av: Any) -> Types:
        if op is _sre_c.LITERAL:
            return _ONLY_W if _is_word(av) else _ONLY_N
        if op in (_sre_c.NOT_LITERAL, _sre_c.ANY):
            return _BOTH
        if op is _sre_c.CATEGORY:
            return _CAT_TYPES.get(str(av), _BOTH)
        items = list(av)
        negate = bool(items) and items[0][0] is _sre_c.NEGATE
        if negate:
            cats = {str(a) for o, a in items[1:] if o is _sre_c.CATEGORY}
            if "CATEGORY_WORD" in cats:
                return _ONLY_N
            if "CATEGORY_NOT_WORD" in cats:
                return _ONLY_W
            return _BOTH
        out: set[str] = set()
        for o, a in items:
            if o is _sre_c.LITERAL:
                out.add(W if _is_word(a) else N)
            elif o is _sre_c.RANGE:
                out |= _range_types(a[0], a[1])
            elif o is _sre_c.CATEGORY:
                out |= _CAT_TYPES.get(str(a), _BOTH)
            else:
                out |= _BOTH
        return frozenset(out)

    def edge_types(self, item: tuple[Any, Any], last: bool) -> tuple[Types, bool]:
        """(types of the first/last character, nullable) of one item (memoised per parsed item)."""
        key = (id(item), last)
        hit = self._edges.get(key)
        if hit is None:
            hit = self._edges[key] = self._edge_types(item, last)
        return hit

    def _edge_types(self, item: tuple[Any, Any], last: bool) -> tuple[Types, bool]:
        op, av = item
        if _single(op):
            return self.char_types(op, av), False
        if op in (_sre_c.MAX_REPEAT, _sre_c.MIN_REPEAT):
            t, nul = self.seq_edge(av[2], last)
            return t, nul or av[0] == 0
        if op is _sre_c.SUBPATTERN:
            return self.seq_edge(av[-1], last)
        if op is _sre_c.BRANCH:
            ts: set[str] = set()
            nullable = False
            for alt in av[1]:
                t, nul = self.seq_edge(alt, last)
                ts |= t
                nullable |= nul
            return frozenset(ts), nullable
        if op is _sre_c.AT:
            # ^ and $ stand for the text's edge (or a newline): a non-word side for \b.
            if av in (_sre_c.AT_BEGINNING, _sre_c.AT_BEGINNING_STRING) and not last:
                return frozenset(), True
            if av in (_sre_c.AT_BEGINNING, _sre_c.AT_BEGINNING_STRING):
                return _ONLY_N, False
            if av in (_sre_c.AT_END, _sre_c.AT_END_STRING) and not last:
                return _ONLY_N, False
            return frozenset(), True
        return _BOTH, True

    def seq_edge(self, seq: Any, last: bool) -> tuple[Types, bool]:
        items = list(seq)
        if last:
            items.reverse()
        acc: set[str] = set()
        for it in items:
            t, nul = self.edge_types(it, last)
            acc |= t
            if not nul:
                return frozenset(acc), False
        return frozenset(acc), True

    def side(self, items: list[Any], ctx: Types, last: bool) -> Types:
        """Types of the character on one side: `items` walked outward, then the context."""
        acc: set[str] = set()
        for it in items:
            t, nul = self.edge_types(it, last)
            acc |= t
            if not nul:
                return frozenset(acc)
        return frozenset(acc) | ctx

    # -- classes -----------------------------------------------------------------------------------
    def class_src(self, op: Any, av: Any) -> str:
        """RE2 source of a one-character element."""
        c = self.cls
        if op is _sre_c.LITERAL:
            return lit(av)
        if op is _sre_c.NOT_LITERAL:
            return f"[^{lit(av)}]"
        if op is _sre_c.ANY:
            return r"[\x{0}-\x{10ffff}]" if self.flags & _DOTALL else r"[^\n]"
        if op is _sre_c.CATEGORY:
            return self.class_src(_sre_c.IN, [(op, av)])
        items = list(av)
        negate = bool(items) and items[0][0] is _sre_c.NEGATE
        if negate:
            items = items[1:]
        body: list[str] = []
        neg_cats: list[str] = []
        for o, a in items:
            if o is _sre_c.LITERAL:
                body.append(lit(a))
            elif o is _sre_c.RANGE:
                body.append(f"{lit(a[0])}-{lit(a[1])}")
            elif o is _sre_c.CATEGORY:
                name = str(a)
                pos = {"CATEGORY_WORD": c.word, "CATEGORY_DIGIT": c.digit, "CATEGORY_SPACE": c.space}
                negs = {
                    "CATEGORY_NOT_WORD": c.word,
                    "CATEGORY_NOT_DIGIT": c.digit,
                    "CATEGORY_NOT_SPACE": c.space,
                }
                if name in pos:
                    body.append(pos[name])
                elif name in negs:
                    neg_cats.append(name)
                else:
                    raise UnsupportedRegex(f"character class category {name}")
            else:
                raise UnsupportedRegex(f"character class item {o}")
        if not neg_cats:
            inner = "".join(body)
            if not inner:
                return _NEVER if not negate else r"[\x{0}-\x{10ffff}]"
            return f"[^{inner}]" if negate else f"[{inner}]"
        if not negate:
            negs = {"CATEGORY_NOT_WORD": c.word, "CATEGORY_NOT_DIGIT": c.digit, "CATEGORY_NOT_SPACE": c.space}
            alts = [f"[^{negs[n]}]" for n in neg_cats]
            if body:
                alts.append("[" + "".join(body) + "]")
            return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        # [^\W...]: word characters less the listed ones; only the idioms rules use are supported.
        if neg_cats == ["CATEGORY_NOT_WORD"]:
            rest = sorted(body)
            if not rest:
                return f"[{c.word}]"
            if rest == [lit(0x5F)]:
                return "[0-9A-Za-z]" if c.ascii else r"[\pL\pN]"
            if rest == sorted([lit(0x5F), c.digit]):
                return "[A-Za-z]" if c.ascii else r"[\pL\p{Nl}\p{No}]"
        if len(neg_cats) == 1 and not body:
            name = neg_cats[0]
            return {"CATEGORY_NOT_WORD": f"[{c.word}]", "CATEGORY_NOT_DIGIT": f"[{c.digit}]"}.get(
                name, f"[{c.space}]"
            )
        raise UnsupportedRegex("a negated class of a negated category (like [^\\W\\s]) other than [^\\W_]")

    def narrowed(self, op: Any, av: Any, want: str) -> str | None:
        """A one-character element restricted to word (`want` = W) or non-word characters; None if unsure."""
        c = self.cls
        types = self.char_types(op, av)
        if types == frozenset({want}):
            return self.class_src(op, av)
        if want not in types:
            return _NEVER
        if op in (_sre_c.ANY, _sre_c.NOT_LITERAL):
            if want == W:
                return f"[{c.word}]" if op is _sre_c.ANY or _is_word(av) is False else None
            extra = (
                "" if op is _sre_c.ANY and self.flags & _DOTALL else r"\n" if op is _sre_c.ANY else lit(av)
            )
            return f"[^{c.word}{extra}]"
        if op is _sre_c.IN:
            items = list(av)
            if items and items[0][0] is _sre_c.NEGATE:
                rest = items[1:]
                if any(o is _sre_c.CATEGORY for o, _ in rest):
                    return None
                body = "".join(lit(a) if o is _sre_c.LITERAL else f"{lit(a[0])}-{lit(a[1])}" for o, a in rest)
                if want == N:
                    return f"[^{c.word}{body}]"
                if all(self.char_types(o, a) == _ONLY_N for o, a in rest):
                    return f"[{c.word}]"
                return None
            keep = []
            for o, a in items:
                t = self.char_types(o, a) if o is not _sre_c.RANGE else _range_types(a[0], a[1])
                if t == frozenset({want}):
                    keep.append((o, a))
                elif want in t:
                    return None
            return self.class_src(_sre_c.IN, keep) if keep else _NEVER
        return None

    # -- sequences ---------------------------------------------------------------------------------
    def _alternatives(self, item: tuple[Any, Any]) -> list[Any] | None:
        """The alternatives of a branch (also inside a plain group), else None."""
        op, av = item
        if op is _sre_c.SUBPATTERN and not (av[1] or av[2]) and len(av[3]) == 1:
            return self._alternatives(av[3][0])
        if op is _sre_c.BRANCH:
            return list(av[1])
        return None

    def _distribute(
        self, items: list[Any], prev: Types, nxt: Types, at_start: bool, at_end: bool
    ) -> list[Any]:
        """Move a `\\b` into the branch beside it when that side is mixed: `\\b(?:and|,)` is `(?:\\band|\\b,)`,
        and each alternative then has a known side. Only where the other side is then settled too: known,
        or the edge of the whole pattern (marker groups); else folding into a repeat does better."""
        i = 0
        while i < len(items):
            op, av = items[i]
            if _is_boundary(op, av):
                after = self.side(items[i + 1 :], nxt, last=False)
                before = self.side(list(reversed(items[:i])), prev, last=True)
                alts_after = self._alternatives(items[i + 1]) if i + 1 < len(items) else None
                alts_before = self._alternatives(items[i - 1]) if i > 0 else None
                before_ok = (_UNKNOWN not in before and len(before) == 1) or (at_start and i == 0)
                after_ok = (_UNKNOWN not in after and len(after) == 1) or (at_end and i == len(items) - 1)
                if alts_after is not None and not after_ok and before_ok:
                    new = (_sre_c.BRANCH, (None, [[(op, av), *alt] for alt in alts_after]))
                    self._keep.append(new)
                    items[i : i + 2] = [new]
                    continue
                if alts_before is not None and not before_ok and after_ok:
                    new = (_sre_c.BRANCH, (None, [[*alt, (op, av)] for alt in alts_before]))
                    self._keep.append(new)
                    items[i - 1 : i + 1] = [new]
                    i -= 1
                    continue
            i += 1
        return items

    def seq(self, seq: Any, prev: Types, nxt: Types, at_start: bool = False, at_end: bool = False) -> str:
        items = list(seq)
        if not self.cls.ascii:
            items = self._distribute(items, prev, nxt, at_start, at_end)
        over: dict[int, str] = {}
        out_b: dict[int, str] = {}
        for i, (op, av) in enumerate(items):
            if not _is_boundary(op, av) or i in out_b:
                continue
            both = self._sandwich(items, i, prev, nxt)
            if both is not None:
                out_b[i], over[i + 1], out_b[i + 2] = "", both, ""
                continue
            out_b[i] = self.boundary(items, i, prev, nxt, at_start, at_end, av is _sre_c.AT_BOUNDARY, over)
        # befores[i]: types of the character before item i; afters[i]: after item i (both O(n) overall).
        befores: list[Types] = [prev]
        for it in items[:-1]:
            t, nul = self.edge_types(it, True)
            befores.append(t | befores[-1] if nul else t)
        afters: list[Types] = [nxt]
        for it in reversed(items[1:]):
            t, nul = self.edge_types(it, False)
            afters.append(t | afters[-1] if nul else t)
        afters.reverse()
        parts: list[str] = []
        last = len(items) - 1
        for i, it in enumerate(items):
            if i in out_b:
                parts.append(out_b[i])
            elif i in over:
                parts.append(over[i])
            else:
                parts.append(self.item(it, befores[i], afters[i], at_start and i == 0, at_end and i == last))
        return "".join(parts)

    def _sandwich(self, items: list[Any], i: int, prev: Types, nxt: Types) -> str | None:
        """`\\b C{m,n} \\b` with both outer sides known: one class repeat with its first and last character set."""
        if i + 2 >= len(items) or not _is_boundary(*items[i + 2]) or self.cls.ascii:
            return None
        rep = self._repeat(items[i + 1])
        if rep is None:
            return None
        lo, hi, greedy, elem = rep
        before = self.side(list(reversed(items[:i])), prev, last=True)
        after = self.side(items[i + 3 :], nxt, last=False)
        if _UNKNOWN in before or _UNKNOWN in after or len(before) != 1 or len(after) != 1:
            return None
        (tb,), (ta,) = before, after
        p1, p2 = items[i][1] is _sre_c.AT_BOUNDARY, items[i + 2][1] is _sre_c.AT_BOUNDARY
        first = (N if tb == W else W) if p1 else tb
        last = (N if ta == W else W) if p2 else ta
        head, tail = self.narrowed(elem[0], elem[1], first), self.narrowed(elem[0], elem[1], last)
        if head is None or tail is None:
            return None
        options: list[str] = []  # longest first
        if hi == _sre_c.MAXREPEAT or hi >= 2:
            top = hi if hi == _sre_c.MAXREPEAT else hi - 2
            options.append(head + self._rep_src(elem, max(lo - 2, 0), top, greedy) + tail)
        if lo <= 1 and first == last:
            options.append(head)
        if lo == 0 and ((tb != ta) == p1) and ((tb != ta) == p2):
            options.append("")
        if not options:
            return _NEVER
        if not greedy:
            options.reverse()
        return "(?:" + "|".join(options) + ")"

    def boundary(
        self,
        items: list[Any],
        i: int,
        prev: Types,
        nxt: Types,
        at_start: bool,
        at_end: bool,
        positive: bool,
        over: dict[int, str],
    ) -> str:
        fallback = r"\b" if positive else r"\B"
        if self.cls.ascii:
            return fallback  # RE2's word boundary is exactly Python's in ASCII mode or on ASCII text
        before = self.side(list(reversed(items[:i])), prev, last=True)
        after = self.side(items[i + 1 :], nxt, last=False)
        known_b = _UNKNOWN not in before and len(before) == 1
        known_a = _UNKNOWN not in after and len(after) == 1
        if known_b and known_a:
            holds = (before != after) == positive
            return "" if holds else _NEVER
        if known_b:
            (tb,) = before
            want = (N if tb == W else W) if positive else tb  # type the next character must have
            j = i + 1
            if j < len(items) and j not in over and self._fold_next(items, j, want, nxt, over):
                return ""
            if at_end and j == len(items):
                return _END_MARK + (f"(?:[^{self.cls.word}]|\\z)" if want == N else f"[{self.cls.word}]")
        elif known_a:
            (ta,) = after
            want = (N if ta == W else W) if positive else ta  # type the previous character must have
            j = i - 1
            if j >= 0 and j not in over and self._fold_prev(items, j, want, prev, over):
                return ""
            if at_start and i == 0:
                return (f"(?:\\A|[^{self.cls.word}])" if want == N else f"[{self.cls.word}]") + _START_MARK
        self.approximate += 1
        return fallback

    @staticmethod
    def _repeat(item: tuple[Any, Any]) -> tuple[int, int, bool, Any] | None:
        op, av = item
        if _single(op):
            return 1, 1, True, item
        if op in (_sre_c.MAX_REPEAT, _sre_c.MIN_REPEAT) and len(av[2]) == 1 and _single(av[2][0][0]):
            return av[0], av[1], op is _sre_c.MAX_REPEAT, av[2][0]
        return None

    def _rep_src(self, elem: tuple[Any, Any], lo: int, hi: int, greedy: bool) -> str:
        if hi == 0:
            return ""
        src = self.class_src(*elem)
        top = "" if hi is _sre_c.MAXREPEAT or hi == _sre_c.MAXREPEAT else str(hi)
        q = f"{{{lo},{top}}}" if (lo, hi) != (1, 1) else ""
        return src + q + ("" if greedy or not q else "?")

    def _fold_next(self, items: list[Any], j: int, want: str, nxt: Types, over: dict[int, str]) -> bool:
        rep = self._repeat(items[j])
        if rep is None:
            return False
        lo, hi, greedy, elem = rep
        head = self.narrowed(elem[0], elem[1], want)
        if head is None:
            return False
        top = hi if hi == _sre_c.MAXREPEAT else hi - 1
        taken = head + self._rep_src(elem, max(lo - 1, 0), top, greedy)
        if lo >= 1:
            over[j] = f"(?:{taken})"
            return True
        after = self.side(items[j + 1 :], nxt, last=False)
        if _UNKNOWN in after or len(after) != 1:
            return False
        empty_ok = want in after
        over[j] = f"(?:{taken}|)" if greedy and empty_ok else f"(?:|{taken})" if empty_ok else f"(?:{taken})"
        return True

    def _fold_prev(self, items: list[Any], j: int, want: str, prev: Types, over: dict[int, str]) -> bool:
        rep = self._repeat(items[j])
        if rep is None:
            return False
        lo, hi, greedy, elem = rep
        tail = self.narrowed(elem[0], elem[1], want)
        if tail is None:
            return False
        top = hi if hi == _sre_c.MAXREPEAT else hi - 1
        taken = self._rep_src(elem, max(lo - 1, 0), top, greedy) + tail
        if lo >= 1:
            over[j] = f"(?:{taken})"
            return True
        before = self.side(list(reversed(items[:j])), prev, last=True)
        if _UNKNOWN in before or len(before) != 1:
            return False
        empty_ok = want in before
        over[j] = f"(?:{taken}|)" if greedy and empty_ok else f"(?:|{taken})" if empty_ok else f"(?:{taken})"
        return True

    def item(self, it: tuple[Any, Any], prev: Types, nxt: Types, at_start: bool, at_end: bool) -> str:
        op, av = it
        if _single(op):
            return self.class_src(op, av)
        if op in (_sre_c.MAX_REPEAT, _sre_c.MIN_REPEAT):
            lo, hi, sub = av
            body = self.seq(sub, prev | self.seq_edge(sub, True)[0], nxt | self.seq_edge(sub, False)[0])
            top = "" if hi == _sre_c.MAXREPEAT else str(hi)
            q = {(0, ""): "*", (1, ""): "+", (0, "1"): "?"}.get((lo, top), f"{{{lo},{top}}}")
            if lo == hi == 1:
                return f"(?:{body})"
            if lo > 1000 or (top and int(top) > 1000):
                raise UnsupportedRegex(f"repeat count above 1000 ({lo},{top})")
            return f"(?:{body}){q}" + ("" if op is _sre_c.MAX_REPEAT else "?")
        if op is _sre_c.SUBPATTERN:
            _group, add, remove, sub = av
            saved = self.flags
            self.flags = (self.flags | add) & ~remove
            try:
                body = self.seq(sub, prev, nxt, at_start, at_end)
            finally:
                self.flags = saved
            if (add | remove) & _IGNORECASE:
                return f"(?{'i' if add & _IGNORECASE else '-i'}:{body})"
            return f"(?:{body})"
        if op is _sre_c.BRANCH:
            return "(?:" + "|".join(self.seq(alt, prev, nxt, at_start, at_end) for alt in av[1]) + ")"
        if op is _sre_c.AT:
            multi = bool(self.flags & _MULTILINE)
            table = {
                _sre_c.AT_BEGINNING: "(?m:^)" if multi else r"\A",
                _sre_c.AT_BEGINNING_STRING: r"\A",
                _sre_c.AT_END: "(?m:$)" if multi else r"(?:\z|\n\z)",
                _sre_c.AT_END_STRING: r"\z",
            }
            if av in table:
                return table[av]
            raise UnsupportedRegex(f"anchor {av}")
        names = {
            _sre_c.ASSERT: "lookahead/lookbehind (?=...) (?<=...)",
            _sre_c.ASSERT_NOT: "negative lookahead/lookbehind (?!...) (?<!...)",
            _sre_c.GROUPREF: "backreference (\\1, (?P=name))",
            _sre_c.GROUPREF_EXISTS: "conditional group (?(1)...)",
            _sre_c.ATOMIC_GROUP: "atomic group (?>...)",
            _sre_c.POSSESSIVE_REPEAT: "possessive repeat (*+, ++, ?+)",
        }
        raise UnsupportedRegex(names.get(op, f"regex construct {op}"))


@lru_cache(maxsize=4096)  # pure: the load-time check and the compiler translate each rule regex once
def translate(src: str, flags: int = 0, ascii_text: bool = False) -> Translated:
    """The RE2 form of a Python regex (raises UnsupportedRegex, or re.error when `src` is not a regex).

    `ascii_text`: a form that is exact only on ASCII text, where RE2's own `\\b` and ASCII classes are
    Python's; it compiles about ten times faster than the Unicode form. Not compiled here: `compile_re2`
    does that, when the rule is compiled.
    """
    parsed = _sre_p.parse(src, flags)
    w = _Writer(parsed.state.flags, ascii_text)
    unknown = frozenset({_UNKNOWN, W, N})
    body = w.seq(parsed.data, unknown, unknown, at_start=True, at_end=True)
    if w.flags & _IGNORECASE:
        body = "(?i)" + body
    starts: list[int] = []
    ends: list[int] = []
    out: list[str] = []
    group = 0
    i = 0
    while i < len(body):
        if body.startswith(_START_MARK, i) or body.startswith(_END_MARK, i):
            group += 1
            (starts if body[i + 1] == "S" else ends).append(group)
            out.append("()")
            i += 2
            continue
        out.append(body[i])
        i += 1
    pattern = "".join(out)
    return Translated(pattern, tuple(starts), tuple(ends), w.approximate)


__all__ = ["Translated", "UnsupportedRegex", "compile_re2", "lit", "re2_options", "translate"]
