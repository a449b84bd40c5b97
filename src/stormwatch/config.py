"""One configuration model for every entry point, and where each of its values came from.

Sources, highest precedence first: **CLI flags > environment (`STORMWATCH_*`) > config file (TOML or
YAML) > defaults**. Every field `name` has the environment variable `STORMWATCH_<NAME>` (upper case), so
the existing variables keep their meaning: `STORMWATCH_RULE_PACKS` (extra rule-pack files or folders,
`os.pathsep`-separated), `STORMWATCH_JUDGE_API_KEY`, `STORMWATCH_UPSTREAM_API_KEY`,
`STORMWATCH_KEYS_FILE`, `STORMWATCH_SHARED`. List and object fields (`detectors`) take JSON in the
environment.

This module reads nothing by itself: `load_config` is handed the file path, the environment mapping and
the flags by its caller (the CLI or a job), so the library below `jobs/` never reads `os.environ`.

A `Config` serialises to JSON (`to_json`) and back (`from_json`) without pickle, which is how a process
pool or a Spark executor rebuilds the same `Runtime` (see `stormwatch.runtime`). Secrets are `SecretStr`;
`to_json` leaves them out unless asked, and `masked()` shows them as `**********`.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from stormwatch.errors import ConfigError

__all__ = [
    "ENV_PREFIX",
    "SECRET_FIELDS",
    "Config",
    "DetectorSpec",
    "EffectiveConfig",
    "Source",
    "env_name",
    "load_config",
]

ENV_PREFIX = "STORMWATCH_"
MAX_CONFIG_BYTES = 1 << 20
SECRET_MASK = "**********"

Source = Literal["default", "file", "env", "flag"]


class DetectorSpec(BaseModel):
    """One detector to run: its registered id and the parameters its factory is called with."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, description="Registered detector id (built-in or entry point).")
    params: dict[str, Any] = Field(default_factory=dict, description="Keyword arguments of its factory.")


class Config(BaseModel):
    """Everything a Stormwatch run can be configured with (immutable; unknown keys are an error)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Detection
    fast: bool = Field(default=False, description="Fast path only: leave learned stages out.")
    detectors: tuple[DetectorSpec, ...] | None = Field(
        default=None, description="Detectors to run with their parameters (default: every registered one)."
    )
    rule_packs: tuple[Path, ...] = Field(
        default=(), description="Extra rule-pack files or folders, on top of the packaged ones."
    )
    policy: Path | None = Field(default=None, description="Verdict policy YAML (default: packaged).")
    decode: bool = Field(default=True, description="Also scan decoded views (base64, hex, ...).")
    max_work: int | None = Field(default=None, ge=1, description="Per-event work budget (default: policy's).")
    # Knowledge
    kb_path: Path | None = Field(default=None, description="Knowledge-base file (default: packaged).")
    taxonomy_path: Path | None = Field(default=None, description="Taxonomy YAML (default: packaged).")
    actors_path: Path | None = Field(default=None, description="Actor profiles YAML (default: packaged).")
    attack_groups: bool = Field(default=True, description="Score clusters against every ATT&CK group too.")
    # Storage and execution
    store: Path | None = Field(default=None, description="DuckDB store file (default: in memory).")
    workers: int | None = Field(default=None, ge=1, description="Scan worker processes (default: auto).")
    fixed_time: float | None = Field(
        default=None, description="Pin the runtime clock to this UNIX time (reproducible runs, tests)."
    )
    shared: Path | None = Field(default=None, description="Folder with external data sets (datasets/).")
    # Services and secrets
    keys_file: Path | None = Field(default=None, description="Hashed API keys of the guard service.")
    upstream_url: str | None = Field(default=None, description="OpenAI-compatible upstream of the guard.")
    upstream_api_key: SecretStr | None = Field(default=None, description="The upstream's API key.")
    judge_url: str | None = Field(default=None, description="OpenAI-compatible judge endpoint.")
    judge_model: str | None = Field(default=None, description="Model the judge endpoint serves.")
    judge_api_key: SecretStr | None = Field(default=None, description="The judge endpoint's API key.")

    @field_validator("rule_packs", mode="before")
    @classmethod
    def _split_paths(cls, value: Any) -> Any:
        # The environment (and a flag given once) carries one os.pathsep-separated string.
        if isinstance(value, str):
            return tuple(p for p in value.split(os.pathsep) if p.strip())
        return value

    def to_json(self, *, include_secrets: bool = False) -> str:
        """JSON that `from_json` rebuilds this config from; secrets are left out unless asked for."""
        data = self.model_dump(mode="json")
        for name in SECRET_FIELDS:
            secret = getattr(self, name)
            data[name] = secret.get_secret_value() if include_secrets and secret is not None else None
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> Config:
        """The config `to_json` wrote."""
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            raise ConfigError("<config JSON>", _first_error(exc)) from exc

    def masked(self) -> dict[str, Any]:
        """The config as JSON-ready data with every secret shown as `**********` (or null when unset)."""
        data = self.model_dump(mode="json")
        for name in SECRET_FIELDS:
            data[name] = SECRET_MASK if getattr(self, name) is not None else None
        return data


SECRET_FIELDS: tuple[str, ...] = tuple(
    name for name, f in Config.model_fields.items() if f.annotation == SecretStr | None
)


class EffectiveConfig(BaseModel):
    """A loaded config and, per field, the source its value came from."""

    model_config = ConfigDict(frozen=True)

    config: Config
    sources: dict[str, Source]
    file: Path | None = None

    def report(self) -> dict[str, dict[str, Any]]:
        """`{field: {"value": masked value, "source": ...}}` in field order, for `stormwatch config show`."""
        values = self.config.masked()
        return {name: {"value": values[name], "source": self.sources[name]} for name in values}


def env_name(field: str) -> str:
    """The environment variable of a config field: `rule_packs` -> `STORMWATCH_RULE_PACKS`."""
    return ENV_PREFIX + field.upper()


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"]) or "<root>"
    return f"field {loc!r}: {err['msg']}"


def _read_file(path: Path) -> dict[str, Any]:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read the config file: {exc.strerror or exc}") from exc
    if size > MAX_CONFIG_BYTES:
        raise ConfigError(str(path), f"config file is {size} bytes; the limit is {MAX_CONFIG_BYTES}")
    text = path.read_text(encoding="utf-8")
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            data: Any = tomllib.loads(text)
        elif suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text) or {}
        else:
            raise ConfigError(str(path), "config files are .toml, .yaml or .yml")
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"invalid TOML: {exc}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(
            str(path), f"invalid YAML: {exc}", f"{mark.line + 1}" if mark is not None else None
        ) from exc
    if not isinstance(data, dict):
        raise ConfigError(str(path), "the config file must hold a table / mapping of settings")
    # A `[stormwatch]` table (e.g. inside a shared TOML file) is the settings themselves.
    if set(data) == {"stormwatch"} and isinstance(data["stormwatch"], dict):
        data = data["stormwatch"]
    unknown = sorted(set(data) - set(Config.model_fields))
    if unknown:
        raise ConfigError(str(path), f"unknown setting(s) {', '.join(map(repr, unknown))}")
    return dict(data)


def _read_env(environ: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in Config.model_fields:
        raw = environ.get(env_name(name))
        if raw is None or raw == "":
            continue
        if name == "detectors":
            try:
                out[name] = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ConfigError(env_name(name), f"expected JSON ({exc.msg})") from exc
        else:
            out[name] = raw
    return out


def load_config(
    file: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    flags: Mapping[str, Any] | None = None,
) -> EffectiveConfig:
    """Merge defaults < `file` < `environ` (`STORMWATCH_*`) < `flags` into one validated `Config`.

    `flags` holds only the options the user actually gave (None values are ignored). A bad value raises
    `ConfigError` naming the source (file, environment variable or flag) and the field.
    """
    layers: list[tuple[Source, str, dict[str, Any]]] = []
    path = Path(file) if file is not None else None
    if path is not None:
        layers.append(("file", str(path), _read_file(path)))
    layers.append(("env", "environment", _read_env(environ or {})))
    given = {k: v for k, v in (flags or {}).items() if v is not None}
    unknown = sorted(set(given) - set(Config.model_fields))
    if unknown:
        raise ValueError(f"unknown config flag(s): {', '.join(unknown)}")
    layers.append(("flag", "command line", given))

    merged: dict[str, Any] = {}
    sources: dict[str, Source] = dict.fromkeys(Config.model_fields, "default")
    for kind, label, values in layers:
        # Validate each layer on its own first, so an error names the source it came from.
        try:
            Config.model_validate(values)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = str(err["loc"][0]) if err["loc"] else None
            where = env_name(field) if kind == "env" and field else label
            raise ConfigError(where, _first_error(exc)) from exc
        merged.update(values)
        for name in values:
            sources[name] = kind
    return EffectiveConfig(config=Config.model_validate(merged), sources=sources, file=path)
