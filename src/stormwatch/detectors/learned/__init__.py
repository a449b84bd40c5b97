"""Learned detectors: a stage-1 n-gram model and a stage-2 multilingual embedding model (a cascade)."""

from stormwatch.detectors.learned.detector import (
    Assessment,
    Cascade,
    CascadeParams,
    LearnedEmbed,
    LearnedFast,
)

__all__ = ["Assessment", "Cascade", "CascadeParams", "LearnedEmbed", "LearnedFast"]
