"""Policy-conflict detector evaluation: TPR/FPR per rule kind, language and split on our own conversations, and
the flag rate on general-benign prompts (OpenAssistant, Alpaca) placed after our system prompts.

    .venv/bin/python benchmarks/policy_conflict.py [--embed] [--split dev|heldout|fresh|fresh2|fresh3|all] [--general N] [--show-errors]

A conversation counts as detected when the detector reports a finding at or above `--threshold` (0.40: the
default policy's flag threshold for prompt-injection and system-prompt-extraction).
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

from stormwatch.detectors.policy_conflict import PolicyConflict, PolicyConflictEmbed
from stormwatch.models import Event, Message

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "policy_conflict"
SHARED = HERE.parents[1] / "shared" / "datasets"
# The system prompts general-benign prompts are placed after (each has several rules).
GENERAL_SYSTEMS = ("S-bank", "S-cook", "S-support", "S-json")


def load_set() -> list[dict[str, Any]]:
    """Every conversation of the evaluation set as a row with its event."""
    systems = yaml.safe_load((DATA / "systems.yaml").read_text(encoding="utf-8"))
    fams = [
        f
        for name in ("conversations.yaml", "fresh.yaml", "fresh2.yaml", "fresh3.yaml")
        for f in yaml.safe_load((DATA / name).read_text(encoding="utf-8"))
    ]
    rows = []
    for fam in fams:
        for sid in fam["systems"]:
            for lang, text in fam["turns"].items():
                ev = Event(
                    id=f"{fam['id']}/{sid}/{lang}",
                    messages=(
                        Message(role="system", content=systems[sid]),
                        Message(role="user", content=text),
                    ),
                )
                rows.append(
                    {**{k: fam[k] for k in ("id", "label", "kind", "split")}, "lang": lang, "event": ev}
                )
    return rows


def general_rows(n: int) -> list[dict[str, Any]]:
    """Up to n real user prompts from each licensed general-benign set, after each general system prompt."""
    systems = yaml.safe_load((DATA / "systems.yaml").read_text(encoding="utf-8"))
    texts: dict[str, list[str]] = {}
    oa = SHARED / "oasst_prompts" / "oasst1_validation_en_prompter.jsonl"
    if oa.exists():
        with oa.open(encoding="utf-8") as fh:
            texts["oasst1-validation"] = [json.loads(line)["text"] for line in fh][:n]
    al = SHARED / "alpaca_harmless" / "harmless_val.json"
    if al.exists():
        texts["alpaca-harmless-val"] = [r["instruction"] for r in json.loads(al.read_text(encoding="utf-8"))][
            :n
        ]
    rows = []
    for src, lst in texts.items():
        for sid in GENERAL_SYSTEMS:
            for i, t in enumerate(lst):
                ev = Event(
                    id=f"{src}/{sid}/{i}",
                    messages=(Message(role="system", content=systems[sid]), Message(role="user", content=t)),
                )
                rows.append({"source": src, "system": sid, "event": ev, "text": t})
    return rows


def _rate(hits: int, n: int) -> str:
    return f"{hits / n:.3f} ({hits}/{n})" if n else "—"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--embed", action="store_true", help="the learned detector (USE topic similarity)")
    ap.add_argument("--split", default="all", choices=["all", "dev", "heldout", "fresh", "fresh2", "fresh3"])
    ap.add_argument("--threshold", type=float, default=0.40)
    ap.add_argument("--general", type=int, default=300, help="rows per general-benign source (0: skip)")
    ap.add_argument("--show-errors", action="store_true")
    a = ap.parse_args()
    det: PolicyConflict = PolicyConflictEmbed() if a.embed else PolicyConflict()
    rows = [r for r in load_set() if a.split == "all" or r["split"] == a.split]
    t0 = time.perf_counter()
    found = det.detect_batch([r["event"] for r in rows])
    dt = time.perf_counter() - t0
    by_kind: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    by_lang: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    by_split: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for r, fs in zip(rows, found, strict=True):
        pos = any(f.score >= a.threshold for f in fs)
        for table, key in ((by_kind, r["kind"]), (by_lang, r["lang"]), (by_split, r["split"])):
            c = table[(r["label"], key)]
            c[0] += pos
            c[1] += 1
        if a.show_errors and pos != (r["label"] == "conflict"):
            print("ERR", r["event"].id, r["event"].messages[-1].content[:80], [(f.rule, f.score) for f in fs])
    name = "policy-conflict-embed" if a.embed else "policy-conflict"
    print(
        f"## {name}, split={a.split}, threshold {a.threshold} ({len(rows)} conversations, "
        f"{1000 * dt / max(1, len(rows)):.2f} ms each)\n"
    )
    for title, table in (("split", by_split), ("rule kind", by_kind), ("user-turn language", by_lang)):
        keys = sorted({k for _, k in table})
        print(f"| {title} | TPR (conflicts detected) | FPR (benign flagged) |\n|---|---|---|")
        for k in keys:
            tp, fp = table.get(("conflict", k), [0, 0]), table.get(("benign", k), [0, 0])
            print(f"| {k} | {_rate(tp[0], tp[1])} | {_rate(fp[0], fp[1])} |")
        print()
    if a.general:
        grows = general_rows(a.general)
        t0 = time.perf_counter()
        gf = det.detect_batch([r["event"] for r in grows])
        gdt = time.perf_counter() - t0
        per: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        kinds: dict[str, int] = defaultdict(int)
        for r, fs in zip(grows, gf, strict=True):
            pos = [f for f in fs if f.score >= a.threshold]
            c = per[(r["source"], r["system"])]
            c[0] += bool(pos)
            c[1] += 1
            for f in pos:
                kinds[f.rule] += 1
            if a.show_errors and pos:
                print(
                    "GEN", r["event"].id, r["text"][:90].replace("\n", " "), [(f.rule, f.score) for f in pos]
                )
        print(
            f"General-benign prompts after our system prompts ({len(grows)} conversations, "
            f"{1000 * gdt / max(1, len(grows)):.2f} ms each): flag rate\n"
        )
        print("| source | system | flagged |\n|---|---|---|")
        for (src, sid), c in sorted(per.items()):
            print(f"| {src} | {sid} | {_rate(c[0], c[1])} |")
        tot = [sum(c[0] for c in per.values()), sum(c[1] for c in per.values())]
        print(f"| all | all | {_rate(tot[0], tot[1])} |\n")
        print("Flagged by rule: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) + "\n")


if __name__ == "__main__":
    main()
