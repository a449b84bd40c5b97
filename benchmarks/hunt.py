"""Hunt benchmark: cluster quality and attribution on simulated data with ground truth, then throughput.

    python benchmarks/hunt.py --seeds 1 2 3 --accounts 600 --days 30        # quality (normal + heavy evasion)
    python benchmarks/hunt.py --seeds --evasion --throughput 1000000 --workers 2   # time, memory, store size
    (one size per process: the main process's peak RSS is a high-water mark)
    add --write-docs to replace the "## Hunt" section of docs/benchmarks.md with the raw tables

Quality: adjusted Rand index over the actor accounts (unclustered accounts count as singletons), top-1
attribution accuracy over clusters of the five known actors (majority truth label), and the share of benign
accounts placed in any cluster. Detection is the engine's fast path (`Engine.default(fast=True)`).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from collections import Counter
from math import comb
from pathlib import Path
from typing import Any

from stormwatch.hunt import run_hunt
from stormwatch.simulate import BENIGN_LABEL, SimConfig, write_simulation
from stormwatch.store import open_store

KNOWN = {"Forest Blizzard", "Emerald Sleet", "Crimson Sandstorm", "Charcoal Typhoon", "Salmon Typhoon"}
DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def adjusted_rand_index(truth: list[str], pred: list[str]) -> float:
    """ARI of two labelings of the same items."""
    n = len(truth)
    table = Counter(zip(truth, pred, strict=True))
    a, b = Counter(truth), Counter(pred)
    index = sum(comb(v, 2) for v in table.values())
    sa, sb = sum(comb(v, 2) for v in a.values()), sum(comb(v, 2) for v in b.values())
    expected = sa * sb / comb(n, 2) if n > 1 else 0.0
    top = (sa + sb) / 2
    return 1.0 if top == expected else (index - expected) / (top - expected)


def quality(seed: int, accounts: int, days: int, evasion: str, workers: int = 1) -> dict[str, Any]:
    """One simulated run scored against its ground truth."""
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        n = write_simulation(SimConfig(accounts=accounts, days=days, seed=seed, evasion=evasion),  # type: ignore[arg-type]
                             d / "ev.jsonl", d / "truth.json")  # fmt: skip
        truth = json.loads((d / "truth.json").read_text("utf-8"))["accounts"]
        t0 = time.perf_counter()
        with open_store(None) as store:
            res = run_hunt([d / "ev.jsonl"], store=store, workers=workers)
        secs = time.perf_counter() - t0
    return {"seed": seed, "evasion": evasion, "events": n, **_scores(res, truth), "seconds": round(secs, 1)}


def _scores(res: Any, truth: dict[str, str]) -> dict[str, Any]:
    """ARI over actor accounts, top-1 over known-actor clusters, benign share in clusters."""
    cluster_of = {a: c.designation for c in res.clusters for a in c.accounts}
    actors = sorted(a for a, lab in truth.items() if lab != BENIGN_LABEL)
    ari = adjusted_rand_index([truth[a] for a in actors], [cluster_of.get(a, f"single:{a}") for a in actors])
    benign = [a for a, lab in truth.items() if lab == BENIGN_LABEL]
    benign_in = sum(1 for a in benign if a in cluster_of)
    hits = total = false_named = 0
    for c in res.clusters:
        label = Counter(truth[a] for a in c.accounts).most_common(1)[0][0]
        if label in KNOWN:
            total += 1
            hits += bool(c.attribution) and c.attribution[0].actor == label
        elif c.attribution:
            false_named += 1
    return {
        "ari": round(ari, 4), "top1": round(hits / total, 4) if total else 0.0, "known_clusters": total,
        "benign_in_clusters": f"{benign_in}/{len(benign)}", "named_unknown": false_named,
        "clusters": len(res.clusters),
    }  # fmt: skip


class _RssSampler:
    """Samples the summed RSS of this process and its children (the scan workers) every 0.5 s."""

    def __init__(self) -> None:
        import threading

        self.peak_total = 0
        self.peak_workers = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _rss(pid: int) -> int:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            return 0
        return 0

    def _children(self) -> list[int]:
        me = os.getpid()
        out = []
        for task in Path(f"/proc/{me}/task").iterdir():
            try:
                out += [int(x) for x in (task / "children").read_text().split()]
            except OSError:
                continue
        return out

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            workers = sum(self._rss(c) for c in self._children())
            self.peak_workers = max(self.peak_workers, workers)
            self.peak_total = max(self.peak_total, workers + self._rss(os.getpid()))

    def __enter__(self) -> _RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


EVENTS_PER_ACCOUNT = 77.3  # what SimConfig(days=30) produces on average (measured)


def throughput(events: int, workers: int, keep: Path | None = None) -> dict[str, Any]:
    """Simulate about `events` events, hunt them into a file store; wall time, peak RSS, store size."""
    accounts = max(200, round(events / EVENTS_PER_ACCOUNT))
    with tempfile.TemporaryDirectory(dir=keep) as tmp:
        d = Path(tmp)
        t0 = time.perf_counter()
        n = write_simulation(SimConfig(accounts=accounts, days=30, seed=1), d / "ev.jsonl", d / "truth.json")
        truth = json.loads((d / "truth.json").read_text("utf-8"))["accounts"]
        sim_s = time.perf_counter() - t0
        load0 = os.getloadavg()[0]
        t1 = time.perf_counter()
        with _RssSampler() as rss, open_store(d / "s.duckdb") as store:
            res = run_hunt([d / "ev.jsonl"], store=store, out_dir=d / "out", workers=workers)
        secs = time.perf_counter() - t1
        db_mb = (d / "s.duckdb").stat().st_size / 2**20
    self_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "events": n, "accounts": accounts, "simulate_s": round(sim_s, 1), "hunt_s": round(secs, 1),
        "scan_s": res.stats.get("scan_seconds"), "analysis_s": res.stats.get("analysis_seconds"),
        "events_per_s": round(n / secs), "peak_rss_main_mb": round(self_mb),
        "peak_rss_workers_mb": round(rss.peak_workers / 2**20),
        "peak_rss_total_mb": round(rss.peak_total / 2**20), "duckdb_mb": round(db_mb),
        "load_avg": f"{load0:.1f}→{os.getloadavg()[0]:.1f}", **_scores(res, truth),
    }  # fmt: skip


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return ""
    cols = list(rows[0])
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    out += ["| " + " | ".join(str(r[c]) for c in cols) + " |" for r in rows]
    return "\n".join(out)


def _write_docs(section: str) -> None:
    text = DOCS.read_text("utf-8") if DOCS.exists() else "# Benchmarks\n"
    start = text.find("\n## Hunt")
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        nxt = text.find("\n## ", start + 1)
        text = text[: start + 1] + section + (text[nxt:] if nxt != -1 else "")
    DOCS.write_text(text.rstrip("\n") + "\n", "utf-8")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print Markdown tables."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="*", default=[1, 2, 3])
    ap.add_argument("--accounts", type=int, default=600)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--evasion", nargs="*", default=["normal", "heavy"])
    ap.add_argument("--throughput", type=int, nargs="*", default=[])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--write-docs", action="store_true")
    args = ap.parse_args(argv)
    parts = [
        "## Hunt",
        "",
        f"Command: `python benchmarks/hunt.py {' '.join(sys.argv[1:])}` (engine fast path), "
        f"load average {os.getloadavg()[0]:.1f} at start.",
    ]
    q = [quality(s, args.accounts, args.days, ev, args.workers) for ev in args.evasion for s in args.seeds]
    if q:
        parts += ["", "### Clustering and attribution (simulated, ground truth)", "", _table(q)]
    t = [throughput(n, args.workers) for n in args.throughput]
    if t:
        parts += ["", f"### Throughput ({args.workers} workers)", "", _table(t)]
    section = "\n".join(parts) + "\n"
    print(section)
    if args.write_docs:
        _write_docs(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
