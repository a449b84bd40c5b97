"""Stormwatch: find threat actors misusing large language models."""

from stormwatch.errors import StormwatchError
from stormwatch.models import Attribution, Cluster, Event, Evidence, Finding, Link, Message, Verdict

__version__ = "0.1.0"

__all__ = [
    "Attribution",
    "Cluster",
    "Event",
    "Evidence",
    "Finding",
    "Link",
    "Message",
    "StormwatchError",
    "Verdict",
    "__version__",
]
