"""Policy-conflict detectors: later turns that ask for what a rule of the system prompt forbids."""

from stormwatch.detectors.policy_conflict._rules import PolicyRule, extract_rules
from stormwatch.detectors.policy_conflict.detector import PolicyConflict, PolicyConflictEmbed

__all__ = ["PolicyConflict", "PolicyConflictEmbed", "PolicyRule", "extract_rules"]
