"""The hunt end to end: events → verdicts → store → analytics → links → clusters → attribution → files."""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stormwatch._iter import batched
from stormwatch.hunt.analytics import AccountProfile, profile_accounts
from stormwatch.hunt.attribution import attribute_cluster, signals_of
from stormwatch.hunt.linking import (
    LinkConfig,
    PairEvidence,
    cluster_accounts,
    designate,
    link_accounts,
    links_of,
)
from stormwatch.hunt.profiles import ActorProfile, load_profiles
from stormwatch.hunt.result import ClusterExporter, HuntResult
from stormwatch.models import Cluster, Event, Verdict
from stormwatch.store.base import Store
from stormwatch.store.schema import FLAGGED, EventRow, FlagRule

if TYPE_CHECKING:
    from stormwatch.detectors.judge import Judge
    from stormwatch.ingest import IngestReport

__all__ = [
    "BATCH",
    "ClusterExporter",
    "HuntResult",
    "ProgressFn",
    "Scanner",
    "account_record",
    "analyse",
    "clusters_document",
    "default_scanner",
    "run_hunt",
    "scan_into_store",
    "write_outputs",
]

Scanner = Callable[[Sequence[Event]], list[Verdict]]
ProgressFn = Callable[[int], None]
_NS = uuid.UUID("6f1c1d1e-53a4-4c57-9d1b-57a7c0a7f0e1")
BATCH = 1000


# -- scanning ---------------------------------------------------------------------------------------
def default_scanner(*, fast: bool = True) -> Scanner:
    """The detection engine's batch scanner (fast path: stage-1 detectors only)."""
    from stormwatch.engine import Engine

    return Engine.default(fast=fast).scan_batch


_WORKER_SCANNER: Scanner | None = None
_PARENT_POLL_S = 0.5


def _init_worker(fast: bool, parent: int) -> None:
    global _WORKER_SCANNER
    _end_with_parent(parent)
    _WORKER_SCANNER = default_scanner(fast=fast)


def _end_with_parent(parent: int) -> None:
    """Make this worker process exit when the hunt process that started it dies, even by SIGKILL.

    A killed parent never shuts its pool down; its workers would wait on the task queue for ever. Linux
    delivers SIGKILL at once (prctl PR_SET_PDEATHSIG); a watchdog thread covers other systems and a parent
    that died before the prctl call.
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        while True:
            try:
                os.kill(parent, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:  # alive, owned by someone else (cannot happen for our own parent)
                pass
            time.sleep(_PARENT_POLL_S)

    threading.Thread(target=watch, name="stormwatch-parent-watch", daemon=True).start()


def _scan_in_worker(events: list[Event]) -> list[Verdict]:
    assert _WORKER_SCANNER is not None
    return _WORKER_SCANNER(events)


def scan_into_store(
    events: Iterable[Event],
    store: Store,
    *,
    scanner: Scanner | None = None,
    workers: int = 1,
    fast: bool = True,
    batch_size: int = BATCH,
    progress: ProgressFn | None = None,
    judge: Judge | None = None,
) -> int:
    """Scan events in batches (in a process pool when `workers` > 1) and upsert them with their verdicts.

    With a `judge`, each batch's verdicts pass through it in this process (one budget and one cache for the
    whole run, whatever the number of workers); it is consulted only on events in its uncertain band.
    """
    n = 0
    review = _reviewer(judge)
    if workers <= 1 or scanner is not None:
        scan = scanner or default_scanner(fast=fast)
        for batch in batched(events, batch_size):
            store.add(batch, review(batch, scan(batch)))
            n += len(batch)
            if progress:
                progress(len(batch))
        return n
    init = (fast, os.getpid())
    with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=init) as pool:
        pending: list[tuple[list[Event], Future[list[Verdict]]]] = []
        for batch in batched(events, batch_size):
            pending.append((batch, pool.submit(_scan_in_worker, batch)))
            while len(pending) > 2 * workers:
                done, fut = pending.pop(0)
                store.add(done, review(done, fut.result()))
                n += len(done)
                if progress:
                    progress(len(done))
        for done, fut in pending:
            store.add(done, review(done, fut.result()))
            n += len(done)
            if progress:
                progress(len(done))
    return n


def _reviewer(judge: Judge | None) -> Callable[[Sequence[Event], list[Verdict]], list[Verdict]]:
    if judge is None:
        return lambda events, verdicts: verdicts
    from stormwatch.engine import Engine

    # Re-deciding needs only the policy (the default one, as the hunt's scanners use), not the detectors.
    decide = Engine(detectors=[], decode=False).decide
    return lambda events, verdicts: judge.review_batch(events, verdicts, decide)


# -- analysis ---------------------------------------------------------------------------------------
def analyse(
    store: Store,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    link_config: LinkConfig | None = None,
    profiles: Sequence[ActorProfile] | None = None,
    flag: FlagRule = FLAGGED,
) -> HuntResult:
    """Analytics, linking, clustering, designation and attribution over what the store holds.

    Reads the store only: the designations it chose are in `HuntResult.designations`, for the caller to save
    (`run_hunt` does) so that the next analysis keeps the same names.
    """
    t0 = time.perf_counter()
    cfg = link_config or LinkConfig()
    stats = store.account_stats(since=since, until=until, flag=flag)
    suspicious = [r.account_id for r in stats if r.flagged >= cfg.min_flagged or r.blocked >= 1]
    rows = store.account_events(suspicious, since=since, until=until)
    accounts = profile_accounts(rows, flag=flag)
    core = [a for a, p in accounts.items() if p.suspicion >= cfg.min_suspicion]
    weak = [a for a, p in accounts.items() if cfg.weak_suspicion <= p.suspicion < cfg.min_suspicion]
    # pivot through specific infrastructure to the other accounts an operation rotated through
    flagged_any = {r.account_id for r in stats if r.flagged >= cfg.pivot_min_flagged}
    near = store.neighbours(core + weak, max_accounts=cfg.pivot_max_shared, since=since, until=until)
    pivots = sorted(set(weak) | {a for a in near if a in flagged_any or cfg.pivot_min_flagged <= 0})
    fresh = [a for a in pivots if a not in accounts]
    if fresh:
        extra_rows = store.account_events(fresh, since=since, until=until)
        rows = rows + extra_rows
        accounts.update(profile_accounts(extra_rows, flag=flag))
    linkable = sorted(set(core) | set(pivots))
    usage = store.infra_usage(linkable, since=since, until=until)
    background = store.background_prompts(
        exclude=list(accounts), n=cfg.background_sample, since=since, until=until
    )
    pairs: dict[tuple[str, str], PairEvidence] = link_accounts(
        accounts, rows, usage, cfg, background=background, pivots=pivots
    )
    groups = cluster_accounts(accounts, pairs, cfg)
    names = designate(groups, store.designations([a for g in groups for a in g]))
    profiles = tuple(profiles) if profiles is not None else load_profiles()
    rows_by_acc: dict[str, list[EventRow]] = {}
    for r in rows:
        rows_by_acc.setdefault(r.account_id, []).append(r)
    clusters: list[Cluster] = []
    examples: dict[str, list[EventRow]] = {}
    members = {a for g in groups for a in g}
    for group, name in zip(groups, names, strict=True):
        crow = [r for a in group for r in rows_by_acc.get(a, [])]
        cats: Counter[str] = Counter()
        techs: Counter[str] = Counter()
        langs: Counter[str] = Counter()
        hours = [0] * 24
        for a in group:
            p = accounts[a]
            cats.update(p.categories)
            techs.update(p.techniques)
            langs.update(p.languages)
            hours = [x + y for x, y in zip(hours, p.active_hours_utc, strict=True)]
        prompts = [r.prompt for r in crow if r.prompt]
        attribution = attribute_cluster(signals_of(cats, techs, prompts, langs, hours), profiles)
        times = [r.ts for r in crow if r.ts is not None]
        cluster = Cluster(
            id=str(uuid.uuid5(_NS, ",".join(group))),
            designation=name,
            accounts=list(group),
            events=len(crow),
            first_seen=min(times) if times else None,
            last_seen=max(times) if times else None,
            categories=dict(cats.most_common()),
            techniques=dict(techs.most_common()),
            attribution=attribution,
        )
        clusters.append(cluster)
        for a in group:
            accounts[a].cluster = name
        top = sorted((r for r in crow if r.verdict != "allow"), key=lambda r: (-r.risk, r.id))
        examples[name] = top[:5]
    # a pivot account that never tripped a detector and joined no cluster is nobody's business
    for a in pivots:
        if a not in members and accounts[a].flagged == 0:
            del accounts[a]
    member_pairs = {k: v for k, v in pairs.items() if k[0] in members or k[1] in members}
    links = links_of(member_pairs)
    return HuntResult(
        clusters=clusters,
        accounts=accounts,
        links=links,
        examples=examples,
        designations={a: c.designation for c in clusters for a in c.accounts},
        stats={
            "accounts": len(stats),
            "suspicious_accounts": len(accounts),
            "linkable_accounts": len(linkable),
            "pivot_accounts": len(pivots),
            "pairs": len(pairs),
            "clusters": len(clusters),
            "analysis_seconds": round(time.perf_counter() - t0, 2),
        },
    )


# -- outputs ----------------------------------------------------------------------------------------
def _iso(dt: datetime | None) -> str | None:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ") if dt else None


def clusters_document(result: HuntResult) -> dict[str, Any]:
    """The `clusters.json` contract object."""
    return {
        "clusters": [
            {
                "id": c.id,
                "designation": c.designation,
                "accounts": c.accounts,
                "events": c.events,
                "first_seen": _iso(c.first_seen),
                "last_seen": _iso(c.last_seen),
                "categories": c.categories,
                "techniques": c.techniques,
                "attribution": [
                    {"actor": a.actor, "group_id": a.group_id, "score": a.score, "evidence": list(a.evidence)}
                    for a in c.attribution
                ],
            }
            for c in result.clusters
        ]
    }


def account_record(p: AccountProfile) -> dict[str, Any]:
    """One `accounts.jsonl` object."""
    d = p.model_dump(mode="json")
    d["first_seen"] = _iso(p.first_seen)
    d["last_seen"] = _iso(p.last_seen)
    return d


def write_outputs(
    result: HuntResult, store: Store, out_dir: Path, *, exporter: ClusterExporter | None = None
) -> dict[str, Path]:
    """Write clusters.json, accounts.jsonl, findings.parquet and report.html into `out_dir`.

    `exporter` (the caller wires in `stormwatch.export.report_links`; the hunt does not import the export
    layer) writes each cluster's sharing files under `out_dir/exports/` and returns the report's links to
    them, by cluster id; without it the report links no exports.
    """
    from stormwatch.hunt.report import render_report

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "clusters": out_dir / "clusters.json",
        "accounts": out_dir / "accounts.jsonl",
        "findings": out_dir / "findings.parquet",
        "report": out_dir / "report.html",
    }
    paths["clusters"].write_text(
        json.dumps(clusters_document(result), indent=2, ensure_ascii=False) + "\n", "utf-8"
    )
    with paths["accounts"].open("w", encoding="utf-8") as fh:
        for acc in sorted(result.accounts):
            fh.write(
                json.dumps(account_record(result.accounts[acc]), ensure_ascii=False, sort_keys=True) + "\n"
            )
    result.stats["findings"] = store.export_findings(paths["findings"])
    finding_rows = store.findings_for([r.id for ex in result.examples.values() for r in ex])
    exports = (
        exporter(out_dir, result.clusters, store=store) if exporter is not None and result.clusters else {}
    )
    paths["report"].write_text(render_report(result, finding_rows, exports), "utf-8")
    return paths


def run_hunt(
    inputs: Sequence[str | Path] | Iterable[Event],
    *,
    store: Store,
    out_dir: Path | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    fast: bool = True,
    workers: int = 1,
    scanner: Scanner | None = None,
    link_config: LinkConfig | None = None,
    progress: ProgressFn | None = None,
    judge: Judge | None = None,
    report: IngestReport | None = None,
    exporter: ClusterExporter | None = None,
) -> HuntResult:
    """Read (paths through `stormwatch.ingest`, or events), scan, store, analyse and write the outputs.

    `judge` (optional) is consulted on flagged and uncertain events only: those whose risk lies in its band.
    `report` (optional) receives the ingest counts, bad records and damaged sources of the input paths.
    `exporter` (optional, see `write_outputs`) writes the per-cluster sharing files next to the outputs.
    The designations the analysis chose are saved in the store, so a later hunt keeps the names.
    """
    from stormwatch.ingest import IngestReport, read_events

    report = report if report is not None else IngestReport()
    t0 = time.perf_counter()

    def events() -> Iterator[Event]:
        if isinstance(inputs, Sequence) and all(isinstance(x, str | Path) for x in inputs):
            for src in inputs:
                yield from read_events(str(src), report=report)
        else:
            yield from inputs  # type: ignore[misc]

    scanned = scan_into_store(
        events(), store, scanner=scanner, workers=workers, fast=fast, progress=progress, judge=judge
    )
    scan_s = time.perf_counter() - t0
    result = analyse(store, since=since, until=until, link_config=link_config)
    store.save_designations(result.designations)
    result.stats.update(
        scanned=scanned,
        bad_records=report.bad_records,
        bad_by_kind=dict(report.by_kind),
        damaged_sources=len(report.damaged),
        scan_seconds=round(scan_s, 2),
        stored_events=store.count(),
    )
    if judge is not None:
        result.stats["judge"] = judge.stats.as_dict()
    if out_dir is not None:
        write_outputs(result, store, out_dir, exporter=exporter)
    return result
