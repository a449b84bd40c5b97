"""`stormwatch kb …`: build, update and query the knowledge base (ATT&CK, ATLAS, actors, LLM-themed TTPs)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from stormwatch.errors import StormwatchError, UnknownIdError
from stormwatch.kb import Group, KnowledgeBase, MicrosoftActor, load_kb
from stormwatch.kb._format import DATA_FILE

__all__ = ["kb_app"]

kb_app = typer.Typer(
    name="kb",
    help="Query and rebuild the knowledge base: ATT&CK, ATLAS, threat actors, LLM-themed TTPs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_JSON = typer.Option(False, "--json", help="Print JSON instead of a table.")
_EXIT_UNKNOWN = 2


def _out() -> Console:
    return Console(highlight=False, soft_wrap=True)


def _fail(exc: StormwatchError) -> NoReturn:
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    if isinstance(exc, UnknownIdError):
        err.print(f"error: unknown {exc.kind} {exc.key!r}", markup=False)
        if exc.suggestions:
            err.print("closest matches:", markup=False)
            for suggestion in exc.suggestions:
                err.print(f"  {suggestion}", markup=False)
        raise typer.Exit(_EXIT_UNKNOWN)
    err.print(f"error: {exc}", markup=False)
    raise typer.Exit(1)


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False))


def _kb() -> KnowledgeBase:
    try:
        return load_kb()
    except StormwatchError as exc:
        _fail(exc)


def _label(kb: KnowledgeBase, ident: str) -> str:
    return f"{ident} {kb.name_of(ident)}"


def _fields(rows: Iterable[tuple[str, str]]) -> Table:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key, value in rows:
        table.add_row(key, value)
    return table


# -- build / update --
@kb_app.command("build")
def build_command(
    attack: Path = typer.Option(..., "--attack", help="ATT&CK Enterprise STIX 2.1 bundle (JSON)."),
    atlas: Path = typer.Option(..., "--atlas", help="ATLAS data file (ATLAS.yaml)."),
    actors: Path | None = typer.Option(None, "--actors", help="Microsoft's MicrosoftMapping.json."),
    out: Path = typer.Option(DATA_FILE, "-o", "--out", help="Where to write the data file."),
    as_json: bool = _JSON,
) -> None:
    """Build the knowledge-base data file from the official files (deterministic)."""
    from stormwatch.kb.build import write_kb

    try:
        written = write_kb(attack, atlas, actors, out=out)
    except StormwatchError as exc:
        _fail(exc)
    load_kb.cache_clear()
    _report_written(written, as_json)


def _report_written(path: Path, as_json: bool) -> None:
    try:
        kb = load_kb(path)
    except StormwatchError as exc:
        _fail(exc)
    summary = {"path": str(path), "bytes": path.stat().st_size, "counts": kb.counts(), "sources": kb.sources}
    if as_json:
        _print_json(summary)
        return
    _out().print(f"wrote {path} ({summary['bytes']:,} bytes)", markup=False)
    _print_info(kb)


@kb_app.command("update")
def update_command(
    from_file: list[Path] = typer.Option(
        [],
        "--from-file",
        help="Rebuild offline from these files (ATT&CK .json bundle, ATLAS .yaml, MicrosoftMapping.json).",
    ),
    out: Path = typer.Option(DATA_FILE, "-o", "--out", help="Where to write the data file."),
    timeout: float = typer.Option(60.0, "--timeout", help="Network timeout per file, in seconds."),
    as_json: bool = _JSON,
) -> None:
    """Fetch the latest official files from MITRE's and Microsoft's repositories and rebuild."""
    from stormwatch.kb.update import update_kb

    try:
        update_kb(from_file, out=out, timeout=timeout)
    except StormwatchError as exc:
        _fail(exc)
    _report_written(out, as_json)


# -- queries --
@kb_app.command("technique")
def technique_command(
    key: str = typer.Argument(..., metavar="ID_OR_NAME", help="T1566, T1566.001, AML.T0051 or a name."),
    as_json: bool = _JSON,
) -> None:
    """Show an ATT&CK or ATLAS technique."""
    kb = _kb()
    try:
        tech = kb.technique(key)
    except StormwatchError as exc:
        _fail(exc)
    note = None
    if tech.id.casefold() != key.strip().casefold() and kb.has_id(key):
        note = f"{key.strip().upper()} is revoked; replaced by {tech.id}"
    if as_json:
        data = tech.model_dump(mode="json")
        data["tactic_names"] = [kb.name_of(t) for t in tech.tactics]
        if note:
            data["note"] = note
        _print_json(data)
        return
    rows = [
        ("id", tech.id),
        ("name", tech.name),
        ("domain", tech.domain),
        ("tactics", ", ".join(_label(kb, t) for t in tech.tactics) or "-"),
    ]
    if tech.parent:
        rows.append(("sub-technique of", _label(kb, tech.parent)))
    if tech.platforms:
        rows.append(("platforms", ", ".join(tech.platforms)))
    if tech.attack_refs:
        rows.append(("ATT&CK", ", ".join(_label(kb, r) for r in tech.attack_refs)))
    if tech.maturity:
        rows.append(("maturity", tech.maturity))
    if tech.deprecated:
        rows.append(("status", "deprecated"))
    rows.append(("url", tech.url))
    if tech.stix_id:
        rows.append(("stix id", tech.stix_id))
    console = _out()
    if note:
        console.print(f"note: {note}", markup=False)
    console.print(_fields(rows))


def _iter_profiles(profiles: Any) -> Iterator[Any]:
    for attr in ("profiles", "actors"):
        inner = getattr(profiles, attr, None)
        if inner is not None and not callable(inner):
            profiles = inner
            break
    if isinstance(profiles, dict):
        yield from profiles.values()
    elif isinstance(profiles, Iterable):
        yield from profiles


def _profile_field(profile: Any, name: str) -> Any:
    return profile.get(name) if isinstance(profile, dict) else getattr(profile, name, None)


def _llm_ttps(names: set[str], group_id: str | None) -> list[dict[str, Any]] | None:
    """LLM-themed TTPs of the matching actor profile, when the actor-profile module and a profile exist."""
    try:
        from stormwatch.kb.actors import load_actor_profiles  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return None
    try:
        profiles = load_actor_profiles()
    except StormwatchError:
        return None
    wanted = {n.casefold() for n in names}
    for profile in _iter_profiles(profiles):
        gid = _profile_field(profile, "attack_group_id") or _profile_field(profile, "group_id")
        pname = _profile_field(profile, "name")
        if (group_id and gid == group_id) or (isinstance(pname, str) and pname.casefold() in wanted):
            out: list[dict[str, Any]] = []
            for ttp in _profile_field(profile, "llm_ttps") or []:
                if isinstance(ttp, str):
                    out.append({"slug": ttp, "note": None})
                else:
                    out.append({"slug": _profile_field(ttp, "slug"), "note": _profile_field(ttp, "note")})
            return out
    return None


def _actor_kind(name: str | None) -> str | None:
    from stormwatch.kb.naming import parse_actor_name

    if not name:
        return None
    try:
        return parse_actor_name(name).kind.value
    except UnknownIdError:
        return None


def _group_view(kb: KnowledgeBase, group: Group) -> dict[str, Any]:
    data = group.model_dump(mode="json")
    data["kind"] = _actor_kind(group.microsoft_name)
    data["technique_count"] = len(group.techniques)
    data["software_names"] = [kb.name_of(s) for s in group.software]
    data["llm_ttps"] = _llm_ttps({group.name, *group.aliases}, group.id)
    return data


def _ms_actor_view(actor: MicrosoftActor) -> dict[str, Any]:
    data = actor.model_dump(mode="json")
    data["llm_ttps"] = _llm_ttps({actor.name, *actor.other_names}, actor.group_id)
    return data


@kb_app.command("actor")
def actor_command(
    name: str = typer.Argument(
        ..., help="Forest Blizzard, APT28, STRONTIUM, Fancy Bear, G0007, Salmon Typhoon…"
    ),
    as_json: bool = _JSON,
) -> None:
    """Show a threat actor: ATT&CK group, Microsoft name, origin, techniques, software, LLM-themed TTPs."""
    kb = _kb()
    try:
        view = _group_view(kb, kb.group(name))
    except UnknownIdError as group_error:
        try:
            ms_view = _ms_actor_view(kb.microsoft_actor(name))
        except UnknownIdError as ms_error:
            suggestions = list(dict.fromkeys(group_error.suggestions + ms_error.suggestions))[:8]
            _fail(UnknownIdError("actor", name, suggestions))
        _show_ms_actor(ms_view, as_json)
        return
    if as_json:
        _print_json(view)
        return
    rows = [
        ("group", f"{view['id']} {view['name']}"),
        ("microsoft name", view["microsoft_name"] or "-"),
        ("origin", view["origin"] or "unknown"),
    ]
    if view["kind"]:
        rows.append(("kind", view["kind"]))
    rows += [
        ("aliases", ", ".join(a for a in view["aliases"] if a != view["name"]) or "-"),
        ("techniques", str(view["technique_count"])),
        (
            "software",
            ", ".join(f"{s} {n}" for s, n in zip(view["software"], view["software_names"], strict=True))
            or "-",
        ),
    ]
    if view["other_names"]:
        rows.append(("other names", ", ".join(view["other_names"])))
    if view["llm_ttps"] is not None:
        rows.append(("LLM-themed TTPs", ", ".join(str(t["slug"]) for t in view["llm_ttps"]) or "-"))
    rows.append(("url", view["url"]))
    _out().print(_fields(rows))


def _show_ms_actor(view: dict[str, Any], as_json: bool) -> None:
    if as_json:
        _print_json(view)
        return
    rows = [
        ("microsoft name", view["name"]),
        ("group", view["group_id"] or "no ATT&CK group"),
        ("origin", view["origin"] or "unknown"),
        ("kind", view["kind"] or "-"),
        ("other names", ", ".join(view["other_names"]) or "-"),
    ]
    if view["llm_ttps"] is not None:
        rows.append(("LLM-themed TTPs", ", ".join(str(t["slug"]) for t in view["llm_ttps"]) or "-"))
    _out().print(_fields(rows))


def _jsonable(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    return value


def _ids(items: Any) -> list[str]:
    out: list[str] = []
    for item in items or []:
        ident = item if isinstance(item, str) else _profile_field(item, "id")
        if ident:
            out.append(str(ident))
    return out


@kb_app.command("ttp")
def ttp_command(
    slug: str = typer.Argument(..., help="An LLM-themed TTP slug, e.g. llm-informed-reconnaissance."),
    as_json: bool = _JSON,
) -> None:
    """Show an LLM-themed TTP category and its ATT&CK / ATLAS mappings."""
    try:
        from stormwatch.kb.taxonomy import load_taxonomy  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        _fail(StormwatchError("the LLM-themed TTP taxonomy (stormwatch.kb.taxonomy) is not available"))
    try:
        tax = load_taxonomy()
        category = tax.get(slug.strip().lower())
    except UnknownIdError as exc:
        _fail(UnknownIdError("ttp", slug, exc.suggestions or _close_slugs(_tax_slugs(), slug)))
    except StormwatchError as exc:
        _fail(exc)
    if category is None:
        _fail(UnknownIdError("ttp", slug, _close_slugs(tax.slugs(), slug)))
    if as_json:
        _print_json(_jsonable(category))
        return
    kb = _kb()
    rows = [("slug", str(category.slug)), ("name", str(category.name))]
    rows.append(("definition", " ".join(str(category.definition).split())))
    for title, attr in (
        ("ATT&CK tactics", "attack_tactics"),
        ("ATT&CK techniques", "attack_techniques"),
        ("ATLAS techniques", "atlas_techniques"),
    ):
        ids = _ids(getattr(category, attr, []))
        rows.append((title, ", ".join(_label(kb, i) for i in ids) or "-"))
    _out().print(_fields(rows))


def _tax_slugs() -> list[str]:
    """Slugs of the LLM-themed TTP taxonomy (empty when it cannot be loaded)."""
    try:
        from stormwatch.kb.taxonomy import load_taxonomy  # type: ignore[attr-defined,unused-ignore]

        return [str(s) for s in load_taxonomy().slugs()]
    except (ImportError, StormwatchError):
        return []


def _close_slugs(slugs: Iterable[str], key: str) -> list[str]:
    from rapidfuzz import fuzz, process

    return [m for m, _, _ in process.extract(key, list(slugs), scorer=fuzz.WRatio, limit=5)]


@kb_app.command("search")
def search_command(
    words: list[str] = typer.Argument(..., help="Words to look for in ids, names and aliases."),
    limit: int = typer.Option(10, "--limit", "-n", min=1, max=200, help="Most results to show."),
    as_json: bool = _JSON,
) -> None:
    """Fuzzy search over techniques, tactics, groups, software, mitigations and ATLAS."""
    kb = _kb()
    hits = kb.search(" ".join(words), limit=limit)
    if as_json:
        _print_json([h.model_dump(mode="json") for h in hits])
        return
    if not hits:
        _out().print("no matches", markup=False)
        return
    table = Table("score", "kind", "id", "name", "matched")
    for hit in hits:
        table.add_row(
            f"{hit.score:.0f}", hit.kind, hit.id, hit.name, "" if hit.matched == hit.name else hit.matched
        )
    _out().print(table)


def _print_info(kb: KnowledgeBase) -> None:
    console = _out()
    table = Table("source", "file", "version", "sha256")
    for key, src in sorted(kb.sources.items()):
        table.add_row(
            key, str(src.get("file")), str(src.get("version") or "-"), str(src.get("sha256", ""))[:16]
        )
    console.print(table)
    counts = Table("kind", "records", "active")
    for kind, total in kb.counts().items():
        active = len(kb.records(kind))
        counts.add_row(kind, str(total), str(active))
    console.print(counts)


@kb_app.command("info")
def info_command(as_json: bool = _JSON) -> None:
    """Summary of the knowledge base: record counts and source versions."""
    kb = _kb()
    if as_json:
        _print_json(
            {
                "path": str(DATA_FILE),
                "counts": kb.counts(),
                "active": {kind: len(kb.records(kind)) for kind in kb.counts()},
                "sources": kb.sources,
            }
        )
        return
    _print_info(kb)
