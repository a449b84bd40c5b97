"""The rule detector: YAML rule packs run over every turn with a YARA-X literal prefilter in front."""

from __future__ import annotations

import os
import threading
from collections.abc import Hashable, MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import yaml
import yara_x
from pydantic import Field

from stormwatch.detectors.base import DetectorParams, register
from stormwatch.detectors.rules._compile import (
    FALSE,
    TRUE,
    CompiledRule,
    Formula,
    Span,
    TurnContext,
    TurnText,
    compile_rule,
    f_without_yara,
    re2_patterns,
    yara_literal,
)
from stormwatch.detectors.rules._loader import (
    builtin_pack_paths,
    expand_paths,
    load_pack_lines,
    rule_lines,
    validate_ids,
)
from stormwatch.detectors.rules._re2 import UnsupportedRegex
from stormwatch.detectors.rules._schema import Rule, RulePack
from stormwatch.errors import ConfigError
from stormwatch.models import Event, Evidence, Finding

MAX_EVIDENCE = 3
MAX_SNIPPET = 200
# Text past this many characters of one turn is not scanned (bounded time on hostile input).
DEFAULT_MAX_CHARS = 1_000_000
_PF_NS = "pf"


@dataclass(frozen=True)
class _Compiled:
    rules: list[CompiledRule]
    yara_rules: yara_x.Rules | None
    # (namespace, yara rule identifier) → indexes of stormwatch rules made candidates by it
    trigger: dict[tuple[str, str], tuple[int, ...]]
    yara_namespaces: frozenset[str]
    always: tuple[int, ...]
    roles: frozenset[str]


def _compile_all(packs: Sequence[tuple[str, RulePack]]) -> _Compiled:
    rules: list[CompiledRule] = []
    seen: dict[str, str] = {}
    for source, pack in packs:
        for rule in pack.rules:
            if not rule.enabled:
                continue
            if rule.id in seen:
                raise ConfigError(source, f"rule {rule.id!r} is also defined in {seen[rule.id]}")
            seen[rule.id] = source
            try:
                rules.append(compile_rule(rule, len(rules), source))
            except UnsupportedRegex as exc:  # what only RE2 itself refuses (e.g. a program over max_mem)
                raise ConfigError(
                    source,
                    f"rule {rule.id!r}: the linear-time regex engine (RE2) cannot run it: {exc}",
                    _lines_for(source).get(rule.id),
                ) from exc

    compiler = yara_x.Compiler()
    trigger: dict[tuple[str, str], list[int]] = {}
    always: list[int] = []
    pf_src: list[str] = []
    ns_list: list[str] = []
    for cr in rules:
        formula = f_without_yara(cr.anchors)
        if formula == TRUE:
            always.append(cr.index)
        elif formula != FALSE:
            strings: list[str] = []
            cond = _yara_condition(formula, strings)
            body = "\n".join(f"    {s}" for s in strings)
            pf_src.append(f"rule r{cr.index} {{\n  strings:\n{body}\n  condition: {cond}\n}}")
            trigger.setdefault((_PF_NS, f"r{cr.index}"), []).append(cr.index)
        for ym in cr.yara:
            ns_list.append(ym.namespace)
    if pf_src:
        compiler.new_namespace(_PF_NS)
        compiler.add_source("\n".join(pf_src))
    for cr in rules:
        for ym in cr.yara:
            try:
                yara_x.compile(ym.source)  # alone first, so an error names this rule
            except yara_x.CompileError as exc:
                lines = _lines_for(cr.source)
                raise ConfigError(
                    cr.source, f"rule {cr.rule.id!r}: bad YARA pattern: {exc}", lines.get(cr.rule.id)
                ) from exc
            compiler.new_namespace(ym.namespace)
            compiler.add_source(ym.source)
    yr = compiler.build() if (pf_src or ns_list) else None
    # YARA namespaces trigger their rule through match results (see _scan); record owner by namespace.
    for cr in rules:
        for ym in cr.yara:
            trigger.setdefault((ym.namespace, "*"), []).append(cr.index)
    roles = frozenset().union(*(cr.roles for cr in rules)) if rules else frozenset()
    return _Compiled(
        rules=rules,
        yara_rules=yr,
        trigger={k: tuple(v) for k, v in trigger.items()},
        yara_namespaces=frozenset(ns_list),
        always=tuple(always),
        roles=roles,
    )


_STOPWORD_TEXT = """a an and or of to in is it its that this these those what how you your yours for with all be are do does
    did i my me on as at by from we our they them there then than but not no if so can will just have has was
    were would could should the any some one who which when where why"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def _stopword_leaf(f: Formula) -> bool:
    return f[0] == "lits" and any(x.strip() in _STOPWORDS for x in f[1])


def _yara_condition(f: Formula, strings: list[str]) -> str:
    """Render a prefilter formula as a YARA condition, appending the string definitions it needs."""
    if f[0] == "lits":
        leaf = len(strings)  # unique: every leaf adds at least one string
        for j, lit in enumerate(sorted(f[1])):
            strings.append(f"$l{leaf}_{j} = {yara_literal(lit)}")
        return f"any of ($l{leaf}_*)"
    if f[0] == "and":
        # A conjunct that a stop word satisfies filters nothing in English text but costs scanner time on
        # every input; dropping it only widens the prefilter (still a superset of real matches).
        kept = [x for x in f[1] if not _stopword_leaf(x)] or list(f[1][:1])
        return "(" + " and ".join(_yara_condition(x, strings) for x in kept) + ")"
    if f[0] == "or":
        return "(" + " or ".join(_yara_condition(x, strings) for x in f[1]) + ")"
    raise ValueError(f"cannot render prefilter formula {f!r}")  # pragma: no cover


def _lines_for(source: str) -> dict[str, str]:
    try:
        return {k: str(v) for k, v in rule_lines(Path(source).read_text(encoding="utf-8")).items()}
    except (OSError, UnicodeDecodeError, yaml.YAMLError):  # best effort, for an error message only
        return {}


_PackKey = tuple[tuple[str, float], ...]
_Loaded = tuple[list[tuple[str, RulePack]], _Compiled]
_POOL_TAG = "rules.compiled"


def _pack_key(paths: Sequence[Path], validate: bool) -> _PackKey:
    """What determines a compiled pack set: each file's resolved path and mtime, in order, and validation."""
    key_parts: list[tuple[str, float]] = []
    for p in paths:
        try:
            key_parts.append((str(p.resolve()), p.stat().st_mtime))
        except OSError as exc:
            raise ConfigError(str(p), f"cannot read rule pack: {exc.strerror or exc}") from exc
    return (*key_parts, ("validate", float(validate)))


def _load_compiled(paths: Sequence[Path], validate: bool) -> _Loaded:
    packs: list[tuple[str, RulePack]] = []
    lines: dict[str, dict[str, int]] = {}
    for p in paths:
        pack, where = load_pack_lines(p)
        packs.append((str(p), pack))
        lines[str(p)] = where
    if validate:
        validate_ids(packs, lines)
    return packs, _compile_all(packs)


# yara-x scanners are "unsendable": each must be created, used and dropped on one thread. They live in a
# module-level thread-local (keyed by the compiled rules) rather than on the detector, so collecting a
# detector on another thread (e.g. a server's event loop) never drops a worker thread's scanner there. Each
# thread keeps at most _SCANNERS_PER_THREAD, evicting (on its own thread) the least recently used.
_THREAD = threading.local()
_SCANNERS_PER_THREAD = 8


@register("rules")
class RuleDetector:
    """Signature rules from YAML packs (keywords, regex, YARA-X) over the turns each rule is scoped to."""

    id: ClassVar[str] = "rules"
    stage: ClassVar[str] = "fast"

    class Params(DetectorParams):
        """`packs`: extra rule-pack files or folders, loaded after the built-in packs (unless
        `builtin_packs` is false); `max_chars`: characters of one turn scanned (bounded work)."""

        packs: tuple[Path, ...] = ()
        builtin_packs: bool = True
        max_chars: int = Field(default=DEFAULT_MAX_CHARS, gt=0)

    def __init__(
        self,
        *,
        packs: Sequence[str | os.PathLike[str]] | None = None,
        include_builtin: bool = True,
        validate_ids: bool = True,
        max_chars: int = DEFAULT_MAX_CHARS,
        shared: MutableMapping[Hashable, Any] | None = None,
    ) -> None:
        paths: list[Path] = builtin_pack_paths() if include_builtin else []
        if packs:
            paths.extend(expand_paths(packs))
        key = _pack_key(paths, validate_ids)
        loaded: _Loaded | None = None if shared is None else shared.get((_POOL_TAG, key))
        if loaded is None:
            loaded = _load_compiled(paths, validate_ids)
            if shared is not None:
                shared[(_POOL_TAG, key)] = loaded
        self.packs_, self._c = loaded
        self.max_chars = max_chars

    @classmethod
    def from_params(cls, params: RuleDetector.Params, shared: MutableMapping[Hashable, Any]) -> RuleDetector:
        """A rule detector from validated parameters; detectors built with one `shared` pool and the same
        pack files (path and mtime) share one compiled pack set."""
        return cls(
            packs=params.packs,
            include_builtin=params.builtin_packs,
            max_chars=params.max_chars,
            shared=shared,
        )

    @property
    def rules(self) -> list[Rule]:
        """Every enabled rule, in load order."""
        return [cr.rule for cr in self._c.rules]

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id (KeyError if none)."""
        for cr in self._c.rules:
            if cr.rule.id == rule_id:
                return cr.rule
        raise KeyError(rule_id)

    def _scanner(self) -> yara_x.Scanner | None:
        rules = self._c.yara_rules
        if rules is None:
            return None
        per_thread: dict[int, tuple[yara_x.Rules, yara_x.Scanner]] | None = getattr(_THREAD, "scanners", None)
        if per_thread is None:
            per_thread = _THREAD.scanners = {}
        hit = per_thread.pop(id(rules), None)
        if hit is not None and hit[0] is rules:
            per_thread[id(rules)] = hit  # most recently used last
            return hit[1]
        while len(per_thread) >= _SCANNERS_PER_THREAD:
            del per_thread[next(iter(per_thread))]
        sc = yara_x.Scanner(rules)
        sc.max_matches_per_pattern(64)
        # Prefilter rules only need a yes/no; YARA patterns report their first match per string.
        sc.fast_scan(True)
        sc.set_timeout(10)
        per_thread[id(rules)] = (rules, sc)
        return sc

    def _candidates(self, ctx: TurnContext) -> set[int]:
        c = self._c
        out: set[int] = set(c.always)
        sc = self._scanner()
        if sc is None:
            return out
        norm = ctx.text.norm
        data = ctx.text.norm_bytes
        results: Any = sc.scan(data)
        for mr in results.matching_rules:
            ns = mr.namespace
            if ns == _PF_NS:
                out.update(c.trigger.get((ns, mr.identifier), ()))
            elif ns in c.yara_namespaces:
                out.update(c.trigger.get((ns, "*"), ()))
                spans = ctx.yara_spans.setdefault(ns, [])
                ascii_only = len(data) == len(norm)
                for pat in mr.patterns:
                    for m in pat.matches:
                        s, e = m.offset, m.offset + m.length
                        if not ascii_only:
                            s, e = ctx.text.char_offset(s), ctx.text.char_offset(e)
                        spans.append((s, e))
                if not spans:  # condition-only rule: the whole turn is the evidence
                    spans.append((0, len(norm)))
                spans.sort()
        return out

    def detect(self, event: Event) -> list[Finding]:
        """Findings for one event: at most one per rule, with up to three evidence spans."""
        c = self._c
        hits: dict[int, list[tuple[int, str, TurnText, Span]]] = {}
        for ti, msg in enumerate(event.turns()):
            if msg.role not in c.roles or not msg.content:
                continue
            ctx = TurnContext(TurnText(msg.content[: self.max_chars]))
            for idx in sorted(self._candidates(ctx)):
                cr = c.rules[idx]
                if msg.role not in cr.roles:
                    continue
                got = hits.get(idx)
                if got is not None and len(got) >= MAX_EVIDENCE:
                    continue
                spans = cr.evaluate(ctx)
                if not spans:
                    continue
                lst = hits.setdefault(idx, [])
                for sp in spans:
                    if len(lst) >= MAX_EVIDENCE:
                        break
                    lst.append((ti, msg.role, ctx.text, sp))
        return [self._finding(c.rules[idx], hits[idx]) for idx in sorted(hits)]

    def detect_batch(self, events: list[Event]) -> list[list[Finding]]:
        """Findings for each event, in order."""
        return [self.detect(e) for e in events]

    @staticmethod
    def _finding(cr: CompiledRule, hits: list[tuple[int, str, TurnText, Span]]) -> Finding:
        evidence: list[Evidence] = []
        for ti, _role, text, (ns, ne) in hits:
            s, e = text.to_original(ns, ne)
            e = min(e, s + MAX_SNIPPET)
            evidence.append(Evidence(turn=ti, start=s, end=e, text=text.original[s:e]))
        rule = cr.rule
        first_turn, first_role = hits[0][0], hits[0][1]
        quoted = ", ".join(repr(ev.text[:80]) for ev in evidence)
        explanation = f"{rule.title}: matched {quoted} in {first_role} turn {first_turn}"
        return Finding(
            detector=RuleDetector.id,
            rule=rule.id,
            score=rule.score,
            category=rule.category,
            techniques=tuple(rule.techniques),
            evidence=tuple(evidence),
            explanation=explanation,
        )

    def warm_up(self) -> None:
        """Compile every rule's Unicode RE2 program now (about 1.7 s), not on the first non-ASCII text."""
        for cr in self._c.rules:
            for m in (cr.matcher, *cr.excludes):
                for rx in re2_patterns(m):
                    rx.compile_all()

    def stats(self) -> dict[str, int]:
        """Counts useful for tuning: rules, rules with no prefilter anchor (always evaluated), YARA patterns."""
        return {
            "rules": len(self._c.rules),
            "always_evaluated": len(self._c.always),
            "yara_patterns": len(self._c.yara_namespaces),
        }


__all__ = ["RuleDetector"]
