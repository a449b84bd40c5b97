"""What exporters read: the hunt's clusters.json (+ findings.parquet, accounts.jsonl) and/or the store."""

from __future__ import annotations

import ipaddress
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from stormwatch.detectors.fingerprint import MIN_TOKENS, PromptIndicator, fingerprint
from stormwatch.export._common import ExportError, ExportOptions, det_uuid, iso, to_utc
from stormwatch.models import Cluster
from stormwatch.store.base import Store
from stormwatch.store.schema import FLAGGED, EventRow, FindingRow, FlagRule

MAX_INFRA = 100  # infrastructure indicators kept per cluster (most used first)
MAX_EXAMPLES = 3
MAX_INPUT_BYTES = 256 * 1024 * 1024
MAX_PER_CLUSTER = 500  # prompt indicators kept per cluster (most sent first)


class TechniqueStat(BaseModel):
    """One technique of a cluster: its count, when it was seen, its categories and example rules."""

    model_config = ConfigDict(frozen=True)

    id: str
    count: int
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    categories: dict[str, int] = {}
    examples: list[str] = []


class InfraStat(BaseModel):
    """An IP address or network a cluster used."""

    model_config = ConfigDict(frozen=True)

    value: str
    version: int
    network: bool
    events: int
    accounts: int
    first_seen: datetime | None = None
    last_seen: datetime | None = None


class ClusterData(BaseModel):
    """One cluster with everything the exporters need about it."""

    model_config = ConfigDict(frozen=True)

    cluster: Cluster
    techniques: list[TechniqueStat]
    infrastructure: list[InfraStat] = []
    prompts: list[PromptIndicator] = []


@dataclass
class ExportData:
    """The clusters to export and where they came from."""

    clusters: list[ClusterData]
    sources: list[str] = field(default_factory=list)

    def clock(self, options: ExportOptions) -> datetime:
        """The export's clock: `options.created`, else the latest last_seen (so exports are reproducible)."""
        if options.created is not None:
            return options.created
        seen = [to_utc(c.cluster.last_seen) for c in self.clusters if c.cluster.last_seen is not None]
        return max(seen) if seen else datetime(1970, 1, 1, tzinfo=UTC)


def load_clusters(path: Path) -> list[Cluster]:
    """Read and validate a hunt `clusters.json`; raises ExportError naming the file and cluster."""
    try:
        if path.stat().st_size > MAX_INPUT_BYTES:
            raise ExportError(f"{path}: larger than {MAX_INPUT_BYTES} bytes")
        doc = json.loads(path.read_text("utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ExportError(f"{path}: cannot read clusters: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("clusters"), list):
        raise ExportError(f"{path}: expected an object with a 'clusters' list")
    out = []
    for i, raw in enumerate(doc["clusters"]):
        try:
            out.append(Cluster.model_validate(raw))
        except ValidationError as exc:
            raise ExportError(f"{path}: clusters[{i}]: {exc}") from exc
    return out


def select_clusters(clusters: Sequence[Cluster], ids: Sequence[str] | None) -> list[Cluster]:
    """The clusters named by id or designation (all when `ids` is None), in input order."""
    if ids is None:
        return list(clusters)
    # ids and designations match case-insensitively (`--cluster sw-c-1`, `--cluster "forest blizzard"`)
    wanted = {i.casefold(): i for i in ids}
    found = [c for c in clusters if c.id.casefold() in wanted or c.designation.casefold() in wanted]
    seen = {c.id.casefold() for c in found} | {c.designation.casefold() for c in found}
    missing = {given for key, given in wanted.items() if key not in seen}
    if missing:
        known = ", ".join(f"{c.id} ({c.designation})" for c in clusters[:20])
        raise ExportError(f"unknown cluster(s): {', '.join(sorted(missing))}; known: {known or 'none'}")
    return found


def _ts(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return to_utc(value)
    if isinstance(value, str) and value:
        try:
            return to_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


def _parquet_findings(path: Path, accounts: set[str]) -> list[tuple[FindingRow, datetime | None]]:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        tbl = pq.read_table(str(path))
    except (OSError, ValueError) as exc:
        raise ExportError(f"{path}: cannot read findings: {exc}") from exc
    if "account_id" not in tbl.column_names:
        raise ExportError(f"{path}: findings have no account_id column")
    import pyarrow as pa

    tbl = tbl.filter(pc.is_in(tbl["account_id"], value_set=pa.array(sorted(accounts), pa.string())))
    fields = set(FindingRow.model_fields)
    out = []
    for i, rec in enumerate(tbl.to_pylist()):
        try:
            row = FindingRow.model_validate({k: v for k, v in rec.items() if k in fields})
        except ValidationError as exc:
            raise ExportError(f"{path}: finding {i}: {exc}") from exc
        out.append((row, _ts(rec.get("timestamp"))))
    return out


def _technique_stats(
    cluster: Cluster, findings: list[tuple[FindingRow, datetime | None]], is_technique: Any
) -> list[TechniqueStat]:
    first: dict[str, datetime] = {}
    last: dict[str, datetime] = {}
    cats: dict[str, Counter[str]] = defaultdict(Counter)
    examples: dict[str, Counter[str]] = defaultdict(Counter)
    for f, ts in findings:
        if f.error:
            continue
        for t in f.techniques:
            if t not in cluster.techniques:
                continue
            if ts is not None:
                first[t] = min(first.get(t, ts), ts)
                last[t] = max(last.get(t, ts), ts)
            if f.category:
                cats[t][f.category] += 1
            expl = (f.explanation or "").strip()
            rule = f"{f.detector}/{f.rule}"
            examples[t][f"{rule}: {expl[:160]}" if expl else rule] += 1
    out = []
    for t in sorted(cluster.techniques):
        if not is_technique(t):
            continue
        ex = [k for k, _ in sorted(examples[t].items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_EXAMPLES]]
        out.append(
            TechniqueStat(
                id=t,
                count=int(cluster.techniques[t]),
                first_seen=first.get(t, cluster.first_seen and to_utc(cluster.first_seen)),
                last_seen=last.get(t, cluster.last_seen and to_utc(cluster.last_seen)),
                categories=dict(sorted(cats[t].items())),
                examples=ex,
            )
        )
    return out


_DOC_NETS = tuple(
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)


def _shareable(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Global addresses, plus the documentation ranges (examples); private ones identify nothing outside."""
    return addr.is_global or any(addr in n for n in _DOC_NETS if n.version == addr.version)


@dataclass
class _IpUse:
    """How a cluster used one address (accumulated over its event rows)."""

    version: int
    net: str | None
    events: int = 0
    accounts: set[str] = field(default_factory=set)
    seen: list[datetime] = field(default_factory=list)


def _infra_from_events(
    rows: list[EventRow], shared: dict[tuple[str, str], tuple[int, int]]
) -> list[InfraStat]:
    ips: dict[str, _IpUse] = {}
    for r in rows:
        if not r.source_ip:
            continue
        try:
            addr = ipaddress.ip_address(r.source_ip.strip())
        except ValueError:
            continue
        if not _shareable(addr):
            continue
        g = ips.setdefault(str(addr), _IpUse(version=addr.version, net=r.net))
        g.events += 1
        g.accounts.add(r.account_id)
        ts = _ts(r.ts)
        if ts is not None:
            g.seen.append(ts)
    out: list[InfraStat] = []
    nets: dict[str, list[str]] = defaultdict(list)
    for ip, g in ips.items():
        total, susp = shared.get(("ip", ip), (len(g.accounts), len(g.accounts)))
        if total - susp > susp:
            continue  # mostly used by accounts outside the cluster: a shared NAT or proxy, not theirs
        out.append(
            InfraStat(
                value=ip,
                version=g.version,
                network=False,
                events=g.events,
                accounts=len(g.accounts),
                first_seen=min(g.seen) if g.seen else None,
                last_seen=max(g.seen) if g.seen else None,
            )
        )
        if g.net:
            nets[g.net].append(ip)
    for net, members in nets.items():
        total, susp = shared.get(("net", net), (0, 0))
        if len(members) < 2 or total - susp > susp:
            continue  # a network is an indicator only when the cluster rotates inside it
        grp = [ips[m] for m in members]
        stamps: list[datetime] = [t for g in grp for t in g.seen]
        out.append(
            InfraStat(
                value=net,
                version=grp[0].version,
                network=True,
                events=sum(g.events for g in grp),
                accounts=len(set().union(*(g.accounts for g in grp))),
                first_seen=min(stamps) if stamps else None,
                last_seen=max(stamps) if stamps else None,
            )
        )
    out.sort(key=lambda s: (-s.events, s.value))
    return sorted(out[:MAX_INFRA], key=lambda s: (s.network, s.version, s.value))


def _infra_from_accounts(path: Path, cluster: Cluster) -> list[InfraStat]:
    ips: Counter[str] = Counter()
    accs: dict[str, set[str]] = defaultdict(set)
    members = set(cluster.accounts)
    try:
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                rec = json.loads(line) if line.strip() else None
                if not isinstance(rec, dict) or rec.get("account_id") not in members:
                    continue
                for ip, n in (rec.get("source_ips") or {}).items():
                    ips[str(ip)] += int(n)
                    accs[str(ip)].add(str(rec["account_id"]))
    except (OSError, json.JSONDecodeError, ValueError) as exc:
        raise ExportError(f"{path}: cannot read accounts: {exc}") from exc
    rows = []
    for ip, n in ips.items():
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            continue
        if _shareable(addr):
            rows.append(InfraStat(value=str(addr), version=addr.version, network=False, events=n,
                                  accounts=len(accs[ip]), first_seen=cluster.first_seen,
                                  last_seen=cluster.last_seen))  # fmt: skip
    rows.sort(key=lambda s: (-s.events, s.value))
    return sorted(rows[:MAX_INFRA], key=lambda s: (s.version, s.value))


def indicator_id(producer: str, sha256: str) -> str:
    """Deterministic indicator id from the producer and the prompt hash."""
    return f"prompt-indicator--{det_uuid('prompt-indicator', producer, sha256)}"


def indicators_from_events(
    rows: Sequence[EventRow], *, producer: str, cluster: str | None, limit: int = MAX_PER_CLUSTER
) -> list[PromptIndicator]:
    """Prompt indicators from store event rows (their prompt, time, categories, techniques), one per hash."""
    groups: dict[str, dict[str, Any]] = {}
    for row in rows:
        if not row.prompt:
            continue
        fp = fingerprint(row.prompt)
        if fp.tokens < MIN_TOKENS:
            continue
        g = groups.setdefault(fp.sha256, {"fp": fp, "n": 0, "cats": Counter(), "techs": Counter(), "ts": []})
        g["n"] += 1
        g["cats"].update(row.categories)
        g["techs"].update(row.techniques)
        if row.ts is not None:
            g["ts"].append(row.ts)
    ranked = sorted(groups.items(), key=lambda kv: (-kv[1]["n"], kv[0]))[:limit]
    out = []
    for sha, g in sorted(ranked, key=lambda kv: kv[0]):
        cats: Counter[str] = g["cats"]
        category = sorted(cats.items(), key=lambda kv: (-kv[1], kv[0]))[0][0] if cats else None
        out.append(
            PromptIndicator(
                id=indicator_id(producer, sha),
                sha256=sha,
                minhash=g["fp"].minhash_b64(),
                tokens=g["fp"].tokens,
                category=category,
                techniques=sorted(g["techs"]),
                cluster=cluster,
                count=g["n"],
                first_seen=iso(min(g["ts"])) if g["ts"] else None,
                last_seen=iso(max(g["ts"])) if g["ts"] else None,
            )
        )
    return out


def gather(
    clusters: Sequence[Cluster],
    *,
    hunt_dir: Path | None = None,
    store: Store | None = None,
    producer: str = "Stormwatch",
    flag: FlagRule = FLAGGED,
) -> ExportData:
    """Collect technique statistics, infrastructure and prompt indicators for each cluster.

    Prompt indicators come from the cluster's events that `flag` counts as flagged (the hunt's own cut).
    """
    from stormwatch.kb import load_kb

    kb = load_kb()

    def is_technique(tid: str) -> bool:
        return kb.kind_of(tid) == "technique"

    findings_path = hunt_dir / "findings.parquet" if hunt_dir is not None else None
    accounts_path = hunt_dir / "accounts.jsonl" if hunt_dir is not None else None
    sources = []
    if hunt_dir is not None:
        sources.append(str(hunt_dir))
    if store is not None:
        sources.append(str(getattr(store, "path", "store")))
    out = []
    for c in clusters:
        rows: list[EventRow] = store.account_events(c.accounts) if store is not None else []
        findings: list[tuple[FindingRow, datetime | None]] = []
        if findings_path is not None and findings_path.exists():
            findings = _parquet_findings(findings_path, set(c.accounts))
        elif store is not None:
            by_event = store.findings_for([r.id for r in rows])
            ts_of = {r.id: _ts(r.ts) for r in rows}
            findings = [(f, ts_of.get(eid)) for eid, fs in by_event.items() for f in fs]
        infra: list[InfraStat] = []
        prompts: list[PromptIndicator] = []
        if store is not None:
            shared = store.infra_usage(c.accounts)
            infra = _infra_from_events(rows, shared)
            flagged = [r for r in rows if flag.flagged(r.verdict, r.risk)]
            prompts = indicators_from_events(flagged, producer=producer, cluster=c.designation)
        elif accounts_path is not None and accounts_path.exists():
            infra = _infra_from_accounts(accounts_path, c)
        out.append(
            ClusterData(
                cluster=c,
                techniques=_technique_stats(c, findings, is_technique),
                infrastructure=infra,
                prompts=prompts,
            )
        )
    return ExportData(clusters=out, sources=sources)


Reanalyse = Callable[[Store], Sequence[Cluster]]


def open_inputs(
    *,
    hunt_dir: Path | None,
    store_path: Path | None,
    cluster_ids: Sequence[str] | None,
    producer: str = "Stormwatch",
    reanalyse: Reanalyse | None = None,
) -> ExportData:
    """Clusters from the hunt directory's clusters.json, the store adding prompts and infrastructure.

    An export reads a hunt result; it never re-runs the analysis on its own. With only a store, the caller
    must say so by passing `reanalyse` (the CLI's `--reanalyse` wires in the hunt's analysis): its clusters
    are exported and nothing is written to the store.
    """
    if hunt_dir is None and store_path is None:
        raise ExportError("give --hunt-dir (the hunt's --out directory) and/or --store")
    if hunt_dir is not None and not (hunt_dir / "clusters.json").exists():
        raise ExportError(f"{hunt_dir / 'clusters.json'}: not found (run `stormwatch hunt --out DIR`)")
    if hunt_dir is None and reanalyse is None:
        raise ExportError(
            f"{store_path}: no hunt result to export: give --hunt-dir (the hunt's --out directory), "
            "or --reanalyse to run the analysis again over the store"
        )
    if store_path is None:
        assert hunt_dir is not None
        clusters = select_clusters(load_clusters(hunt_dir / "clusters.json"), cluster_ids)
        return gather(clusters, hunt_dir=hunt_dir, producer=producer)
    if not store_path.exists():
        raise ExportError(f"{store_path}: store not found")
    from stormwatch.store import open_store

    with open_store(store_path) as store:
        if hunt_dir is not None:
            everything = load_clusters(hunt_dir / "clusters.json")
        else:
            assert reanalyse is not None
            everything = list(reanalyse(store))
        clusters = select_clusters(everything, cluster_ids)
        return gather(clusters, hunt_dir=hunt_dir, store=store, producer=producer)
