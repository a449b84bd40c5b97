"""DuckDB backend of the store: one file (or memory), upserts by event id through Arrow batches; sealed
records (the guard's evidence) are append-only."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from stormwatch.errors import StormwatchError
from stormwatch.models import Event, Verdict
from stormwatch.store._behaviour import AccountBehaviour, KeyShift, account_behaviour, key_shifts
from stormwatch.store.base import LINK_METADATA_KEYS
from stormwatch.store.schema import (
    EVENTS,
    FINDINGS,
    FLAGGED,
    VERDICTS,
    AccountStats,
    EventRow,
    FindingRow,
    FlagRule,
    LinkKey,
    ddl,
    encode_link_key,
)

MAX_TEXT = 4000  # chars of prompt/response kept per event: enough for analytics, bounded storage

_SCHEMA = ddl()
_EV_SCHEMA = EVENTS
_VD_SCHEMA = VERDICTS
_FD_SCHEMA = FINDINGS


class StoreError(StormwatchError):
    """The store could not be opened or written; names the path."""


@lru_cache(maxsize=65536)
def network_of(ip: str | None) -> str | None:
    """The /24 (IPv4) or /64 (IPv6) network of an address; None when it is not an IP address."""
    if not ip:
        return None
    try:
        addr = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    prefix = 24 if addr.version == 4 else 64
    return str(ipaddress.ip_network(f"{addr}/{prefix}", strict=False))


def _utc_naive(ts: datetime | None) -> datetime | None:
    if ts is None:
        return None
    if ts.tzinfo is not None:
        ts = ts.astimezone(UTC).replace(tzinfo=None)
    return ts


def _prompt_of(event: Event) -> str:
    parts = [m.content for m in event.messages if m.role == "user"]
    if not parts:
        parts = [m.content for m in event.messages if m.role != "assistant"]
    return "\n".join(parts)[:MAX_TEXT]


def _link_keys(event: Event) -> list[str]:
    keys = []
    for k in LINK_METADATA_KEYS:
        v = event.metadata.get(k)
        if isinstance(v, str | int) and str(v):
            keys.append(encode_link_key(LinkKey(kind=k, value=str(v))))
    return keys


class DuckDBStore:
    """The embedded default store: a DuckDB file (or `:memory:`), one writer process at a time."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        try:
            self._con = duckdb.connect(self.path)
            self._con.execute(_SCHEMA).fetchall()
        except duckdb.Error as exc:
            raise StoreError(f"{self.path}: cannot open store: {exc}") from exc

    # -- writing -----------------------------------------------------------------------------------
    def add(self, events: Sequence[Event], verdicts: Sequence[Verdict], *, seal: bool = False) -> int:
        """Upsert events and their verdicts (matched by id); returns the number of events written.

        A sealed record is evidence (what the guard saw and decided): it is never replaced. `seal=True`
        writes only ids the store does not hold yet (the first record of an id wins) and seals them;
        `seal=False` (ingest, re-runs over the same files: idempotent) replaces any record but a sealed one.
        """
        last_ev: dict[str, Event] = {e.id: e for e in events}  # last one wins inside a batch too
        last_vd: dict[str, Verdict] = {v.id: v for v in verdicts}
        if seal:  # first one wins inside a sealed batch, as across batches
            last_ev = {}
            for e in events:
                last_ev.setdefault(e.id, e)
            last_vd = {}
            for v in verdicts:
                last_vd.setdefault(v.id, v)
        if not last_ev and not last_vd:
            return 0
        kept = self._writable(set(last_ev) | set(last_vd), seal=seal)
        if len(kept) < len(last_ev) + len(last_vd):
            last_ev = {k: e for k, e in last_ev.items() if k in kept}
            last_vd = {k: v for k, v in last_vd.items() if k in kept}
            if not last_ev and not last_vd:
                return 0
        ev_rows: dict[str, list[Any]] = {name: [] for name in _EV_SCHEMA.names}
        for e in last_ev.values():
            ev_rows["id"].append(e.id)
            ev_rows["ts"].append(_utc_naive(e.timestamp))
            ev_rows["account_id"].append(e.account_id)
            ev_rows["org_id"].append(e.org_id)
            ev_rows["session_id"].append(e.session_id)
            ev_rows["source_ip"].append(e.source_ip)
            ev_rows["net"].append(network_of(e.source_ip))
            ev_rows["user_agent"].append(e.user_agent)
            ev_rows["api_key_id"].append(e.api_key_id)
            ev_rows["model"].append(e.model)
            ev_rows["prompt"].append(_prompt_of(e))
            ev_rows["response"].append(e.response[:MAX_TEXT] if e.response else e.response)
            ev_rows["link_keys"].append(_link_keys(e))
            ev_rows["metadata"].append(json.dumps(e.metadata, default=str)[:MAX_TEXT] if e.metadata else None)
        vd_rows: dict[str, list[Any]] = {name: [] for name in _VD_SCHEMA.names}
        fd_rows: dict[str, list[Any]] = {name: [] for name in _FD_SCHEMA.names}
        for v in last_vd.values():
            vd_rows["id"].append(v.id)
            vd_rows["risk"].append(v.risk)
            vd_rows["verdict"].append(v.verdict)
            vd_rows["categories"].append(list(v.categories))
            vd_rows["techniques"].append(list(v.techniques))
            vd_rows["tactics"].append(list(v.tactics))
            vd_rows["reasons"].append(list(v.reasons))
            for i, f in enumerate(v.findings):
                fd_rows["event_id"].append(v.id)
                fd_rows["idx"].append(i)
                fd_rows["detector"].append(f.detector)
                fd_rows["rule"].append(f.rule)
                fd_rows["score"].append(f.score)
                fd_rows["category"].append(f.category)
                fd_rows["techniques"].append(list(f.techniques))
                fd_rows["explanation"].append(f.explanation)
                fd_rows["evidence"].append(json.dumps([ev.model_dump() for ev in f.evidence])[:MAX_TEXT])
                fd_rows["error"].append(f.error)
        ev_tbl = pa.table(ev_rows, schema=_EV_SCHEMA)
        vd_tbl = pa.table(vd_rows, schema=_VD_SCHEMA)
        fd_tbl = pa.table(fd_rows, schema=_FD_SCHEMA)
        con = self._con
        try:
            con.execute("BEGIN").fetchall()
            con.register("_ev", ev_tbl)
            con.register("_vd", vd_tbl)
            con.register("_fd", fd_tbl)
            if last_ev:
                con.execute("INSERT OR REPLACE INTO events SELECT * FROM _ev").fetchall()
            if last_vd:
                con.execute("DELETE FROM findings WHERE event_id IN (SELECT id FROM _vd)").fetchall()
                con.execute("INSERT OR REPLACE INTO verdicts SELECT * FROM _vd").fetchall()
                con.execute("INSERT INTO findings SELECT * FROM _fd").fetchall()
            if seal:
                con.execute(
                    "INSERT OR IGNORE INTO sealed SELECT id FROM _ev UNION SELECT id FROM _vd"
                ).fetchall()
            con.execute("COMMIT").fetchall()
        except duckdb.Error as exc:
            con.execute("ROLLBACK").fetchall()
            raise StoreError(f"{self.path}: write failed: {exc}") from exc
        finally:
            for name in ("_ev", "_vd", "_fd"):
                con.unregister(name)
        return len(last_ev)

    def _writable(self, ids: set[str], *, seal: bool) -> set[str]:
        """The ids of `ids` this write may touch: never a sealed one; with `seal`, only ones not stored."""
        con = self._con
        con.register("_ids", pa.table({"id": pa.array(sorted(ids), pa.string())}))
        try:
            sql = "SELECT s.id FROM sealed s JOIN _ids USING (id)"
            if seal:
                sql += " UNION SELECT e.id FROM events e JOIN _ids USING (id)"
                sql += " UNION SELECT v.id FROM verdicts v JOIN _ids USING (id)"
            taken = {str(r[0]) for r in con.execute(sql).fetchall()}
        except duckdb.Error as exc:
            raise StoreError(f"{self.path}: read failed: {exc}") from exc
        finally:
            con.unregister("_ids")
        return ids - taken

    def is_sealed(self, event_id: str) -> bool:
        """Whether the record of this id is sealed evidence (written by the guard; never replaced)."""
        rows = self._con.execute("SELECT count(*) FROM sealed WHERE id = ?", [event_id]).fetchall()
        return bool(rows and rows[0][0])

    # -- reading -----------------------------------------------------------------------------------
    def count(self) -> int:
        """Number of distinct events stored."""
        rows = self._con.execute("SELECT count(*) FROM events").fetchall()
        return int(rows[0][0]) if rows else 0

    @staticmethod
    def _window(since: datetime | None, until: datetime | None, alias: str = "e") -> tuple[str, list[Any]]:
        clauses, params = [], []
        if since is not None:
            clauses.append(f"{alias}.ts >= ?")
            params.append(_utc_naive(since))
        if until is not None:
            clauses.append(f"{alias}.ts < ?")
            params.append(_utc_naive(until))
        return (" AND " + " AND ".join(clauses) if clauses else ""), params

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cur = self._con.execute(sql, list(params))
        names = [d[0] for d in cur.description or []]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def account_stats(
        self, *, since: datetime | None = None, until: datetime | None = None, flag: FlagRule = FLAGGED
    ) -> list[AccountStats]:
        """One row per account: events, flagged (by `flag`), blocked, max_risk, first_seen, last_seen."""
        where, params = self._window(since, until)
        sql = f"""
            SELECT e.account_id, count(*) AS events,
                   count(*) FILTER (WHERE v.verdict <> 'allow' OR v.risk >= ?) AS flagged,
                   count(*) FILTER (WHERE v.verdict = 'block') AS blocked,
                   coalesce(max(v.risk), 0) AS max_risk, min(e.ts) AS first_seen, max(e.ts) AS last_seen
            FROM events e LEFT JOIN verdicts v ON v.id = e.id
            WHERE e.account_id IS NOT NULL {where}
            GROUP BY e.account_id ORDER BY e.account_id
        """
        return [AccountStats.model_validate(r) for r in self._rows(sql, [flag.risk, *params])]

    def infra_usage(
        self, suspicious: Sequence[str], *, since: datetime | None = None, until: datetime | None = None
    ) -> dict[tuple[str, str], tuple[int, int]]:
        """For each (kind, value) shared by two or more suspicious accounts: (accounts, suspicious accounts)."""
        if len(suspicious) < 2:
            return {}
        where, params = self._window(since, until)
        con = self._con
        con.register("_susp", pa.table({"account_id": list(dict.fromkeys(suspicious))}))
        try:
            sql = f"""
                WITH e AS (SELECT * FROM events e WHERE e.account_id IS NOT NULL {where}),
                pairs AS (
                    SELECT DISTINCT 'ip' AS kind, source_ip AS value, account_id FROM e WHERE source_ip IS NOT NULL
                    UNION SELECT DISTINCT 'net', net, account_id FROM e WHERE net IS NOT NULL
                    UNION SELECT DISTINCT 'user_agent', user_agent, account_id FROM e WHERE user_agent IS NOT NULL
                    UNION SELECT DISTINCT 'api_key_id', api_key_id, account_id FROM e WHERE api_key_id IS NOT NULL
                    UNION SELECT DISTINCT 'org', org_id, account_id FROM e WHERE org_id IS NOT NULL
                    UNION SELECT DISTINCT split_part(k, '=', 1), substr(k, strpos(k, '=') + 1), account_id
                          FROM (SELECT unnest(link_keys) AS k, account_id FROM e)
                ),
                flagged AS (
                    SELECT p.kind, p.value, p.account_id, (s.account_id IS NOT NULL) AS susp
                    FROM pairs p LEFT JOIN _susp s ON s.account_id = p.account_id
                )
                SELECT kind, value, count(*) AS n, count(*) FILTER (WHERE susp) AS ns
                FROM flagged GROUP BY kind, value HAVING count(*) FILTER (WHERE susp) >= 2
            """
            rows = con.execute(sql, params).fetchall()
        finally:
            con.unregister("_susp")
        return {(str(k), str(v)): (int(n), int(ns)) for k, v, n, ns in rows}

    def account_events(
        self, accounts: Sequence[str], *, since: datetime | None = None, until: datetime | None = None
    ) -> list[EventRow]:
        """Event rows joined with their verdicts for the given accounts, ordered by account and time."""
        if not accounts:
            return []
        where, params = self._window(since, until)
        con = self._con
        con.register("_acc", pa.table({"account_id": list(dict.fromkeys(accounts))}))
        try:
            sql = f"""
                SELECT e.id, e.ts, e.account_id, e.org_id, e.session_id, e.source_ip, e.net, e.user_agent,
                       e.api_key_id, e.model, e.prompt, e.response, e.link_keys,
                       coalesce(v.risk, 0) AS risk, coalesce(v.verdict, 'allow') AS verdict,
                       coalesce(v.categories, []) AS categories, coalesce(v.techniques, []) AS techniques
                FROM events e JOIN _acc a ON a.account_id = e.account_id
                LEFT JOIN verdicts v ON v.id = e.id
                WHERE true {where}
                ORDER BY e.account_id, e.ts NULLS FIRST, e.id
            """
            return [EventRow.model_validate(r) for r in self._rows(sql, params)]
        finally:
            con.unregister("_acc")

    def background_prompts(
        self,
        *,
        exclude: Sequence[str] = (),
        n: int = 20000,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[tuple[str, int]]:
        """A deterministic sample of distinct prompts of accounts not in `exclude`, each with how many
        accounts sent it (ordinary traffic: what phrasing is common)."""
        where, params = self._window(since, until)
        con = self._con
        con.register("_ex", pa.table({"account_id": pa.array(list(dict.fromkeys(exclude)), pa.string())}))
        try:
            sql = f"""
                SELECT e.prompt, count(DISTINCT e.account_id) AS n, hash(e.prompt) AS h FROM events e
                WHERE e.prompt IS NOT NULL AND e.account_id NOT IN (SELECT account_id FROM _ex) {where}
                GROUP BY e.prompt ORDER BY h LIMIT ?
            """
            return [(str(r[0]), int(r[1])) for r in con.execute(sql, [*params, n]).fetchall()]
        finally:
            con.unregister("_ex")

    def neighbours(
        self,
        accounts: Sequence[str],
        *,
        kinds: Sequence[str] = ("ip", "net", "api_key_id", "payment_hash", "email_domain_hash", "email_hash"),
        max_accounts: int = 12,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[str]:
        """Accounts outside `accounts` that share a specific value (one used by at most `max_accounts`
        accounts) of the given infrastructure kinds with one of them: the pivot from known-bad accounts."""
        if not accounts:
            return []
        where, params = self._window(since, until)
        con = self._con
        con.register("_seed", pa.table({"account_id": list(dict.fromkeys(accounts))}))
        con.register("_kinds", pa.table({"kind": list(dict.fromkeys(kinds))}))
        try:
            sql = f"""
                WITH e AS (SELECT * FROM events e WHERE e.account_id IS NOT NULL {where}),
                pairs AS (
                    SELECT DISTINCT 'ip' AS kind, source_ip AS value, account_id FROM e WHERE source_ip IS NOT NULL
                    UNION SELECT DISTINCT 'net', net, account_id FROM e WHERE net IS NOT NULL
                    UNION SELECT DISTINCT 'api_key_id', api_key_id, account_id FROM e WHERE api_key_id IS NOT NULL
                    UNION SELECT DISTINCT split_part(k, '=', 1), substr(k, strpos(k, '=') + 1), account_id
                          FROM (SELECT unnest(link_keys) AS k, account_id FROM e)
                ),
                p AS (SELECT * FROM pairs WHERE kind IN (SELECT kind FROM _kinds)),
                specific AS (
                    SELECT kind, value FROM p GROUP BY kind, value
                    HAVING count(*) <= ? AND count(*) FILTER (WHERE account_id IN (SELECT account_id FROM _seed)) >= 1
                )
                SELECT DISTINCT p.account_id FROM p JOIN specific USING (kind, value)
                WHERE p.account_id NOT IN (SELECT account_id FROM _seed)
                ORDER BY p.account_id
            """
            return [str(r[0]) for r in con.execute(sql, [*params, max_accounts]).fetchall()]
        finally:
            con.unregister("_seed")
            con.unregister("_kinds")

    def findings_for(self, event_ids: Sequence[str]) -> dict[str, list[FindingRow]]:
        """Findings of the given events, by event id."""
        if not event_ids:
            return {}
        con = self._con
        con.register("_ids", pa.table({"id": list(dict.fromkeys(event_ids))}))
        try:
            rows = self._rows(
                "SELECT f.* FROM findings f JOIN _ids i ON i.id = f.event_id ORDER BY f.event_id, f.idx"
            )
        finally:
            con.unregister("_ids")
        out: dict[str, list[FindingRow]] = {}
        for r in rows:
            row = FindingRow.model_validate(r)
            out.setdefault(row.event_id, []).append(row)
        return out

    def export_findings(self, path: Path) -> int:
        """Write every finding (with its event's account and time) to a Parquet file; returns the row count."""
        path.parent.mkdir(parents=True, exist_ok=True)
        sql = """
            SELECT f.event_id, e.account_id, e.session_id, e.ts AS timestamp, f.idx, f.detector, f.rule,
                   f.score, f.category, f.techniques, f.explanation, f.evidence, f.error,
                   v.risk, v.verdict
            FROM findings f LEFT JOIN events e ON e.id = f.event_id LEFT JOIN verdicts v ON v.id = f.event_id
            ORDER BY f.event_id, f.idx
        """
        cur = self._con.cursor()
        try:
            tbl = cur.sql(sql).to_arrow_table()
        finally:
            cur.close()
        import pyarrow.parquet as pq

        pq.write_table(tbl, str(path))
        return int(tbl.num_rows)

    # -- designations --------------------------------------------------------------------------------
    def designations(self, accounts: Sequence[str]) -> dict[str, str]:
        """Designations given to these accounts by earlier hunts (account → Storm-####)."""
        if not accounts:
            return {}
        self._con.register("_acc", pa.table({"account_id": list(dict.fromkeys(accounts))}))
        try:
            rows = self._con.execute(
                "SELECT d.account_id, d.designation FROM designations d JOIN _acc a USING (account_id)"
            ).fetchall()
        finally:
            self._con.unregister("_acc")
        return {str(a): str(d) for a, d in rows}

    def save_designations(self, mapping: dict[str, str]) -> None:
        """Remember designations so later hunts keep them (account → Storm-####)."""
        if not mapping:
            return
        tbl = pa.table({"account_id": list(mapping), "designation": list(mapping.values())})
        self._con.register("_d", tbl)
        try:
            self._con.execute("INSERT OR REPLACE INTO designations SELECT * FROM _d").fetchall()
        finally:
            self._con.unregister("_d")

    def account_behaviour(self) -> list[AccountBehaviour]:
        """Per-account behaviour features (volume, regularity, templates, infrastructure, agent tool calls)."""
        return account_behaviour(self._con)

    def key_shifts(self) -> list[KeyShift]:
        """API keys whose use moved to new networks and clients at many times their volume."""
        return key_shifts(self._con)

    def close(self) -> None:
        """Release the backend."""
        self._con.close()

    def __enter__(self) -> DuckDBStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class MemoryStore(DuckDBStore):
    """An in-memory store for tests and one-off runs."""

    def __init__(self) -> None:
        super().__init__(":memory:")


def open_store(path: str | Path | None = None) -> DuckDBStore:
    """Open the DuckDB store at `path` (created when missing); in memory when `path` is None."""
    if path is None:
        return MemoryStore()
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    return DuckDBStore(p)
