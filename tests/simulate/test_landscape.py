"""The 2025-26 landscape operations in the simulator: off by default, ground truth for each, traps included."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

import pytest

from stormwatch.engine import Engine
from stormwatch.ingest import event_from_record
from stormwatch.simulate import BENIGN_LABEL, SimConfig, simulate

BASE = SimConfig(accounts=120, days=8, seed=5)
LAND = SimConfig(accounts=120, days=8, seed=5, landscape=True)
OPS = {"agentic-intrusion", "runtime-malware", "distillation-farm", "account-farm", "llmjacking"}
TRAPS = {
    "benign:coding-agent",
    "benign:pentest-agent",
    "benign:ci-bot",
    "benign:heavy-user",
    "benign:eval-harness",
}


@pytest.fixture(scope="module")
def land() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    events, truth = simulate(LAND)
    return list(events), truth


def _strip(e: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in e.items() if k != "id"}


def test_off_by_default_and_the_base_traffic_is_unchanged(
    land: tuple[list[dict[str, Any]], dict[str, Any]],
) -> None:
    base, base_truth = simulate(BASE)
    base_events = [_strip(e) for e in base]
    events, truth = land
    kept = [_strip(e) for e in events if e["account_id"] in base_truth["accounts"]]
    assert kept == base_events
    assert not OPS & set(base_truth["operations"])
    assert set(truth["operations"]) >= OPS


def test_same_seed_same_landscape(land: tuple[list[dict[str, Any]], dict[str, Any]]) -> None:
    again, _ = simulate(LAND)
    assert list(again) == land[0]


def test_truth_names_every_operation_and_trap(land: tuple[list[dict[str, Any]], dict[str, Any]]) -> None:
    events, truth = land
    seen = Counter(truth["kinds"][e["account_id"]] for e in events)
    for op in OPS - {"llmjacking"}:
        accounts = truth["operations"][op]["accounts"]
        assert accounts and all(truth["accounts"][a] == f"sim:{op}" for a in accounts)
        assert seen[f"op:{op}"] > 0, op
    for trap in TRAPS:
        assert seen[trap] > 0, trap
    trap_accounts = [a for a, k in truth["kinds"].items() if k in TRAPS]
    assert all(truth["accounts"][a] == BENIGN_LABEL for a in trap_accounts)
    assert len({e["id"] for e in events}) == len(events)


def test_stolen_key_moves_to_new_infrastructure_at_night(
    land: tuple[list[dict[str, Any]], dict[str, Any]],
) -> None:
    events, truth = land
    jack = truth["operations"]["llmjacking"]
    key_events = [e for e in events if e["api_key_id"] == jack["api_key_id"]]
    assert {e["account_id"] for e in key_events} == {jack["owner_account_id"]}
    before = [e for e in key_events if e["timestamp"] < jack["misuse_from"]]
    after = [e for e in key_events if e["timestamp"] >= jack["misuse_from"]]
    owner_ips = {e["source_ip"] for e in before}
    proxied = [e for e in after if e["source_ip"] not in owner_ips]
    assert before and len(proxied) > 5 * len(before)
    hours = Counter(datetime.fromisoformat(e["timestamp"].replace("Z", "+00:00")).hour for e in proxied)
    assert sum(v for h, v in hours.items() if h >= 22 or h < 6) > len(proxied) / 2


def test_runtime_malware_is_one_key_from_many_hosts(
    land: tuple[list[dict[str, Any]], dict[str, Any]],
) -> None:
    events, truth = land
    (acct,) = truth["operations"]["runtime-malware"]["accounts"]
    mine = [e for e in events if e["account_id"] == acct]
    assert len({e["api_key_id"] for e in mine}) == 1
    assert len({e["source_ip"] for e in mine}) >= 30
    assert len({e["messages"][0]["content"].split("```")[0] for e in mine}) == 1  # one template


def test_agent_intrusion_tool_calls_are_found_and_the_coding_agent_is_not(
    land: tuple[list[dict[str, Any]], dict[str, Any]],
) -> None:
    events, truth = land
    engine = Engine.default(fast=True)

    def agent_rules(kind: str) -> set[str]:
        found: set[str] = set()
        for n, rec in enumerate(e for e in events if truth["kinds"][e["account_id"]] == kind):
            event = event_from_record(rec, line=n + 1)
            found |= {f.rule for f in engine.scan(event).findings if f.rule.startswith("SW-AGT-")}
        return found

    assert {"SW-AGT-001", "SW-AGT-002", "SW-AGT-003", "SW-AGT-004"} <= agent_rules("op:agentic-intrusion")
    assert agent_rules("benign:coding-agent") == set()
