"""Rule detector: analyst-readable YAML rule packs (keywords, regex, YARA-X) mapped to ATT&CK and ATLAS."""

from stormwatch.detectors.rules._loader import (
    builtin_pack_paths,
    load_pack,
    parse_pack,
    validate_ids,
)
from stormwatch.detectors.rules._schema import Example, Examples, PackInfo, Rule, RulePack
from stormwatch.detectors.rules.detector import RuleDetector

__all__ = [
    "Example",
    "Examples",
    "PackInfo",
    "Rule",
    "RuleDetector",
    "RulePack",
    "builtin_pack_paths",
    "load_pack",
    "parse_pack",
    "validate_ids",
]
