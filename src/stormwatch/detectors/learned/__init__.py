"""Learned detectors: a stage-1 n-gram model and a stage-2 multilingual embedding model (a cascade)."""

from stormwatch.detectors.learned.detector import Assessment, LearnedEmbed, LearnedFast, assess

__all__ = ["Assessment", "LearnedEmbed", "LearnedFast", "assess"]
