"""Knowledge base: ATT&CK Enterprise, ATLAS and Microsoft's threat-actor naming, pinned and offline."""

from stormwatch.kb._format import DATA_FILE
from stormwatch.kb.knowledge import KnowledgeBase, load_kb
from stormwatch.kb.naming import ActorKind, ActorName, parse_actor_name
from stormwatch.kb.records import (
    CaseStudy,
    Group,
    MicrosoftActor,
    Mitigation,
    SearchHit,
    Software,
    Tactic,
    Technique,
)

__all__ = [
    "DATA_FILE",
    "ActorKind",
    "ActorName",
    "CaseStudy",
    "Group",
    "KnowledgeBase",
    "MicrosoftActor",
    "Mitigation",
    "SearchHit",
    "Software",
    "Tactic",
    "Technique",
    "load_kb",
    "parse_actor_name",
]
