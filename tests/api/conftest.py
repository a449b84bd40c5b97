"""Fixtures of the guard-service tests: keys, a fake upstream, and the proxy served on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_support import Guard, Keys, Served, UpstreamState, make_engine, settings_for, upstream_app

from stormwatch.api import add_key, create_app
from stormwatch.api._writer import MemorySink


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    """A keys file with a normal key and one with a tiny rate limit."""
    path = tmp_path_factory.mktemp("keys") / "keys.json"
    rec, key = add_key(path, name="tests")
    _, slow = add_key(path, name="limited", rate_per_s=0.2, burst=2)
    return Keys(path=path, key=key, key_id=rec.id, slow_key=slow)


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
