"""Small hand-made ATT&CK / ATLAS / Microsoft-map inputs for fast, offline knowledge-base build tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_MARK = "marking-definition--fa42a846-8d90-4e51-bc29-71d5b4802168"


def _ref(ext_id: str, kind: str) -> list[dict[str, str]]:
    path = ext_id.replace(".", "/")
    return [
        {
            "source_name": "mitre-attack",
            "external_id": ext_id,
            "url": f"https://attack.mitre.org/{kind}/{path}",
        }
    ]


def _obj(otype: str, uid: str, ext_id: str, kind: str, name: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": otype,
        "id": f"{otype}--{uid}",
        "name": name,
        "description": f"SECRET-DESCRIPTION of {name}",
        "external_references": _ref(ext_id, kind),
        "object_marking_refs": [_MARK],
        **extra,
    }


def _rel(n: int, kind: str, src: str, dst: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "relationship",
        "id": f"relationship--0000000{n}-0000-0000-0000-000000000000",
        "relationship_type": kind,
        "source_ref": src,
        "target_ref": dst,
        **extra,
    }


def mini_bundle() -> dict[str, Any]:
    """A tiny STIX bundle: two tactics, techniques (one revoked), a group, software, mitigations."""
    phase = [{"kill_chain_name": "mitre-attack", "phase_name": "initial-access"}]
    objects = [
        _obj(
            "x-mitre-tactic", "t1", "TA0001", "tactics", "Initial Access", x_mitre_shortname="initial-access"
        ),
        _obj("x-mitre-tactic", "t2", "TA0002", "tactics", "Execution", x_mitre_shortname="execution"),
        _obj(
            "attack-pattern",
            "p1",
            "T1566",
            "techniques",
            "Phishing",
            kill_chain_phases=phase,
            x_mitre_platforms=["Windows", "Linux"],
            revoked=False,
            x_mitre_deprecated=False,
        ),
        _obj(
            "attack-pattern",
            "p2",
            "T1566.001",
            "techniques",
            "Spearphishing Attachment",
            kill_chain_phases=phase,
            x_mitre_platforms=["Windows"],
            x_mitre_is_subtechnique=True,
        ),
        _obj(
            "attack-pattern",
            "p3",
            "T1193",
            "techniques",
            "Spearphishing Attachment",
            kill_chain_phases=phase,
            revoked=True,
        ),
        _obj(
            "attack-pattern",
            "p4",
            "T1059",
            "techniques",
            "Command and Scripting Interpreter",
            kill_chain_phases=[{"kill_chain_name": "mitre-attack", "phase_name": "execution"}],
        ),
        _obj(
            "intrusion-set",
            "g1",
            "G0007",
            "groups",
            "APT28",
            aliases=["APT28", "Fancy Bear", "STRONTIUM", "Forest Blizzard"],
        ),
        _obj("intrusion-set", "g2", "G0094", "groups", "Kimsuky", aliases=["Kimsuky", "THALLIUM"]),
        _obj("malware", "m1", "S0023", "software", "CHOPSTICK", x_mitre_aliases=["CHOPSTICK", "Sednit"]),
        _obj("tool", "m2", "S0002", "software", "Mimikatz", x_mitre_aliases=["Mimikatz"]),
        _obj("course-of-action", "c1", "M1017", "mitigations", "User Training"),
        _obj("course-of-action", "c2", "T1193", "mitigations", "Old Mitigation", x_mitre_deprecated=True),
        _rel(1, "revoked-by", "attack-pattern--p3", "attack-pattern--p2"),
        _rel(2, "subtechnique-of", "attack-pattern--p2", "attack-pattern--p1"),
        _rel(3, "uses", "intrusion-set--g1", "attack-pattern--p2"),
        _rel(4, "uses", "intrusion-set--g1", "malware--m1"),
        _rel(5, "uses", "intrusion-set--g1", "tool--m2"),
        _rel(6, "uses", "intrusion-set--g1", "attack-pattern--p3"),  # to a revoked technique: dropped
        _rel(7, "uses", "intrusion-set--g1", "attack-pattern--p4", revoked=True),  # revoked edge: dropped
        _rel(8, "mitigates", "course-of-action--c1", "attack-pattern--p1"),
    ]
    return {"type": "bundle", "id": "bundle--mini-v9.9", "spec_version": "2.0", "objects": objects}


MINI_ATLAS = """\
id: ATLAS
name: Adversarial Threat Landscape for AI Systems
version: 9.9.9
matrices:
- id: ATLAS
  name: ATLAS Matrix
  tactics:
  - id: AML.TA0005
    name: Execution
    description: SECRET-DESCRIPTION
    ATT&CK-reference:
      id: TA0002
      url: https://attack.mitre.org/tactics/TA0002/
  techniques:
  - id: AML.T0051
    name: LLM Prompt Injection
    description: SECRET-DESCRIPTION
    tactics:
    - AML.TA0005
    maturity: realized
  - id: AML.T0051.000
    name: Direct
    description: SECRET-DESCRIPTION
    subtechnique-of: AML.T0051
  - id: AML.T0052
    name: Phishing
    description: SECRET-DESCRIPTION
    tactics:
    - AML.TA0005
    ATT&CK-reference:
      id: T1566
      url: https://attack.mitre.org/techniques/T1566/
  mitigations:
  - id: AML.M0020
    name: Generative AI Guardrails
    description: SECRET-DESCRIPTION
    techniques:
    - id: AML.T0051
      use: SECRET-DESCRIPTION
case-studies:
- id: AML.CS0001
  name: A Case Study
  summary: SECRET-DESCRIPTION
  procedure:
  - tactic: AML.TA0005
    technique: AML.T0051.000
    description: SECRET-DESCRIPTION
"""

MINI_MSTIC = [
    {
        "Threat actor name": "Forest Blizzard",
        "Origin/Threat": "Russia",
        "Other names": "STRONTIUM, APT28, Sofacy",
    },
    {
        "Threat actor name": "Emerald Sleet",
        "Origin/Threat": "North Korea",
        "Other names": "THALLIUM, Kimsuky",
    },
    {"Threat actor name": "Salmon Typhoon", "Origin/Threat": "China", "Other names": "SODIUM, APT4"},
    {"Threat actor name": "Octo Tempest", "Origin/Threat": "Financially motivated", "Other names": "0ktapus"},
    {"Threat actor name": "Storm-0558", "Origin/Threat": "China", "Other names": ""},
]


@dataclass(frozen=True)
class MiniSources:
    """Paths of the three hand-made input files."""

    attack: Path
    atlas: Path
    mstic: Path


def write_mini_sources(folder: Path) -> MiniSources:
    """Write the tiny inputs to a folder."""
    attack = folder / "enterprise-attack-mini.json"
    attack.write_text(json.dumps(mini_bundle()), encoding="utf-8")
    atlas = folder / "ATLAS.yaml"
    atlas.write_text(MINI_ATLAS, encoding="utf-8")
    mstic = folder / "MicrosoftMapping.json"
    mstic.write_text(json.dumps(MINI_MSTIC), encoding="utf-8")
    return MiniSources(attack, atlas, mstic)
