"""The cascade training recipe as one function, shared by `stormwatch train` and the leave-sources-out harness.

`fit_cascade(train, calib)` fits stage 1 (hashed n-grams) and stage 2 (USE-multilingual heads + stacker) and
returns a `TrainedCascade` that scores texts exactly like the shipped detector: stage 1 on every window;
windows stage 1 calls clearly benign (P < band low) are settled; every other event is decided by stage 2 on
its most suspicious windows (stage 1 alone never reports a malicious verdict it cannot have undone).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from stormwatch.detectors.learned._features import chunks
from stormwatch.detectors.learned._model import (
    BENIGN,
    USE,
    USE_PREFIX_CHARS,
    EmbedModel,
    Exemplar,
    FastModel,
    dequantize,
)
from stormwatch.eval.lso import EvalRow, Scored
from stormwatch.train.corpus import CYBER_CATEGORIES, Row
from stormwatch.train.pipeline import EmbeddingCache, Splits, train_embed, train_fast

STAGE2_WINDOWS = 2
MAX_WINDOWS = 8  # windows scored per text in evaluation (the detector's own cap is 32)


def fast_model(arrays: dict[str, Any], meta: dict[str, Any]) -> FastModel:
    """A stage-1 model from the arrays and metadata `train_fast` returns."""
    return FastModel(
        categories=list(meta["categories"]),
        tactics=list(meta["tactics"]),
        w_cat=dequantize(arrays["w_cat"], arrays["s_cat"]),
        b_cat=np.asarray(arrays["b_cat"], np.float32),
        w_tac=dequantize(arrays["w_tac"], arrays["s_tac"]),
        b_tac=np.asarray(arrays["b_tac"], np.float32),
        platt=(float(meta["platt"][0]), float(meta["platt"][1])),
        meta=meta,
    )


def embed_model(arrays: dict[str, Any], meta: dict[str, Any]) -> EmbedModel:
    """A stage-2 model from the arrays and metadata `train_embed` returns."""
    return EmbedModel(
        categories=list(meta["categories"]),
        tactics=list(meta["tactics"]),
        techniques=list(meta["techniques"]),
        w_cat=np.asarray(arrays["w_cat"], np.float32),
        b_cat=np.asarray(arrays["b_cat"], np.float32),
        w_tac=np.asarray(arrays["w_tac"], np.float32),
        b_tac=np.asarray(arrays["b_tac"], np.float32),
        w_tech=np.asarray(arrays["w_tech"], np.float32),
        b_tech=np.asarray(arrays["b_tech"], np.float32),
        mean=np.asarray(arrays["mean"], np.float32),
        stack=(float(meta["stack"][0]), float(meta["stack"][1]), float(meta["stack"][2])),
        exemplar_vecs=np.asarray(arrays["exemplar_vecs"], np.float32),
        exemplars=[Exemplar(**e) for e in meta["exemplars"]],
        reference=np.asarray(arrays["reference"], np.float32),
        meta=meta,
        w_hid=np.asarray(arrays["w_hid"], np.float32) if "w_hid" in arrays else None,
        b_hid=np.asarray(arrays["b_hid"], np.float32) if "b_hid" in arrays else None,
    )


def stage1_windows(
    fast: FastModel, texts: Sequence[str]
) -> tuple[npt.NDArray[np.float32], dict[int, list[tuple[float, str]]]]:
    """Stage 1 on each text's first MAX_WINDOWS windows: the max P(malicious) per text (as the detector
    scores an event) and, per text, every window with its P."""
    wins = [(i, w) for i, t in enumerate(texts) for _, w in chunks(t)[:MAX_WINDOWS]]
    p1w, _, _ = fast.predict([w for _, w in wins]) if wins else (np.zeros(0), None, None)
    p1 = np.zeros(len(texts), np.float32)
    per: dict[int, list[tuple[float, str]]] = {}
    for (i, w), p in zip(wins, p1w, strict=True):
        p1[i] = max(p1[i], float(p))
        per.setdefault(i, []).append((float(p), w))
    return p1, per


@dataclass
class TrainedCascade:
    """Stage 1 + stage 2 in memory, scoring with cached USE embeddings."""

    fast: FastModel
    use: EmbedModel
    band_low: float
    cache: EmbeddingCache
    log: Callable[[str], None]

    def score(self, rows: Sequence[EvalRow]) -> Scored:
        """P(malicious) and the predicted tactic for each row (the shipped cascade's decision rule)."""
        n = len(rows)
        p1, per = stage1_windows(self.fast, [r.text for r in rows])
        out = p1.copy()
        tactic: list[str | None] = [None] * n
        need = [i for i in range(n) if p1[i] >= self.band_low and i in per]
        if need:
            sel: list[tuple[int, float, str]] = []
            for i in need:
                top = sorted(per[i], key=lambda x: -x[0])[:STAGE2_WINDOWS]
                sel += [(i, p, w[:USE_PREFIX_CHARS]) for p, w in top]
            emb = self.cache.get([w for _, _, w in sel], None, self.log)
            pc, pt, _ = self.use.heads(emb)
            p2 = 1.0 - pc[:, self.use.categories.index(BENIGN)]
            pm = self.use.combine(np.array([p for _, p, _ in sel], np.float32), p2)
            best: dict[int, float] = {}
            for j, (i, _, _) in enumerate(sel):
                if i not in best or pm[j] > best[i]:
                    best[i] = float(pm[j])
                    cat = max(
                        (c for c in self.use.categories if c != BENIGN),
                        key=lambda c: pc[j, self.use.categories.index(c)],
                    )
                    tactic[i] = self.use.tactics[int(np.argmax(pt[j]))] if cat in CYBER_CATEGORIES else None
            for i, v in best.items():
                out[i] = v
        return Scored(p=out, tactic=tactic)


def fit_cascade(
    train: Sequence[Row],
    calib: Sequence[Row],
    seed: int,
    cache: EmbeddingCache,
    log: Callable[[str], None],
    *,
    per_source: int = 1500,
    max_iter: int = 300,
    head: str = "mlp",
    stack_stage1: bool = False,
    lang_dirs: int = 0,
) -> tuple[TrainedCascade, dict[str, Any]]:
    """Fit both stages; returns the in-memory cascade and the arrays/metadata to save."""
    splits = Splits(list(train), list(calib), [])
    fa, fm = train_fast(splits, seed, log, max_iter=max_iter)
    ua, um = train_embed(
        splits,
        fa,
        fm,
        cache,
        seed,
        per_source,
        log,
        kind=USE,
        head=head,
        stack_stage1=stack_stage1,
        lang_dirs=lang_dirs,
    )
    cascade = TrainedCascade(fast_model(fa, fm), embed_model(ua, um), float(um["band"][0]), cache, log)
    return cascade, {"fast": (fa, fm), "use": (ua, um)}


def lso_recipe(
    cache: EmbeddingCache,
    log: Callable[[str], None],
    *,
    per_source: int = 1500,
    max_iter: int = 300,
    head: str = "mlp",
    stack_stage1: bool = False,
    lang_dirs: int = 0,
) -> Callable[[Sequence[Any], Sequence[Any], int], Callable[[Sequence[Any]], Scored]]:
    """The recipe for `eval.lso.run_lso`: train on the fold's rows, return its scorer."""

    def recipe(train: Sequence[Any], calib: Sequence[Any], seed: int) -> Callable[[Sequence[Any]], Scored]:
        cascade, _ = fit_cascade(
            train,
            calib,
            seed,
            cache,
            log,
            per_source=per_source,
            max_iter=max_iter,
            head=head,
            stack_stage1=stack_stage1,
            lang_dirs=lang_dirs,
        )
        return cascade.score

    return recipe
