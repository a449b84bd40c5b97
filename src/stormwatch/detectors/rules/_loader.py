"""Load rule packs from YAML: validate the schema, expand vocabulary, check ids, report file:line on error."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from stormwatch.detectors.rules._compile import lower_regex, regex_flags
from stormwatch.detectors.rules._re2 import UnsupportedRegex, translate
from stormwatch.detectors.rules._schema import Rule, RulePack
from stormwatch.errors import ConfigError

PACKS_DIR = Path(__file__).resolve().parent / "packs"
MAX_PACK_BYTES = 8 * 1024 * 1024

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def builtin_pack_paths() -> list[Path]:
    """The rule packs shipped with Stormwatch, in a stable order."""
    return sorted(PACKS_DIR.glob("*.yaml"))


def expand_paths(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Files as given; folders become their *.yaml / *.yml files (sorted)."""
    out: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            out.extend(sorted([*path.glob("*.yaml"), *path.glob("*.yml")]))
        else:
            out.append(path)
    return out


def _node_at(node: yaml.Node | None, loc: Sequence[int | str]) -> yaml.Node | None:
    """Follow a pydantic error location through the YAML node tree as far as it goes."""
    cur = node
    for key in loc:
        if isinstance(cur, yaml.MappingNode):
            nxt = next((v for k, v in cur.value if isinstance(k, yaml.ScalarNode) and k.value == key), None)
        elif isinstance(cur, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(cur.value):
            nxt = cur.value[key]
        else:
            nxt = None
        if nxt is None:
            break
        cur = nxt
    return cur


def _line(node: yaml.Node | None) -> str | None:
    return None if node is None else str(node.start_mark.line + 1)


def _expand_vocabulary(obj: Any, vocab: dict[str, list[str]], where: str) -> Any:
    """Replace `@name` entries of every `keywords` list with the named vocabulary list."""
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for k, v in obj.items():
            if k == "keywords" and isinstance(v, list):
                words: list[Any] = []
                for w in v:
                    if isinstance(w, str) and w.startswith("@"):
                        if w[1:] not in vocab:
                            raise ValueError(f"{where}: unknown vocabulary {w!r}")
                        words.extend(vocab[w[1:]])
                    else:
                        words.append(w)
                out[k] = words
            else:
                out[k] = _expand_vocabulary(v, vocab, where)
        return out
    if isinstance(obj, list):
        return [_expand_vocabulary(v, vocab, where) for v in obj]
    return obj


def _clean_loc(loc: Sequence[int | str]) -> tuple[int | str, ...]:
    """A pydantic error location without union tags (`near.near.0` → `near.0`)."""
    out: list[int | str] = []
    for x in loc:
        if isinstance(x, str) and (x.startswith("function-") or (out and out[-1] == x)):
            continue
        out.append(x)
    return tuple(out)


def _fmt_validation(err: ValidationError) -> tuple[str, tuple[int | str, ...]]:
    errors = err.errors()
    msg = "; ".join(f"{'.'.join(str(x) for x in _clean_loc(e['loc']))}: {e['msg']}" for e in errors[:3])
    return msg, _clean_loc(errors[0]["loc"])


def load_pack(path: str | os.PathLike[str]) -> RulePack:
    """Parse and validate one pack file (schema and regex syntax); raises ConfigError naming file, rule, line."""
    return load_pack_lines(path)[0]


def load_pack_lines(path: str | os.PathLike[str]) -> tuple[RulePack, dict[str, int]]:
    """Like load_pack, plus each rule id's line number."""
    p = Path(path)
    src = str(p)
    try:
        if p.stat().st_size > MAX_PACK_BYTES:
            raise ConfigError(src, f"rule pack larger than {MAX_PACK_BYTES} bytes")
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(src, f"cannot read rule pack: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(src, "rule pack is not UTF-8") from exc
    return parse_pack_lines(text, src)


def parse_pack(text: str, source: str = "<string>") -> RulePack:
    """Parse and validate pack YAML text; `source` names it in errors."""
    return parse_pack_lines(text, source)[0]


def parse_pack_lines(text: str, source: str = "<string>") -> tuple[RulePack, dict[str, int]]:
    """Like parse_pack, plus each rule id's line number."""
    try:
        loader = _Loader(text)
        try:
            root = loader.get_single_node()
            data = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        loc = str(mark.line + 1) if mark is not None else None
        raise ConfigError(source, f"invalid YAML: {getattr(exc, 'problem', None) or exc}", loc) from exc
    if not isinstance(data, dict):
        raise ConfigError(source, "a rule pack is a mapping with `pack` and `rules`")
    rules_raw = data.get("rules") or []
    if not isinstance(rules_raw, list):
        raise ConfigError(source, "`rules` must be a list", _line(_node_at(root, ["rules"])))
    vocab = data.get("vocabulary") or {}
    if not isinstance(vocab, dict) or not all(
        isinstance(v, list) and all(isinstance(w, str) for w in v) for v in vocab.values()
    ):
        raise ConfigError(
            source, "`vocabulary` maps names to lists of strings", _line(_node_at(root, ["vocabulary"]))
        )

    header = data.get("pack")
    pack_id = str(header.get("id", "?")) if isinstance(header, dict) else "?"
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(rules_raw):
        rid = raw.get("id") if isinstance(raw, dict) else None
        label = f"rule {rid!r}" if rid else f"rule #{i + 1}"
        rule_node = _node_at(root, ["rules", i])
        try:
            expanded = _expand_vocabulary(raw, vocab, label)
            rule = Rule.model_validate(expanded)
        except ValueError as exc:  # ValidationError is a ValueError
            if isinstance(exc, ValidationError):
                msg, err_loc = _fmt_validation(exc)
                node = _node_at(rule_node, err_loc)
            else:
                msg, node = str(exc), rule_node
            raise ConfigError(source, f"{label}: {msg}", _line(node) or _line(rule_node)) from exc
        if rule.id in seen:
            raise ConfigError(
                source, f"{label}: duplicate rule id (first at line {seen[rule.id]})", _line(rule_node)
            )
        seen[rule.id] = int(_line(rule_node) or 0)
        _check_regexes(rule, source, _line(rule_node), pack_id)
        rules.append(rule)
    try:
        info = RulePack.model_validate({"pack": data.get("pack"), "vocabulary": vocab, "rules": []}).pack
    except ValidationError as exc:
        msg, err_loc = _fmt_validation(exc)
        raise ConfigError(source, f"pack header: {msg}", _line(_node_at(root, list(err_loc)))) from exc
    return RulePack(pack=info, vocabulary=vocab, rules=rules), dict(seen)


def rule_lines(text: str) -> dict[str, int]:
    """Rule id → line number in pack text (for messages and tooling)."""
    root = yaml.compose(text, Loader=_Loader)
    out: dict[str, int] = {}
    seq = _node_at(root, ["rules"])
    if isinstance(seq, yaml.SequenceNode):
        for item in seq.value:
            idn = _node_at(item, ["id"])
            if isinstance(idn, yaml.ScalarNode):
                out[str(idn.value)] = item.start_mark.line + 1
    return out


def _walk_regexes(patterns: Iterable[Any], where: str) -> Iterable[tuple[str, str, list[str]]]:
    """(field path, regex, flags) of every regex in a pattern tree, e.g. `patterns[1].near[0].regex`."""
    for i, p in enumerate(patterns):
        here = f"{where}[{i}]"
        rx = getattr(p, "regex", None)
        if isinstance(rx, str):
            yield f"{here}.regex", rx, list(getattr(p, "flags", []))
            unless = getattr(p, "unless_followed_by", None)
            if isinstance(unless, str):
                yield f"{here}.unless_followed_by", unless, list(getattr(p, "flags", []))
        for attr in ("all", "any", "near"):
            sub = getattr(p, attr, None)
            if isinstance(sub, list):
                yield from _walk_regexes(sub, f"{here}.{attr}")


def _check_regexes(rule: Rule, source: str, line: str | None, pack_id: str = "?") -> None:
    """Every regex compiles, and the linear-time engine (RE2) can run it: no lookaround, backreference..."""
    fields = [*_walk_regexes(rule.patterns, "patterns"), *_walk_regexes(rule.exclude, "exclude")]
    for path, rx, flags in fields:
        try:
            re.compile(rx, regex_flags(flags))
        except re.error as exc:
            raise ConfigError(source, f"rule {rule.id!r}: {path}: bad regex {rx!r}: {exc}", line) from exc
        try:
            translate(lower_regex(rx), regex_flags(flags))
            translate(lower_regex(rx), regex_flags(flags), True)
        except UnsupportedRegex as exc:
            raise ConfigError(
                source,
                f"pack {pack_id!r}, rule {rule.id!r}, field {path}: the linear-time regex engine (RE2)"
                f" cannot run {rx!r}: {exc}",
                line,
            ) from exc


def _known_ids() -> tuple[frozenset[str], Any]:
    """Taxonomy slugs and the knowledge base (imported lazily: loading them is not free)."""
    from stormwatch.kb import load_kb
    from stormwatch.kb.taxonomy import load_taxonomy

    return frozenset(load_taxonomy().slugs()), load_kb()


def validate_ids(
    packs: Sequence[tuple[str, RulePack]], lines: dict[str, dict[str, int]] | None = None
) -> None:
    """Every category slug is in the taxonomy and every technique id is in the knowledge base."""
    slugs, kb = _known_ids()
    for source, pack in packs:
        where = (lines or {}).get(source, {})
        for rule in pack.rules:
            line = str(where[rule.id]) if rule.id in where else None
            if rule.category not in slugs:
                raise ConfigError(
                    source, f"rule {rule.id!r}: unknown taxonomy category {rule.category!r}", line
                )
            unknown = [t for t in rule.techniques if not kb.has_id(t)]
            if unknown:
                raise ConfigError(
                    source, f"rule {rule.id!r}: ids not in the knowledge base: {', '.join(unknown)}", line
                )
