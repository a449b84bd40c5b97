"""Per-account and per-session analytics computed from stored events and verdicts."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from stormwatch.hunt.text import detect_language, has_pretext, is_refusal
from stormwatch.store.schema import FLAGGED, EventRow, FlagRule

PROBING_RISK = 0.3
ATTACK_RISK = 0.7
RETRY_WINDOW_S = 3600


class AccountProfile(BaseModel):
    """Everything the hunt knows about one account; one line of `accounts.jsonl`."""

    model_config = ConfigDict(extra="forbid")

    account_id: str
    events: int
    flagged: int
    blocked: int
    max_risk: float
    mean_risk: float
    suspicion: float = Field(ge=0.0, le=1.0)
    first_seen: datetime | None
    last_seen: datetime | None
    sessions: int
    categories: dict[str, int]
    techniques: dict[str, int]
    refusals: int
    retries_after_refusal: int
    escalating_sessions: int
    languages: dict[str, int]
    active_hours_utc: list[int]
    utc_offset: float | None
    models: dict[str, int]
    source_ips: dict[str, int]
    networks: dict[str, int]
    user_agents: dict[str, int]
    orgs: list[str]
    risk_by_day: dict[str, float]
    cluster: str | None = None


def likely_utc_offset(hours: Sequence[int], *, min_events: int = 5) -> float | None:
    """The UTC offset (half-hour steps) that best centres activity on a local working day."""
    if sum(hours) < min_events:
        return None
    best, best_score = 0.0, -1.0
    for step in range(-24, 29):  # -12.0 .. +14.0
        off = step / 2
        score = 0.0
        for h, c in enumerate(hours):
            if c:
                local = (h + 0.5 + off) % 24
                d = min(abs(local - 13.5), 24 - abs(local - 13.5))
                score += c * math.exp(-(d * d) / (2 * 3.2 * 3.2))
        if score > best_score + 1e-9:
            best, best_score = off, score
    return best


def suspicion_score(events: int, flagged: int, blocked: int, max_risk: float, n_categories: int) -> float:
    """How much of an account's activity is malicious, in [0, 1] (share flagged, blocks, breadth)."""
    if events <= 0 or flagged <= 0:
        return 0.0
    share = flagged / events
    s = 0.55 * min(1.0, share / 0.4) + 0.2 * min(1.0, blocked / 4) + 0.15 * max_risk
    s += 0.1 * min(1.0, max(0, n_categories - 1) / 2)
    return round(min(1.0, s), 4)


def _top(counter: Counter[str], n: int = 10) -> dict[str, int]:
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:n])


def profile_accounts(rows: Iterable[EventRow], *, flag: FlagRule = FLAGGED) -> dict[str, AccountProfile]:
    """Build account profiles from event rows ordered by account and time (`Store.account_events`)."""
    by_account: dict[str, list[EventRow]] = defaultdict(list)
    for r in rows:
        by_account[r.account_id].append(r)
    return {acc: _profile(acc, evs, flag) for acc, evs in by_account.items()}


def _profile(account: str, evs: list[EventRow], flag: FlagRule) -> AccountProfile:
    cats: Counter[str] = Counter()
    techs: Counter[str] = Counter()
    langs: Counter[str] = Counter()
    models: Counter[str] = Counter()
    ips: Counter[str] = Counter()
    nets: Counter[str] = Counter()
    uas: Counter[str] = Counter()
    hours = [0] * 24
    orgs: set[str] = set()
    risk_by_day: dict[str, float] = {}
    flagged = blocked = refusals = retries = 0
    risk_sum = 0.0
    sessions: dict[str, list[EventRow]] = defaultdict(list)
    last_refused_at: dict[str, datetime | None] = {}
    for r in evs:
        risk = r.risk
        risk_sum += risk
        is_flagged = flag.flagged(r.verdict, risk)
        flagged += is_flagged
        blocked += r.verdict == "block"
        if is_flagged:
            cats.update(r.categories)
            techs.update(r.techniques)
        langs[detect_language(r.prompt or "")] += 1
        for counter, value in ((models, r.model), (ips, r.source_ip), (nets, r.net), (uas, r.user_agent)):
            if value:
                counter[value] += 1
        if r.org_id:
            orgs.add(r.org_id)
        ts = r.ts
        session = r.session_id or f"day:{ts.date() if ts else 'none'}"
        sessions[session].append(r)
        if ts is not None:
            hours[ts.hour] += 1
            day = ts.date().isoformat()
            risk_by_day[day] = max(risk_by_day.get(day, 0.0), round(risk, 4))
        prev_refused = last_refused_at.get(session)
        if (
            prev_refused is not None
            and ts is not None
            and (ts - prev_refused).total_seconds() <= RETRY_WINDOW_S
        ):
            if is_flagged or has_pretext(r.prompt or ""):
                retries += 1
            last_refused_at[session] = None
        if is_refusal(r.response):
            refusals += 1
            last_refused_at[session] = ts
    escalating = sum(1 for s in sessions.values() if _escalates([e.risk for e in s]))
    times = [r.ts for r in evs if r.ts is not None]
    n = len(evs)
    max_risk = max((r.risk for r in evs), default=0.0)
    return AccountProfile(
        account_id=account,
        events=n,
        flagged=flagged,
        blocked=blocked,
        max_risk=round(max_risk, 4),
        mean_risk=round(risk_sum / n, 4) if n else 0.0,
        suspicion=suspicion_score(n, flagged, blocked, max_risk, len(cats)),
        first_seen=min(times) if times else None,
        last_seen=max(times) if times else None,
        sessions=len(sessions),
        categories=_top(cats, 30),
        techniques=_top(techs, 30),
        refusals=refusals,
        retries_after_refusal=retries,
        escalating_sessions=escalating,
        languages=_top(langs),
        active_hours_utc=hours,
        utc_offset=likely_utc_offset(hours),
        models=_top(models),
        source_ips=_top(ips),
        networks=_top(nets),
        user_agents=_top(uas, 5),
        orgs=sorted(orgs),
        risk_by_day=dict(sorted(risk_by_day.items())),
    )


def _escalates(risks: list[float]) -> bool:
    """A session that starts benign and reaches attack-level risk later (benign → probing → attack)."""
    if len(risks) < 2 or risks[0] >= PROBING_RISK:
        return False
    return any(r >= ATTACK_RISK for r in risks[1:])
