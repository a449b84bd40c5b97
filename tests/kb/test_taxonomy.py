"""Contract, golden and loader tests for the LLM-themed TTP taxonomy."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from stormwatch.errors import ConfigError, UnknownIdError
from stormwatch.kb import load_kb
from stormwatch.kb.taxonomy import TAXONOMY_PATH, Category, Taxonomy, load_taxonomy

# The canonical slugs other stages and stored findings rely on: none may be renamed or dropped.
CANONICAL_SLUGS = (
    "llm-informed-reconnaissance",
    "llm-enhanced-scripting",
    "llm-aided-development",
    "llm-supported-social-engineering",
    "llm-assisted-vulnerability-research",
    "llm-optimized-payload-crafting",
    "llm-enhanced-anomaly-detection-evasion",
    "llm-directed-security-feature-bypass",
    "llm-advised-resource-development",
    "llm-refined-operational-command",
    "llm-aided-technical-translation",
    "llm-assisted-post-compromise",
    "llm-guided-infrastructure-profiling",
    "llm-advised-strategic-planning",
    "influence-operations",
    "fraud-scam",
    "prompt-injection",
    "indirect-prompt-injection",
    "jailbreak",
    "system-prompt-extraction",
    "prompt-obfuscation",
    "llm-data-exfiltration",
    "harmful-content",
    "agentic-orchestrated-intrusion",
    "account-farm-operation",
    "ai-assisted-vulnerability-development",
    "influence-as-a-service",
    "surveillance-tooling",
)


@pytest.fixture(scope="module")
def tax() -> Taxonomy:
    return load_taxonomy()


@pytest.fixture(scope="module")
def kb() -> Any:
    return load_kb()


def _category_yaml(slug: str = "demo-category", **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "slug": slug,
        "name": "Demo category",
        "source": "project",
        "kind": "cyber-operation",
        "definition": "A category used only by the loader tests. It has two sentences.",
        "examples": ["first example", "second example"],
        "attack_tactics": ["TA0043"],
        "attack_techniques": [{"id": "T1593", "rationale": "demo rationale"}],
        "atlas_techniques": [],
        "default_tactic": "TA0043",
        "severity": "low",
    }
    base.update(overrides)
    return base


def _write(tmp_path: Path, name: str, data: Any) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


# --- contract: the shipped file against the knowledge base -------------------------------------------


def test_every_canonical_slug_is_present(tax: Taxonomy) -> None:
    assert [s for s in CANONICAL_SLUGS if s not in tax.slugs()] == []


def test_every_mapped_id_exists_in_kb(tax: Taxonomy, kb: Any) -> None:
    missing = [(c.slug, i) for c in tax for i in c.all_ids if not kb.has_id(i)]
    assert missing == []


def test_no_mapped_technique_is_revoked_or_deprecated(tax: Taxonomy, kb: Any) -> None:
    stale = [
        (c.slug, i)
        for c in tax
        for i in c.technique_ids
        if kb.technique(i).id != i
        or getattr(kb.technique(i), "revoked", False)
        or getattr(kb.technique(i), "deprecated", False)
    ]
    assert stale == []


def test_attack_and_atlas_ids_come_from_their_own_domain(tax: Taxonomy, kb: Any) -> None:
    wrong = [
        (c.slug, i, kb.technique(i).domain)
        for c in tax
        for i in c.technique_ids
        if kb.technique(i).domain != ("atlas" if i.startswith("AML.") else "enterprise-attack")
    ]
    assert wrong == []


def test_each_attack_technique_shares_a_tactic_with_its_category(tax: Taxonomy, kb: Any) -> None:
    incoherent = [
        (c.slug, t, kb.tactics_for(t))
        for c in tax
        for t in c.attack_technique_ids
        if not set(kb.tactics_for(t)) & set(c.attack_tactics)
    ]
    assert incoherent == []


def test_shipped_categories_are_reviewable(tax: Taxonomy) -> None:
    for c in tax:
        assert 2 <= len(c.examples) <= 4, c.slug
        sentences = len(re.findall(r"[.!?](?:\s|$)", c.definition))
        assert 2 <= sentences <= 3, (c.slug, sentences)
        assert c.attack_techniques or c.atlas_techniques, c.slug
        if c.kind == "cyber-operation":
            assert c.default_tactic in c.attack_tactics, c.slug


def test_definitions_are_in_our_own_words(tax: Taxonomy, shared: Path) -> None:
    """No run of eight words from a definition appears in an ATLAS or ATT&CK description."""
    atlas = yaml.safe_load((shared / "atlas" / "ATLAS.yaml").read_text(encoding="utf-8"))
    texts = [t.get("description", "") for m in atlas["matrices"] for t in m.get("techniques", [])]
    bundle = json.loads((shared / "attack" / "enterprise-attack-18.1.json").read_text(encoding="utf-8"))
    texts += [o.get("description", "") for o in bundle["objects"] if o.get("type") == "attack-pattern"]
    corpus = " ".join(" ".join(re.findall(r"[a-z0-9]+", t.lower())) for t in texts)
    copied = []
    for c in tax:
        words = re.findall(r"[a-z0-9]+", c.definition.lower())
        for i in range(len(words) - 7):
            if " ".join(words[i : i + 8]) in corpus:
                copied.append((c.slug, " ".join(words[i : i + 8])))
    assert copied == []


# --- golden values ----------------------------------------------------------------------------------


def test_golden_mappings(tax: Taxonomy, kb: Any) -> None:
    recon = tax.get("llm-informed-reconnaissance")
    assert "TA0043" in recon.attack_tactics
    assert recon.default_tactic == "TA0043"
    assert {"T1591", "T1592", "T1593", "T1596"} <= set(recon.attack_technique_ids)
    assert "AML.T0054" in tax.get("jailbreak").atlas_technique_ids
    assert {"AML.T0051", "AML.T0051.000"} <= set(tax.get("prompt-injection").atlas_technique_ids)
    assert "AML.T0051.001" in tax.get("indirect-prompt-injection").atlas_technique_ids
    assert "AML.T0056" in tax.get("system-prompt-extraction").atlas_technique_ids
    assert "AML.T0068" in tax.get("prompt-obfuscation").atlas_technique_ids
    social = tax.get("llm-supported-social-engineering")
    assert {"T1566", "T1598", "T1585", "T1656"} <= set(social.attack_technique_ids)
    assert kb.technique("T1566").name == "Phishing"
    assert {"T1059", "T1106"} <= set(tax.get("llm-enhanced-scripting").attack_technique_ids)
    assert tax.get("jailbreak").kind == "model-attack"
    assert tax.get("fraud-scam").kind == "content-abuse"
    assert tax.get("llm-aided-technical-translation").source == "microsoft-2024-actor-sections"


def test_lookups(tax: Taxonomy) -> None:
    assert tax.get("JailBreak ").slug == "jailbreak"
    assert tax.get("LLM-informed reconnaissance").slug == "llm-informed-reconnaissance"
    assert "jailbreak" in tax
    assert tax.kinds == ("content-abuse", "cyber-operation", "model-attack")
    assert {c.slug for c in tax.categories("model-attack")} >= {"jailbreak", "prompt-injection"}
    scripting = {c.slug for c in tax.for_technique("T1059")}
    assert {"llm-enhanced-scripting", "llm-refined-operational-command"} <= scripting
    assert {c.slug for c in tax.for_technique("aml.t0054")} == {"jailbreak"}
    assert tax.for_technique("T9999") == ()
    related = {c.slug for c in tax.for_technique("AML.T0051.001", related=True)}
    assert {"prompt-injection", "indirect-prompt-injection"} <= related
    assert "llm-informed-reconnaissance" in {c.slug for c in tax.for_tactic("TA0043")}
    assert tax.get("jailbreak").rationale("AML.T0054")
    assert load_taxonomy() is load_taxonomy()


def test_unknown_slug_names_close_matches(tax: Taxonomy) -> None:
    with pytest.raises(UnknownIdError) as info:
        tax.get("jailbrake")
    assert "jailbreak" in info.value.suggestions


# --- loader -------------------------------------------------------------------------------------------


def test_duplicate_slug_is_rejected_with_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "dup.yaml", {"version": 1, "categories": [_category_yaml(), _category_yaml()]})
    with pytest.raises(ConfigError) as info:
        load_taxonomy(path)
    assert info.value.source == str(path.resolve())
    assert "duplicate slug 'demo-category'" in str(info.value)
    assert info.value.location is not None and int(info.value.location) > 1


def test_malformed_yaml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("version: 1\ncategories:\n  - slug: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_taxonomy(path)
    assert str(path.resolve()) in str(info.value)
    assert "invalid YAML" in str(info.value)


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ({"kind": "weird"}, "categories[0].kind"),
        ({"slug": "Bad Slug"}, "categories[0].slug"),
        ({"default_tactic": None}, "default_tactic is required"),
        ({"default_tactic": "TA0001"}, "not one of attack_tactics"),
        (
            {"attack_techniques": [{"id": "AML.T0054", "rationale": "wrong family"}]},
            "not an ATT&CK technique",
        ),
        ({"atlas_techniques": [{"id": "T1059", "rationale": "wrong family"}]}, "not an ATLAS technique"),
        ({"attack_tactics": ["TA0043", "TA0043"]}, "repeats TA0043"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_invalid_category_is_a_located_config_error(
    tmp_path: Path, override: dict[str, Any], needle: str
) -> None:
    path = _write(tmp_path, "bad.yaml", {"categories": [_category_yaml(**override)]})
    with pytest.raises(ConfigError) as info:
        load_taxonomy(path)
    assert needle in str(info.value)
    assert str(path.resolve()) in str(info.value)


@pytest.mark.parametrize("content", ["- just\n- a list\n", ""])
def test_top_level_must_be_a_mapping(tmp_path: Path, content: str) -> None:
    path = tmp_path / "list.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_taxonomy(path)


def test_missing_and_oversized_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read file"):
        load_taxonomy(tmp_path / "absent.yaml")
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * (2 * 1024 * 1024) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="limit"):
        load_taxonomy(big)


def test_overlay_replaces_and_adds(tmp_path: Path) -> None:
    replaced = _category_yaml(
        "jailbreak",
        kind="model-attack",
        default_tactic=None,
        attack_tactics=[],
        attack_techniques=[],
        atlas_techniques=[{"id": "AML.T0054", "rationale": "replaced rationale"}],
        severity="low",
    )
    extra = _write(tmp_path, "extra.yaml", {"categories": [replaced, _category_yaml("brand-new")]})
    tax = load_taxonomy(extra=extra)
    assert tax.get("jailbreak").severity == "low"
    assert tax.slugs()[-1] == "brand-new"
    assert len(tax) == len(load_taxonomy()) + 1
    assert load_taxonomy().get("jailbreak").severity == "high"


def test_shipped_file_is_the_default() -> None:
    assert TAXONOMY_PATH.is_file()
    assert isinstance(load_taxonomy(TAXONOMY_PATH).get("jailbreak"), Category)
