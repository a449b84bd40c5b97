"""Fixtures of the guard-service tests: keys, a fake upstream, and the proxy served on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from api_support import MarkerDetector, Served, UpstreamState, upstream_app
from pydantic import SecretStr

from stormwatch.api import Settings, add_key, create_app
from stormwatch.api._writer import MemorySink
from stormwatch.engine import Engine

UPSTREAM_SECRET = "sk-upstream-secret-never-logged"


@dataclass
class Keys:
    """The keys file and the keys in it."""

    path: Path
    key: str
    key_id: str
    slow_key: str


@dataclass
class Guard:
    """A running proxy and what it talks to."""

    url: str
    upstream: UpstreamState
    sink: MemorySink
    keys: Keys


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    """A keys file with a normal key and one with a tiny rate limit."""
    path = tmp_path_factory.mktemp("keys") / "keys.json"
    rec, key = add_key(path, name="tests")
    _, slow = add_key(path, name="limited", rate_per_s=0.2, burst=2)
    return Keys(path=path, key=key, key_id=rec.id, slow_key=slow)


def make_engine() -> Engine:
    """Marker detector only: deterministic whatever the rule packs contain today."""
    return Engine(detectors=[MarkerDetector()], decode=False)


def settings_for(upstream_url: str | None, keys: Keys, **over: object) -> Settings:
    """Test settings: small bounds and short timeouts so every failure path is fast."""
    base: dict[str, object] = dict(
        upstream_url=upstream_url,
        upstream_api_key=SecretStr(UPSTREAM_SECRET),
        keys_file=keys.path,
        upstream_timeout=1.0,
        stream_idle_timeout=1.0,
        upstream_connect_timeout=1.0,
        max_body_bytes=64 * 1024,
        max_message_chars=20_000,
        max_batch=8,
        stream_scan_chars=32,
        rate_per_s=1000.0,
        burst=1000,
        writer_flush_s=0.02,
    )
    base.update(over)
    return Settings(**base)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[UpstreamState, str]]:
    """The fake OpenAI-compatible upstream on loopback."""
    state = UpstreamState()
    with Served(upstream_app(state)) as srv:
        yield state, srv.url


@pytest.fixture(scope="module")
def guard(upstream: tuple[UpstreamState, str], keys: Keys) -> Iterator[Guard]:
    """The proxy in front of the fake upstream, recording into memory."""
    state, url = upstream
    sink = MemorySink()
    app = create_app(settings_for(url + "/v1", keys), engine=make_engine(), sink=sink)
    with Served(app) as srv:
        yield Guard(url=srv.url, upstream=state, sink=sink, keys=keys)


@pytest.fixture(autouse=True)
def _reset_upstream(request: pytest.FixtureRequest) -> None:
    if "upstream" in request.fixturenames:
        state = request.getfixturevalue("upstream")[0]
        state.mode = "ok"
