"""Config: precedence flags > env > file > defaults, provenance, masked secrets, JSON round trip."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stormwatch.cli.main import app
from stormwatch.config import SECRET_FIELDS, Config, DetectorSpec, env_name, load_config
from stormwatch.errors import ConfigError


def _toml(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "stormwatch.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_precedence_is_flags_over_env_over_file_over_defaults(tmp_path: Path) -> None:
    f = _toml(tmp_path, 'fast = true\nstore = "file.duckdb"\nworkers = 2\nmax_work = 1000\n')
    env = {"STORMWATCH_STORE": "env.duckdb", "STORMWATCH_WORKERS": "3"}
    eff = load_config(f, environ=env, flags={"workers": 4, "policy": None})
    cfg = eff.config
    assert (cfg.fast, cfg.store, cfg.workers, cfg.max_work, cfg.decode) == (
        True,
        Path("env.duckdb"),
        4,
        1000,
        True,
    )
    assert eff.sources["fast"] == "file"
    assert eff.sources["store"] == "env"
    assert eff.sources["workers"] == "flag"
    assert eff.sources["decode"] == "default"
    assert eff.sources["policy"] == "default"  # a flag left at None was not given


def test_rule_packs_env_keeps_its_pathsep_meaning(tmp_path: Path) -> None:
    a, b = tmp_path / "a.yaml", tmp_path / "packs"
    cfg = load_config(environ={"STORMWATCH_RULE_PACKS": f"{a}{os.pathsep}{b}{os.pathsep}"}).config
    assert cfg.rule_packs == (a, b)
    assert env_name("rule_packs") == "STORMWATCH_RULE_PACKS"


def test_yaml_file_and_a_stormwatch_table_are_read(tmp_path: Path) -> None:
    y = tmp_path / "c.yaml"
    y.write_text(
        "detectors:\n  - id: rules\n    params: {max_chars: 5000}\ndecode: false\n", encoding="utf-8"
    )
    cfg = load_config(y).config
    assert cfg.detectors == (DetectorSpec(id="rules", params={"max_chars": 5000}),)
    assert cfg.decode is False
    t = _toml(tmp_path, "[stormwatch]\nattack_groups = false\n")
    assert load_config(t).config.attack_groups is False


def test_errors_name_the_source_and_field(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"stormwatch\.toml.*'colour'"):
        load_config(_toml(tmp_path, 'colour = "blue"\n'))
    with pytest.raises(ConfigError, match=r"STORMWATCH_WORKERS.*'workers'"):
        load_config(environ={"STORMWATCH_WORKERS": "many"})
    with pytest.raises(ConfigError, match="STORMWATCH_DETECTORS: expected JSON"):
        load_config(environ={"STORMWATCH_DETECTORS": "rules"})
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(_toml(tmp_path, "fast = \n"))
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")
    with pytest.raises(ValueError, match="unknown config flag"):
        load_config(flags={"nope": 1})


def test_secrets_are_masked_and_left_out_of_json() -> None:
    env = {"STORMWATCH_JUDGE_API_KEY": "sk-judge-123", "STORMWATCH_UPSTREAM_API_KEY": "sk-up-456"}
    eff = load_config(environ=env)
    assert set(SECRET_FIELDS) == {"judge_api_key", "upstream_api_key"}
    report = eff.report()
    assert report["judge_api_key"] == {"value": "**********", "source": "env"}
    assert "sk-judge" not in json.dumps(report) and "sk-up" not in eff.config.to_json()
    assert json.loads(eff.config.to_json())["judge_api_key"] is None
    back = Config.from_json(eff.config.to_json(include_secrets=True))
    assert back.judge_api_key is not None and back.judge_api_key.get_secret_value() == "sk-judge-123"


def test_json_round_trip_is_exact() -> None:
    cfg = Config(
        fast=True,
        detectors=(DetectorSpec(id="rules", params={"max_chars": 9000}), DetectorSpec(id="obfuscation")),
        rule_packs=(Path("/x/p.yaml"),),
        max_work=5000,
        fixed_time=1_700_000_000.0,
    )
    assert Config.from_json(cfg.to_json()) == cfg
    with pytest.raises(ConfigError, match="config JSON"):
        Config.from_json('{"fast": "maybe"}')


def test_config_show_prints_values_sources_and_masks_secrets(tmp_path: Path) -> None:
    f = _toml(tmp_path, "fast = true\n")
    res = CliRunner().invoke(
        app,
        ["config", "show", "--config", str(f)],
        env={"STORMWATCH_JUDGE_API_KEY": "sk-very-secret", "STORMWATCH_RULE_PACKS": "p1.yaml"},
    )
    assert res.exit_code == 0, res.output
    assert "sk-very-secret" not in res.output
    shown = json.loads(res.output)
    assert shown["fast"] == {"value": True, "source": "file"}
    assert shown["rule_packs"] == {"value": ["p1.yaml"], "source": "env"}
    assert shown["judge_api_key"]["value"] == "**********"
    yml = CliRunner().invoke(app, ["config", "show", "--format", "yaml"], env={})
    assert yml.exit_code == 0 and "source: default" in yml.output
    bad = CliRunner().invoke(app, ["config", "show", "--config", str(tmp_path / "none.toml")])
    assert bad.exit_code == 2 and "cannot read" in bad.output
