"""Linking: shared infrastructure is weighted by how specific it is; the shared-NAT trap; designations."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from stormwatch.hunt.analytics import profile_accounts
from stormwatch.hunt.linking import (
    LinkConfig,
    cluster_accounts,
    designate,
    designation_for,
    link_accounts,
    links_of,
    specificity,
)
from stormwatch.store import EventRow


def _word(*key: int) -> str:
    digest = hashlib.sha256(repr(key).encode()).digest()
    return "".join(chr(97 + b % 26) for b in digest[:7])


def _row(i: int, acc: str, *, ip: str, risk: float, prompt: str, pay: str | None = None) -> EventRow:
    return EventRow.model_validate({
        "id": f"{acc}-{i}", "ts": datetime(2024, 1, 1 + i % 5, 8 + i % 8, tzinfo=UTC).replace(tzinfo=None),
        "account_id": acc, "org_id": None, "session_id": f"{acc}-s{i % 3}", "source_ip": ip,
        "net": ip.rsplit(".", 1)[0] + ".0/24", "user_agent": "Mozilla/5.0 common", "api_key_id": f"k-{acc}",
        "model": "gpt-4", "prompt": prompt, "response": "ok", "link_keys": [f"payment_hash={pay}"] if pay else [],
        "risk": risk, "verdict": "block" if risk >= 0.75 else "allow",
        "categories": ["jailbreak"] if risk >= 0.75 else [], "techniques": [],
    })  # fmt: skip


def test_specificity() -> None:
    assert specificity(2, 2) == 1.0
    assert specificity(40, 3) < 0.01  # a NAT: many accounts, most of them benign
    assert specificity(1, 1) == 0.0


def test_shared_nat_trap_benign_accounts_do_not_cluster() -> None:
    rows = []
    # 30 employees behind one corporate NAT; three of them trip the detectors with their own, unrelated prompts
    for n in range(30):
        acc = f"corp{n:02d}"
        for i in range(8):
            bad = n < 3 and i % 2 == 0
            rows.append(_row(i, acc, ip="198.51.100.9", risk=0.8 if bad else 0.0,
                             prompt=" ".join(_word(n, i, k) for k in range(6))))  # fmt: skip
    accounts = profile_accounts(r for r in rows if r.account_id in {"corp00", "corp01", "corp02"})
    usage = {("ip", "198.51.100.9"): (30, 3), ("net", "198.51.100.0/24"): (30, 3),
             ("user_agent", "Mozilla/5.0 common"): (30, 3)}  # fmt: skip
    pairs = link_accounts(accounts, [r for r in rows if r.account_id in accounts], usage)
    assert all(
        ev.infra_weight() < 0.05 and ev.total(LinkConfig()) < LinkConfig().strong for ev in pairs.values()
    )
    assert cluster_accounts(accounts, pairs) == []


def test_operation_accounts_link_with_reasons() -> None:
    rows = []
    for acc, ip in (("op-a", "203.0.113.5"), ("op-b", "203.0.113.5"), ("op-c", "203.0.113.77")):
        for i in range(8):
            rows.append(_row(i, acc, ip=ip, risk=0.8 if i % 2 else 0.0, pay="pay-1",
                             prompt=f"Describe the link encryption of the Zephyr-{i} satellite terminal firmware"))  # fmt: skip
    accounts = profile_accounts(rows)
    usage = {
        ("ip", "203.0.113.5"): (2, 2),
        ("payment_hash", "pay-1"): (3, 3),
        ("net", "203.0.113.0/24"): (3, 3),
    }
    pairs = link_accounts(accounts, rows, usage)
    assert cluster_accounts(accounts, pairs) == [["op-a", "op-b", "op-c"]]
    links = links_of(pairs)
    kinds = {link.kind for link in links}
    assert {"infra:payment_hash", "infra:ip", "content"} <= kinds
    assert all(link.reason for link in links)


def test_designations_are_deterministic_and_sticky() -> None:
    clusters = [["a", "b"], ["c"]]
    first = designate(clusters)
    assert first == designate(clusters)
    assert all(d.startswith("Storm-") and len(d) == 10 for d in first)
    assert first[0] == designation_for("a", set())
    # a later run keeps a designation carried by a member, even when the cluster grew
    assert designate([["z", "a", "b"]], {"a": first[0], "b": first[0]}) == [first[0]]


def test_company_billing_and_nat_are_one_family_not_an_identity() -> None:
    rows = []
    # three SOC analysts of one small company: one NAT, one corporate card, one org; their own prompts
    for n in range(3):
        acc = f"soc{n}"
        for i in range(8):
            row = _row(i, acc, ip="198.51.100.9", risk=0.8 if i % 2 == 0 else 0.0, pay="corp-card",
                       prompt=" ".join(_word(n, i, k) for k in range(6)))  # fmt: skip
            rows.append(row.model_copy(update={"org_id": "org-small"}))
    accounts = profile_accounts(rows)
    usage = {("ip", "198.51.100.9"): (3, 3), ("net", "198.51.100.0/24"): (3, 3),
             ("org", "org-small"): (3, 3), ("payment_hash", "corp-card"): (3, 3)}  # fmt: skip
    pairs = link_accounts(accounts, rows, usage)
    assert pairs and all(set(ev.families()) and ev.families()["identity"] == 0 for ev in pairs.values())
    assert cluster_accounts(accounts, pairs) == []


def _op_rows(accs: list[str], *, net: str, flagged: set[str]) -> list[EventRow]:
    rows = []
    for n, acc in enumerate(accs):
        for i in range(8):
            bad = acc in flagged and i % 2 == 0
            words = " ".join(_word(7, i, k) for k in range(5))  # the operation's own wording, per task
            rows.append(_row(i, acc, ip=f"{net}.{10 + n}", risk=0.8 if bad else 0.0,
                             prompt=f"Summarize the radar imaging parameters of {words}"))  # fmt: skip
    return rows


def test_pivot_account_joins_only_through_its_prompts() -> None:
    # op-c was never flagged, but sends the operation's own wording from the operation's network
    rows = _op_rows(["op-a", "op-b", "op-c"], net="203.0.113", flagged={"op-a", "op-b"})
    # bystander shares the operation's /24 but writes its own prompts
    rows += [_row(i, "bystander", ip="203.0.113.200", risk=0.0, prompt=" ".join(_word(99, i, k) for k in range(6)))
             for i in range(8)]  # fmt: skip
    accounts = profile_accounts(rows)
    usage = {("net", "203.0.113.0/24"): (4, 4)}
    pairs = link_accounts(accounts, rows, usage, pivots=["op-c", "bystander"])
    assert cluster_accounts(accounts, pairs) == [["op-a", "op-b", "op-c"]]
    assert all(ev.pivot for (a, b), ev in pairs.items() if "bystander" in (a, b))


def test_shared_wording_without_shared_infrastructure_does_not_link() -> None:
    # two speakers of one language whose detector over-flags it: same everyday prompts, nothing else shared
    rows = _op_rows(["u1"], net="192.0.2", flagged={"u1"}) + _op_rows(["u2"], net="198.18.7", flagged={"u2"})
    accounts = profile_accounts(rows)
    pairs = link_accounts(accounts, rows, {})
    assert pairs and all(ev.content > 0 for ev in pairs.values())
    assert cluster_accounts(accounts, pairs) == []


def test_weak_accounts_cluster_only_when_two_of_them_tripped_a_detector() -> None:
    rows = _op_rows(["w-a", "w-b", "w-c"], net="203.0.113", flagged=set())
    for k, r in enumerate(rows):  # one flagged event each for w-a and w-b: weak, not core
        if r.account_id in ("w-a", "w-b") and r.id.endswith("-0"):
            rows[k] = r.model_copy(update={"risk": 0.8, "verdict": "block", "categories": ("jailbreak",)})
    accounts = profile_accounts(rows)
    cfg = LinkConfig()
    assert all(p.suspicion < cfg.min_suspicion for p in accounts.values())
    usage = {("net", "203.0.113.0/24"): (3, 3)}
    pairs = link_accounts(accounts, rows, usage, pivots=list(accounts))
    assert cluster_accounts(accounts, pairs) == [["w-a", "w-b", "w-c"]]
    alone = {a: p for a, p in accounts.items() if a != "w-b"}
    pairs = link_accounts(alone, [r for r in rows if r.account_id != "w-b"], usage, pivots=list(alone))
    assert cluster_accounts(alone, pairs) == []
