"""The analyst console's side of the store: audit log, analyst labels, allow-list entries, console roles,
and the read queries the console pages run (search with keyset paging, overview aggregates, identifiers).

Every query is parameterised (values are bound, never formatted into SQL); the only SQL built from parts
joins fixed clause strings chosen by which filters are set.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Final, Literal

import duckdb
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from stormwatch.store._duckdb import DuckDBStore, StoreError
from stormwatch.store.schema import EventRow, FindingRow

__all__ = [
    "ROLES",
    "AllowEntry",
    "AuditEntry",
    "DayCount",
    "Identifier",
    "LabelEntry",
    "SearchFilters",
    "SearchPage",
    "Triage",
    "prompt_sha256",
]

Role = Literal["analyst", "admin", "guard-client"]
ROLES: Final = ("analyst", "admin", "guard-client")
LabelValue = Literal["tp", "fp"]
TargetKind = Literal["event", "account", "cluster"]

_DDL: Final = """
CREATE SEQUENCE IF NOT EXISTS console_seq START 1;
CREATE TABLE IF NOT EXISTS console_audit (
    seq BIGINT PRIMARY KEY, ts TIMESTAMP, actor VARCHAR, role VARCHAR, action VARCHAR, target VARCHAR,
    detail VARCHAR, client VARCHAR);
CREATE TABLE IF NOT EXISTS console_labels (
    seq BIGINT PRIMARY KEY, ts TIMESTAMP, actor VARCHAR, kind VARCHAR, target VARCHAR, label VARCHAR,
    note VARCHAR, text VARCHAR, category VARCHAR, technique VARCHAR);
CREATE TABLE IF NOT EXISTS console_allow (
    seq BIGINT PRIMARY KEY, ts TIMESTAMP, actor VARCHAR, kind VARCHAR, value VARCHAR, categories VARCHAR[],
    note VARCHAR, label_seq BIGINT, reverted_ts TIMESTAMP, reverted_by VARCHAR);
CREATE TABLE IF NOT EXISTS console_roles (
    key_id VARCHAR PRIMARY KEY, role VARCHAR, ts TIMESTAMP, granted_by VARCHAR);
CREATE TABLE IF NOT EXISTS console_lang (id VARCHAR PRIMARY KEY, lang VARCHAR);
"""

_EVENT_COLS: Final = """
    e.id, e.ts, e.account_id, e.org_id, e.session_id, e.source_ip, e.net, e.user_agent, e.api_key_id,
    e.model, e.prompt, e.response, e.link_keys, coalesce(v.risk, 0) AS risk,
    coalesce(v.verdict, 'allow') AS verdict, coalesce(v.categories, []) AS categories,
    coalesce(v.techniques, []) AS techniques
"""


def prompt_sha256(prompt: str) -> str:
    """The hash an event-level allow-list entry matches: SHA-256 of the user prompt text (UTF-8)."""
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AuditEntry(_Row):
    """One audited console action: who (key id and role), when, what, on which target."""

    seq: int
    ts: datetime
    actor: str
    role: str
    action: str
    target: str | None = None
    detail: str | None = None
    client: str | None = None


class LabelEntry(_Row):
    """An analyst's true/false-positive mark on an event, account or cluster."""

    seq: int
    ts: datetime
    actor: str
    kind: TargetKind
    target: str
    label: LabelValue
    note: str = ""
    text: str | None = None
    category: str | None = None
    technique: str | None = None


class AllowEntry(_Row):
    """An allow-list entry made from a false positive: `kind` is account_id, api_key_id, org_id or
    prompt_sha256; active until reverted."""

    seq: int
    ts: datetime
    actor: str
    kind: Literal["account_id", "api_key_id", "org_id", "prompt_sha256"]
    value: str
    categories: tuple[str, ...] = ()
    note: str = ""
    label_seq: int | None = None
    reverted_ts: datetime | None = None
    reverted_by: str | None = None

    @property
    def active(self) -> bool:
        """Whether the entry still applies (not reverted)."""
        return self.reverted_ts is None


class DayCount(_Row):
    """Events, flagged and blocked of one UTC day."""

    day: datetime
    events: int
    flagged: int
    blocked: int


class Identifier(_Row):
    """One infrastructure or identity value an account used: kind, value and the number of its events."""

    account_id: str
    kind: str
    value: str
    events: int


class SearchFilters(_Row):
    """Event search: full text (case-insensitive substring of the prompt) and exact filters."""

    text: str = Field(default="", max_length=500)
    verdict: str | None = None
    category: str | None = None
    technique: str | None = None
    account: str | None = None
    language: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class SearchPage(_Row):
    """One page of search hits (newest first) and the keyset cursor of the next page (None at the end)."""

    rows: tuple[EventRow, ...]
    next_cursor: str | None = None


def _cursor(row: EventRow) -> str:
    ts = row.ts.isoformat() if row.ts is not None else ""
    return f"{ts}|{row.id}"


def _parse_cursor(cursor: str) -> tuple[datetime | None, str]:
    ts, sep, eid = cursor.partition("|")
    if not sep:
        raise ValueError(f"bad cursor {cursor!r}")
    return (datetime.fromisoformat(ts) if ts else None), eid


class Triage:
    """Console tables and queries over an open DuckDB store (shares its connection: one caller at a time;
    the console serialises requests)."""

    def __init__(self, store: DuckDBStore) -> None:
        self.store = store
        self._con: duckdb.DuckDBPyConnection = store._con
        try:
            self._con.execute(_DDL).fetchall()
        except duckdb.Error as exc:
            raise StoreError(f"{store.path}: cannot create console tables: {exc}") from exc

    # -- helpers ------------------------------------------------------------------------------------
    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        res = self._con.execute(sql, list(params))
        names = [d[0] for d in res.description or []]
        return [dict(zip(names, r, strict=True)) for r in res.fetchall()]

    def _next(self) -> int:
        return int(self._con.execute("SELECT nextval('console_seq')").fetchall()[0][0])

    # -- audit --------------------------------------------------------------------------------------
    def audit(
        self,
        actor: str,
        role: str,
        action: str,
        target: str | None = None,
        detail: dict[str, Any] | None = None,
        client: str | None = None,
    ) -> int:
        """Record one action; returns its sequence number."""
        seq = self._next()
        self._con.execute(
            "INSERT INTO console_audit VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [seq, _now(), actor, role, action, target, json.dumps(detail, sort_keys=True) if detail else None,
             client],
        ).fetchall()  # fmt: skip
        return seq

    def audit_log(self, *, limit: int = 200, actor: str | None = None) -> list[AuditEntry]:
        """Newest audit entries first."""
        where, params = ("WHERE actor = ?", [actor]) if actor else ("", [])
        rows = self._rows(f"SELECT * FROM console_audit {where} ORDER BY seq DESC LIMIT ?", [*params, limit])
        return [AuditEntry.model_validate(r) for r in rows]

    # -- roles --------------------------------------------------------------------------------------
    def set_role(self, key_id: str, role: Role, *, by: str) -> None:
        """Give a guard key a console role (`guard-client` takes the console away again)."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; known: {', '.join(ROLES)}")
        self._con.execute(
            "INSERT OR REPLACE INTO console_roles VALUES (?, ?, ?, ?)", [key_id, role, _now(), by]
        ).fetchall()

    def role_of(self, key_id: str) -> str:
        """The key's console role; a key without one is a guard client."""
        rows = self._con.execute("SELECT role FROM console_roles WHERE key_id = ?", [key_id]).fetchall()
        return str(rows[0][0]) if rows else "guard-client"

    def roles(self) -> dict[str, str]:
        """Every key id with a console role."""
        return {
            str(k): str(r)
            for k, r in self._con.execute("SELECT key_id, role FROM console_roles ORDER BY 1").fetchall()
        }

    # -- labels and allow-list ----------------------------------------------------------------------
    def add_label(
        self,
        actor: str,
        kind: TargetKind,
        target: str,
        label: LabelValue,
        note: str = "",
        *,
        text: str | None = None,
        category: str | None = None,
        technique: str | None = None,
    ) -> LabelEntry:
        """Record a label (the newest label of a target is its current one)."""
        seq = self._next()
        self._con.execute(
            "INSERT INTO console_labels VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [seq, _now(), actor, kind, target, label, note, text, category, technique],
        ).fetchall()
        return self.labels(seq=seq)[0]

    def labels(self, *, seq: int | None = None, target: str | None = None) -> list[LabelEntry]:
        """Labels, newest first (one by `seq`, or those of one target)."""
        clauses: list[str] = []
        params: list[Any] = []
        if seq is not None:
            clauses.append("seq = ?")
            params.append(seq)
        if target is not None:
            clauses.append("target = ?")
            params.append(target)
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        rows = self._rows(f"SELECT * FROM console_labels {where} ORDER BY seq DESC", params)
        return [LabelEntry.model_validate({**r, "note": r["note"] or ""}) for r in rows]

    def current_labels(self) -> list[LabelEntry]:
        """The newest label of every target, ordered by kind and target."""
        rows = self._rows(
            """SELECT * FROM console_labels QUALIFY row_number() OVER (PARTITION BY kind, target ORDER BY seq DESC) = 1
               ORDER BY kind, target"""
        )
        return [LabelEntry.model_validate({**r, "note": r["note"] or ""}) for r in rows]

    def add_allow(
        self,
        actor: str,
        kind: str,
        value: str,
        *,
        categories: Sequence[str] = (),
        note: str = "",
        label_seq: int | None = None,
    ) -> AllowEntry:
        """Add an allow-list entry (reviewable on the console's allow-list page, revertible)."""
        seq = self._next()
        entry = AllowEntry.model_validate(
            {"seq": seq, "ts": _now(), "actor": actor, "kind": kind, "value": value,
             "categories": tuple(categories), "note": note, "label_seq": label_seq}
        )  # fmt: skip
        self._con.execute(
            "INSERT INTO console_allow VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)",
            [seq, entry.ts, actor, kind, value, list(categories), note, label_seq],
        ).fetchall()
        return entry

    def allow_entries(self, *, active_only: bool = False) -> list[AllowEntry]:
        """Allow-list entries, newest first."""
        where = "WHERE reverted_ts IS NULL" if active_only else ""
        rows = self._rows(f"SELECT * FROM console_allow {where} ORDER BY seq DESC")
        return [
            AllowEntry.model_validate(
                {**r, "note": r["note"] or "", "categories": tuple(r["categories"] or ())}
            )
            for r in rows
        ]

    def revert_allow(self, seq: int, *, by: str) -> AllowEntry:
        """Revert an entry (kept, marked reverted); raises KeyError when there is no such active entry."""
        rows = self._con.execute(
            "UPDATE console_allow SET reverted_ts = ?, reverted_by = ? WHERE seq = ? AND reverted_ts IS NULL "
            "RETURNING seq",
            [_now(), by, seq],
        ).fetchall()
        if not rows:
            raise KeyError(f"no active allow-list entry {seq}")
        return next(e for e in self.allow_entries() if e.seq == seq)

    # -- events -------------------------------------------------------------------------------------
    def event(self, event_id: str) -> EventRow | None:
        """One event joined with its verdict."""
        rows = self._rows(
            f"SELECT {_EVENT_COLS} FROM events e LEFT JOIN verdicts v ON v.id = e.id WHERE e.id = ?",
            [event_id],
        )
        return EventRow.model_validate(rows[0]) if rows else None

    def findings(self, event_ids: Sequence[str]) -> dict[str, list[FindingRow]]:
        """Findings of the given events (the store's own query)."""
        return self.store.findings_for(event_ids)

    def ensure_languages(self, detect: Callable[[str], str], *, batch: int = 50_000) -> int:
        """Fill the language side table for events that have none yet (the search's language filter);
        returns how many were added. `detect` maps prompt text to an ISO 639-1 code."""
        added = 0
        while True:
            rows = self._con.execute(
                "SELECT e.id, e.prompt FROM events e ANTI JOIN console_lang l ON l.id = e.id LIMIT ?", [batch]
            ).fetchall()
            if not rows:
                return added
            tbl = pa.table(
                {"id": [str(r[0]) for r in rows], "lang": [detect(r[1] or "") for r in rows]},
                schema=pa.schema([("id", pa.string()), ("lang", pa.string())]),
            )
            self._con.register("_lang", tbl)
            try:
                self._con.execute("INSERT OR REPLACE INTO console_lang SELECT * FROM _lang").fetchall()
            finally:
                self._con.unregister("_lang")
            added += len(rows)

    def languages(self) -> list[str]:
        """Languages present in the side table."""
        return [
            str(r[0])
            for r in self._con.execute("SELECT DISTINCT lang FROM console_lang ORDER BY 1").fetchall()
        ]

    def search(self, f: SearchFilters, *, cursor: str | None = None, limit: int = 50) -> SearchPage:
        """Events matching `f`, newest first, `limit` per page; `cursor` continues after a page (keyset
        paging on (ts, id): the cost of a page does not grow with how deep it is)."""
        clauses: list[str] = []
        params: list[Any] = []
        join_lang = ""
        if f.text:
            clauses.append("contains(lower(e.prompt), lower(?))")
            params.append(f.text)
        if f.verdict:
            clauses.append("coalesce(v.verdict, 'allow') = ?")
            params.append(f.verdict)
        if f.category:
            clauses.append("list_contains(v.categories, ?)")
            params.append(f.category)
        if f.technique:
            clauses.append("list_contains(v.techniques, ?)")
            params.append(f.technique)
        if f.account:
            clauses.append("e.account_id = ?")
            params.append(f.account)
        if f.language:
            join_lang = "JOIN console_lang l ON l.id = e.id"
            clauses.append("l.lang = ?")
            params.append(f.language)
        if f.since is not None:
            clauses.append("e.ts >= ?")
            params.append(f.since.astimezone(UTC).replace(tzinfo=None) if f.since.tzinfo else f.since)
        if f.until is not None:
            clauses.append("e.ts < ?")
            params.append(f.until.astimezone(UTC).replace(tzinfo=None) if f.until.tzinfo else f.until)
        if cursor:
            ts, eid = _parse_cursor(cursor)
            if ts is None:
                clauses.append("(e.ts IS NULL AND e.id < ?)")
                params.append(eid)
            else:
                clauses.append("(e.ts < ? OR (e.ts = ? AND e.id < ?) OR e.ts IS NULL)")
                params.extend([ts, ts, eid])
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        sql = f"""SELECT {_EVENT_COLS} FROM events e LEFT JOIN verdicts v ON v.id = e.id {join_lang}
                  {where} ORDER BY e.ts DESC NULLS LAST, e.id DESC LIMIT ?"""
        rows = [EventRow.model_validate(r) for r in self._rows(sql, [*params, limit + 1])]
        more = len(rows) > limit
        rows = rows[:limit]
        return SearchPage(rows=tuple(rows), next_cursor=_cursor(rows[-1]) if more and rows else None)

    # -- aggregates ---------------------------------------------------------------------------------
    def totals(self) -> dict[str, int]:
        """Events, flagged (verdict flag) and blocked in the whole store."""
        r = self._con.execute(
            """SELECT count(*), count(*) FILTER (WHERE v.verdict = 'flag'), count(*) FILTER (WHERE v.verdict = 'block')
               FROM events e LEFT JOIN verdicts v ON v.id = e.id"""
        ).fetchall()[0]
        return {"events": int(r[0]), "flagged": int(r[1]), "blocked": int(r[2])}

    def per_day(self, accounts: Sequence[str] | None = None) -> list[DayCount]:
        """Events, flagged and blocked per UTC day (of the given accounts, or all)."""
        join, params = "", list[Any]()
        if accounts is not None:
            self._con.register(
                "_acc", pa.table({"account_id": pa.array(list(dict.fromkeys(accounts)), pa.string())})
            )
            join = "JOIN _acc a ON a.account_id = e.account_id"
        try:
            rows = self._rows(
                f"""SELECT date_trunc('day', e.ts) AS day, count(*) AS events,
                        count(*) FILTER (WHERE v.verdict = 'flag') AS flagged,
                        count(*) FILTER (WHERE v.verdict = 'block') AS blocked
                    FROM events e LEFT JOIN verdicts v ON v.id = e.id {join}
                    WHERE e.ts IS NOT NULL GROUP BY 1 ORDER BY 1""",
                params,
            )
        finally:
            if accounts is not None:
                self._con.unregister("_acc")
        return [DayCount.model_validate(r) for r in rows]

    def top_values(
        self, column: Literal["categories", "techniques"], *, limit: int = 10
    ) -> list[tuple[str, int]]:
        """The most frequent categories or techniques of non-allowed events."""
        col = {"categories": "v.categories", "techniques": "v.techniques"}[column]
        rows = self._con.execute(
            f"""SELECT x, count(*) AS n FROM (SELECT unnest({col}) AS x FROM verdicts v WHERE v.verdict <> 'allow')
                GROUP BY x ORDER BY n DESC, x LIMIT ?""",
            [limit],
        ).fetchall()
        return [(str(a), int(b)) for a, b in rows]

    def identifiers(self, accounts: Sequence[str]) -> list[Identifier]:
        """The infrastructure and identity values the accounts used (network /24, IP, user agent, key id,
        org, hashed payment / e-mail / device keys), with how many events of each account used them."""
        if not accounts:
            return []
        self._con.register(
            "_acc", pa.table({"account_id": pa.array(list(dict.fromkeys(accounts)), pa.string())})
        )
        try:
            rows = self._rows(
                """WITH e AS (SELECT e.* FROM events e JOIN _acc a ON a.account_id = e.account_id),
                   pairs AS (
                     SELECT account_id, 'net' AS kind, net AS value FROM e WHERE net IS NOT NULL
                     UNION ALL SELECT account_id, 'ip', source_ip FROM e WHERE source_ip IS NOT NULL
                     UNION ALL SELECT account_id, 'user_agent', user_agent FROM e WHERE user_agent IS NOT NULL
                     UNION ALL SELECT account_id, 'api_key_id', api_key_id FROM e WHERE api_key_id IS NOT NULL
                     UNION ALL SELECT account_id, 'org', org_id FROM e WHERE org_id IS NOT NULL
                     UNION ALL SELECT account_id, split_part(k, '=', 1), substr(k, strpos(k, '=') + 1)
                       FROM (SELECT account_id, unnest(link_keys) AS k FROM e))
                   SELECT account_id, kind, value, count(*) AS events FROM pairs
                   GROUP BY ALL ORDER BY account_id, kind, value"""
            )
        finally:
            self._con.unregister("_acc")
        return [Identifier.model_validate(r) for r in rows]

    def accounts_using(self, kind: str, value: str, *, limit: int = 50) -> list[tuple[str, int]]:
        """Accounts that used one identifier value, with their event counts (the account page's pivots)."""
        column = {"net": "net", "ip": "source_ip", "user_agent": "user_agent", "api_key_id": "api_key_id",
                  "org": "org_id"}.get(kind)  # fmt: skip
        if column is not None:
            sql = f"SELECT account_id, count(*) FROM events WHERE {column} = ? GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?"
            params: list[Any] = [value, limit]
        else:
            sql = "SELECT account_id, count(*) FROM events WHERE list_contains(link_keys, ?) GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?"
            params = [f"{kind}={value}", limit]
        return [(str(a), int(n)) for a, n in self._con.execute(sql, params).fetchall()]
