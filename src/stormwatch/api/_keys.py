"""API keys: random bearer tokens of which the keys file stores only a SHA-256 hash.

Keys carry 256 random bits, so a fast hash is enough (no password-style stretching is needed) and keeps the
per-request check cheap; the id inside the key selects one record, compared in constant time.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import os
import secrets
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from stormwatch.errors import ConfigError

PREFIX = "sw"
_DUMMY_HASH = hashlib.sha256(b"stormwatch-no-such-key").hexdigest()


class KeyRecord(BaseModel):
    """One stored key: its public id, a name, when it was made, its hash and optional own rate limit."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[0-9a-f]{8,32}$")
    name: str = ""
    created: datetime
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    revoked: datetime | None = None
    rate_per_s: float | None = Field(default=None, gt=0)
    burst: int | None = Field(default=None, ge=1)


class KeysFile(BaseModel):
    """The keys file (JSON)."""

    model_config = ConfigDict(extra="forbid")

    version: int = 1
    keys: list[KeyRecord] = Field(default_factory=list)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def key_id_of(key: str) -> str | None:
    """The id part of a key (`sw_<id>_<secret>`), or None when the key is not in that form."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1]


def generate_key() -> tuple[str, str]:
    """A fresh (key id, key)."""
    kid = secrets.token_hex(6)
    return kid, f"{PREFIX}_{kid}_{secrets.token_urlsafe(32)}"


def load_keys_file(path: Path) -> KeysFile:
    """Read and validate a keys file (an absent file holds no keys)."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return KeysFile()
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read keys file: {exc.strerror or exc}") from exc
    try:
        return KeysFile.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ConfigError(str(path), f"invalid keys file: {first['msg']}", loc or None) from exc


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _save(path: Path, data: KeysFile) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(data.model_dump_json(indent=2) + "\n")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def add_key(
    path: Path, *, name: str = "", rate_per_s: float | None = None, burst: int | None = None
) -> tuple[KeyRecord, str]:
    """Append a new key to the keys file; returns its record and the key (shown once, never stored)."""
    with _locked(path):
        data = load_keys_file(path)
        kid, key = generate_key()
        while any(r.id == kid for r in data.keys):
            kid, key = generate_key()
        rec = KeyRecord(
            id=kid,
            name=name,
            created=datetime.now(UTC),
            sha256=_hash(key),
            rate_per_s=rate_per_s,
            burst=burst,
        )
        data.keys.append(rec)
        _save(path, data)
    return rec, key


def revoke_key(path: Path, key_id: str) -> KeyRecord:
    """Mark a key revoked (kept in the file for audit); raises ConfigError when the id is unknown."""
    with _locked(path):
        data = load_keys_file(path)
        for i, rec in enumerate(data.keys):
            if rec.id == key_id:
                if rec.revoked is None:
                    rec = rec.model_copy(update={"revoked": datetime.now(UTC)})
                    data.keys[i] = rec
                    _save(path, data)
                return rec
    raise ConfigError(str(path), f"no key with id {key_id!r}")


class KeyRing:
    """The live set of keys, re-read when the file changes (so a revocation applies without a restart)."""

    def __init__(self, path: Path | None, *, recheck_s: float = 1.0) -> None:
        self.path = path
        self.recheck_s = recheck_s
        self._by_id: dict[str, KeyRecord] = {}
        self._mtime: int | None = None
        self._checked = 0.0
        self.reload()

    def reload(self) -> None:
        """Re-read the keys file now (raises ConfigError when it is invalid)."""
        if self.path is None:
            return
        try:
            mtime = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            mtime = None
        data = load_keys_file(self.path)
        self._by_id = {r.id: r for r in data.keys}
        self._mtime = mtime
        self._checked = time.monotonic()

    def _maybe_reload(self) -> None:
        now = time.monotonic()
        if self.path is None or now - self._checked < self.recheck_s:
            return
        self._checked = now
        try:
            mtime = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            mtime = None
        if mtime != self._mtime:
            # A half-written or broken file keeps the previous keys; writes are atomic, so this is rare.
            with contextlib.suppress(ConfigError):
                self.reload()

    def __len__(self) -> int:
        return sum(1 for r in self._by_id.values() if r.revoked is None)

    def verify(self, key: str) -> KeyRecord | None:
        """The active record a presented key belongs to, or None."""
        self._maybe_reload()
        kid = key_id_of(key)
        rec = self._by_id.get(kid) if kid is not None else None
        ok = hmac.compare_digest(_hash(key), rec.sha256 if rec is not None else _DUMMY_HASH)
        if rec is None or not ok or rec.revoked is not None:
            return None
        return rec
