"""Behaviour detectors over the store: every landscape operation found, no benign look-alike flagged.

The detectors were tuned on simulator seed 7; these tests use seeds 11 and 23. The simulator and the detectors
come from the same hand (see docs/hunt.md), so this checks wiring and separation, not real-world recall.
"""

from __future__ import annotations

from typing import Any

import pytest

from stormwatch.engine import Engine
from stormwatch.hunt.behaviour import BehaviourParams, behaviour_findings
from stormwatch.ingest import event_from_record
from stormwatch.simulate import SimConfig, simulate
from stormwatch.store import DuckDBStore

OPS = {
    "runtime-malware": "op:runtime-malware",
    "distillation-farm": "op:distillation-farm",
    "account-farm": "op:account-farm",
    "agentic-operator": "op:agentic-intrusion",
}


@pytest.fixture(scope="module", params=[11, 23])
def hunted(request: pytest.FixtureRequest) -> tuple[DuckDBStore, dict[str, Any]]:
    records, truth = simulate(SimConfig(accounts=120, days=10, seed=request.param, landscape=True))
    events = [event_from_record(r, line=i + 1) for i, r in enumerate(records)]
    engine = Engine.default(fast=True)
    store = DuckDBStore()
    store.add(events, [engine.scan(e) for e in events])
    return store, truth


def test_every_operation_is_found_with_its_accounts(hunted: tuple[DuckDBStore, dict[str, Any]]) -> None:
    store, truth = hunted
    found = behaviour_findings(store.account_behaviour(), store.key_shifts())
    by_kind = {f.kind: f for f in found}
    assert set(by_kind) == set(OPS) | {"llmjacking"}, [(f.kind, f.reason) for f in found]
    for kind, sim_kind in OPS.items():
        members = {a for f in found if f.kind == kind for a in f.accounts}
        want = {a for a, k in truth["kinds"].items() if k == sim_kind}
        assert members == want, kind
        assert by_kind[kind].factors and by_kind[kind].reason
    jack = truth["operations"]["llmjacking"]
    assert by_kind["llmjacking"].api_key_id == jack["api_key_id"]
    assert by_kind["llmjacking"].accounts == (jack["owner_account_id"],)


def test_no_benign_account_or_look_alike_is_flagged(hunted: tuple[DuckDBStore, dict[str, Any]]) -> None:
    store, truth = hunted
    found = behaviour_findings(store.account_behaviour(), store.key_shifts())
    flagged = {a for f in found if f.kind != "llmjacking" for a in f.accounts}
    assert not {a for a in flagged if truth["accounts"][a] == "benign"}


def test_thresholds_are_parameters(hunted: tuple[DuckDBStore, dict[str, Any]]) -> None:
    store, _ = hunted
    strict = BehaviourParams(malware_min_networks=500, farm_min_accounts=100, agent_min_rules=50)
    kinds = {f.kind for f in behaviour_findings(store.account_behaviour(), store.key_shifts(), strict)}
    assert kinds == {"llmjacking"}
    with pytest.raises(ValueError):
        BehaviourParams(unknown=1)  # type: ignore[call-arg]
