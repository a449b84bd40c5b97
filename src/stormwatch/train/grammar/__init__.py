"""Multilingual pretext/contrast grammars (issue 10 §2): our own text, written as YAML data.

Four kinds of rows come out of the grammar files next to this module:

- **attack** (`grammar-attack`): attacker requests, bare and inside every pretext of their language
  (research, paper, CTF, fiction, hypothetical, "benign example", authority, translation, role-play, ...).
  The label is the request's taxonomy slug whatever the wrapper says: it follows what the answer enables.
- **contrast** (`grammar-contrast`): defender requests phrased with offensive vocabulary; benign.
- **benign** (`grammar-benign`): ordinary prompts, broad in form (questions, how-tos, word problems,
  chit-chat, creative writing, coding); benign.
- **pretext** (`grammar-pretext`): benign and contrast requests inside the same pretexts; benign, so that
  a wrapper is a cue for neither label.

Pretexts are split per language by whole family (hash-ranked, never random), benign and contrast templates
per template; a row is held out when its pretext or its base template is. See README.md for the languages.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from stormwatch.errors import ConfigError
from stormwatch.train.corpus import Row
from stormwatch.train.grammar._schema import (
    SLOT,
    AttackFile,
    CommonFile,
    FamilyFile,
    IndexFile,
    RequestSpec,
    check_lang,
    check_slots,
    read,
)

__all__ = [
    "BENIGN",
    "DATA_DIR",
    "JAILBREAK_FAMILIES",
    "SOURCES",
    "SPLITS",
    "Grammar",
    "GrammarRow",
    "Pretext",
    "all_rows",
    "attack_rows",
    "benign_rows",
    "continues_clause",
    "contrast_rows",
    "languages",
    "load_grammar",
    "load_pretexts",
    "pretext_rows",
    "training_rows",
    "wrap",
]

BENIGN = "benign"
SPLITS = ("train", "heldout")
SOURCES = ("grammar-attack", "grammar-benign", "grammar-contrast", "grammar-pretext")
DATA_DIR = Path(__file__).parent
HELDOUT_FRACTION = 0.25
# issue 10 §1: every malicious test row is scored inside >= 10 held-out wrappers of its language
MIN_HELDOUT_PRETEXTS = 10
# Pretext families that are jailbreaks themselves: they wrap attack requests only, never benign ones.
JAILBREAK_FAMILIES = frozenset({"developer-mode", "no-rules"})
BARE_FILLS = 3  # slot fillings of each bare attack phrasing
BENIGN_FILLS = 4  # slot fillings of each benign or contrast template
PRETEXT_BENIGN_PER_WRAPPER = 22  # benign/contrast requests wrapped in each (non-jailbreak) pretext
CODE_SWITCH_WRAPPERS = 4  # English pretexts around each non-English request (and as many benign rows)
CODE_SWITCH_LANG = "en"
_NO_CAP_AFTER = ","  # a request after a comma continues the sentence; elsewhere it starts one


@dataclass(frozen=True)
class Pretext:
    """A wrapper around a request: `template` holds `{request}` once."""

    lang: str
    family: str
    template: str
    split: str


@dataclass(frozen=True)
class GrammarRow:
    """One generated text: `label` is "benign" or a taxonomy slug; `family` is the pretext or template family."""

    text: str
    label: str
    family: str
    lang: str
    role: str = "user"
    split: str = "train"
    source: str = "grammar-benign"
    key: str = ""  # request id (attack rows) or base family (pretext rows)
    tactic: str | None = None
    technique: str | None = None


@dataclass(frozen=True)
class _Template:
    lang: str
    family: str
    text: str
    split: str


@dataclass(frozen=True)
class _Request:
    lang: str
    key: str
    spec: RequestSpec
    texts: tuple[str, ...]  # every phrasing: clauses, questions, statements
    clauses: tuple[str, ...]  # the imperative clauses among them (fit "has to {request}")


@dataclass(frozen=True)
class Grammar:
    """Every grammar file, validated: languages, pretexts, attacker requests, contrast and benign templates."""

    langs: tuple[str, ...]
    vocab: dict[str, dict[str, list[str]]]  # lang -> slot -> values (common values merged in)
    pretexts: tuple[Pretext, ...]
    requests: tuple[_Request, ...]
    contrasts: tuple[_Template, ...]
    benign: tuple[_Template, ...]


# --------------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------------


def _h(*parts: str) -> float:
    d = hashlib.sha256("\x1f".join(("grammar", *parts)).encode()).digest()
    return int.from_bytes(d[:8], "big") / 2**64


def _split_families(lang: str, families: dict[str, list[str]]) -> dict[str, str]:
    """Hold out whole families, hash-ranked, until a quarter (at least MIN_HELDOUT_PRETEXTS) is held out."""
    total = sum(len(v) for v in families.values())
    want = max(MIN_HELDOUT_PRETEXTS, math.ceil(HELDOUT_FRACTION * total))
    out: dict[str, str] = {}
    held = 0
    for fam in sorted(families, key=lambda f: _h("pretext", lang, f)):
        take = held < want and total - held - len(families[fam]) >= want
        out[fam] = "heldout" if take else "train"
        held += len(families[fam]) if take else 0
    return out


def _split_templates(kind: str, lang: str, families: dict[str, list[str]]) -> list[_Template]:
    """Hold out a quarter of a language's templates, hash-ranked on (kind, lang, family, text)."""
    items = [(fam, t) for fam, texts in families.items() for t in texts]
    ranked = sorted(items, key=lambda ft: _h(kind, lang, *ft))
    held = set(ranked[: round(HELDOUT_FRACTION * len(items))])
    return [_Template(lang, f, t, "heldout" if (f, t) in held else "train") for f, t in items]


def _unique(lang: str, kind: str, texts: Iterable[str], path: Path) -> None:
    seen: set[str] = set()
    for t in texts:
        if t in seen:
            raise ConfigError(str(path), f"{kind} template repeated in {lang}: {t!r}")
        seen.add(t)


def load_grammar(root: Path | None = None) -> Grammar:
    """Read and validate every grammar file under `root` (default: the packaged data)."""
    base = DATA_DIR if root is None else Path(root)
    common = read(base / "common.yaml", CommonFile).model
    index = read(base / "attacks" / "index.yaml", IndexFile)
    langs = tuple(sorted(p.stem for p in (base / "pretexts").glob("*.yaml")))
    if not langs:
        raise ConfigError(str(base / "pretexts"), "no pretext files")
    vocab: dict[str, dict[str, list[str]]] = {}
    pretexts: list[Pretext] = []
    requests: list[_Request] = []
    contrasts: list[_Template] = []
    benign: list[_Template] = []
    for lang in langs:
        pre = read(base / "pretexts" / f"{lang}.yaml", FamilyFile)
        att = read(base / "attacks" / f"{lang}.yaml", AttackFile)
        con = read(base / "contrasts" / f"{lang}.yaml", FamilyFile)
        ben = read(base / "benign" / f"{lang}.yaml", FamilyFile)
        for f in (pre, att, con, ben):
            check_lang(f)
        v: dict[str, list[str]] = {**common.vocab}
        for f in (pre, att, con, ben):
            v.update(f.model.vocab)
        vocab[lang] = v
        check_slots(pre, "families", pre.model.families, v, request=True)
        check_slots(att, "requests", att.model.requests, v, request=False)
        check_slots(att, "statements", att.model.statements, v, request=False)
        check_slots(con, "families", con.model.families, v, request=False)
        check_slots(ben, "families", ben.model.families, v, request=False)
        for key in att.model.requests:
            if key not in index.model.requests:
                raise att.doc.error(f"request id {key!r} is not in {index.doc.path.name}", ("requests", key))
        for key in att.model.statements:
            if key not in att.model.requests:
                raise att.doc.error(f"statement id {key!r} has no entry under requests", ("statements", key))
        for f, kind, fams in (
            (pre, "pretext", pre.model.families),
            (con, "contrast", con.model.families),
            (ben, "benign", ben.model.families),
        ):
            _unique(lang, kind, (t for ts in fams.values() for t in ts), f.doc.path)
        splits = _split_families(lang, pre.model.families)
        pretexts += [
            Pretext(lang, fam, t, splits[fam]) for fam, texts in pre.model.families.items() for t in texts
        ]
        for key, texts in att.model.requests.items():
            clauses = tuple(t for t in texts if _is_clause(t)) or tuple(texts)
            every = (*texts, *att.model.statements.get(key, []))
            requests.append(_Request(lang, key, index.model.requests[key], every, clauses))
        contrasts += _split_templates("contrast", lang, con.model.families)
        benign += _split_templates("benign", lang, ben.model.families)
    return Grammar(langs, vocab, tuple(pretexts), tuple(requests), tuple(contrasts), tuple(benign))


# --------------------------------------------------------------------------------------------------
# Expansion
# --------------------------------------------------------------------------------------------------


_OPENERS = "¿¡\"'«“„「(["


def _cap(s: str) -> str:
    """Upper-case the first letter, after any opening punctuation (¿ ¡ « quotes)."""
    i = 0
    while i < len(s) and s[i] in _OPENERS:
        i += 1
    return s[:i] + s[i].upper() + s[i + 1 :] if i < len(s) and s[i].islower() else s


def wrap(pretext: Pretext | str, request: str) -> str:
    """The request inside the pretext; it starts with a capital unless it continues a sentence after a comma."""
    tpl = pretext if isinstance(pretext, str) else pretext.template
    head, sep, tail = tpl.partition("{request}")
    if not sep:
        raise ValueError("pretext template has no {request} slot")
    before = head.rstrip()
    req = request.strip()
    if not before or not (before[-1].isalnum() or before[-1] in _NO_CAP_AFTER):
        req = _cap(req)
    return f"{head}{req}{tail}"


def continues_clause(pretext: Pretext) -> bool:
    """Whether the request continues the pretext's sentence ("has to {request}"): only a clause fits there."""
    before = pretext.template.partition("{request}")[0].rstrip()
    return bool(before) and before[-1].isalnum()


def _is_question(text: str) -> bool:
    return "?" in text or "？" in text or "؟" in text


# English statements ("I need ...", "my bots ...", "you are now ...") cannot continue a clause either.
_STATEMENT = re.compile(r"(i|i'm|my|you|from|after)\b", re.IGNORECASE)


def _is_clause(text: str) -> bool:
    """An imperative clause: fits where a pretext continues its sentence."""
    return not _is_question(text) and not _STATEMENT.match(text)


def _fill(text: str, vocab: dict[str, list[str]], rng: random.Random) -> str:
    return SLOT.sub(lambda m: rng.choice(vocab[m.group(1)]), text)


def _fills(text: str, vocab: dict[str, list[str]], rng: random.Random, k: int) -> list[str]:
    """Up to k distinct fillings of the slots (bounded work: at most 3k draws)."""
    if not SLOT.search(text):
        return [text]
    out: list[str] = []
    for _ in range(3 * k):
        s = _fill(text, vocab, rng)
        if s not in out:
            out.append(s)
            if len(out) == k:
                break
    return out


def _rng(seed: int, *parts: str) -> random.Random:
    return random.Random("\x1f".join((str(seed), *parts)))


def _keep(split: str | None, row_split: str) -> bool:
    if split is not None and split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS} or None, got {split!r}")
    return split is None or split == row_split


def load_pretexts(
    lang: str | None = None, split: str | None = None, *, root: Path | None = None
) -> list[Pretext]:
    """Pretext wrappers, optionally of one language and one split."""
    g = load_grammar(root)
    return [p for p in g.pretexts if (lang is None or p.lang == lang) and _keep(split, p.split)]


def languages(*, root: Path | None = None) -> list[str]:
    """Languages with grammar files."""
    return list(load_grammar(root).langs)


def _attack(g: Grammar, seed: int) -> list[GrammarRow]:
    rows: list[GrammarRow] = []
    by_lang: dict[str, list[Pretext]] = {}
    for p in g.pretexts:
        by_lang.setdefault(p.lang, []).append(p)
    for r in g.requests:
        v = g.vocab[r.lang]
        rng = _rng(seed, "attack", r.lang, r.key)

        def row(text: str, family: str, split: str, r: _Request = r) -> GrammarRow:
            return GrammarRow(
                text,
                r.spec.label,
                family,
                r.lang,
                split=split,
                source="grammar-attack",
                key=r.key,
                tactic=r.spec.tactic,
                technique=r.spec.technique,
            )

        for t in r.texts:
            rows += [row(_cap(s), "bare", "train") for s in _fills(t, v, rng, BARE_FILLS)]
        for j, p in enumerate(by_lang[r.lang]):
            texts = r.clauses if continues_clause(p) else r.texts
            rows.append(row(wrap(p, _fill(texts[j % len(texts)], v, rng)), p.family, p.split))
        # Code-switching: an English pretext around the request in its own language.
        for j, p in enumerate(_switch_pretexts(g, r.lang, r.key)):
            text = wrap(p, _fill(r.texts[j % len(r.texts)], v, rng))
            rows.append(row(text, f"{CODE_SWITCH_LANG}-{p.family}", p.split))
    return rows


def _switch_pretexts(g: Grammar, lang: str, key: str) -> list[Pretext]:
    """English pretexts that wrap a request of another language (none for English itself).

    The choice does not depend on the seed, so that splits and groups are the same for every seed.
    """
    if lang == CODE_SWITCH_LANG:
        return []
    pool = [p for p in g.pretexts if p.lang == CODE_SWITCH_LANG and not continues_clause(p)]
    return _rng(0, "switch", lang, key).sample(pool, min(CODE_SWITCH_WRAPPERS, len(pool)))


def _raw(g: Grammar, seed: int, kind: str) -> list[tuple[_Template, str]]:
    """Slot fillings of the benign or contrast templates, as written (lower-case start, for wrapping)."""
    out: list[tuple[_Template, str]] = []
    for t in g.contrasts if kind == "contrast" else g.benign:
        rng = _rng(seed, kind, t.lang, t.family, t.text)
        out += [(t, s) for s in _fills(t.text, g.vocab[t.lang], rng, BENIGN_FILLS)]
    return out


def _plain(g: Grammar, seed: int, kind: str) -> list[GrammarRow]:
    return [
        GrammarRow(_cap(s), BENIGN, t.family, t.lang, "user", t.split, f"grammar-{kind}")
        for t, s in _raw(g, seed, kind)
    ]


def _pretext_benign(g: Grammar, seed: int) -> list[GrammarRow]:
    base: dict[str, list[tuple[_Template, str]]] = {}
    for t, s in _raw(g, seed, "contrast") + _raw(g, seed, "benign"):
        base.setdefault(t.lang, []).append((t, s))
    rows: list[GrammarRow] = []
    for p in g.pretexts:
        pool = base.get(p.lang, [])
        if p.family in JAILBREAK_FAMILIES or not pool:
            continue
        if continues_clause(p):
            pool = [ts for ts in pool if _is_clause(ts[1])] or pool
        rng = _rng(seed, "pretext", p.lang, p.family, p.template)
        for t, s in rng.sample(pool, min(PRETEXT_BENIGN_PER_WRAPPER, len(pool))):
            split = "heldout" if "heldout" in (p.split, t.split) else "train"
            rows.append(
                GrammarRow(wrap(p, s), BENIGN, p.family, p.lang, "user", split, "grammar-pretext", t.family)
            )
    # Code-switching, as for attacks: English pretexts around benign requests of other languages.
    n_requests = Counter(r.lang for r in g.requests)
    for lang in g.langs:
        pool = base.get(lang, [])
        if lang == CODE_SWITCH_LANG or not pool:
            continue
        rng = _rng(seed, "pretext-switch", lang)
        for i in range(n_requests[lang]):
            for p in _switch_pretexts(g, lang, f"benign-{i}"):
                if p.family in JAILBREAK_FAMILIES:
                    continue
                t, s = rng.choice(pool)
                split = "heldout" if "heldout" in (p.split, t.split) else "train"
                fam = f"{CODE_SWITCH_LANG}-{p.family}"
                rows.append(
                    GrammarRow(wrap(p, s), BENIGN, fam, lang, "user", split, "grammar-pretext", t.family)
                )
    return rows


def attack_rows(split: str | None = None, *, seed: int = 0, root: Path | None = None) -> list[GrammarRow]:
    """Attacker requests, bare (train) and inside every pretext of their language; all malicious."""
    return [r for r in _attack(load_grammar(root), seed) if _keep(split, r.split)]


def contrast_rows(split: str | None = None, *, seed: int = 0, root: Path | None = None) -> list[GrammarRow]:
    """Defender requests worded with offensive vocabulary; all benign."""
    return [r for r in _plain(load_grammar(root), seed, "contrast") if _keep(split, r.split)]


def benign_rows(split: str | None = None, *, seed: int = 0, root: Path | None = None) -> list[GrammarRow]:
    """Ordinary prompts broad in form, in every language; all benign."""
    return [r for r in _plain(load_grammar(root), seed, "benign") if _keep(split, r.split)]


def pretext_rows(split: str | None = None, *, seed: int = 0, root: Path | None = None) -> list[GrammarRow]:
    """Benign and contrast requests inside the (non-jailbreak) pretexts; all benign."""
    return [r for r in _pretext_benign(load_grammar(root), seed) if _keep(split, r.split)]


def all_rows(seed: int = 0, *, root: Path | None = None) -> list[GrammarRow]:
    """Every row of every kind and split (one load of the files)."""
    g = load_grammar(root)
    return (
        _attack(g, seed) + _plain(g, seed, "contrast") + _plain(g, seed, "benign") + _pretext_benign(g, seed)
    )


def training_rows(seed: int = 0, *, root: Path | None = None) -> list[Row]:
    """The train split as corpus rows; group `g:<kind>:<family>:<lang>` keeps near-duplicates together."""
    out: list[Row] = []
    for r in all_rows(seed, root=root):
        if r.split != "train":
            continue
        kind = r.source.removeprefix("grammar-")
        out.append(
            Row(
                r.text,
                r.label,
                r.source,
                f"g:{kind}:{r.family}:{r.lang}",
                r.lang,
                tactic=r.tactic,
                technique=r.technique,
                role=r.role,
            )
        )
    return out
