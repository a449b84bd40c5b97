"""Score a labelled JSONL file and write a Markdown quality report with PNG plots."""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stormwatch.errors import InputRecordError
from stormwatch.eval.metrics import BinaryMetrics, binary, confusion, reliability
from stormwatch.models import Event

INJECTION_KINDS = frozenset(
    {"prompt-injection", "indirect-prompt-injection", "jailbreak", "system-prompt-extraction"}
)
GENERAL_BENIGN = frozenset(
    {
        "alpaca_harmless",
        "gsm8k_test",
        "awesome",
        "self_instruct",
        "gsm8k",
        "humaneval",
        "bipia_test_clean",
        "promptshield_test",
    }
)
LOOKALIKE_BENIGN = frozenset(
    {
        "cysecbench_benign",
        "cybermetric",
        "codealpaca",
        "templates",
        "tram",
        "tram-analyst",
        "attack",
        "car",
        "d3fend",
        "atomic-tpl",
        "defender-tpl",
        "sigma",
        "capec-mitigation",
    }
)
MAX_LINE = 1_000_000


@dataclass
class Labelled:
    """One evaluation record: the event and its labels."""

    event: Event
    malicious: bool
    category: str | None
    tactic: str | None
    language: str | None
    source: str | None
    technique: str | None = None


@dataclass
class Scored:
    """A record with the system's score and predictions."""

    rec: Labelled
    score: float
    category: str | None
    tactic: str | None


@dataclass
class Report:
    """Everything the Markdown report shows."""

    mode: str
    overall: BinaryMetrics
    per_category: dict[str, BinaryMetrics]
    per_language: dict[str, BinaryMetrics]
    per_source: dict[str, tuple[int, float]]
    targets: dict[str, Any]
    tactic_labels: list[str]
    tactic_matrix: list[list[int]]
    tactic_accuracy: float
    tactic_n: int
    reliability: list[tuple[float, float, int]]
    seconds: float
    events_per_s: float
    extra: dict[str, Any] = field(default_factory=dict)


def read_labelled(path: Path) -> list[Labelled]:
    """Parse `scan` input events with a `labels` object per line (bounded line length)."""
    out: list[Labelled] = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            if len(line) > MAX_LINE:
                raise InputRecordError(str(path), n, None, f"line longer than {MAX_LINE} characters")
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputRecordError(str(path), n, None, f"invalid JSON: {exc}") from exc
            labels = obj.pop("labels", None)
            if not isinstance(labels, dict) or "malicious" not in labels:
                raise InputRecordError(str(path), n, "labels", "missing labels.malicious")
            obj.setdefault("id", f"line-{n}")
            if "messages" not in obj:
                text = obj.pop("prompt", None) or obj.pop("text", None)
                if not isinstance(text, str):
                    raise InputRecordError(str(path), n, "messages", "need messages, prompt or text")
                obj["messages"] = [{"role": obj.pop("role", "user"), "content": text}]
            try:
                ev = Event.model_validate(obj)
            except ValueError as exc:
                raise InputRecordError(str(path), n, None, str(exc)) from exc
            out.append(
                Labelled(
                    ev,
                    bool(labels["malicious"]),
                    labels.get("category"),
                    labels.get("tactic"),
                    labels.get("language"),
                    labels.get("source"),
                    labels.get("technique"),
                )
            )
    return out


def score(records: Sequence[Labelled], mode: str, batch: int = 256) -> tuple[list[Scored], float]:
    """Score with `mode`: "engine" / "engine-fast" (full engine), "cascade" or "fast" (learned only)."""
    events = [r.event for r in records]
    out: list[Scored] = []
    t0 = time.perf_counter()
    if mode.startswith("engine"):
        from stormwatch.engine import Engine

        eng = Engine.default(fast=mode == "engine-fast")
        for i in range(0, len(events), batch):
            for rec, v in zip(records[i : i + batch], eng.scan_batch(events[i : i + batch]), strict=True):
                out.append(
                    Scored(
                        rec,
                        v.risk,
                        v.categories[0] if v.categories else None,
                        v.tactics[0] if v.tactics else None,
                    )
                )
    else:
        from stormwatch.detectors.learned import Cascade

        cascade = Cascade()
        for i in range(0, len(events), batch):
            res = cascade.assess(events[i : i + batch], stage2=mode == "cascade")
            for rec, a in zip(records[i : i + batch], res, strict=True):
                out.append(
                    Scored(
                        rec, a.p_malicious if a else 0.0, a.category if a else None, a.tactic if a else None
                    )
                )
    return out, time.perf_counter() - t0


def _subset(sc: Sequence[Scored], pos: Any, neg: Any) -> BinaryMetrics | None:
    rows = [s for s in sc if (s.rec.malicious and pos(s)) or (not s.rec.malicious and neg(s))]
    if not any(s.rec.malicious for s in rows) or all(s.rec.malicious for s in rows):
        return None
    return binary([s.rec.malicious for s in rows], [s.score for s in rows])


def build_report(sc: Sequence[Scored], mode: str, seconds: float) -> Report:
    """Compute every metric of the quality report."""
    y = [s.rec.malicious for s in sc]
    p = [s.score for s in sc]
    cats = sorted({s.rec.category for s in sc if s.rec.malicious and s.rec.category})
    per_cat = {}
    for c in cats:
        m = _subset(sc, lambda s, c=c: s.rec.category == c, lambda s: True)
        if m:
            per_cat[c] = m
    per_lang = {}
    for lang in sorted({s.rec.language or "?" for s in sc}):
        negs = [s for s in sc if not s.rec.malicious and (s.rec.language or "?") == lang]
        same = len(negs) >= 20
        m = _subset(
            sc,
            lambda s, lang=lang: (s.rec.language or "?") == lang,
            (lambda s, lang=lang: (s.rec.language or "?") == lang) if same else (lambda s: True),
        )
        if m:
            per_lang[lang if same else f"{lang}*"] = m
    per_src: dict[str, list[float]] = defaultdict(list)
    for s in sc:
        per_src[f"{s.rec.source or '?'} ({'mal' if s.rec.malicious else 'benign'})"].append(
            float((s.score >= 0.5) == s.rec.malicious)
        )
    targets: dict[str, Any] = {}
    inj = _subset(sc, lambda s: s.rec.category in INJECTION_KINDS, lambda s: s.rec.source in GENERAL_BENIGN)
    cyb = _subset(
        sc,
        lambda s: bool(s.rec.category and s.rec.category.startswith("llm-")),
        lambda s: s.rec.source in LOOKALIKE_BENIGN,
    )
    targets["injection_jailbreak_tpr_at_1fpr"] = inj.tpr_at_1fpr if inj else None
    targets["cyber_tpr_at_5fpr"] = cyb.tpr_at_5fpr if cyb else None
    for lang in sorted({s.rec.language for s in sc if s.rec.language and s.rec.language != "en"} | {"en"}):
        li = _subset(
            sc,
            lambda s, lang=lang: s.rec.category in INJECTION_KINDS and s.rec.language == lang,
            lambda s: s.rec.source in GENERAL_BENIGN,
        )
        lc = _subset(
            sc,
            lambda s, lang=lang: (
                bool(s.rec.category and s.rec.category.startswith("llm-")) and s.rec.language == lang
            ),
            lambda s: s.rec.source in LOOKALIKE_BENIGN,
        )
        targets[f"lang:{lang}"] = {
            "inj_tpr_1": li.tpr_at_1fpr if li else None,
            "cyber_tpr_5": lc.tpr_at_5fpr if lc else None,
        }
    tac = [s for s in sc if s.rec.malicious and s.rec.tactic]
    labels, matrix = confusion([str(s.rec.tactic) for s in tac], [s.tactic for s in tac])
    acc = sum(s.tactic == s.rec.tactic for s in tac) / len(tac) if tac else float("nan")
    # Multi-tactic techniques: "exact" scores the labelled (first) tactic only, "any" accepts any tactic of
    # the labelled technique (ATT&CK knowledge base). The target is stated for "exact".
    targets["tactic_exact_acc"] = acc
    targets["tactic_any_acc"] = (
        sum(s.tactic in _allowed_tactics(s.rec) for s in tac) / len(tac) if tac else float("nan")
    )
    for lang in sorted({s.rec.language or "?" for s in tac}):
        sub = [s for s in tac if (s.rec.language or "?") == lang]
        targets.setdefault(f"lang:{lang}", {})["tactic_acc"] = sum(
            s.tactic == s.rec.tactic for s in sub
        ) / len(sub)
    return Report(
        mode,
        binary(y, p),
        per_cat,
        per_lang,
        {k: (len(v), sum(v) / len(v)) for k, v in sorted(per_src.items())},
        targets,
        labels,
        matrix,
        acc,
        len(tac),
        reliability(y, p),
        seconds,
        len(sc) / seconds if seconds else float("nan"),
    )


def _f(x: float | None) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3f}"


def _row(name: str, m: BinaryMetrics) -> str:
    return (
        f"| {name} | {m.n} | {m.positives} | {_f(m.precision)} | {_f(m.recall)} | {_f(m.f1)} | {_f(m.fpr)} | "
        f"{_f(m.tpr_at_1fpr)} | {_f(m.tpr_at_5fpr)} | {_f(m.auc)} | {_f(m.ece)} |"
    )


HEAD = (
    "| set | n | pos | precision | recall | F1 | FPR | TPR@1%FPR | TPR@5%FPR | ROC AUC | ECE |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|"
)


def write_plots(rep: Report, out_dir: Path, stem: str) -> list[str]:
    """Calibration plot and tactic confusion matrix as PNG (matplotlib, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    fig, ax = plt.subplots(figsize=(4.2, 4.2))
    ax.plot([0, 1], [0, 1], "k--", lw=1)
    if rep.reliability:
        xs, ys, _ns = zip(*rep.reliability, strict=True)
        ax.plot(xs, ys, "o-")
        for x, yv, n in rep.reliability:
            ax.annotate(str(n), (x, yv), fontsize=6)
    ax.set_xlabel("predicted P(malicious)")
    ax.set_ylabel("observed frequency")
    ax.set_title(f"calibration ({rep.mode}), ECE={rep.overall.ece:.3f}")
    fig.tight_layout()
    name = f"{stem}-calibration.png"
    fig.savefig(out_dir / name, dpi=90)
    plt.close(fig)
    files.append(name)
    if rep.tactic_labels:
        fig, ax = plt.subplots(figsize=(5.5, 5))
        ax.imshow(rep.tactic_matrix, cmap="Blues")
        ax.set_xticks(range(len(rep.tactic_labels)), rep.tactic_labels, rotation=90, fontsize=7)
        ax.set_yticks(range(len(rep.tactic_labels)), rep.tactic_labels, fontsize=7)
        for i, row in enumerate(rep.tactic_matrix):
            for j, v in enumerate(row):
                if v:
                    ax.text(j, i, str(v), ha="center", va="center", fontsize=6)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"ATT&CK tactic ({rep.mode}), top-1 acc={rep.tactic_accuracy:.2f}")
        fig.tight_layout()
        name = f"{stem}-tactics.png"
        fig.savefig(out_dir / name, dpi=90)
        plt.close(fig)
        files.append(name)
    return files


def _allowed_tactics(rec: Labelled) -> set[str]:
    allowed = {str(rec.tactic)}
    if rec.technique:
        from stormwatch.kb import load_kb

        with contextlib.suppress(Exception):  # an unknown technique id only narrows "any" to the label
            allowed |= {t for t in load_kb().tactics_for(rec.technique) if t.startswith("TA")}
    return allowed


def to_markdown(rep: Report, plots: Sequence[str] = (), plot_prefix: str = "") -> str:
    """The report as Markdown."""
    t = rep.targets
    lines = [
        f"### Mode `{rep.mode}` — {rep.overall.n} events, {rep.seconds:.1f}s ({rep.events_per_s:.0f} events/s)",
        "",
    ]
    lines += [
        "Targets:",
        "",
        "| target | measured |",
        "|---|---|",
        f"| jailbreak+injection TPR at 1% FPR (general benign) | {_f(t.get('injection_jailbreak_tpr_at_1fpr'))} |",
        f"| malicious cyber TPR at 5% FPR (security/coding look-alikes) | {_f(t.get('cyber_tpr_at_5fpr'))} |",
        f"| ATT&CK tactic top-1 accuracy, exact labelled tactic (n={rep.tactic_n}) | {_f(rep.tactic_accuracy)} |",
        f"| ATT&CK tactic top-1 accuracy, any tactic of the technique | {_f(t.get('tactic_any_acc'))} |",
        "",
    ]
    lines += [
        "Per language (injection TPR@1%FPR / cyber TPR@5%FPR / tactic top-1):",
        "",
        "| lang | inj TPR@1% | cyber TPR@5% | tactic acc |",
        "|---|---|---|---|",
    ]
    for k, v in sorted(t.items()):
        if k.startswith("lang:") and isinstance(v, dict):
            lines.append(
                f"| {k[5:]} | {_f(v.get('inj_tpr_1'))} | {_f(v.get('cyber_tpr_5'))} | {_f(v.get('tactic_acc'))} |"
            )
    lines += [
        "",
        "Overall, per category (positives of the category vs all benign) and per language "
        "(`*`: too few benign rows in that language, all benign rows used):",
        "",
        HEAD,
        _row("all", rep.overall),
    ]
    lines += [_row(c, m) for c, m in rep.per_category.items()]
    lines += [_row(f"lang {k}", m) for k, m in rep.per_language.items()]
    lines += ["", "Accuracy at threshold 0.5 per source:", "", "| source | n | accuracy |", "|---|---|---|"]
    lines += [f"| {k} | {n} | {a:.3f} |" for k, (n, a) in rep.per_source.items()]
    lines += [""] + [f"![{p}]({plot_prefix}{p})" for p in plots] + [""]
    return "\n".join(lines)


def run(path: Path, mode: str, out_md: Path | None, plots_dir: Path | None) -> Report:
    """Read, score, report; returns the Report."""
    recs = read_labelled(path)
    sc, secs = score(recs, mode)
    rep = build_report(sc, mode, secs)
    if out_md is not None:
        pdir = plots_dir or out_md.parent
        plots = write_plots(rep, pdir, f"{out_md.stem}-{mode}")
        prefix = "" if pdir == out_md.parent else f"{pdir.name}/"
        out_md.write_text(to_markdown(rep, plots, prefix), encoding="utf-8")
    return rep
