"""Language directions: a within-data-set language offset is found and projected out, meaning is kept."""

from __future__ import annotations

import numpy as np

from stormwatch.train.corpus import Row
from stormwatch.train.pipeline import language_directions


def _rows(n: int, lang: str, label: str, source: str = "tldr-ml") -> list[Row]:
    return [Row(f"{lang}-{label}-{i}", label, source, f"g:{lang}", lang) for i in range(n)]


def test_language_offset_is_found_and_removed_but_the_label_direction_stays() -> None:
    rng = np.random.default_rng(0)
    d = 64
    lang_vec = {"en": np.zeros(d), "th": np.eye(d)[3] * 4.0, "hi": np.eye(d)[7] * 4.0}
    label_vec = {"benign": np.zeros(d), "malware": np.eye(d)[11] * 3.0}
    rows: list[Row] = []
    xs = []
    for lang in lang_vec:
        for label in label_vec:
            rs = _rows(40, lang, label)
            rows += rs
            xs += [lang_vec[lang] + label_vec[label] + rng.normal(0, 0.1, d) for _ in rs]
    x = np.array(xs, np.float32)
    dirs = language_directions(x, rows, max_dirs=8)
    assert 1 <= len(dirs) <= 8
    np.testing.assert_allclose(dirs @ dirs.T, np.eye(len(dirs)), atol=1e-4)
    proj = np.eye(d, dtype=np.float32) - dirs.T @ dirs
    xp = x @ proj
    langs = np.array([r.lang for r in rows])
    labels = np.array([r.label for r in rows])
    # language means collapse after the projection ...
    gap_before = np.linalg.norm(x[langs == "th"].mean(0) - x[langs == "en"].mean(0))
    gap_after = np.linalg.norm(xp[langs == "th"].mean(0) - xp[langs == "en"].mean(0))
    assert gap_before > 3.5 and gap_after < 0.3
    # ... while the label contrast is untouched
    lab_after = np.linalg.norm(xp[labels == "malware"].mean(0) - xp[labels == "benign"].mean(0))
    assert lab_after > 2.8


def test_single_language_data_gives_no_directions() -> None:
    rows = _rows(30, "en", "benign") + _rows(30, "en", "malware", "other")
    x = np.random.default_rng(1).normal(size=(60, 16)).astype(np.float32)
    assert language_directions(x, rows).shape == (0, 16)
