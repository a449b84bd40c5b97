"""Detectors: rules, decoders and learned models that turn events into findings."""

from stormwatch.detectors.base import BatchDetector, Detector, available, create, register

__all__ = ["BatchDetector", "Detector", "available", "create", "register"]
