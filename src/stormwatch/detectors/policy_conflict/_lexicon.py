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
    """One compiled pattern and the language it is written for."""

    lang: str
    rx: re.Pattern[str]


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

    Latin and Cyrillic terms match at a word start (stems; terms of up to 4 letters only as whole words);
    CJK, Arabic and Devanagari terms match as substrings, and only texts in those scripts are searched for them.
    """

    def __init__(self, terms: list[str]) -> None:
        self.by_prefix: dict[str, list[tuple[str, bool]]] = {}
        self.substr: list[str] = []
        for t in sorted(
            {" ".join(t.lower().split()) for t in terms if t and t.strip()}, key=len, reverse=True
        ):
            if _word_start(t):
                # Short Latin words match whole ("hell" must not match "hello"); Cyrillic entries are stems.
                whole = len(t) <= 4 and not _CYRILLIC.search(t)
                self.by_prefix.setdefault(t[:2], []).append((t, whole))
            else:
                self.substr.append(t)

    def __bool__(self) -> bool:
        return bool(self.by_prefix or self.substr)

    def finditer(self, text: str, limit: int = 8) -> list[TermHit]:
        """Up to `limit` hits, in text order for word terms, then substring terms."""
        low = text.lower()
        if len(low) != len(text):  # lowercasing changed offsets (rare letters): match case-sensitively
            low = text
        out: list[TermHit] = []
        for m in _WORD.finditer(low):
            cands = self.by_prefix.get(low[m.start() : m.start() + 2])
            if not cands:
                continue
            for term, whole in cands:
                if low.startswith(term, m.start()):
                    end = m.start() + len(term)
                    if whole and end < len(low) and (low[end].isalnum() or low[end] == "_"):
                        continue
                    out.append(TermHit(m.start(), end, text[m.start() : end]))
                    break
            if len(out) >= limit:
                return out
        if self.substr and _NON_SPACED.search(text):
            for term in self.substr:
                at = low.find(term)
                if at >= 0:
                    out.append(TermHit(at, at + len(term), text[at : at + len(term)]))
                    if len(out) >= limit:
                        break
        return out

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
    return Lexicon(_patterns(ex_raw, "extract.yaml"), _patterns(rq_raw, "requests.yaml"), topics, langs)
