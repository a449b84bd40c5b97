"""Calibrated risk: anchors, the fitted curve, and policy thresholds set from a target FPR."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from stormwatch.calibration import RISK_ANCHORS, apply_risk_curve, fit_risk_curve, risk_for_fpr
from stormwatch.verdict import Policy


def test_risk_for_fpr_hits_anchors_and_is_monotone() -> None:
    for fpr, risk in RISK_ANCHORS:
        assert risk_for_fpr(fpr) == pytest.approx(risk)
    grid = [risk_for_fpr(f) for f in (0.2, 0.05, 0.02, 0.01, 0.004, 0.001)]
    assert grid == sorted(grid)
    with pytest.raises(ValueError):
        risk_for_fpr(0.0)


def test_fitted_curve_means_the_stated_fpr_on_its_calibration_scores() -> None:
    rng = np.random.default_rng(0)
    benign = rng.beta(1, 12, 20000)
    curve = fit_risk_curve(benign.tolist())
    risks = np.array([apply_risk_curve(float(p), curve) for p in benign])
    for fpr, risk in RISK_ANCHORS:
        assert (risks >= risk).mean() <= fpr * 1.05 + 1e-4
    xs = np.linspace(0, 1, 200)
    ys = [apply_risk_curve(float(x), curve) for x in xs]
    assert ys == sorted(ys) and ys[0] == 0.0 and ys[-1] == pytest.approx(1.0)
    assert apply_risk_curve(0.3, None) == 0.3


def test_policy_target_fpr_sets_thresholds(tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "p.yaml"
    p.write_text(
        yaml.safe_dump(
            {
                "target_fpr": {"flag": 0.01, "block": 0.001},
                "categories": {"jailbreak": {"flag": 0.3, "block": 0.5}},
            }
        )
    )
    pol = Policy.load(p)
    th = pol.thresholds("prompt-injection")
    assert th.flag == pytest.approx(risk_for_fpr(0.01)) and th.block == pytest.approx(risk_for_fpr(0.001))
    assert pol.thresholds("jailbreak").flag == 0.3  # an explicit category entry wins
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"target_fpr": {"flag": 2, "block": 0.1}}))
    with pytest.raises(Exception, match="flag"):
        Policy.load(bad)
