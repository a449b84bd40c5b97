"""Match incoming prompts against a partner's prompt-indicator file (`stormwatch scan --indicators FILE`)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np

from stormwatch.detectors.fingerprint import (
    MIN_TOKENS,
    IndicatorFile,
    PromptIndicator,
    decode_minhash,
    fingerprint,
)
from stormwatch.models import Event, Evidence, Finding

__all__ = ["IndicatorDetector"]


class IndicatorDetector:
    """Exact (SHA-256) and paraphrase (MinHash) matches of user turns against shared prompt indicators.

    Not a registered built-in: it needs a file, so `scan --indicators FILE` appends it to the engine.
    """

    id: ClassVar[str] = "indicators"
    stage: ClassVar[str] = "fast"

    def __init__(
        self, indicators: IndicatorFile, *, threshold: float | None = None, source: str = ""
    ) -> None:
        self.indicators = indicators
        self.threshold = indicators.threshold if threshold is None else threshold
        self.source = source
        self._by_sha = {ind.sha256: ind for ind in indicators.indicators}
        self._list: list[PromptIndicator] = list(indicators.indicators)
        self._matrix = (
            np.stack([decode_minhash(i.minhash) for i in self._list])
            if self._list
            else np.zeros((0, 0), dtype=np.uint32)
        )

    @classmethod
    def from_file(cls, path: Path, *, threshold: float | None = None) -> IndicatorDetector:
        """Load a partner's indicator file (raises a StormwatchError naming it when it is invalid)."""
        return cls(IndicatorFile.load(Path(path)), threshold=threshold, source=str(path))

    def _finding(self, ind: PromptIndicator, score: float, turn: int, text: str, exact: bool) -> Finding:
        how = "exact (normalized SHA-256)" if exact else f"paraphrase (MinHash similarity {score:.2f})"
        who = self.indicators.producer + (f" {ind.cluster}" if ind.cluster else "")
        return Finding(
            detector=self.id,
            rule=ind.id,
            score=round(min(1.0, max(0.0, score)), 4),
            category=ind.category,
            techniques=tuple(ind.techniques),
            evidence=(Evidence(turn=turn, start=0, end=len(text), text=text[:200]),),
            explanation=f"{how} match of a prompt indicator shared by {who}",
        )

    def detect(self, event: Event) -> list[Finding]:
        """Findings for user turns that match an indicator (best match per turn)."""
        out: list[Finding] = []
        if not self._list:
            return out
        for turn, msg in enumerate(event.turns()):
            if msg.role != "user" or not msg.content.strip():
                continue
            fp = fingerprint(msg.content)
            hit = self._by_sha.get(fp.sha256)
            if hit is not None:
                out.append(self._finding(hit, 1.0, turn, msg.content, exact=True))
                continue
            if fp.tokens < MIN_TOKENS:
                continue
            sims = np.mean(self._matrix == fp.minhash[None, :], axis=1)
            best = int(np.argmax(sims))
            if float(sims[best]) >= self.threshold:
                out.append(self._finding(self._list[best], float(sims[best]), turn, msg.content, exact=False))
        return out
