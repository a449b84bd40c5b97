"""The built-in detectors as `module:attribute` references, the same ones pyproject.toml declares in the
`stormwatch.detectors` entry-point table.

The registry reads the entry points; this list is the fallback for an editable install whose entry points
predate a detector (re-register them with `pip install -e . --no-deps`). Nothing here is imported until a
detector is asked for.
"""

from __future__ import annotations

BUILTIN_DETECTORS: dict[str, str] = {
    "adversarial-suffix": "stormwatch.detectors.adversarial_suffix:AdversarialSuffixDetector",
    "learned-embed": "stormwatch.detectors.learned.detector:LearnedEmbed",
    "learned-fast": "stormwatch.detectors.learned.detector:LearnedFast",
    "obfuscation": "stormwatch.detectors.obfuscation:ObfuscationDetector",
    "policy-conflict": "stormwatch.detectors.policy_conflict.detector:PolicyConflict",
    "policy-conflict-embed": "stormwatch.detectors.policy_conflict.detector:PolicyConflictEmbed",
    "response-jailbreak": "stormwatch.detectors.response.detector:ResponseJailbreak",
    "response-leakage": "stormwatch.detectors.response.detector:ResponseLeakage",
    "response-malware": "stormwatch.detectors.response.detector:ResponseMalware",
    "response-phishing": "stormwatch.detectors.response.detector:ResponsePhishing",
    "rules": "stormwatch.detectors.rules.detector:RuleDetector",
}
