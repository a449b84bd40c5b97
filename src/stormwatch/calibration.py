"""Calibrated risk: the learned cascade's P(malicious) mapped to a risk whose policy thresholds mean a known
false-positive rate on ordinary prompts.

At training time the cascade scores a benign calibration set (general prompts, every language, never the test
rows) and records, for each anchor FPR below, the score threshold that reaches it. At scan time a score is
mapped piecewise-linearly through those (threshold, risk) points. With the default policy this means:
flag at risk 0.45 ≈ 1 % of ordinary prompts, block at 0.70 ≈ 0.2 %, block at 0.80 ≈ 0.1 %.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# (benign FPR, risk) anchors, strictly decreasing FPR / increasing risk. Documented in docs/quality.md.
RISK_ANCHORS: tuple[tuple[float, float], ...] = (
    (0.30, 0.10),
    (0.10, 0.25),
    (0.03, 0.35),
    (0.01, 0.45),
    (0.005, 0.60),
    (0.002, 0.70),
    (0.001, 0.80),
    (0.0005, 0.90),
)


def risk_for_fpr(fpr: float) -> float:
    """The risk value whose threshold gives `fpr` on the benign calibration set (log-linear between anchors)."""
    if not 0.0 < fpr < 1.0:
        raise ValueError(f"target FPR must be in (0, 1), got {fpr}")
    xs = np.log([a for a, _ in RISK_ANCHORS][::-1])
    ys = np.array([r for _, r in RISK_ANCHORS][::-1])
    return float(np.interp(np.log(fpr), xs, ys))


def fit_risk_curve(benign_scores: Sequence[float]) -> list[list[float]]:
    """(score threshold, risk) points from benign calibration scores; thresholds made strictly increasing."""
    s = np.sort(np.asarray(benign_scores, dtype=float))[::-1]
    pts: list[list[float]] = []
    last = 0.0
    for fpr, risk in RISK_ANCHORS:
        k = int(np.floor(fpr * len(s)))
        thr = float(s[k]) if k < len(s) else float(s[-1]) if len(s) else 0.5
        thr = max(thr, last + 1e-6)
        pts.append([round(thr, 6), risk])
        last = thr
    return pts


def apply_risk_curve(p: float, curve: Sequence[Sequence[float]] | None) -> float:
    """Map a score through the curve; without a curve the score is returned unchanged."""
    if not curve:
        return p
    xs = [0.0, *(float(c[0]) for c in curve), 1.0]
    ys = [0.0, *(float(c[1]) for c in curve), 1.0]
    if xs[-2] >= 1.0:  # the top anchor sits at 1.0: keep the map monotone
        xs[-1], ys[-1] = xs[-2] + 1e-6, ys[-2]
    return float(np.interp(p, xs, ys))
