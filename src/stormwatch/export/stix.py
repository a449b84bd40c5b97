"""STIX 2.1 bundle of the hunt's clusters, built with the `stix2` library (deterministic ids and clock).

MITRE ATT&CK objects (techniques, groups) are referenced by MITRE's STIX ids and never re-emitted: a copy
with our `created`/`modified` would read as a new version of MITRE's object. Our own properties travel in
one STIX 2.1 property extension (`EXTENSION_ID`), defined in the bundle by an `extension-definition`.
"""

from __future__ import annotations

import contextlib
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import stix2

from stormwatch.errors import KnowledgeBaseError
from stormwatch.export._common import ExportError, ExportOptions, stix_id, to_utc
from stormwatch.export._data import ClusterData, ExportData, InfraStat, TechniqueStat
from stormwatch.export.indicators import NORMALIZATION, SCHEME, PromptIndicator

__all__ = [
    "EXTENSION_ID",
    "PROMPT_PATTERN_TYPE",
    "build_bundle",
    "export_stix",
    "serialize_bundle",
    "tlp_marking",
]

# Custom pattern type of prompt indicators; the pattern is "sha256:<hex> minhash:<base64>" (see docs/exports.md).
PROMPT_PATTERN_TYPE = "stormwatch-prompt"
_TLP_V1 = {"clear": stix2.TLP_WHITE, "green": stix2.TLP_GREEN, "amber": stix2.TLP_AMBER, "red": stix2.TLP_RED}
_THREAT_ACTOR_TYPES = {"nation-state": "nation-state", "financially motivated": "crime-syndicate"}
# The property extension every Stormwatch property lives in (fixed: changing it changes what readers key on).
EXTENSION_ID = stix_id("extension-definition", "stormwatch", "llm-misuse-properties", "1")
# The extension's normative definition as plain text (STIX 2.1 allows a URL or text; there is no public URL).
EXTENSION_SCHEMA = (
    "Stormwatch property extension v1 (docs/exports.md). intrusion-set: cluster_id (string), accounts "
    "(integer), events (integer), categories (object: LLM-themed TTP slug -> event count). relationship "
    "uses: count (integer), categories (object), examples (list of 'detector/rule: explanation'). "
    "indicator with pattern_type stormwatch-prompt: category (string), techniques (list of ATT&CK/ATLAS "
    "ids), tokens (integer). Empty values are omitted."
)


def tlp_marking(level: str) -> stix2.MarkingDefinition:
    """The STIX marking for a TLP level: the spec's TLP markings, a custom statement for AMBER+STRICT."""
    if level in _TLP_V1:
        return _TLP_V1[level]
    if level == "amber+strict":
        # TLP 2.0 AMBER+STRICT has no predefined STIX 2.1 marking; this is the statement form OpenCTI reads.
        return stix2.MarkingDefinition(
            id=stix_id("marking-definition", "TLP", "TLP:AMBER+STRICT"),
            created="2022-08-01T00:00:00.000Z",
            name="TLP:AMBER+STRICT",
            definition_type="statement",
            definition={"statement": "TLP:AMBER+STRICT"},
            custom_properties={
                "x_opencti_definition_type": "TLP",
                "x_opencti_definition": "TLP:AMBER+STRICT",
            },
        )
    raise ExportError(f"unknown TLP level {level!r}")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


class _Builder:
    """Accumulates STIX objects by id, so shared ones (techniques, actors) appear once."""

    def __init__(self, data: ExportData, options: ExportOptions) -> None:
        from stormwatch.kb import load_kb

        self.kb = load_kb()
        self.options = options
        self.now = data.clock(options)
        self.marking = tlp_marking(options.tlp)
        self.identity = stix2.Identity(
            id=stix_id("identity", options.org_name),
            name=options.org_name,
            identity_class="organization",
            created=self.now,
            modified=self.now,
            object_marking_refs=[self.marking.id],
        )
        self.extension = stix2.ExtensionDefinition(
            id=EXTENSION_ID,
            name="Stormwatch LLM misuse properties",
            description="Counts, LLM-themed TTP categories and detector evidence of Stormwatch activity "
            "clusters, technique use and prompt indicators (see the schema link).",
            schema=EXTENSION_SCHEMA,
            version="1.0.0",
            extension_types=["property-extension"],
            **self._ours(),
        )
        self.objects: dict[str, Any] = {
            self.marking.id: self.marking,
            self.identity.id: self.identity,
            self.extension.id: self.extension,
        }

    def _ours(self) -> dict[str, Any]:
        return {
            "created_by_ref": self.identity.id,
            "created": self.now,
            "modified": self.now,
            "object_marking_refs": [self.marking.id],
        }

    @staticmethod
    def _ext(**props: Any) -> dict[str, Any]:
        # STIX forbids empty lists and nulls: a property with nothing to say is left out.
        kept = {k: v for k, v in props.items() if v is not None and v != [] and v != {}}
        return {"extensions": {EXTENSION_ID: {"extension_type": "property-extension", **kept}}}

    def _key(self, *parts: str) -> tuple[str, ...]:
        return (self.identity.id, *parts)

    def add(self, obj: Any) -> Any:
        self.objects.setdefault(obj.id, obj)
        return self.objects[obj.id]

    # -- knowledge objects (MITRE's ids where MITRE has them, referenced, not re-emitted) ------------
    def technique_ref(self, tid: str) -> tuple[str, dict[str, Any]]:
        """The attack-pattern id for a technique and the external reference naming it.

        ATT&CK techniques: MITRE's own STIX id, not emitted (every platform holds MITRE's object with
        MITRE's timestamps). ATLAS techniques have no MITRE STIX id in the KB: an attack-pattern of ours
        (uuid5 id, our identity as creator) carrying the `mitre-atlas` reference.
        """
        t = self.kb.technique(tid)
        if t.domain == "enterprise-attack" and t.stix_id:
            return t.stix_id, {"source_name": "mitre-attack", "external_id": t.id}
        ref = {"source_name": "mitre-atlas", "external_id": t.id}
        phases = []
        for ta in t.tactics:
            tactic = self.kb.tactic(ta)
            phases.append(
                {"kill_chain_name": "mitre-atlas", "phase_name": tactic.shortname or _slug(tactic.name)}
            )
        ap = self.add(
            stix2.AttackPattern(
                id=stix_id("attack-pattern", "mitre-atlas", t.id),
                name=t.name,
                external_references=[ref],
                kill_chain_phases=phases or None,
                **self._ours(),
            )
        )
        return ap.id, ref

    def actor(self, name: str, group_id: str | None) -> tuple[str, list[dict[str, Any]], str]:
        """Target id, external references and label of an attributed actor (MITRE group: referenced)."""
        group = None
        if group_id:
            try:
                group = self.kb.group(group_id)
            except KnowledgeBaseError:
                group = None
        if group is not None and group.stix_id:
            names = [a for a in dict.fromkeys([group.name, name, group.microsoft_name or ""]) if a]
            return (
                group.stix_id,
                [{"source_name": "mitre-attack", "external_id": group.id}],
                f"{' / '.join(names)} ({group.id})",
            )
        kind = "unknown"
        with contextlib.suppress(KnowledgeBaseError):  # outside Microsoft's map: type stays "unknown"
            kind = _THREAT_ACTOR_TYPES.get(str(self.kb.microsoft_actor(name).kind), "unknown")
        ta = self.add(
            stix2.ThreatActor(
                id=stix_id("threat-actor", *self._key(name)),
                name=name,
                threat_actor_types=[kind],
                **self._ours(),
            )
        )
        return ta.id, [], name

    # -- one cluster ----------------------------------------------------------------------------------
    def cluster(self, cd: ClusterData) -> list[str]:
        c = cd.cluster
        cats = ", ".join(
            f"{k} ({v})" for k, v in sorted(c.categories.items(), key=lambda kv: (-kv[1], kv[0]))
        )
        top = c.attribution[0] if c.attribution else None
        lead = f"; most likely {top.actor} (score {top.score:.2f})" if top else "; unattributed"
        desc = (
            f"Activity cluster of {len(c.accounts)} accounts and {c.events} events misusing an LLM platform"
            f"{lead}. LLM-themed TTP categories: {cats or 'none'}."
        )
        iset = self.add(
            stix2.IntrusionSet(
                id=stix_id("intrusion-set", *self._key(c.id)),
                name=c.designation,
                aliases=[c.id] if c.id != c.designation else None,
                description=desc,
                first_seen=to_utc(c.first_seen) if c.first_seen else None,
                last_seen=to_utc(c.last_seen) if c.last_seen else None,
                **self._ext(
                    cluster_id=c.id,
                    accounts=len(c.accounts),
                    events=c.events,
                    categories=dict(sorted(c.categories.items())),
                ),
                **self._ours(),
            )
        )
        refs = [iset.id]
        for a in c.attribution:
            if a.score < self.options.confident_score:
                continue
            target, xrefs, label = self.actor(a.actor, a.group_id)
            rel = self.add(
                stix2.Relationship(
                    id=stix_id("relationship", *self._key(iset.id, "attributed-to", target)),
                    relationship_type="attributed-to",
                    source_ref=iset.id,
                    target_ref=target,
                    confidence=round(a.score * 100),
                    description=f"Attributed to {label}. Evidence: " + "; ".join(a.evidence),
                    external_references=xrefs or None,
                    **self._ours(),
                )
            )
            refs += [target, rel.id]
        for ts in cd.techniques:
            refs += self._uses(iset.id, ts)
        for inf in cd.infrastructure:
            refs += self._infra(iset.id, inf)
        for ind in cd.prompts:
            refs += self._prompt(iset.id, ind)
        return refs

    def _uses(self, iset_id: str, ts: TechniqueStat) -> list[str]:
        ap_id, ref = self.technique_ref(ts.id)
        cats = ", ".join(f"{k} ({v})" for k, v in ts.categories.items())
        extra: dict[str, Any] = {}
        if ts.first_seen is not None:
            extra["start_time"] = to_utc(ts.first_seen)
        if ts.last_seen is not None and ts.first_seen is not None and ts.last_seen > ts.first_seen:
            extra["stop_time"] = to_utc(ts.last_seen)
        rel = self.add(
            stix2.Relationship(
                id=stix_id("relationship", *self._key(iset_id, "uses", ap_id)),
                relationship_type="uses",
                source_ref=iset_id,
                target_ref=ap_id,
                description=f"Uses {ts.id}, seen in {ts.count} events"
                + (f"; categories: {cats}" if cats else ""),
                external_references=[ref],
                **self._ext(count=ts.count, categories=ts.categories, examples=ts.examples),
                **extra,
                **self._ours(),
            )
        )
        return [ap_id, rel.id]

    def _indicator_links(
        self, iset_id: str, ind: Any, count: int, first: datetime | None, last: datetime | None
    ) -> list[str]:
        rel = self.add(
            stix2.Relationship(
                id=stix_id("relationship", *self._key(ind.id, "indicates", iset_id)),
                relationship_type="indicates",
                source_ref=ind.id,
                target_ref=iset_id,
                **self._ours(),
            )
        )
        seen: dict[str, Any] = {}
        if first is not None:
            seen["first_seen"] = to_utc(first)
        if last is not None and first is not None and last > first:
            seen["last_seen"] = to_utc(last)
        sighting = self.add(
            stix2.Sighting(
                id=stix_id("sighting", *self._key(ind.id, iset_id)),
                sighting_of_ref=ind.id,
                where_sighted_refs=[self.identity.id],
                count=count,
                **seen,
                **self._ours(),
            )
        )
        return [ind.id, rel.id, sighting.id]

    def _infra(self, iset_id: str, inf: InfraStat) -> list[str]:
        obj = "ipv4-addr" if inf.version == 4 else "ipv6-addr"
        what = "network" if inf.network else "address"
        pattern = f"[{obj}:value ISSUBSET '{inf.value}']" if inf.network else f"[{obj}:value = '{inf.value}']"
        ind = stix2.Indicator(
            id=stix_id("indicator", *self._key("infra", inf.value)),
            name=f"Source {what} {inf.value}",
            description=f"Used by {inf.accounts} accounts of the cluster in {inf.events} events.",
            indicator_types=["malicious-activity"],
            pattern=pattern,
            pattern_type="stix",
            valid_from=to_utc(inf.first_seen) if inf.first_seen else self.now,
            **self._ours(),
        )
        return self._indicator_links(iset_id, self.add(ind), inf.events, inf.first_seen, inf.last_seen)

    def _prompt(self, iset_id: str, p: PromptIndicator) -> list[str]:
        first = datetime.fromisoformat(p.first_seen.replace("Z", "+00:00")) if p.first_seen else None
        last = datetime.fromisoformat(p.last_seen.replace("Z", "+00:00")) if p.last_seen else None
        ind = stix2.Indicator(
            id=stix_id("indicator", *self._key("prompt", p.sha256)),
            name=f"Malicious prompt {p.sha256[:12]}" + (f" ({p.category})" if p.category else ""),
            description="Fingerprint of a malicious LLM prompt (no prompt text); match with "
            "`stormwatch scan --indicators`.",
            indicator_types=["malicious-activity"],
            pattern=f"sha256:{p.sha256} minhash:{p.minhash}",
            pattern_type=PROMPT_PATTERN_TYPE,
            pattern_version=f"{NORMALIZATION}/{SCHEME}",
            valid_from=to_utc(first) if first else self.now,
            **self._ext(category=p.category, techniques=p.techniques, tokens=p.tokens),
            **self._ours(),
        )
        return self._indicator_links(iset_id, self.add(ind), p.count, first, last)


def build_bundle(data: ExportData, options: ExportOptions) -> stix2.Bundle:
    """The STIX 2.1 bundle: identity, marking, per-cluster objects and one report tying them together."""
    b = _Builder(data, options)
    refs: list[str] = []
    for cd in data.clusters:
        refs += b.cluster(cd)
    names = [cd.cluster.designation for cd in data.clusters]
    title = (
        f"Stormwatch: {names[0]}" if len(names) == 1 else f"Stormwatch hunt: {len(names)} activity clusters"
    )
    report = stix2.Report(
        id=stix_id("report", b.identity.id, *sorted(cd.cluster.id for cd in data.clusters)),
        name=title,
        description="LLM misuse activity clusters found by Stormwatch: " + (", ".join(names) or "none") + ".",
        report_types=["threat-actor"],
        published=b.now,
        object_refs=list(dict.fromkeys([b.identity.id, *refs])),
        **b._ours(),
    )
    b.add(report)
    objects = list(b.objects.values())
    return stix2.Bundle(
        objects=objects, id=stix_id("bundle", report.id, *sorted(b.objects)), allow_custom=True
    )


def serialize_bundle(bundle: stix2.Bundle) -> str:
    """Indented JSON of the bundle, byte-identical for the same bundle.

    stix2's `serialize(pretty=True)` reorders keys with a search per property and is quadratic in the
    bundle size (131 s for the demo's 7 clusters); the compact form is linear, and re-indenting it with
    `json` keeps stix2's key order and timestamp formatting.
    """
    return json.dumps(json.loads(bundle.serialize()), indent=2, ensure_ascii=False) + "\n"


def export_stix(data: ExportData, options: ExportOptions, out: Path) -> list[Path]:
    """Write the STIX 2.1 bundle to `out` (indented JSON, byte-identical for the same input and clock)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(serialize_bundle(build_bundle(data, options)), "utf-8")
    return [out]
