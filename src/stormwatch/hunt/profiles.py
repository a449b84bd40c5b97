"""The actor profiles the hunt scores clusters against: the knowledge base's, nothing of its own.

Hand-written profiles come from `stormwatch.kb.actors` (LLM-themed TTPs, interest themes, languages,
working hours, techniques); `with_attack_groups` adds every tracked ATT&CK group, curated ones gaining
their group's techniques, the rest scored by technique overlap alone.
"""

from __future__ import annotations

from functools import cache

from stormwatch.kb.actors import ActorProfile, load_actor_profiles

__all__ = ["ActorProfile", "display_name", "load_profiles"]


def display_name(profile: ActorProfile) -> str:
    """The name a report uses: Microsoft's when the actor has one."""
    return profile.microsoft_name or profile.name


@cache
def load_profiles(include_groups: bool = True) -> tuple[ActorProfile, ...]:
    """The knowledge base's curated profiles, plus (optionally) every ATT&CK group by its techniques."""
    registry = load_actor_profiles()
    if include_groups:
        from stormwatch.kb import load_kb

        registry = registry.with_attack_groups(load_kb())
    return registry.all()
