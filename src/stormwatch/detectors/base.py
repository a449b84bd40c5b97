"""The detector protocol and the registry every detector family plugs into."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from importlib.metadata import entry_points
from typing import ClassVar, Protocol, runtime_checkable

from stormwatch.models import Event, Finding


@runtime_checkable
class Detector(Protocol):
    """Anything that looks at an event and returns findings.

    `id` names the detector in findings; `stage` orders the cascade: "fast" detectors always run,
    "learned" ones are skipped on the fast path (`scan --fast`).
    """

    id: ClassVar[str]
    stage: ClassVar[str]

    def detect(self, event: Event) -> list[Finding]:
        """Return findings for one event (an empty list when nothing is found)."""
        ...


class BatchDetector(Detector, Protocol):
    """A detector that is faster on many events at once (e.g. one model call per batch)."""

    def detect_batch(self, events: list[Event]) -> list[list[Finding]]:
        """Return one findings list per event, in order."""
        ...


DetectorFactory = Callable[[], Detector]

_BUILTINS: dict[str, DetectorFactory] = {}


def register(detector_id: str) -> Callable[[DetectorFactory], DetectorFactory]:
    """Register a built-in detector factory (a class or a zero-argument function) under its id."""

    def deco(factory: DetectorFactory) -> DetectorFactory:
        if detector_id in _BUILTINS and _BUILTINS[detector_id] is not factory:
            raise ValueError(f"detector id {detector_id!r} registered twice")
        _BUILTINS[detector_id] = factory
        return factory

    return deco


def _load_builtins() -> None:
    # Imported for their @register side effect; kept here so the registry never depends on import order
    # elsewhere.
    import stormwatch.detectors.adversarial_suffix
    import stormwatch.detectors.learned
    import stormwatch.detectors.obfuscation
    import stormwatch.detectors.policy_conflict
    import stormwatch.detectors.response
    import stormwatch.detectors.rules  # noqa: F401


def available() -> dict[str, DetectorFactory]:
    """Every detector factory: built-ins plus third-party ones from the `stormwatch.detectors` entry points."""
    _load_builtins()
    out = dict(_BUILTINS)
    for ep in entry_points(group="stormwatch.detectors"):
        out.setdefault(ep.name, ep.load())
    return out


def create(ids: Iterable[str] | None = None, *, fast: bool = False) -> list[Detector]:
    """Instantiate the named detectors (all by default); with `fast`, leave out learned stages."""
    factories = available()
    wanted = list(ids) if ids is not None else sorted(factories)
    unknown = [i for i in wanted if i not in factories]
    if unknown:
        raise KeyError(f"unknown detector(s): {', '.join(unknown)}; known: {', '.join(sorted(factories))}")
    if fast:
        # Read the stage from the factory (a class) so learned models are never even constructed.
        wanted = [i for i in wanted if getattr(factories[i], "stage", "fast") == "fast"]
    return [factories[i]() for i in wanted]
