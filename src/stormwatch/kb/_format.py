"""Where the knowledge-base data file lives and the shape of its tables (shared by the builder and loader)."""

from __future__ import annotations

from pathlib import Path

DATA_FILE = Path(__file__).resolve().parent / "data" / "kb.json"
FORMAT_VERSION = 1

# Column order of each table's rows in the data file.
COLUMNS: dict[str, tuple[str, ...]] = {
    "techniques": (
        "id",
        "name",
        "domain",
        "tactics",
        "platforms",
        "url",
        "stix_id",
        "parent",
        "deprecated",
        "revoked",
        "revoked_by",
        "attack_refs",
        "maturity",
    ),
    "tactics": ("id", "name", "shortname", "domain", "url", "stix_id", "attack_refs"),
    "groups": (
        "id",
        "name",
        "aliases",
        "microsoft_name",
        "origin",
        "url",
        "stix_id",
        "deprecated",
        "revoked",
        "revoked_by",
        "techniques",
        "software",
        "other_names",
    ),
    "software": (
        "id",
        "name",
        "aliases",
        "type",
        "platforms",
        "url",
        "stix_id",
        "deprecated",
        "revoked",
        "revoked_by",
    ),
    "mitigations": ("id", "name", "domain", "url", "stix_id", "deprecated", "techniques"),
    "case_studies": ("id", "name", "url", "techniques"),
    "microsoft_actors": ("name", "family", "kind", "origin", "motivation", "other_names", "group_id"),
}
