"""Flags optimised adversarial suffixes (GCG-style token soups) appended to a request.

A FAST, model-free-at-runtime detector: a character n-gram model fitted on benign text in many scripts and
on code (see `benchmarks/adversarial_suffix.py`, which writes `model.npz` and `params.json`) scores every
window of whitespace tokens in bits per character, plus a bonus for soup-shaped tokens (case flips inside a
word, punctuation between letters). A window far less predictable than any language or code the model saw
is reported as a jailbreak suffix. Long base64/hex/URL tokens are skipped so blobs do not count as soup.
"""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import ClassVar

from stormwatch.detectors.adversarial_suffix._lm import CharLM
from stormwatch.detectors.adversarial_suffix._score import Params, score_text
from stormwatch.detectors.base import register
from stormwatch.models import Event, Evidence, Finding

__all__ = ["AdversarialSuffixDetector", "Params", "load_model", "score_text"]

_TECHNIQUES = ("AML.T0054", "AML.T0043")  # LLM jailbreak; craft adversarial data


def _data_dir() -> Path:
    return Path(str(files("stormwatch.detectors.adversarial_suffix")))


def load_model(directory: Path | None = None) -> tuple[tuple[CharLM, ...], Params]:
    """Load the shipped (or a given directory's) prose and code character models and scoring parameters."""
    d = directory or _data_dir()
    lm = (CharLM.load(d / "model.npz", "c"), CharLM.load(d / "model.npz", "k"))
    raw = json.loads((d / "params.json").read_text(encoding="utf-8"))
    known = set(Params.__dataclass_fields__)
    return lm, Params(**{k: v for k, v in raw.items() if k in known})


@register("adversarial-suffix")
class AdversarialSuffixDetector:
    """Optimised adversarial token-soup suffixes (GCG-style) appended to a request (ATLAS AML.T0054)."""

    id: ClassVar[str] = "adversarial-suffix"
    stage: ClassVar[str] = "fast"

    def __init__(self, model_dir: Path | None = None) -> None:
        self._lm, self._params = load_model(model_dir)

    def detect(self, event: Event) -> list[Finding]:
        """One finding per turn whose most soup-like window reaches the calibrated threshold."""
        out: list[Finding] = []
        p = self._params
        for ti, turn in enumerate(event.turns()):
            if turn.role not in ("user", "tool") or not turn.content:
                continue
            best, spans = score_text(turn.content, self._lm, p)
            if not spans:
                continue
            top = max(spans, key=lambda sp: sp.raw)
            frac = min(1.0, max(0.0, (top.raw - p.threshold) / max(p.high - p.threshold, 1e-6)))
            score = round(0.45 + 0.35 * frac, 4)
            covered = sum(sp.end - sp.start for sp in spans)
            out.append(
                Finding(
                    detector=self.id,
                    rule="SW-ADV-SUFFIX",
                    score=score,
                    category="jailbreak",
                    techniques=_TECHNIQUES,
                    evidence=tuple(
                        Evidence(
                            turn=ti, start=sp.start, end=sp.end, text=turn.content[sp.start : sp.end][:200]
                        )
                        for sp in sorted(spans, key=lambda sp: -sp.raw)[:3]
                    ),
                    explanation=(
                        f"{covered} of {len(turn.content)} characters read as an optimised token soup "
                        f"(window score {best:.2f} ≥ {p.threshold:.2f}); typical of GCG-style adversarial suffixes"
                    ),
                )
            )
        return out
