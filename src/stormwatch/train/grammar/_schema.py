"""The YAML file formats of the grammar and their validation (errors name the file, line and entry)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from stormwatch.kb.taxonomy import YamlDocument, read_yaml_document

MAX_TEXT = 600  # characters per template; requests and wrappers are single prompts
MAX_VOCAB = 200  # values per slot
SLOT = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
REQUEST_SLOT = "request"
_LANG = r"^[a-z]{2,3}$"
_NAME = r"^[a-z][a-z0-9_-]{0,39}$"
_LABEL = r"^[a-z][a-z0-9-]{1,63}$"

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=MAX_TEXT)]
# Slot values are inserted verbatim: no braces, so a filled text never holds a slot.
Value = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^{}]*$")
]
Name = Annotated[str, StringConstraints(pattern=_NAME)]
Vocab = dict[Name, Annotated[list[Value], Field(min_length=1, max_length=MAX_VOCAB)]]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CommonFile(_Frozen):
    """`common.yaml`: slot values shared by every language (product names, CVE ids, technique names)."""

    vocab: Vocab = Field(default_factory=dict)


class RequestSpec(_Frozen):
    """One attacker request id in `attacks/index.yaml`: its taxonomy label and ATT&CK tactic/technique."""

    label: Annotated[str, StringConstraints(pattern=_LABEL)]
    tactic: Annotated[str, StringConstraints(pattern=r"^TA\d{4}$")] | None = None
    technique: Annotated[str, StringConstraints(pattern=r"^T\d{4}(\.\d{3})?$")] | None = None


class IndexFile(_Frozen):
    """`attacks/index.yaml`: every request id a language file may use."""

    requests: dict[Name, RequestSpec] = Field(min_length=1)


class AttackFile(_Frozen):
    """`attacks/<lang>.yaml`: request id -> phrasings of that request (imperative clauses)."""

    lang: Annotated[str, StringConstraints(pattern=_LANG)]
    vocab: Vocab = Field(default_factory=dict)
    requests: dict[Name, Annotated[list[Text], Field(min_length=1)]] = Field(min_length=1)
    # First-person statements of a request ("I need ..."): never put where a pretext continues a clause.
    statements: dict[Name, Annotated[list[Text], Field(min_length=1)]] = Field(default_factory=dict)


class FamilyFile(_Frozen):
    """`pretexts/`, `contrasts/` and `benign/<lang>.yaml`: family -> templates."""

    lang: Annotated[str, StringConstraints(pattern=_LANG)]
    vocab: Vocab = Field(default_factory=dict)
    families: dict[Name, Annotated[list[Text], Field(min_length=1)]] = Field(min_length=1)


@dataclass(frozen=True)
class Loaded:
    """A validated file with its document (for located errors in cross-entry checks)."""

    doc: YamlDocument
    model: Any


def read(path: Path, model: type[BaseModel]) -> Loaded:
    """Read and validate one grammar file; ConfigError names the file, line and field."""
    doc = read_yaml_document(path)
    return Loaded(doc, doc.validate(model))


def check_lang(loaded: Loaded) -> None:
    """The `lang` field must equal the file name (en.yaml holds lang: en)."""
    if loaded.model.lang != loaded.doc.path.stem:
        raise loaded.doc.error(f"lang {loaded.model.lang!r} differs from the file name", ("lang",))


def check_slots(
    loaded: Loaded,
    section: str,
    entries: dict[str, list[str]],
    vocab: dict[str, list[str]],
    *,
    request: bool,
) -> None:
    """Every `{slot}` must be a known vocab name; pretexts hold `{request}` exactly once, others never."""
    for key, texts in entries.items():
        for i, text in enumerate(texts):
            loc = (section, key, i)
            slots = SLOT.findall(text)
            n_req = slots.count(REQUEST_SLOT)
            if request and n_req != 1:
                raise loaded.doc.error(f"a pretext needs {{request}} exactly once, found {n_req}", loc)
            if not request and n_req:
                raise loaded.doc.error("{request} is only allowed in pretexts", loc)
            unknown = sorted({s for s in slots if s != REQUEST_SLOT and s not in vocab})
            if unknown:
                raise loaded.doc.error(f"unknown slot(s) {', '.join(unknown)}", loc)
            if "{" in SLOT.sub("", text) or "}" in SLOT.sub("", text):
                raise loaded.doc.error("stray brace outside a {slot}", loc)
