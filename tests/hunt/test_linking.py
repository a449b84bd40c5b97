"""Linking: shared infrastructure is weighted by how specific it is; the shared-NAT trap; designations."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

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


def _word(*key: int) -> str:
    digest = hashlib.sha256(repr(key).encode()).digest()
    return "".join(chr(97 + b % 26) for b in digest[:7])


def _row(i: int, acc: str, *, ip: str, risk: float, prompt: str, pay: str | None = None) -> dict[str, Any]:
    return {
        "id": f"{acc}-{i}", "ts": datetime(2024, 1, 1 + i % 5, 8 + i % 8, tzinfo=UTC).replace(tzinfo=None),
        "account_id": acc, "org_id": None, "session_id": f"{acc}-s{i % 3}", "source_ip": ip,
        "net": ip.rsplit(".", 1)[0] + ".0/24", "user_agent": "Mozilla/5.0 common", "api_key_id": f"k-{acc}",
        "model": "gpt-4", "prompt": prompt, "response": "ok", "link_keys": [f"payment_hash={pay}"] if pay else [],
        "risk": risk, "verdict": "block" if risk >= 0.75 else "allow",
        "categories": ["jailbreak"] if risk >= 0.75 else [], "techniques": [],
    }  # fmt: skip


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
    accounts = profile_accounts(r for r in rows if r["account_id"] in {"corp00", "corp01", "corp02"})
    usage = {("ip", "198.51.100.9"): (30, 3), ("net", "198.51.100.0/24"): (30, 3),
             ("user_agent", "Mozilla/5.0 common"): (30, 3)}  # fmt: skip
    pairs = link_accounts(accounts, [r for r in rows if r["account_id"] in accounts], usage)
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
