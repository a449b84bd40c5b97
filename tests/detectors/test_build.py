"""Detector construction from specs: parameters validated against a detector's `Params`, entry points."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from stormwatch.detectors import DetectorParams, Spec, available, build, create
from stormwatch.detectors._builtin_ids import BUILTIN_DETECTORS
from stormwatch.errors import ConfigError
from stormwatch.models import Event, Finding

ROOT = Path(__file__).resolve().parents[2]


class _Echo:
    id = "echo"
    version = "1"
    stage = "fast"

    class Params(DetectorParams):
        word: str = "x"
        limit: int = 3

    def __init__(self, word: str = "x", limit: int = 3) -> None:
        self.word = word
        self.limit = limit

    def detect(self, event: Event) -> list[Finding]:
        return []


class _Shared(_Echo):
    id = "shared"

    @classmethod
    def from_params(cls, params: _Echo.Params, shared: dict[object, object]) -> _Shared:
        det = cls(params.word, params.limit)
        det.pool = shared.setdefault(("pool", params.word), object())  # type: ignore[attr-defined]
        return det


class _Bare:
    id = "bare"
    version = "1"
    stage = "fast"

    def detect(self, event: Event) -> list[Finding]:
        return []


FACS = {"echo": _Echo, "shared": _Shared, "bare": _Bare}


def test_params_are_validated_and_passed() -> None:
    det = build(Spec("echo", {"word": "hello", "limit": 7}), factories=FACS)
    assert isinstance(det, _Echo)
    assert (det.word, det.limit) == ("hello", 7)


def test_unknown_parameter_names_detector_and_key() -> None:
    with pytest.raises(ConfigError) as exc:
        build(Spec("echo", {"wrod": "x"}), factories=FACS)
    assert "'echo'" in str(exc.value) and "wrod: unknown parameter" in str(exc.value)


def test_bad_parameter_type_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="limit"):
        build(Spec("echo", {"limit": "many"}), factories=FACS)


def test_detector_without_params_rejects_any() -> None:
    assert isinstance(build(Spec("bare"), factories=FACS), _Bare)
    with pytest.raises(ConfigError, match="takes no parameters"):
        build(Spec("bare", {"x": 1}), factories=FACS)


def test_unknown_detector_lists_known_ones() -> None:
    with pytest.raises(ConfigError, match="unknown detector; known: bare, echo, shared"):
        build(Spec("nope"), factories=FACS)


def test_equal_configuration_shares_one_resource_within_a_build_pool() -> None:
    pool: dict[object, object] = {}
    a = build(Spec("shared", {"word": "w"}), factories=FACS, shared=pool)
    b = build(Spec("shared", {"word": "w"}), factories=FACS, shared=pool)
    c = build(Spec("shared", {"word": "other"}), factories=FACS, shared=pool)
    assert a.pool is b.pool  # type: ignore[attr-defined]
    assert a.pool is not c.pool  # type: ignore[attr-defined]
    fresh = build(Spec("shared", {"word": "w"}), factories=FACS)
    assert fresh.pool is not a.pool  # type: ignore[attr-defined]


def test_entry_points_match_the_static_builtin_list() -> None:
    table = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"][
        "stormwatch.detectors"
    ]
    assert table == BUILTIN_DETECTORS


def test_every_builtin_is_available_and_create_accepts_specs() -> None:
    facs = available()
    assert set(BUILTIN_DETECTORS) <= set(facs)
    dets = create([Spec("rules"), "obfuscation"])
    assert [d.id for d in dets] == ["rules", "obfuscation"]
