"""Per-account and per-key behaviour features, computed in the store with SQL (they scale with the store).

Only aggregates leave the database: one `AccountBehaviour` per account and one `KeyShift` per API key whose use
moved to new infrastructure. The hunt's behaviour detectors (`stormwatch.hunt.behaviour`) read these rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

# A prompt's template: its first three words, lowercased, digits folded (slots usually come later).
_TEMPLATE = "regexp_replace(lower(array_to_string(list_slice(string_split(trim(prompt), ' '), 1, 3), ' ')), '[0-9]+', '#', 'g')"

ACCOUNT_BEHAVIOUR_SQL = f"""
WITH e AS (
    SELECT id, account_id, ts, api_key_id, source_ip, net, user_agent, session_id, prompt,
           split_part(source_ip, '.', 1) || '.' || split_part(source_ip, '.', 2) AS net16,
           json_extract_string(metadata, '$.payment_hash') AS pay,
           json_extract_string(metadata, '$.email_domain_hash') AS mail_domain,
           {_TEMPLATE} AS tmpl
    FROM events WHERE account_id IS NOT NULL
), gaps AS (
    SELECT account_id, epoch(ts) - epoch(lag(ts) OVER (PARTITION BY account_id ORDER BY ts, id)) AS gap FROM e
), gap_stats AS (
    SELECT account_id, avg(gap) AS mean_gap, stddev_pop(gap) AS sd_gap FROM gaps WHERE gap IS NOT NULL
    GROUP BY account_id
), tmpl AS (
    SELECT account_id, max(c) AS top FROM (SELECT account_id, tmpl, count(*) AS c FROM e GROUP BY account_id, tmpl)
    GROUP BY account_id
), day_counts AS (
    SELECT account_id, max(c) AS peak FROM (SELECT account_id, CAST(ts AS DATE) d, count(*) AS c FROM e GROUP BY 1, 2)
    GROUP BY account_id
), agent AS (
    SELECT e.account_id, count(DISTINCT f.rule) AS rules, count(DISTINCT e.session_id) AS sessions,
           count(*) AS hits
    FROM findings f JOIN e ON e.id = f.event_id
    WHERE f.rule LIKE 'SW-AGT-%' GROUP BY e.account_id
)
SELECT e.account_id, count(*) AS events, min(e.ts) AS first_seen, max(e.ts) AS last_seen,
       count(DISTINCT CAST(e.ts AS DATE)) AS active_days, any_value(day_counts.peak) AS peak_per_day,
       count(DISTINCT e.source_ip) AS ips, count(DISTINCT e.net16) AS nets16,
       count(DISTINCT e.user_agent) AS user_agents, count(DISTINCT e.api_key_id) AS api_keys,
       mode(e.user_agent) AS main_user_agent, mode(e.pay) AS payment_hash, mode(e.mail_domain) AS email_domain_hash,
       any_value(tmpl.top) / count(*) AS template_share,
       avg(CASE WHEN contains(e.prompt, '```') THEN 1.0 ELSE 0.0 END) AS code_share,
       any_value(gap_stats.mean_gap) AS mean_gap_s,
       any_value(gap_stats.sd_gap) / nullif(any_value(gap_stats.mean_gap), 0) AS gap_cv,
       coalesce(any_value(agent.rules), 0) AS agent_rules, coalesce(any_value(agent.sessions), 0) AS agent_sessions,
       coalesce(any_value(agent.hits), 0) AS agent_hits
FROM e
LEFT JOIN gap_stats USING (account_id)
LEFT JOIN tmpl USING (account_id)
LEFT JOIN day_counts USING (account_id)
LEFT JOIN agent USING (account_id)
GROUP BY e.account_id
ORDER BY e.account_id
"""

# A key's day is "shifted" when most of its events come from networks (/16) and user agents the key had never
# used on any earlier day, at a volume well above its own earlier daily median.
KEY_SHIFT_SQL = """
WITH e AS (
    SELECT api_key_id, account_id, ts, CAST(ts AS DATE) AS d, user_agent,
           split_part(source_ip, '.', 1) || '.' || split_part(source_ip, '.', 2) AS net16
    FROM events WHERE api_key_id IS NOT NULL
), key_accounts AS (
    SELECT api_key_id, list_sort(list(DISTINCT account_id) FILTER (WHERE account_id IS NOT NULL)) AS accounts
    FROM e GROUP BY 1
), first_use AS (
    SELECT api_key_id, net16, user_agent, min(d) AS first_d FROM e GROUP BY 1, 2, 3
), days AS (
    SELECT e.api_key_id, e.d, count(*) AS n,
           sum(CASE WHEN f.first_d = e.d AND f.first_d > k.key_first THEN 1 ELSE 0 END) AS new_infra
    FROM e
    JOIN first_use f USING (api_key_id, net16, user_agent)
    JOIN (SELECT api_key_id, min(d) AS key_first FROM e GROUP BY 1) k USING (api_key_id)
    GROUP BY 1, 2
), shifted AS (
    SELECT d1.api_key_id, d1.d, d1.n, d1.new_infra,
           (SELECT median(d0.n) FROM days d0 WHERE d0.api_key_id = d1.api_key_id AND d0.d < d1.d) AS base_n,
           (SELECT count(*) FROM days d0 WHERE d0.api_key_id = d1.api_key_id AND d0.d < d1.d) AS base_days
    FROM days d1
    WHERE d1.new_infra * 2 > d1.n
)
SELECT api_key_id, min(d) AS shift_day, any_value(base_n) AS baseline_per_day, any_value(base_days) AS baseline_days,
       max(n) AS peak_per_day, sum(new_infra) AS events_from_new_infrastructure, any_value(accounts) AS accounts
FROM shifted JOIN key_accounts USING (api_key_id)
WHERE base_days >= 2 AND n >= 20 AND new_infra >= 10 AND n >= 5 * greatest(base_n, 1)
GROUP BY api_key_id
ORDER BY api_key_id
"""


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AccountBehaviour(_Row):
    """One account's behaviour over the stored window."""

    account_id: str
    events: int
    first_seen: datetime
    last_seen: datetime
    active_days: int
    peak_per_day: int
    ips: int
    nets16: int
    user_agents: int
    api_keys: int
    main_user_agent: str | None
    payment_hash: str | None
    email_domain_hash: str | None
    template_share: float  # share of events with the account's most common prompt template
    code_share: float  # share of events carrying a fenced code block
    mean_gap_s: float | None
    gap_cv: float | None  # inter-arrival coefficient of variation: near 0 = machine-regular
    agent_rules: int  # distinct agent-tool-ops rules that fired on the account's tool calls
    agent_sessions: int
    agent_hits: int


class KeyShift(_Row):
    """An API key whose use moved to networks and clients it had never used, at a much higher volume."""

    api_key_id: str
    shift_day: datetime
    baseline_per_day: float
    baseline_days: int
    peak_per_day: int
    events_from_new_infrastructure: int
    accounts: tuple[str, ...]  # the accounts that used the key (its owner, and anyone else)


def _rows(con: Any, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    cur = con.execute(sql)
    return [d[0] for d in cur.description], cur.fetchall()


def account_behaviour(con: Any) -> list[AccountBehaviour]:
    """`AccountBehaviour` for every account in the store (a DuckDB connection holding the store schema)."""
    names, rows = _rows(con, ACCOUNT_BEHAVIOUR_SQL)
    return [AccountBehaviour(**dict(zip(names, r, strict=True))) for r in rows]


def key_shifts(con: Any) -> list[KeyShift]:
    """Every `KeyShift` in the store."""
    names, rows = _rows(con, KEY_SHIFT_SQL)
    out = []
    for r in rows:
        row = dict(zip(names, r, strict=True))
        d = row["shift_day"]
        row["shift_day"] = datetime(d.year, d.month, d.day)
        out.append(KeyShift(**row))
    return out
