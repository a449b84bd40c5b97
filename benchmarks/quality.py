"""Quality + speed benchmark of the learned detectors on data from ../shared.

Usage:
  .venv/bin/python benchmarks/quality.py --lso          # headline: leave-sources-out + evaluation-only sets
  .venv/bin/python benchmarks/quality.py [--modes fast,cascade,engine] [--per-source 400]   # own held-out groups
The leave-sources-out run writes docs/quality/lso.md and lso-*.json; the group-split run writes
docs/quality/report-<mode>.md and PNG plots. Labelled third-party text goes to /tmp only.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from stormwatch._paths import REPO_DIR, datasets_dir
from stormwatch.eval.report import run
from stormwatch.models import Event
from stormwatch.train.extra import TEMPLATE_SOURCES
from stormwatch.train.pipeline import heldout_eval_rows


def write_labelled(path: Path, per_source: int, seed: int) -> int:
    """Held-out evaluation rows (capped per source) as a labelled JSONL file."""
    rows = heldout_eval_rows(datasets_dir(os.environ), seed)
    by = defaultdict(list)
    for r in rows:
        by[r.source].append(r)
    rng = random.Random(seed)
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        for src in sorted(by):
            rs = by[src]
            rng.shuffle(rs)
            for i, r in enumerate(rs[: per_source if src not in TEMPLATE_SOURCES else 10**6]):
                fh.write(
                    json.dumps(
                        {
                            "id": f"{src}-{i}",
                            "messages": [{"role": r.role, "content": r.text}],
                            "labels": {
                                "malicious": r.malicious,
                                "category": None if r.label == "benign" else r.label,
                                "tactic": r.tactic if r.malicious else None,
                                "technique": r.technique if r.malicious else None,
                                "language": r.lang,
                                "source": r.source,
                            },
                        },
                        ensure_ascii=False,
                    )
                    + "\n"
                )
                n += 1
    return n


def speed_mix(labelled: Path, n: int = 1000, seed: int = 0, benign_share: float | None = None) -> list[Event]:
    """A ~400-character mix: held-out rows (benign + malicious, every language), joined or cut.

    `benign_share` resamples rows so that share of them is benign (production traffic is mostly benign;
    the held-out set is about half malicious)."""
    rows = [json.loads(x) for x in labelled.read_text(encoding="utf-8").splitlines() if x.strip()]
    rng = random.Random(seed)
    rng.shuffle(rows)
    if benign_share is not None:
        ben = [r for r in rows if not r["labels"]["malicious"]]
        mal = [r for r in rows if r["labels"]["malicious"]]
        nb = int(len(ben) * 1.0)
        nm = int(nb * (1 - benign_share) / benign_share)
        rows = ben[:nb] + mal[:nm]
        rng.shuffle(rows)
    evs: list[Event] = []
    i = 0
    while len(evs) < n and i < len(rows):
        text = rows[i]["messages"][0]["content"]
        i += 1
        while len(text) < 350 and i < len(rows):  # short prompts: append the next row (same length profile)
            text += " " + rows[i]["messages"][0]["content"]
            i += 1
        evs.append(Event.from_text(text[:420], id=f"mix-{len(evs)}"))
    return evs


def speed(labelled: Path, n: int = 1000) -> dict[str, float]:
    """Throughput (batches of 256) and single-event latency on the realistic mix, for every mode."""
    from stormwatch.detectors.base import Spec, available, create
    from stormwatch.detectors.learned import Cascade, CascadeParams
    from stormwatch.detectors.learned._model import USE
    from stormwatch.engine import Engine

    t0 = time.perf_counter()
    cascade = Cascade()  # a fresh cascade: its models load here, not inside the timed loops
    cascade.models.fast()
    cascade.models.available(USE)
    cascade.models.available("e5")
    out: dict[str, float] = {"model_load_s": time.perf_counter() - t0}
    evs = speed_mix(labelled, n)
    out["events"] = len(evs)
    out["mean_chars"] = sum(len(e.turns()[0].content) for e in evs) / len(evs)
    lo, hi = cascade.stage2_band()
    base = cascade.assess(evs, stage2=False)
    out["stage2_fraction"] = sum(1 for a in base if a is not None and lo <= a.p_malicious < hi) / len(evs)
    runners = {
        "fast": lambda b: cascade.assess(list(b), stage2=False),
        "cascade": lambda b: cascade.assess(list(b), stage2=True),
        "engine-fast": Engine.default(fast=True).scan_batch,
        "engine": Engine.default(fast=False).scan_batch,
    }
    _time_modes(runners, evs, out, "")
    # Variants: the Indic/Persian e5 route switched fully on / off, and a 95 %-benign mix.
    for route in ("e5", "off"):
        variant = Cascade(CascadeParams(e5_route=route), cascade.models)
        learned = {"e5_route": route}
        specs = [Spec(i, learned if i.startswith("learned-") else {}) for i in sorted(available())]
        engine = Engine(detectors=create(specs))
        modes: dict[str, Any] = {
            "cascade": lambda b, c=variant: c.assess(list(b), stage2=True),
            "engine": engine.scan_batch,
        }
        _time_modes(modes, evs, out, f"e5route_{route}_")
    benign_evs = speed_mix(labelled, n, benign_share=0.95)
    _time_modes({k: runners[k] for k in ("cascade", "engine")}, benign_evs, out, "benign95_")
    return {k: round(v, 3) for k, v in out.items()}


def _time_modes(runners: dict[str, Any], evs: list[Event], out: dict[str, float], prefix: str) -> None:
    for mode, fn in runners.items():
        fn(evs[:8])  # warm-up
        t0 = time.perf_counter()
        for i in range(0, len(evs), 256):
            fn(evs[i : i + 256])
        out[f"{prefix}{mode}_events_per_s"] = len(evs) / (time.perf_counter() - t0)
        lat = []
        for ev in evs[:300]:
            t1 = time.perf_counter()
            fn([ev])
            lat.append((time.perf_counter() - t1) * 1000)
        out[f"{prefix}{mode}_p50_ms"] = statistics.median(lat)
        out[f"{prefix}{mode}_p99_ms"] = sorted(lat)[int(0.99 * len(lat)) - 1]


OLD_SOURCES_NOTE = "sources of the v3 corpus only (no §2 breadth sets, no grammars)"


def lso(a: argparse.Namespace) -> None:
    """Leave-sources-out over every trainable source, the same with the v3 corpus, and the external table."""
    from rich.console import Console

    from stormwatch.detectors.learned._model import USE
    from stormwatch.eval.lso import run_lso, to_markdown
    from stormwatch.train.breadth import more_eval_rows
    from stormwatch.train.corpus import CYBER_CATEGORIES, load_eval_sources
    from stormwatch.train.pipeline import EmbeddingCache, corpus_rows, near_dupe_filter
    from stormwatch.train.recipe import lso_recipe

    con = Console(stderr=True)
    ds = datasets_dir(os.environ)
    rows = corpus_rows(ds, a.seed)
    pretexts, contrasts, extra_sources = ([], [], frozenset()) if a.no_grammar else _grammar_eval(a.seed)
    con.log(
        f"{len(rows)} trainable rows; {len(pretexts)} held-out pretext wrappers; {len(contrasts)} contrasts"
    )
    cache = EmbeddingCache(Path(a.cache), USE)
    recipe = lso_recipe(
        cache, con.log, per_source=a.use_per_source, max_iter=a.max_iter, lang_dirs=a.lang_dirs
    )
    kw: dict[str, Any] = {
        "k": a.k,
        "seed": a.seed,
        "template_sources": TEMPLATE_SOURCES | extra_sources,
        "cyber_labels": frozenset(CYBER_CATEGORIES),
        "pretexts": pretexts,
        "contrasts": contrasts,
        "log": con.log,
    }
    out = REPO_DIR / "docs" / "quality"
    out.mkdir(parents=True, exist_ok=True)
    parts = []
    runs = [x for x in a.lso_runs.split(",") if x]
    if "new" in runs:
        rep = run_lso(rows, recipe, recipe_name="cascade v4 (all sources)", **kw)
        (out / f"lso-v4{a.out_suffix}.json").write_text(rep.model_dump_json(indent=1) + "\n")
        parts.append(to_markdown(rep, "Leave-sources-out, v4 recipe and corpus"))
    if "old" in runs:
        from stormwatch.train.breadth import breadth_rows

        new_sources = {r.source for r in breadth_rows(ds, a.seed)} | extra_sources

        def old_recipe(tr: Any, ca: Any, seed: int) -> Any:
            keep = [r for r in tr if r.source not in new_sources]
            return recipe(keep, [r for r in ca if r.source not in new_sources], seed)

        rep = run_lso(rows, old_recipe, recipe_name=f"cascade, {OLD_SOURCES_NOTE}", **kw)
        (out / f"lso-v3corpus{a.out_suffix}.json").write_text(rep.model_dump_json(indent=1) + "\n")
        parts.append(to_markdown(rep, f"Leave-sources-out, same folds, trained on the {OLD_SOURCES_NOTE}"))
    if "external" in runs:
        ext = near_dupe_filter(rows, load_eval_sources(ds, a.seed) + more_eval_rows(ds, a.seed))
        con.log(f"external: {len(ext)} evaluation-only rows after near-duplicate removal")
        kw2 = {k: v for k, v in kw.items() if k != "k"}
        rep = run_lso(
            rows, recipe, recipe_name="cascade v4 trained on every trainable row", external=ext, **kw2
        )
        (out / f"lso-external{a.out_suffix}.json").write_text(rep.model_dump_json(indent=1) + "\n")
        parts.append(
            to_markdown(rep, "Evaluation-only sets (never trained on), model trained on all sources")
        )
    md = out / f"lso{a.out_suffix}.md"
    md.write_text(
        "# Leave-sources-out evaluation (generated by `benchmarks/quality.py --lso`)\n\n"
        + "\n\n".join(parts)
        + "\n"
    )
    con.log(f"wrote {md}")


def _grammar_eval(seed: int) -> tuple[list[tuple[str, str, str]], list[Any], frozenset[str]]:
    """Held-out pretext wrappers and held-out offensive-wording defender rows from our grammars (if present)."""
    try:
        from stormwatch.train import grammar
    except ImportError:
        return [], [], frozenset()
    from stormwatch.train.corpus import Row

    pre = [(p.lang, p.family, p.template) for p in grammar.load_pretexts(split="heldout")]
    con = [
        Row(g.text, "benign", "grammar-contrast", f"gc:{g.family}", g.lang, role=g.role)
        for g in grammar.contrast_rows(split="heldout")
    ]
    return pre, con, frozenset({"grammar-attack", "grammar-benign", "grammar-contrast", "grammar-pretext"})


MODES = ("fast", "cascade", "engine-fast", "engine")


def check_args(a: argparse.Namespace) -> str | None:
    """Why these arguments cannot run (missing input, unknown mode), said as what to do; None when they can."""
    unknown = [m for m in a.modes.split(",") if m and m not in MODES]
    if unknown:
        return f"unknown --modes {', '.join(unknown)}; use some of {', '.join(MODES)}"
    ds = datasets_dir(os.environ)
    if (a.lso or not a.speed_only) and not ds.is_dir():
        return (
            f"no shared data sets at {ds}: put the shared folder beside the repository (../shared/datasets) "
            "or point STORMWATCH_SHARED at the folder that holds datasets/"
        )
    if a.speed_only and not a.lso and not a.labelled.is_file():
        return (
            f"--speed-only reads --labelled {a.labelled}, which does not exist: run once without --speed-only "
            "(it writes that file) or give --labelled FILE"
        )
    return None


def main() -> None:
    """Entry point."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--lso", action="store_true", help="leave-sources-out evaluation (the headline)")
    ap.add_argument("--lso-runs", default="new,old,external")
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--cache", default="/tmp/stormwatch-embcache-use.npz")
    ap.add_argument("--use-per-source", type=int, default=1500)
    ap.add_argument("--max-iter", type=int, default=300)
    ap.add_argument("--lang-dirs", type=int, default=0, help="language directions projected out (0: none)")
    ap.add_argument("--no-grammar", action="store_true", help="leave our pretext/contrast grammars out")
    ap.add_argument("--out-suffix", default="", help="suffix for the lso output files (experiments)")
    ap.add_argument("--modes", default="fast,cascade,engine-fast,engine")
    ap.add_argument("--per-source", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--labelled", type=Path, default=Path("/tmp/stormwatch-heldout.jsonl"))
    ap.add_argument("--no-speed", action="store_true")
    ap.add_argument("--speed-only", action="store_true")
    a = ap.parse_args()
    problem = check_args(a)
    if problem is not None:
        ap.exit(2, f"quality.py: error: {problem}\n")  # one line on stderr, no traceback
    if a.lso:
        lso(a)
        return
    out = REPO_DIR / "docs" / "quality"
    out.mkdir(parents=True, exist_ok=True)
    if not a.speed_only:
        n = write_labelled(a.labelled, a.per_source, a.seed)
        print(f"wrote {n} labelled held-out events to {a.labelled}")
    for mode in [] if a.speed_only else a.modes.split(","):
        rep = run(a.labelled, mode, out / f"report-{mode}.md", out)
        print(mode, json.dumps(rep.targets, default=str)[:2000])
        o = rep.overall
        print(
            f"  n={o.n} AUC={o.auc:.3f} TPR@1%={o.tpr_at_1fpr:.3f} TPR@5%={o.tpr_at_5fpr:.3f} ECE={o.ece:.3f} "
            f"tactic={rep.tactic_accuracy:.3f} ({rep.events_per_s:.0f} ev/s)"
        )
    if not a.no_speed:
        s = speed(a.labelled)
        (out / "speed.json").write_text(json.dumps(s, indent=1) + "\n")
        print("speed", s)


if __name__ == "__main__":
    main()
