"""Detection metrics in numpy: P/R/F1, TPR at fixed FPR, ROC AUC, expected calibration error, confusion."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike


@dataclass(frozen=True)
class BinaryMetrics:
    """Binary detection quality at a threshold plus threshold-free numbers."""

    n: int
    positives: int
    precision: float
    recall: float
    f1: float
    fpr: float
    tpr_at_1fpr: float
    tpr_at_5fpr: float
    auc: float
    ece: float


def roc_auc(y: ArrayLike, s: ArrayLike) -> float:
    """Area under the ROC curve (Mann-Whitney with tie handling); nan when one class is missing."""
    ya = np.asarray(y, dtype=bool)
    sa = np.asarray(s, dtype=float)
    npos, nneg = int(ya.sum()), int((~ya).sum())
    if npos == 0 or nneg == 0:
        return float("nan")
    order = np.argsort(sa, kind="mergesort")
    ranks = np.empty(len(sa), dtype=float)
    sorted_s = sa[order]
    i = 0
    while i < len(sa):
        j = i
        while j + 1 < len(sa) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return float((ranks[ya].sum() - npos * (npos + 1) / 2.0) / (npos * nneg))


def tpr_at_fpr(y: ArrayLike, s: ArrayLike, max_fpr: float) -> float:
    """Highest TPR at a threshold whose FPR does not exceed `max_fpr` (ties count against us)."""
    ya = np.asarray(y, dtype=bool)
    sa = np.asarray(s, dtype=float)
    neg = np.sort(sa[~ya])[::-1]
    pos = sa[ya]
    if len(pos) == 0:
        return float("nan")
    if len(neg) == 0:
        return 1.0
    k = int(np.floor(max_fpr * len(neg)))  # negatives allowed above the threshold
    thr = neg[k] if k < len(neg) else -np.inf
    return float((pos > thr).mean())


def ece(y: ArrayLike, p: ArrayLike, bins: int = 10) -> float:
    """Expected calibration error with equal-width bins."""
    ya = np.asarray(y, dtype=float)
    pa = np.clip(np.asarray(p, dtype=float), 0, 1)
    if len(pa) == 0:
        return float("nan")
    idx = np.minimum((pa * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.sum() / len(pa) * abs(pa[m].mean() - ya[m].mean())
    return float(total)


def reliability(y: ArrayLike, p: ArrayLike, bins: int = 10) -> list[tuple[float, float, int]]:
    """(mean predicted, observed frequency, count) per non-empty bin, for the calibration plot."""
    ya = np.asarray(y, dtype=float)
    pa = np.clip(np.asarray(p, dtype=float), 0, 1)
    idx = np.minimum((pa * bins).astype(int), bins - 1)
    return [
        (float(pa[idx == b].mean()), float(ya[idx == b].mean()), int((idx == b).sum()))
        for b in range(bins)
        if (idx == b).any()
    ]


def binary(y: ArrayLike, s: ArrayLike, threshold: float = 0.5) -> BinaryMetrics:
    """All binary metrics for labels `y` and scores `s`."""
    ya = np.asarray(y, dtype=bool)
    sa = np.asarray(s, dtype=float)
    pred = sa >= threshold
    tp = int((pred & ya).sum())
    fp = int((pred & ~ya).sum())
    fn = int((~pred & ya).sum())
    prec = tp / (tp + fp) if tp + fp else float("nan")
    rec = tp / (tp + fn) if tp + fn else float("nan")
    f1 = 2 * prec * rec / (prec + rec) if tp else 0.0
    nneg = int((~ya).sum())
    return BinaryMetrics(
        n=len(ya),
        positives=int(ya.sum()),
        precision=prec,
        recall=rec,
        f1=f1,
        fpr=fp / nneg if nneg else float("nan"),
        tpr_at_1fpr=tpr_at_fpr(ya, sa, 0.01),
        tpr_at_5fpr=tpr_at_fpr(ya, sa, 0.05),
        auc=roc_auc(ya, sa),
        ece=ece(ya, sa),
    )


def confusion(truth: Sequence[str], pred: Sequence[str | None]) -> tuple[list[str], list[list[int]]]:
    """Labels and a confusion matrix (rows = truth, columns = prediction; "none" for no prediction)."""
    labels = sorted({*truth, *(p or "none" for p in pred)})
    pos = {lab: i for i, lab in enumerate(labels)}
    m = [[0] * len(labels) for _ in labels]
    for t, p in zip(truth, pred, strict=True):
        m[pos[t]][pos[p or "none"]] += 1
    return labels, m
