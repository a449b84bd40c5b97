"""Behaviour detectors: operations that show in how accounts and keys behave, not in any single prompt.

Written from the public 2025-26 descriptions of these operations (the labs' and threat-intelligence teams'
reports); each reads the store's aggregates (`stormwatch.store.AccountBehaviour`, `KeyShift`) and returns a
`BehaviourFinding` with the factors that made it, so an analyst can check every claim:

- `runtime-malware`: one account or key calling the model from many unrelated networks with one fixed prompt
  template carrying code (a dropped script asking for its own code to be rewritten);
- `distillation-farm` / `account-farm`: a group of accounts that share a payment or e-mail-domain signal, were
  first seen within a short window, and send templated prompts; high daily volume marks capability extraction,
  low volume a persona farm;
- `agentic-operator`: an account whose agent tool calls span several intrusion steps (distinct agent-tool-ops
  rules) in more than one session;
- `llmjacking`: a key whose use moved to networks and clients it had never used, at many times its volume.
Thresholds are parameters (`BehaviourParams`), documented in docs/hunt.md.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from statistics import median
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from stormwatch.store import AccountBehaviour, KeyShift

BehaviourKind = Literal[
    "runtime-malware", "distillation-farm", "account-farm", "agentic-operator", "llmjacking"
]
CATEGORY: dict[str, str] = {
    "runtime-malware": "llm-integrated-malware",
    "distillation-farm": "model-extraction",
    "account-farm": "account-farm-operation",
    "agentic-operator": "agentic-orchestrated-intrusion",
    "llmjacking": "llmjacking",
}


class BehaviourParams(BaseModel):
    """Thresholds of the behaviour detectors."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    malware_min_networks: int = Field(10, ge=2, description="distinct /16 networks of one account or key")
    malware_min_template_share: float = Field(0.8, ge=0, le=1)
    malware_min_code_share: float = Field(0.5, ge=0, le=1)
    farm_min_accounts: int = Field(5, ge=2)
    farm_max_first_seen_spread_days: float = Field(2.0, ge=0)
    farm_min_template_share: float = Field(0.4, ge=0, le=1, description="median over the group")
    distillation_min_peak_per_day: int = Field(10, ge=1, description="median peak events/day in the group")
    agent_min_rules: int = Field(3, ge=1, description="distinct agent-tool-ops rules over the account")
    agent_min_sessions: int = Field(2, ge=1)


class BehaviourFinding(BaseModel):
    """One behaviour-level finding over accounts (or one key) with the factors that made it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: BehaviourKind
    category: str
    accounts: tuple[str, ...]
    api_key_id: str | None = None
    score: float = Field(ge=0, le=1)
    factors: dict[str, float]
    reason: str


def _score(*ratios: float) -> float:
    """How far past their thresholds the factors are, squashed into (0.5, 1]."""
    over = min(ratios) if ratios else 1.0
    return round(min(1.0, 0.5 + 0.5 * min(1.0, max(0.0, over - 1.0) + 0.2)), 3)


def behaviour_findings(
    accounts: Sequence[AccountBehaviour],
    shifts: Sequence[KeyShift],
    params: BehaviourParams | None = None,
) -> list[BehaviourFinding]:
    """Every behaviour finding, in a stable order (kind, then first account or key)."""
    p = params or BehaviourParams()
    out: list[BehaviourFinding] = []
    for a in accounts:
        if (
            a.nets16 >= p.malware_min_networks
            and a.template_share >= p.malware_min_template_share
            and a.code_share >= p.malware_min_code_share
        ):
            out.append(
                BehaviourFinding(
                    kind="runtime-malware",
                    category=CATEGORY["runtime-malware"],
                    accounts=(a.account_id,),
                    score=_score(
                        a.nets16 / p.malware_min_networks, a.template_share / p.malware_min_template_share
                    ),
                    factors={
                        "networks16": a.nets16,
                        "ips": a.ips,
                        "api_keys": a.api_keys,
                        "template_share": round(a.template_share, 3),
                        "code_share": round(a.code_share, 3),
                        "gap_cv": round(a.gap_cv or 0.0, 3),
                    },
                    reason=f"one prompt template with code from {a.nets16} unrelated networks",
                )
            )
        if a.agent_rules >= p.agent_min_rules and a.agent_sessions >= p.agent_min_sessions:
            out.append(
                BehaviourFinding(
                    kind="agentic-operator",
                    category=CATEGORY["agentic-operator"],
                    accounts=(a.account_id,),
                    score=_score(a.agent_rules / p.agent_min_rules, a.agent_sessions / p.agent_min_sessions),
                    factors={
                        "agent_rules": a.agent_rules,
                        "agent_sessions": a.agent_sessions,
                        "hits": a.agent_hits,
                    },
                    reason=f"agent tool calls over {a.agent_rules} intrusion steps in {a.agent_sessions} sessions",
                )
            )
    out.extend(_farms(accounts, p))
    for s in shifts:
        ratio = s.peak_per_day / max(1.0, s.baseline_per_day)
        out.append(
            BehaviourFinding(
                kind="llmjacking",
                category=CATEGORY["llmjacking"],
                accounts=s.accounts,
                api_key_id=s.api_key_id,
                score=_score(ratio / 5.0),
                factors={
                    "baseline_per_day": s.baseline_per_day,
                    "peak_per_day": s.peak_per_day,
                    "volume_ratio": round(ratio, 2),
                    "events_from_new_infrastructure": s.events_from_new_infrastructure,
                },
                reason=f"key moved to new networks and clients on {s.shift_day:%Y-%m-%d} at {ratio:.0f}x its volume",
            )
        )
    out.sort(key=lambda f: (f.kind, f.api_key_id or "", f.accounts))
    return out


def _farms(accounts: Sequence[AccountBehaviour], p: BehaviourParams) -> list[BehaviourFinding]:
    groups: dict[tuple[str, str], list[AccountBehaviour]] = defaultdict(list)
    for a in accounts:
        if a.payment_hash:
            groups[("payment_hash", a.payment_hash)].append(a)
        if a.email_domain_hash:
            groups[("email_domain_hash", a.email_domain_hash)].append(a)
    out: list[BehaviourFinding] = []
    claimed: set[tuple[str, ...]] = set()
    for (signal, _value), members in sorted(groups.items()):
        if len(members) < p.farm_min_accounts:
            continue
        firsts = sorted(m.first_seen for m in members)
        spread = (firsts[-1] - firsts[0]).total_seconds() / 86400
        tmpl = median(m.template_share for m in members)
        if spread > p.farm_max_first_seen_spread_days or tmpl < p.farm_min_template_share:
            continue
        ids = tuple(sorted(m.account_id for m in members))
        if ids in claimed:
            continue
        claimed.add(ids)
        peak = median(m.peak_per_day for m in members)
        kind: BehaviourKind = (
            "distillation-farm" if peak >= p.distillation_min_peak_per_day else "account-farm"
        )
        out.append(
            BehaviourFinding(
                kind=kind,
                category=CATEGORY[kind],
                accounts=ids,
                score=_score(len(ids) / p.farm_min_accounts, tmpl / p.farm_min_template_share),
                factors={
                    "accounts": len(ids),
                    "first_seen_spread_days": round(spread, 2),
                    "median_template_share": round(tmpl, 3),
                    "median_peak_per_day": float(peak),
                    "events": sum(m.events for m in members),
                },
                reason=f"{len(ids)} accounts sharing {signal}, first seen within {spread:.1f} days, templated prompts",
            )
        )
    return out
