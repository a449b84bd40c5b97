"""The LLM-themed TTP taxonomy: categories, their ATT&CK and ATLAS mappings, and the loader."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from rapidfuzz import fuzz, process

from stormwatch.errors import ConfigError, UnknownIdError

__all__ = [
    "ATLAS_TECHNIQUE_PATTERN",
    "ATTACK_TACTIC_PATTERN",
    "ATTACK_TECHNIQUE_PATTERN",
    "SLUG_PATTERN",
    "TAXONOMY_PATH",
    "Category",
    "Kind",
    "Severity",
    "Source",
    "Taxonomy",
    "TaxonomyFile",
    "TechniqueMapping",
    "YamlDocument",
    "closest",
    "load_taxonomy",
    "read_yaml_document",
]

DATA_DIR = Path(__file__).resolve().parent / "data"
TAXONOMY_PATH = DATA_DIR / "taxonomy.yaml"
# Project data files are tens of kilobytes; anything far larger is a mistake or an attack on the loader.
MAX_YAML_BYTES = 2 * 1024 * 1024

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
ATTACK_TACTIC_PATTERN = r"^TA\d{4}$"
ATTACK_TECHNIQUE_PATTERN = r"^T\d{4}(?:\.\d{3})?$"
ATLAS_TECHNIQUE_PATTERN = r"^AML\.T\d{4}(?:\.\d{3})?$"

Kind = Literal["cyber-operation", "model-attack", "content-abuse"]
Source = Literal[
    "microsoft-2024", "microsoft-2024-actor-sections", "later-public-reports", "model-attack", "project"
]
Severity = Literal["low", "medium", "high"]

# libyaml's safe loader is ~8x faster; both build only plain data.
_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

ModelT = TypeVar("ModelT", bound=BaseModel)
Loc = tuple[str | int, ...]


# --------------------------------------------------------------------------------------------------
# YAML reading with locations (shared with stormwatch.kb.actors)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class YamlDocument:
    """A parsed YAML file plus its node tree, so errors can name the line they come from."""

    path: Path
    data: Any
    root: yaml.Node | None

    def line_of(self, loc: Loc) -> int | None:
        """1-based line of the deepest node reachable along `loc` (keys and list indexes)."""
        node = self.root
        if node is None:
            return None
        line: int = node.start_mark.line + 1
        for part in loc:
            child: yaml.Node | None = None
            if isinstance(node, yaml.MappingNode) and isinstance(part, str):
                child = next((v for k, v in node.value if getattr(k, "value", None) == part), None)
            elif (
                isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value)
            ):
                child = node.value[part]
            if child is None:
                break
            node = child
            line = node.start_mark.line + 1
        return line

    def error(self, reason: str, loc: Loc = ()) -> ConfigError:
        """A ConfigError naming this file, the line of `loc` and the dotted field path."""
        line = self.line_of(loc)
        where = _format_loc(loc)
        return ConfigError(
            str(self.path), f"{where}: {reason}" if where else reason, None if line is None else str(line)
        )

    def validate(self, model: type[ModelT]) -> ModelT:
        """Validate the document against a pydantic model; the first error becomes a located ConfigError."""
        try:
            return model.model_validate(self.data)
        except ValidationError as exc:
            errors = exc.errors()
            first = errors[0]
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            loc = tuple(p for p in first["loc"] if isinstance(p, str | int))
            raise self.error(f"{first['msg']}{more}", loc) from None


def _format_loc(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def read_yaml_document(path: str | Path) -> YamlDocument:
    """Read a bounded-size YAML file safely (no tags that build objects); ConfigError names the file."""
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise ConfigError(str(p), f"cannot read file: {exc.strerror or exc}") from None
    if size > MAX_YAML_BYTES:
        raise ConfigError(str(p), f"file is {size} bytes; the limit is {MAX_YAML_BYTES}")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(p), f"cannot read file as UTF-8: {exc}") from None
    try:
        root = yaml.compose(text, Loader=_SafeLoader)
        data = yaml.load(text, Loader=_SafeLoader)  # a safe loader: no object-building tags
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        location = f"{mark.line + 1}:{mark.column + 1}" if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(str(p), f"invalid YAML: {problem}", location) from None
    if not isinstance(data, dict):
        raise ConfigError(str(p), f"top level must be a mapping, got {type(data).__name__}")
    return YamlDocument(path=p, data=data, root=root)


def closest(key: str, choices: Iterable[str], limit: int = 3) -> list[str]:
    """The choices that look most like `key` (fuzzy), best first."""
    found = process.extract(key, list(choices), scorer=fuzz.WRatio, limit=limit, score_cutoff=60)
    return [choice for choice, _score, _index in found]


# --------------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------------


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TechniqueMapping(_Frozen):
    """One mapped ATT&CK or ATLAS technique and why it applies."""

    id: str = Field(pattern=rf"{ATTACK_TECHNIQUE_PATTERN}|{ATLAS_TECHNIQUE_PATTERN}")
    rationale: str = Field(min_length=3, max_length=300)


class Category(_Frozen):
    """One LLM-themed TTP category with its definition and mappings."""

    slug: str = Field(pattern=SLUG_PATTERN, max_length=64)
    name: str = Field(min_length=3, max_length=120)
    source: Source
    kind: Kind
    definition: str = Field(min_length=20, max_length=1200)
    examples: tuple[str, ...] = Field(min_length=1, max_length=8)
    attack_tactics: tuple[str, ...] = ()
    attack_techniques: tuple[TechniqueMapping, ...] = ()
    atlas_techniques: tuple[TechniqueMapping, ...] = ()
    default_tactic: str | None = None
    severity: Severity

    @model_validator(mode="after")
    def _check(self) -> Category:
        """Ids have the right family, no list repeats an id, and default_tactic is consistent."""
        for tactic in self.attack_tactics:
            if not re.fullmatch(ATTACK_TACTIC_PATTERN, tactic):
                raise ValueError(f"attack_tactics: {tactic!r} is not an ATT&CK tactic id (TA0000)")
        for m in self.attack_techniques:
            if not re.fullmatch(ATTACK_TECHNIQUE_PATTERN, m.id):
                raise ValueError(f"attack_techniques: {m.id!r} is not an ATT&CK technique id (T0000[.000])")
        for m in self.atlas_techniques:
            if not re.fullmatch(ATLAS_TECHNIQUE_PATTERN, m.id):
                raise ValueError(f"atlas_techniques: {m.id!r} is not an ATLAS technique id (AML.T0000[.000])")
        for label, ids in (
            ("attack_tactics", list(self.attack_tactics)),
            ("attack_techniques", [m.id for m in self.attack_techniques]),
            ("atlas_techniques", [m.id for m in self.atlas_techniques]),
        ):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                raise ValueError(f"{label} repeats {', '.join(dupes)}")
        if self.kind == "cyber-operation" and self.default_tactic is None:
            raise ValueError("default_tactic is required for a cyber-operation category")
        if self.default_tactic is not None and self.default_tactic not in self.attack_tactics:
            raise ValueError(f"default_tactic {self.default_tactic} is not one of attack_tactics")
        return self

    @property
    def attack_technique_ids(self) -> tuple[str, ...]:
        """ATT&CK technique ids, in file order."""
        return tuple(m.id for m in self.attack_techniques)

    @property
    def atlas_technique_ids(self) -> tuple[str, ...]:
        """ATLAS technique ids, in file order."""
        return tuple(m.id for m in self.atlas_techniques)

    @property
    def technique_ids(self) -> tuple[str, ...]:
        """ATT&CK then ATLAS technique ids."""
        return self.attack_technique_ids + self.atlas_technique_ids

    @property
    def all_ids(self) -> tuple[str, ...]:
        """Every knowledge-base id this category names (tactics and techniques)."""
        return self.attack_tactics + self.technique_ids

    def rationale(self, technique_id: str) -> str | None:
        """Why a technique is mapped to this category, or None when it is not."""
        for m in (*self.attack_techniques, *self.atlas_techniques):
            if m.id == technique_id:
                return m.rationale
        return None


class TaxonomyFile(_Frozen):
    """The on-disk shape of a taxonomy YAML file."""

    version: int = 1
    categories: tuple[Category, ...] = Field(min_length=1)


# --------------------------------------------------------------------------------------------------
# The taxonomy
# --------------------------------------------------------------------------------------------------


def _base_id(technique_id: str) -> str:
    return technique_id.split(".")[0] if not technique_id.startswith("AML.") else technique_id[:9]


class Taxonomy:
    """Read-only set of categories with look-ups by slug, kind and mapped id."""

    def __init__(self, categories: Iterable[Category]) -> None:
        self._by_slug: dict[str, Category] = {}
        for category in categories:
            if category.slug in self._by_slug:
                raise ValueError(f"duplicate taxonomy slug {category.slug!r}")
            self._by_slug[category.slug] = category
        self._by_name = {c.name.casefold(): c for c in self._by_slug.values()}

    def __len__(self) -> int:
        return len(self._by_slug)

    def __iter__(self) -> Iterator[Category]:
        return iter(self._by_slug.values())

    def __contains__(self, slug: object) -> bool:
        return isinstance(slug, str) and slug.strip().lower() in self._by_slug

    def get(self, slug: str) -> Category:
        """The category for a slug (or its name, case-insensitive); UnknownIdError with close matches."""
        key = slug.strip()
        found = self._by_slug.get(key.lower()) or self._by_name.get(key.casefold())
        if found is None:
            raise UnknownIdError("taxonomy category", slug, closest(key.lower(), self._by_slug))
        return found

    def slugs(self) -> tuple[str, ...]:
        """Every slug, in file order."""
        return tuple(self._by_slug)

    def categories(self, kind: Kind | None = None) -> tuple[Category, ...]:
        """Every category, or only those of one kind, in file order."""
        return tuple(c for c in self._by_slug.values() if kind is None or c.kind == kind)

    @property
    def kinds(self) -> tuple[Kind, ...]:
        """The kinds present, sorted."""
        return tuple(sorted({c.kind for c in self._by_slug.values()}))

    def for_technique(self, technique_id: str, *, related: bool = False) -> tuple[Category, ...]:
        """Categories mapping a technique; with `related`, also those mapping its parent or sub-techniques."""
        wanted = technique_id.strip().upper()
        out = []
        for c in self._by_slug.values():
            ids = c.technique_ids
            if wanted in ids or (related and any(_base_id(i) == _base_id(wanted) for i in ids)):
                out.append(c)
        return tuple(out)

    def for_tactic(self, tactic_id: str) -> tuple[Category, ...]:
        """Categories that list an ATT&CK tactic."""
        wanted = tactic_id.strip().upper()
        return tuple(c for c in self._by_slug.values() if wanted in c.attack_tactics)

    def ids(self) -> frozenset[str]:
        """Every knowledge-base id named by any category."""
        return frozenset(i for c in self._by_slug.values() for i in c.all_ids)


def _unique_slug_check(doc: YamlDocument, categories: Sequence[Category]) -> None:
    seen: dict[str, int] = {}
    for index, category in enumerate(categories):
        if category.slug in seen:
            raise doc.error(
                f"duplicate slug {category.slug!r} (first at categories[{seen[category.slug]}])",
                ("categories", index, "slug"),
            )
        seen[category.slug] = index


def _read_taxonomy_file(path: Path) -> tuple[Category, ...]:
    doc = read_yaml_document(path)
    parsed = doc.validate(TaxonomyFile)
    _unique_slug_check(doc, parsed.categories)
    return parsed.categories


@functools.lru_cache(maxsize=8)
def _load_cached(path: str, extra: str | None) -> Taxonomy:
    categories = {c.slug: c for c in _read_taxonomy_file(Path(path))}
    if extra is not None:
        # An overlay replaces categories with the same slug and appends new ones.
        for category in _read_taxonomy_file(Path(extra)):
            categories[category.slug] = category
    return Taxonomy(categories.values())


def load_taxonomy(path: str | Path | None = None, *, extra: str | Path | None = None) -> Taxonomy:
    """Load (once per process) the packaged taxonomy, or `path`, with an optional overlay file `extra`."""
    base = Path(path) if path is not None else TAXONOMY_PATH
    return _load_cached(str(base.resolve()), None if extra is None else str(Path(extra).resolve()))
