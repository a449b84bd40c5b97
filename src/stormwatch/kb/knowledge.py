"""The knowledge base: look-ups by id, name or alias (case-insensitive) and fuzzy search, ATT&CK and ATLAS.

Loading reads one JSON file and builds plain-dict indexes; records (pydantic models) are built only when asked
for and then cached, so `load_kb()` stays fast.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from stormwatch.errors import KnowledgeBaseError, UnknownIdError
from stormwatch.kb._format import COLUMNS, DATA_FILE, FORMAT_VERSION
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

__all__ = ["KINDS", "KnowledgeBase", "load_kb"]

R = TypeVar("R", bound=BaseModel)

# kind → (table name, record class); the order is also the tie-break order of search results.
KINDS: dict[str, tuple[str, type[BaseModel]]] = {
    "technique": ("techniques", Technique),
    "tactic": ("tactics", Tactic),
    "group": ("groups", Group),
    "software": ("software", Software),
    "mitigation": ("mitigations", Mitigation),
    "case-study": ("case_studies", CaseStudy),
    "microsoft-actor": ("microsoft_actors", MicrosoftActor),
}
_MAX_KEY = 300
_MAX_REVOKED_HOPS = 10
_ID_LIKE = re.compile(r"^(AML\.)?(T|TA|G|S|M|CS)\d{3,4}(\.\d{3})?$", re.IGNORECASE)


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


class _Table(Generic[R]):
    """One table of the data file: rows by id, a name/alias index, and records built on demand."""

    def __init__(self, kind: str, model: type[R], columns: Sequence[str], rows: list[list[Any]]) -> None:
        self.kind = kind
        self.model = model
        self.columns = tuple(columns)
        self._col = {c: i for i, c in enumerate(self.columns)}
        self.rows: dict[str, list[Any]] = {_norm(str(r[0])): r for r in rows}
        self.names: dict[str, str] = {}
        self._cache: dict[str, R] = {}
        self._index()

    def value(self, row: list[Any], column: str, default: Any = None) -> Any:
        """One cell of a row, or the default when the table has no such column."""
        i = self._col.get(column)
        return default if i is None else row[i]

    def inactive(self, row: list[Any]) -> bool:
        """True for a deprecated or revoked row."""
        return bool(self.value(row, "deprecated", False) or self.value(row, "revoked", False))

    def labels(self, row: list[Any]) -> list[str]:
        """Every name a row answers to, strongest first (name, aliases, 'Parent: Sub' names)."""
        out = [str(row[0]), str(self.value(row, "name", row[0]))]
        out.extend(self.value(row, "aliases", None) or [])
        if self.value(row, "shortname"):
            out.append(str(self.value(row, "shortname")))
        parent = self.value(row, "parent")
        if parent is not None and _norm(parent) in self.rows:
            out.append(f"{self.value(self.rows[_norm(parent)], 'name')}: {self.value(row, 'name')}")
        return out

    def _priority(self, row: list[Any]) -> tuple[bool, bool, bool, str]:
        # Active before inactive, techniques before sub-techniques, ATT&CK before ATLAS, then by id.
        return (
            self.inactive(row),
            self.value(row, "parent") is not None,
            self.value(row, "domain") == "atlas",
            str(row[0]),
        )

    def _index(self) -> None:
        ordered = sorted(self.rows.values(), key=self._priority)
        for row in ordered:
            for label in self.labels(row):
                self.names.setdefault(_norm(label), str(row[0]))
        for row in ordered:  # other vendors' names from Microsoft's map: weakest
            for label in self.value(row, "other_names", None) or []:
                self.names.setdefault(_norm(label), str(row[0]))

    def find(self, key: str) -> list[Any] | None:
        """The row for an id, name or alias, or None."""
        k = _norm(key)
        row = self.rows.get(k)
        if row is None and k in self.names:
            row = self.rows[_norm(self.names[k])]
        return row

    def record(self, row: list[Any]) -> R:
        """The record for a row (built once, then cached)."""
        key = str(row[0])
        rec = self._cache.get(key)
        if rec is None:
            rec = self.model.model_validate(dict(zip(self.columns, row, strict=True)))
            self._cache[key] = rec
        return rec


class KnowledgeBase:
    """ATT&CK Enterprise, ATLAS and Microsoft's actor naming, loaded from the package's data file."""

    def __init__(self, doc: Mapping[str, Any]) -> None:
        if doc.get("format") != FORMAT_VERSION:
            raise KnowledgeBaseError(
                f"knowledge-base data format {doc.get('format')!r} is not {FORMAT_VERSION}; rebuild it"
            )
        self.sources: dict[str, Any] = dict(doc.get("sources", {}))
        tables = doc.get("tables", {})
        self._tables: dict[str, _Table[Any]] = {}
        for kind, (table, model) in KINDS.items():
            data = tables.get(table, {"columns": list(COLUMNS[table]), "rows": []})
            self._tables[kind] = _Table(kind, model, data["columns"], data["rows"])

    # -- look-ups --
    def _get(self, kind: str, key: str, follow_revoked: bool = False) -> Any:
        table = self._tables[kind]
        key = str(key)[:_MAX_KEY]
        row = table.find(key)
        if row is None:
            raise UnknownIdError(kind, key, self.suggest(kind, key))
        hops = 0
        while follow_revoked and table.value(row, "revoked") and hops < _MAX_REVOKED_HOPS:
            target = table.value(row, "revoked_by")
            if not target or _norm(target) not in table.rows:
                break
            row = table.rows[_norm(target)]
            hops += 1
        return table.record(row)

    def technique(self, key: str, *, follow_revoked: bool = True) -> Technique:
        """A technique by id (T1566, T1566.001, AML.T0051) or name; a revoked id gives its replacement."""
        rec: Technique = self._get("technique", key, follow_revoked)
        return rec

    def tactic(self, key: str) -> Tactic:
        """A tactic by id (TA0001, AML.TA0005), name or ATT&CK shortname."""
        rec: Tactic = self._get("tactic", key)
        return rec

    def group(self, key: str, *, follow_revoked: bool = True) -> Group:
        """A group by G-id, name, alias, Microsoft name or another vendor's name from Microsoft's map."""
        rec: Group = self._get("group", key, follow_revoked)
        return rec

    def software(self, key: str, *, follow_revoked: bool = True) -> Software:
        """A software entry by S-id, name or alias."""
        rec: Software = self._get("software", key, follow_revoked)
        return rec

    def mitigation(self, key: str) -> Mitigation:
        """A mitigation by id (M1017, AML.M0020) or name."""
        rec: Mitigation = self._get("mitigation", key)
        return rec

    def case_study(self, key: str) -> CaseStudy:
        """An ATLAS case study by id (AML.CS0000) or name."""
        rec: CaseStudy = self._get("case-study", key)
        return rec

    def microsoft_actor(self, key: str) -> MicrosoftActor:
        """An actor of Microsoft's naming map by its Microsoft name or any of its other names."""
        rec: MicrosoftActor = self._get("microsoft-actor", key)
        return rec

    def tactics_for(self, technique_id: str) -> list[str]:
        """The tactic ids (TA…, AML.TA…) of a technique."""
        return list(self.technique(technique_id).tactics)

    def kind_of(self, key: str) -> str | None:
        """Which kind of record an id belongs to ('technique', 'group', …), or None when unknown."""
        k = _norm(key)
        for kind, table in self._tables.items():
            if kind != "microsoft-actor" and k in table.rows:
                return kind
        return None

    def has_id(self, key: str, *, active_only: bool = False) -> bool:
        """True when an ATT&CK/ATLAS id (T…, TA…, G…, S…, M…, AML.…) is known; optionally only if active."""
        kind = self.kind_of(str(key)[:_MAX_KEY])
        if kind is None:
            return False
        table = self._tables[kind]
        return not (active_only and table.inactive(table.rows[_norm(key)]))

    def records(self, kind: str, *, include_inactive: bool = False) -> list[Any]:
        """Every record of a kind ('technique', 'tactic', 'group', …), sorted by id."""
        if kind not in self._tables:
            raise UnknownIdError("record kind", kind, sorted(self._tables))
        table = self._tables[kind]
        rows = sorted(table.rows.values(), key=lambda r: str(r[0]))
        return [table.record(r) for r in rows if include_inactive or not table.inactive(r)]

    def techniques(self, *, domain: str | None = None, include_inactive: bool = False) -> list[Technique]:
        """Techniques and sub-techniques, optionally of one domain ('enterprise-attack' or 'atlas')."""
        found: list[Technique] = self.records("technique", include_inactive=include_inactive)
        return [t for t in found if domain is None or t.domain == domain]

    def groups(self, *, include_inactive: bool = False) -> list[Group]:
        """ATT&CK groups."""
        found: list[Group] = self.records("group", include_inactive=include_inactive)
        return found

    def counts(self) -> dict[str, int]:
        """Number of records of each kind (all, including deprecated and revoked)."""
        return {kind: len(table.rows) for kind, table in self._tables.items()}

    def name_of(self, key: str) -> str:
        """The name of any id (technique, tactic, group, software, …), or the key itself when unknown."""
        kind = self.kind_of(key)
        if kind is None:
            return key
        table = self._tables[kind]
        return str(table.value(table.rows[_norm(key)], "name", key))

    # -- fuzzy matching --
    def suggest(self, kind: str, key: str, limit: int = 5) -> list[str]:
        """The closest records of one kind to a key, as 'ID Name' strings (ids to ids, names to names)."""
        from rapidfuzz import fuzz

        table = self._tables[kind]
        key = key[:_MAX_KEY].strip()
        if _ID_LIKE.match(key) and kind != "microsoft-actor":
            wanted = key.upper()
            parent = wanted.rsplit(".", 1)[0] if re.search(r"\.\d{3}$", wanted) else wanted

            def closeness(ident: str) -> tuple[float, str]:
                bonus = 50.0 if ident == parent or ident.startswith(parent + ".") else 0.0
                return (-(fuzz.ratio(wanted, ident) + bonus), ident)

            active = [str(r[0]) for r in table.rows.values() if not table.inactive(r)]
            idents = sorted(active, key=closeness)[:limit]
        else:
            idents = [hit.id for hit in self.search(key, limit, kinds=(kind,))]
        out: list[str] = []
        for ident in idents:
            name = str(table.value(table.rows[_norm(ident)], "name", ident))
            out.append(name if ident == name else f"{ident} {name}")
        return out

    @functools.cached_property
    def _all_choices(self) -> list[tuple[str, str, str]]:
        """(label, kind, id) for every active record's id, name and aliases."""
        out: list[tuple[str, str, str]] = []
        for kind, table in self._tables.items():
            for row in sorted(table.rows.values(), key=lambda r: str(r[0])):
                if table.inactive(row):
                    continue
                for label in dict.fromkeys(table.labels(row)):
                    out.append((label, kind, str(row[0])))
        return out

    def _choices(self, kinds: Iterable[str] | None = None) -> list[tuple[str, str, str]]:
        if kinds is None:
            return self._all_choices
        wanted = set(kinds)
        return [c for c in self._all_choices if c[1] in wanted]

    def search(self, text: str, limit: int = 10, *, kinds: Iterable[str] | None = None) -> list[SearchHit]:
        """Fuzzy search by words over the ids, names and aliases of every active record (ATT&CK and ATLAS)."""
        from rapidfuzz import fuzz, process, utils

        query = text[:_MAX_KEY]
        if not utils.default_process(query) or limit <= 0:
            return []
        choices = self._choices(kinds)
        found = process.extract(
            query,
            [c[0] for c in choices],
            scorer=fuzz.WRatio,
            processor=utils.default_process,
            limit=limit * 8,
        )
        best: dict[tuple[str, str], tuple[float, str]] = {}
        for label, score, i in found:
            _, kind, ident = choices[i]
            if (kind, ident) not in best or score > best[(kind, ident)][0]:
                best[(kind, ident)] = (float(score), label)
        order = {k: n for n, k in enumerate(KINDS)}

        def rank(item: tuple[tuple[str, str], tuple[float, str]]) -> tuple[float, int, bool, int, str]:
            (kind, ident), (score, _) = item
            return (-score, order[kind], ident.startswith("AML."), ident.count("."), ident)

        hits: list[SearchHit] = []
        for (kind, ident), (score, label) in sorted(best.items(), key=rank)[:limit]:
            hits.append(
                SearchHit(
                    kind=kind, id=ident, name=self._display_name(kind, ident), score=score, matched=label
                )
            )
        return hits

    def _display_name(self, kind: str, ident: str) -> str:
        table = self._tables[kind]
        return str(table.value(table.rows[_norm(ident)], "name", ident))


@functools.cache
def load_kb(path: Path | None = None) -> KnowledgeBase:
    """The knowledge base from the package's data file (or another file); cached per path."""
    target = Path(path) if path is not None else DATA_FILE
    try:
        doc = json.loads(target.read_bytes())
    except FileNotFoundError as exc:
        raise KnowledgeBaseError(
            f"{target}: knowledge-base data file missing; run `stormwatch kb build` or `stormwatch kb update`"
        ) from exc
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise KnowledgeBaseError(f"{target}: cannot read the knowledge-base data file ({exc})") from exc
    if not isinstance(doc, dict):
        raise KnowledgeBaseError(f"{target}: not a knowledge-base data file")
    return KnowledgeBase(doc)
