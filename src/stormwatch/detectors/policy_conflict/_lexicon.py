"""The detector's data: rule-extraction patterns, request patterns and the topic lexicon, compiled once."""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from stormwatch.errors import ConfigError

DATA_DIR = Path(__file__).resolve().parent / "data"
FLAGS = re.IGNORECASE
# The regex parser is private; it is used only at load time to refuse nested quantifiers (the rules detector
# reads the same syntax trees for its literal anchors).
_sre_p: Any = importlib.import_module("re._parser")
_sre_c: Any = importlib.import_module("re._constants")
_REPEATS = {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}
_CYRILLIC = re.compile("[\u0400-\u04ff]")
_LATIN_EXT = re.compile("[a-zà-ÿ]", re.IGNORECASE)


def _nested_quantifier(sub: Any, inside: bool = False) -> bool:
    for op, av in sub:
        name = str(op)
        if name in _REPEATS:
            many = av[1] > 1  # an optional group (`?`) does not multiply the work of what it holds
            if inside and many:
                return True
            if _nested_quantifier(av[2], inside or many):
                return True
        elif name == "SUBPATTERN":
            if _nested_quantifier(av[-1], inside):
                return True
        elif name == "BRANCH":
            if any(_nested_quantifier(b, inside) for b in av[1]):
                return True
        elif name in {"ASSERT", "ASSERT_NOT"} and _nested_quantifier(av[1], inside):
            return True
    return False


def compile_linear(source: str, where: str) -> re.Pattern[str]:
    """Compile a pattern with the standard `re` engine, refusing nested quantifiers (catastrophic backtracking)."""
    try:
        tree = _sre_p.parse(source, FLAGS)
        pattern = re.compile(source, FLAGS)
    except re.error as exc:
        raise ConfigError(where, f"bad regex: {exc}") from exc
    if _nested_quantifier(tree.data if hasattr(tree, "data") else tree):
        raise ConfigError(where, "nested quantifier (not linear-time); rewrite the pattern")
    return pattern


@dataclass(frozen=True)
class Pattern:
    """One compiled pattern, the language it is written for and the script a text needs to possibly match."""

    lang: str
    rx: re.Pattern[str]

    @property
    def script(self) -> str:
        """The script of the pattern's language ("any" for patterns written for every language)."""
        return _SCRIPT_OF_LANG.get(self.lang, "any")


_SCRIPT_OF_LANG = {
    **dict.fromkeys(("en", "es", "fr", "de", "pt", "it"), "latin"),
    "ru": "cyrillic",
    "zh": "cjk",
    "ja": "cjk",
    "ar": "arabic",
    "hi": "devanagari",
}
_SCRIPTS = {
    "latin": re.compile("[A-Za-z\u00c0-\u024f]"),
    "cyrillic": re.compile("[\u0400-\u04ff]"),
    "cjk": re.compile("[\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]"),
    "arabic": re.compile("[\u0600-\u06ff]"),
    "devanagari": re.compile("[\u0900-\u097f]"),
}


def scripts_of(text: str) -> frozenset[str]:
    """The scripts a text uses (patterns of other scripts cannot match it and are skipped)."""
    return frozenset({"any", *(name for name, rx in _SCRIPTS.items() if rx.search(text))})


def _word_start(term: str) -> bool:
    # Latin and Cyrillic terms match at a word start (stems allowed); CJK, Arabic and Devanagari as substrings
    # (no spaces between words, or combining marks that `\b` does not treat as word characters).
    return bool(_LATIN_EXT.search(term) or _CYRILLIC.search(term))


@dataclass(frozen=True)
class TermHit:
    """Where a lexicon term was found (the `re.Match` methods the scorer uses)."""

    at: int
    to: int
    text: str

    def start(self) -> int:
        """Start offset."""
        return self.at

    def end(self) -> int:
        """End offset."""
        return self.to

    def group(self) -> str:
        """The matched text."""
        return self.text


_WORD = re.compile(r"\w+")
_NON_SPACED = re.compile("[\u0600-\u06ff\u0900-\u0dff\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


class TermMatcher:
    """Finds literal terms in text in one pass over its words (a big regex alternation is ~100x slower).

    Terms carry a tag (a topic id), so one pass finds the terms of every topic. Latin and Cyrillic terms match
    at a word start (stems; Latin terms of up to 4 letters only as whole words); CJK, Arabic and Devanagari
    terms match as substrings, and only texts in those scripts are searched for them.
    """

    def __init__(self, terms: list[str] | dict[str, list[str]]) -> None:
        tagged = terms if isinstance(terms, dict) else {"": terms}
        self.by_prefix: dict[str, list[tuple[str, bool, str]]] = {}
        self.substr: list[tuple[str, str]] = []
        flat = {
            (" ".join(t.lower().split()), tag) for tag, lst in tagged.items() for t in lst if t and t.strip()
        }
        for t, tag in sorted(flat, key=lambda x: (-len(x[0]), x)):
            if _word_start(t):
                # Short Latin words match whole ("hell" must not match "hello"); Cyrillic entries are stems.
                whole = len(t) <= 4 and not _CYRILLIC.search(t)
                self.by_prefix.setdefault(t[:2], []).append((t, whole, tag))
            else:
                self.substr.append((t, tag))

    def __bool__(self) -> bool:
        return bool(self.by_prefix or self.substr)

    def hits(self, text: str, limit: int = 8) -> dict[str, list[TermHit]]:
        """Up to `limit` hits per tag: word terms in text order, then substring terms."""
        low = text.lower()
        if len(low) != len(text):  # lowercasing changed offsets (rare letters): match case-sensitively
            low = text
        out: dict[str, list[TermHit]] = {}
        for m in _WORD.finditer(low):
            at = m.start()
            cands = self.by_prefix.get(low[at : at + 2])
            if not cands:
                continue
            seen: set[str] = set()
            for term, whole, tag in cands:
                if tag in seen or not low.startswith(term, at):
                    continue
                end = at + len(term)
                if whole and end < len(low) and (low[end].isalnum() or low[end] == "_"):
                    continue
                seen.add(tag)
                lst = out.setdefault(tag, [])
                if len(lst) < limit:
                    lst.append(TermHit(at, end, text[at:end]))
        if self.substr and _NON_SPACED.search(text):
            for term, tag in self.substr:
                lst = out.setdefault(tag, [])
                if len(lst) < limit and (pos := low.find(term)) >= 0:
                    lst.append(TermHit(pos, pos + len(term), text[pos : pos + len(term)]))
        return {k: v for k, v in out.items() if v}

    def finditer(self, text: str, limit: int = 8) -> list[TermHit]:
        """Up to `limit` hits of any tag."""
        return [h for lst in self.hits(text, limit).values() for h in lst][:limit]

    def search(self, text: str) -> TermHit | None:
        """The first hit, or None."""
        hits = self.finditer(text, limit=1)
        return hits[0] if hits else None


@dataclass(frozen=True)
class Topic:
    """A topic of the lexicon: words naming it in a rule, words of a request on it, encoder exemplars."""

    id: str
    aliases: TermMatcher
    keywords: TermMatcher
    exemplars: tuple[str, ...]


@dataclass(frozen=True)
class Lexicon:
    """Everything the detector reads from its YAML files."""

    extract: dict[str, tuple[Pattern, ...]]
    requests: dict[str, tuple[Pattern, ...]]
    topics: dict[str, Topic]
    languages: dict[str, str]  # lowercase language name -> ISO code
    keyword_index: TermMatcher  # every topic's request words, tagged by topic id (one pass per turn)

    def language_code(self, name: str) -> str | None:
        """The ISO code of a language name in any of our languages; CJK captures may carry a prefix."""
        low = name.lower().strip()
        if low in self.languages:
            return self.languages[low]
        for n, code in self.languages.items():
            if not n.isascii() and len(n) >= 2 and low.endswith(n):
                return code
        return None


def _patterns(raw: Any, where: str) -> dict[str, tuple[Pattern, ...]]:
    if not isinstance(raw, dict):
        raise ConfigError(where, "expected a mapping of kind -> list of {lang, re}")
    out: dict[str, tuple[Pattern, ...]] = {}
    for kind, items in raw.items():
        if kind == "languages":
            continue
        if not isinstance(items, list):
            raise ConfigError(f"{where}:{kind}", "expected a list of {lang, re}")
        pats = []
        for i, it in enumerate(items):
            if not isinstance(it, dict) or not isinstance(it.get("re"), str):
                raise ConfigError(f"{where}:{kind}[{i}]", "each entry needs `re` (a string) and `lang`")
            pats.append(Pattern(str(it.get("lang", "any")), compile_linear(it["re"], f"{where}:{kind}[{i}]")))
        out[str(kind)] = tuple(pats)
    return out


def _load_yaml(name: str) -> Any:
    path = DATA_DIR / name
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@cache
def load_lexicon() -> Lexicon:
    """The shipped lexicon (parsed and compiled once per process; immutable)."""
    ex_raw = _load_yaml("extract.yaml")
    rq_raw = _load_yaml("requests.yaml")
    tp_raw = _load_yaml("topics.yaml")
    topics: dict[str, Topic] = {}
    for tid, spec in tp_raw.items():
        where = f"topics.yaml:{tid}"
        kws = [k for lst in (spec.get("keywords") or {}).values() for k in lst]
        aliases = TermMatcher([str(a) for a in spec.get("aliases") or []])
        keywords = TermMatcher([str(k) for k in kws])
        if not aliases or not keywords:
            raise ConfigError(where, "a topic needs aliases and keywords")
        topics[str(tid)] = Topic(
            str(tid), aliases, keywords, tuple(str(e) for e in spec.get("exemplars") or [])
        )
    langs = {
        str(n).lower(): str(code) for code, names in (rq_raw.get("languages") or {}).items() for n in names
    }
    index = TermMatcher(
        {
            str(tid): [str(k) for lst in (spec.get("keywords") or {}).values() for k in lst]
            for tid, spec in tp_raw.items()
        }
    )
    return Lexicon(
        _patterns(ex_raw, "extract.yaml"), _patterns(rq_raw, "requests.yaml"), topics, langs, index
    )
