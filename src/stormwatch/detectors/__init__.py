"""Detectors: rules, decoders and learned models that turn events into findings."""

from stormwatch.detectors.base import (
    BatchDetector,
    Detector,
    DetectorParams,
    Spec,
    available,
    build,
    create,
    register,
)

__all__ = ["BatchDetector", "Detector", "DetectorParams", "Spec", "available", "build", "create", "register"]
