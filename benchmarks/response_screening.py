"""The answer detectors on third-party answers: false positives on benign sets, recall on phishing e-mails.

Usage:
  .venv/bin/python benchmarks/response_screening.py [--per-set 2000] [--json OUT.json]

Each row of ../shared/datasets below becomes the `response` of an event (code is wrapped in a fenced block
as a model would answer) and goes through the four shipped response detectors. Third-party text stays in
memory; only counts are printed. Sets (licences in INDEX.md; all used for evaluation only here):
  codealpaca (outputs), mbpp (code), humaneval (prompt + canonical solution): ordinary code answers;
  tldr-pages (en): CLI how-tos as markdown with fenced commands (pages flagged security_vocab apart);
  sysadmin interview answers; atomic-red-team descriptions (prose about attacks, no working code);
  human/LLM phishing e-mails (phishing rows per origin, LLM legit rows; the 80 % test split only).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from stormwatch._paths import datasets_dir
from stormwatch.detectors import create
from stormwatch.models import Event

IDS = ["response-jailbreak", "response-leakage", "response-malware", "response-phishing"]


def _fence(code: str, lang: str = "python") -> str:
    return f"Here is the code:\n```{lang}\n{code.strip()}\n```\n"


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def _tldr(page: dict[str, Any]) -> str:
    lines = [f"`{page['command']}`: {page.get('description', '')}", ""]
    for ex in page.get("examples", []):
        lines += [
            f"- {ex['description']}",
            "```bash",
            ex["command"].replace("{{", "").replace("}}", ""),
            "```",
        ]
    return "\n".join(lines)


def sets(root: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (expected: benign | phishing, answers)."""
    out: dict[str, tuple[str, list[str]]] = {}
    ca = json.loads((root / "codealpaca" / "code_alpaca_2k.json").read_text("utf-8"))
    out["codealpaca outputs"] = ("benign", [_fence(r["output"]) for r in ca if r.get("output", "").strip()])
    mb = json.loads((root / "mbpp_sanitized" / "sanitized-mbpp.json").read_text("utf-8"))
    out["mbpp code"] = ("benign", [_fence(r["code"]) for r in mb])
    he = list(_jsonl(root / "humaneval" / "HumanEval.jsonl.gz"))
    out["humaneval solutions"] = ("benign", [_fence(r["prompt"] + r["canonical_solution"]) for r in he])
    pages = list(_jsonl(root / "tldr_pages" / "tldr_en.jsonl"))
    out["tldr pages"] = ("benign", [_tldr(p) for p in pages if not p.get("security_vocab")])
    out["tldr pages, security tools"] = ("benign", [_tldr(p) for p in pages if p.get("security_vocab")])
    qs = list(_jsonl(root / "sysadmin_interview_questions" / "questions.jsonl"))
    out["sysadmin interview answers"] = ("benign", [q["answer"] for q in qs if q.get("answer")])
    art = list(_jsonl(root / "atomic_red_team" / "atomic_tests.jsonl"))
    out["atomic red team descriptions"] = ("benign", [r["description"] for r in art if r.get("description")])
    # The e-mail rules were revised after reading a 20 % dev split (seed 1, file order): only the other
    # 80 % is reported.
    split = random.Random(1)
    mails = [
        m
        for m in _jsonl(root / "human_llm_phishing_emails" / "emails_normalized.jsonl")
        if split.random() >= 0.2
    ]
    out["legit e-mails (LLM)"] = ("benign", [m["text"] for m in mails if m["class"] == "legit"])
    for origin in sorted({m["origin"] for m in mails if m["class"] == "phishing"}):
        rows = [m["text"] for m in mails if m["class"] == "phishing" and m["origin"] == origin]
        out[
            f"phishing: {origin.split('(')[0].strip()} {origin.split('(')[1][:24].strip() if '(' in origin else ''}"
        ] = (
            "phishing",
            rows,
        )
    return out


def run(per_set: int, seed: int = 7) -> list[dict[str, Any]]:
    """One row per set: how many answers each detector reports."""
    dets = create(IDS)
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for name, (kind, answers) in sets(datasets_dir(os.environ)).items():
        sample = answers if len(answers) <= per_set else rng.sample(answers, per_set)
        hits = dict.fromkeys(IDS, 0)
        anyhit = 0
        for i, text in enumerate(sample):
            ev = Event(id=f"{name}-{i}", response=text)
            found = {f.detector for d in dets for f in d.detect(ev)}
            anyhit += bool(found)
            for d in found:
                hits[d] += 1
        rows.append({"set": name, "kind": kind, "n": len(sample), "any": anyhit, **hits})
    return rows


def main() -> None:
    """Entry point: print a markdown table (and write JSON with --json)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-set", type=int, default=2000)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    rows = run(args.per_set)
    print("| set | expected | n | any response detector | malware | phishing | jailbreak | leakage |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        n = r["n"]

        def pct(k: str, r: dict[str, Any] = r, n: int = n) -> str:
            return f"{r[k]} ({100.0 * r[k] / n:.1f} %)"

        print(
            f"| {r['set']} | {r['kind']} | {n} | {pct('any')} | {pct('response-malware')} | "
            f"{pct('response-phishing')} | {pct('response-jailbreak')} | {pct('response-leakage')} |"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1), "utf-8")


if __name__ == "__main__":
    main()
