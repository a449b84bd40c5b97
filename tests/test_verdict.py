"""Policy: risk combination, thresholds, allow-lists, reasons."""

from __future__ import annotations

from pathlib import Path

import pytest

from stormwatch.errors import ConfigError
from stormwatch.models import Event, Evidence, Finding
from stormwatch.verdict import Policy


def _f(cat: str, score: float, techniques: tuple[str, ...] = (), rule: str = "R1") -> Finding:
    return Finding(
        detector="test",
        rule=rule,
        score=score,
        category=cat,
        techniques=techniques,
        evidence=(Evidence(turn=0, start=0, end=4, text="evil"),),
        explanation=f"{rule} matched",
    )


def test_no_findings_is_allow_with_zero_risk() -> None:
    v = Policy.load().decide(Event.from_text("hello"), [])
    assert v.verdict == "allow"
    assert v.risk == 0.0
    assert v.categories == ()
    assert v.reasons == ()


def test_noisy_or_and_block_threshold() -> None:
    pol = Policy.load()
    ev = Event.from_text("x")
    v = pol.decide(ev, [_f("jailbreak", 0.5), _f("jailbreak", 0.5, rule="R2")])
    assert v.risk == pytest.approx(0.75)
    assert v.verdict == "block"  # jailbreak blocks at 0.70 in the default policy
    v2 = pol.decide(ev, [_f("jailbreak", 0.5)])
    assert v2.verdict == "flag"


def test_obfuscation_alone_never_blocks() -> None:
    v = Policy.load().decide(Event.from_text("x"), [_f("prompt-obfuscation", 0.99)])
    assert v.verdict == "flag"


def test_categories_techniques_tactics_ordered_by_weight() -> None:
    fs = [
        _f("llm-aided-development", 0.9, ("T1056.001", "TA0009"), rule="A"),
        _f("llm-supported-social-engineering", 0.5, ("T1566", "TA0001"), rule="B"),
    ]
    v = Policy.load().decide(Event.from_text("x"), fs)
    assert v.categories == ("llm-aided-development", "llm-supported-social-engineering")
    assert v.techniques[0] == "T1056.001"
    assert v.tactics[0] == "TA0009"
    assert "TA0009" not in v.techniques
    assert v.reasons[0].startswith("llm-aided-development 0.90")


def test_allowlist_caps_verdict_for_org(tmp_path: Path) -> None:
    p = tmp_path / "p.yaml"
    p.write_text(
        "allowlists:\n"
        "  - name: red team\n"
        "    match: {org_id: [org-red]}\n"
        "    categories: [llm-aided-development]\n"
        "    max_verdict: allow\n",
        encoding="utf-8",
    )
    pol = Policy.load(p)
    fs = [_f("llm-aided-development", 0.95)]
    red = Event(id="1", org_id="org-red", messages=Event.from_text("x").messages)
    other = Event(id="2", org_id="org-x", messages=Event.from_text("x").messages)
    assert pol.decide(red, fs).verdict == "allow"
    assert pol.decide(other, fs).verdict == "block"
    # the allow-list is scoped to its categories
    assert pol.decide(red, [_f("jailbreak", 0.95)]).verdict == "block"


def test_errors_are_listed_do_not_raise_risk_and_flag_by_default() -> None:
    err = Finding(detector="boom", rule="detector-error", score=0.0, explanation="ValueError: x", error=True)
    v = Policy.load().decide(Event.from_text("x"), [err])
    assert v.risk == 0.0
    assert v.verdict == "flag"  # default on_detector_error: a check that did not run is not a pass
    assert v.detector_errors == ("boom",)
    assert v.contract()["detector_errors"] == ["boom"]
    assert any("boom failed" in r for r in v.reasons)


@pytest.mark.parametrize(("choice", "expected"), [("allow", "allow"), ("flag", "flag"), ("block", "block")])
def test_on_detector_error_is_the_policy_s_choice(choice: str, expected: str) -> None:
    pol = Policy.load().model_copy(update={"on_detector_error": choice})
    err = Finding(detector="boom", rule="detector-error", score=0.0, explanation="ValueError: x", error=True)
    ev = Event.from_text("x")
    assert pol.decide(ev, [err]).verdict == expected
    assert pol.decide(ev, [err]).detector_errors == ("boom",)
    # an error never lowers a verdict the findings earned
    assert pol.decide(ev, [err, _f("jailbreak", 0.95)]).verdict == "block"
    clean = pol.decide(ev, [])
    assert clean.verdict == "allow" and "detector_errors" not in clean.contract()


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("defaults: [1, 2", "invalid YAML"),
        ("defaults: {flag: 2.0, block: 0.5}", "defaults.flag"),
        ("- a", "mapping"),
    ],
)
def test_bad_policy_names_file_and_field(tmp_path: Path, body: str, needle: str) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError) as ei:
        Policy.load(p)
    assert str(p) in str(ei.value)
    assert needle in str(ei.value)


def test_correlated_detectors_count_once_per_category(tmp_path: Path) -> None:
    p = tmp_path / "p.yaml"
    p.write_text("correlated:\n  - [stage-a, stage-b]\n", encoding="utf-8")
    pol = Policy.load(p)
    ev = Event.from_text("x")

    def g(det: str, score: float) -> Finding:
        return Finding(
            detector=det, rule=f"{det}/jailbreak", score=score, category="jailbreak", explanation="m"
        )

    # two stages of one model: the strongest counts, no noisy-OR boost
    assert pol.decide(ev, [g("stage-a", 0.6), g("stage-b", 0.5)]).risk == pytest.approx(0.6)
    # an independent detector still corroborates
    assert pol.decide(ev, [g("stage-a", 0.6), g("other", 0.5)]).risk == pytest.approx(0.8)
    # the packaged policy treats the learned cascade's two stages as correlated
    assert ("learned-fast", "learned-embed") in Policy.load().correlated
