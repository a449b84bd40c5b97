"""The `Runtime`: everything a run needs, built once from a `Config` and passed down as arguments.

`Runtime.from_config(cfg)` loads the knowledge base, the taxonomy, the actor profiles and the verdict
policy, resolves the detector specs (with their parameters) and fixes the store factory and the clock.
It is frozen; jobs hand it (or the pieces a function needs) to the library instead of the library
loading globals. To rebuild the same runtime in another process, ship `runtime.config.to_json()` and call
`Runtime.from_config(Config.from_json(text))` there: no pickle is involved.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from stormwatch.config import Config, DetectorSpec
from stormwatch.kb import KnowledgeBase, load_kb
from stormwatch.kb.actors import ActorProfile, load_actor_profiles
from stormwatch.kb.taxonomy import Taxonomy, load_taxonomy
from stormwatch.verdict import Policy

if TYPE_CHECKING:
    from stormwatch.detectors.base import Detector
    from stormwatch.engine import Engine
    from stormwatch.store import Store

__all__ = ["Runtime", "detector_specs"]

RULES_ID = "rules"


def detector_specs(cfg: Config) -> tuple[DetectorSpec, ...]:
    """The detectors a config asks for, in a stable order, learned stages dropped when `cfg.fast`.

    Rule packs from `cfg.rule_packs` (the config's `STORMWATCH_RULE_PACKS`, read by the caller) become the
    `packs` parameter of the `rules` detector unless its spec names packs itself; no detector reads the
    environment.
    """
    from stormwatch.detectors.base import available

    factories = available()
    specs = (
        cfg.detectors if cfg.detectors is not None else tuple(DetectorSpec(id=i) for i in sorted(factories))
    )
    unknown = [s.id for s in specs if s.id not in factories]
    if unknown:
        raise KeyError(f"unknown detector(s): {', '.join(unknown)}; known: {', '.join(sorted(factories))}")
    if cfg.fast:
        specs = tuple(s for s in specs if getattr(factories[s.id], "stage", "fast") == "fast")
    out: list[DetectorSpec] = []
    for s in specs:
        if s.id == RULES_ID and cfg.rule_packs and "packs" not in s.params:
            s = DetectorSpec(id=s.id, params={**s.params, "packs": [str(p) for p in cfg.rule_packs]})
        out.append(s)
    return tuple(out)


def _store_factory(cfg: Config) -> Callable[[], Store]:
    path = cfg.store

    def open_configured_store() -> Store:
        from stormwatch.store import open_store

        return open_store(path)

    return open_configured_store


def _clock(cfg: Config) -> Callable[[], float]:
    if cfg.fixed_time is None:
        return time.time
    pinned = cfg.fixed_time
    return lambda: pinned


@dataclass(frozen=True)
class Runtime:
    """Knowledge, policy, detector specs, store factory and clock of one configured run (immutable)."""

    config: Config
    kb: KnowledgeBase
    taxonomy: Taxonomy
    profiles: tuple[ActorProfile, ...]
    policy: Policy
    detectors: tuple[DetectorSpec, ...]
    store_factory: Callable[[], Store] = field(repr=False)
    clock: Callable[[], float] = field(repr=False)

    @classmethod
    def from_config(cls, cfg: Config) -> Runtime:
        """Load everything `cfg` names, once."""
        kb = load_kb(cfg.kb_path)
        taxonomy = load_taxonomy(cfg.taxonomy_path) if cfg.taxonomy_path is not None else load_taxonomy()
        registry = (
            load_actor_profiles(cfg.actors_path, taxonomy=taxonomy)
            if cfg.actors_path is not None
            else load_actor_profiles()
        )
        if cfg.attack_groups:
            registry = registry.with_attack_groups(kb)
        return cls(
            config=cfg,
            kb=kb,
            taxonomy=taxonomy,
            profiles=registry.all(),
            policy=Policy.load(cfg.policy),
            detectors=detector_specs(cfg),
            store_factory=_store_factory(cfg),
            clock=_clock(cfg),
        )

    def create_detectors(self) -> list[Detector]:
        """Fresh detector instances built from the specs (parameters validated against each detector's
        `Params`; detectors of equal configuration share one resource pool, e.g. the learned models)."""
        from stormwatch.detectors.base import create

        return create(self.detectors)

    def engine(self) -> Engine:
        """An engine over this runtime's detectors and policy."""
        from stormwatch.engine import Engine

        return Engine(
            detectors=self.create_detectors(),
            policy=self.policy,
            decode=self.config.decode,
            max_work=self.config.max_work,
        )

    def open_store(self) -> Store:
        """The configured store (DuckDB file, or in memory when the config names none)."""
        return self.store_factory()
