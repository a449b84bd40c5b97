"""The simulator: deterministic, realistic mix, ground truth covers every account."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from pathlib import Path

from stormwatch.simulate import BENIGN_LABEL, SimConfig, simulate, write_simulation

CFG = SimConfig(accounts=120, days=6, seed=3)


def test_same_seed_same_events() -> None:
    a, _ = simulate(CFG)
    b, _ = simulate(CFG)
    assert list(itertools.islice(a, 300)) == list(itertools.islice(b, 300))


def test_other_seed_other_events() -> None:
    a, _ = simulate(CFG)
    b, _ = simulate(SimConfig(accounts=120, days=6, seed=4))
    assert [e["messages"] for e in itertools.islice(a, 50)] != [
        e["messages"] for e in itertools.islice(b, 50)
    ]


def test_truth_and_population() -> None:
    events, truth = simulate(CFG)
    evs = list(events)
    labels = set(truth["accounts"].values())
    assert {
        "Forest Blizzard",
        "Emerald Sleet",
        "Crimson Sandstorm",
        "Charcoal Typhoon",
        "Salmon Typhoon",
    } <= labels
    assert {"sim:fraud-ring", "sim:unknown", BENIGN_LABEL} <= labels
    assert {e["account_id"] for e in evs} <= set(truth["accounts"])
    assert len({e["id"] for e in evs}) == len(evs)
    assert [e["timestamp"] for e in evs] == sorted(e["timestamp"] for e in evs)
    # refusals and retries-after-refusal exist, many languages, shared corporate NAT
    assert any("sorry" in e["response"].lower() for e in evs)
    texts = " ".join(e["messages"][0]["content"] for e in evs)
    assert any("\u0400" <= ch <= "\u04ff" for ch in texts) and any("\u4e00" <= ch <= "\u9fff" for ch in texts)
    by_ip: dict[str, set[str]] = {}
    for e in evs:
        by_ip.setdefault(e["source_ip"], set()).add(e["account_id"])
    assert max(len(v) for v in by_ip.values()) >= 5


def test_write_simulation(tmp_path: Path) -> None:
    out, truth = tmp_path / "ev.jsonl", tmp_path / "truth.json"
    n = write_simulation(SimConfig(accounts=40, days=2, seed=1), out, truth)
    lines = out.read_text("utf-8").splitlines()
    assert n == len(lines) > 0
    first = json.loads(lines[0])
    assert {
        "id",
        "timestamp",
        "account_id",
        "source_ip",
        "user_agent",
        "messages",
        "response",
        "metadata",
    } <= set(first)
    assert json.loads(truth.read_text("utf-8"))["seed"] == 1


def test_operations_stay_small_in_big_populations() -> None:
    from stormwatch.simulate._sim import MAX_OP_ACCOUNTS, Simulator

    sim = Simulator(SimConfig(accounts=5000, days=1, seed=1))
    sizes = Counter(a.label for a in sim.accounts if a.op is not None)
    assert sizes and max(sizes.values()) <= MAX_OP_ACCOUNTS["normal"]


def test_other_language_users_do_not_share_a_few_sentences() -> None:
    events, truth = simulate(SimConfig(accounts=400, days=10, seed=5))
    by_lang: dict[str, set[str]] = {}
    for e in events:
        text = e["messages"][0]["content"]
        if truth["accounts"][e["account_id"]] == "benign" and not text.isascii():
            by_lang.setdefault(text[:1], set()).add(text)
    assert sum(len(v) for v in by_lang.values()) >= 60
