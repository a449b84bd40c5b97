"""The detector protocol and the registry every detector family plugs into."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from importlib import import_module
from importlib.metadata import entry_points
from typing import Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, ValidationError

from stormwatch.errors import ConfigError
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


DetectorFactory = Callable[..., Detector]


class DetectorParams(BaseModel):
    """Base of a detector's parameters model (`Params` on its class): immutable, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


@runtime_checkable
class DetectorSpecLike(Protocol):
    """What `build` needs of a spec (`stormwatch.config.DetectorSpec` is one): a detector id and parameters."""

    @property
    def id(self) -> str: ...

    @property
    def params(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class Spec:
    """A plain detector spec (id and parameters) for callers that do not build a Config."""

    id: str
    params: Mapping[str, Any] = field(default_factory=dict)


# Factories registered with @register (kept so detector packages written against it keep working); the
# registry itself is the entry-point table plus the static list in `_builtin_ids`.
_REGISTERED: dict[str, DetectorFactory] = {}


def register(detector_id: str) -> Callable[[DetectorFactory], DetectorFactory]:
    """Record a detector factory under its id (optional: the entry-point table is what makes it known)."""

    def deco(factory: DetectorFactory) -> DetectorFactory:
        if detector_id in _REGISTERED and _REGISTERED[detector_id] is not factory:
            raise ValueError(f"detector id {detector_id!r} registered twice")
        _REGISTERED[detector_id] = factory
        return factory

    return deco


def _load_ref(ref: str) -> DetectorFactory:
    module, _, attr = ref.partition(":")
    factory: DetectorFactory = getattr(import_module(module), attr)
    return factory


def available() -> dict[str, DetectorFactory]:
    """Every detector factory by id: the `stormwatch.detectors` entry points (built-in and third-party),
    then built-ins an older editable install has not registered yet, then @register-ed ones."""
    from stormwatch.detectors._builtin_ids import BUILTIN_DETECTORS

    out: dict[str, DetectorFactory] = {}
    for ep in entry_points(group="stormwatch.detectors"):
        out.setdefault(ep.name, ep.load())
    for name, ref in BUILTIN_DETECTORS.items():
        if name not in out:
            out[name] = _load_ref(ref)
    for name, factory in _REGISTERED.items():
        out.setdefault(name, factory)
    return out


def _params_error(detector_id: str, exc: ValidationError) -> ConfigError:
    parts = []
    for e in exc.errors():
        key = ".".join(str(x) for x in e["loc"]) or "(params)"
        reason = "unknown parameter" if e["type"] == "extra_forbidden" else e["msg"]
        parts.append(f"{key}: {reason}")
    return ConfigError(f"detector {detector_id!r}", "; ".join(parts), "params")


def build(
    spec: DetectorSpecLike,
    *,
    factories: Mapping[str, DetectorFactory] | None = None,
    shared: MutableMapping[Hashable, Any] | None = None,
) -> Detector:
    """Construct one detector from its spec, validating the parameters against the detector's `Params`.

    A factory without `Params` takes no parameters. A factory with a `from_params(params, shared)`
    classmethod gets the validated model and `shared`, a dict the caller (the engine) passes to every
    detector it builds, so detectors with equal configuration can share one resource (the learned
    cascade's models) by explicit construction rather than through globals.
    """
    facs = available() if factories is None else factories
    if spec.id not in facs:
        raise ConfigError(
            f"detector {spec.id!r}", f"unknown detector; known: {', '.join(sorted(facs))}", "id"
        )
    factory = facs[spec.id]
    params_model: type[DetectorParams] | None = getattr(factory, "Params", None)
    raw = dict(spec.params)
    if params_model is None:
        if raw:
            raise ConfigError(
                f"detector {spec.id!r}", f"takes no parameters; got {', '.join(sorted(raw))}", "params"
            )
        return factory()
    try:
        params = params_model.model_validate(raw)
    except ValidationError as exc:
        raise _params_error(spec.id, exc) from exc
    from_params = getattr(factory, "from_params", None)
    if callable(from_params):
        det: Detector = from_params(params, {} if shared is None else shared)
        return det
    return factory(**{k: getattr(params, k) for k in type(params).model_fields})


def create(
    ids: Iterable[str | DetectorSpecLike] | None = None,
    *,
    fast: bool = False,
    shared: MutableMapping[Hashable, Any] | None = None,
) -> list[Detector]:
    """Build the named detectors (ids or specs; all by default); with `fast`, leave out learned stages.

    Detectors built by one call share resources of equal configuration (see `build`)."""
    factories = available()
    specs: list[DetectorSpecLike] = [
        Spec(i) if isinstance(i, str) else i for i in (ids if ids is not None else sorted(factories))
    ]
    unknown = [s.id for s in specs if s.id not in factories]
    if unknown:
        raise KeyError(f"unknown detector(s): {', '.join(unknown)}; known: {', '.join(sorted(factories))}")
    if fast:
        # Read the stage from the factory (a class) so learned models are never even constructed.
        specs = [s for s in specs if getattr(factories[s.id], "stage", "fast") == "fast"]
    pool: MutableMapping[Hashable, Any] = {} if shared is None else shared
    return [build(s, factories=factories, shared=pool) for s in specs]
