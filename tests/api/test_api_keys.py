"""Keys: hashed at rest, shown once, revocable; the keys CLI."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from stormwatch.api import KeyRing, add_key, revoke_key
from stormwatch.cli.keys import keys_app


def test_cli_add_prints_key_last_and_stores_only_hash(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    r = CliRunner().invoke(keys_app, ["add", "--keys-file", str(path), "--name", "app-1"])
    assert r.exit_code == 0, r.output
    key = r.output.split()[-1]
    assert key.startswith("sw_")
    text = path.read_text()
    assert key not in text and key.split("_", 2)[2] not in text
    assert (path.stat().st_mode & 0o777) == 0o600
    ring = KeyRing(path)
    rec = ring.verify(key)
    assert rec is not None and rec.name == "app-1"
    listed = CliRunner().invoke(keys_app, ["list", "--keys-file", str(path)])
    assert rec.id in listed.output and key not in listed.output and "active" in listed.output
    rv = CliRunner().invoke(keys_app, ["revoke", rec.id, "--keys-file", str(path)])
    assert rv.exit_code == 0
    assert "revoked" in CliRunner().invoke(keys_app, ["list", "--keys-file", str(path)]).output
    assert CliRunner().invoke(keys_app, ["revoke", "ffffffff", "--keys-file", str(path)]).exit_code == 2


def test_keyring_rejects_wrong_forms_and_sees_revocation(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    rec, key = add_key(path, name="x")
    ring = KeyRing(path, recheck_s=0.0)
    assert ring.verify(key) is not None
    for bad in ("", "sw_", key + "x", key.replace(rec.id, "00000000"), "Bearer " + key, "sw_" + rec.id + "_"):
        assert ring.verify(bad) is None
    revoke_key(path, rec.id)
    assert ring.verify(key) is None


def test_missing_keys_file_means_no_keys(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path / "absent.json")
    assert len(ring) == 0 and ring.verify("sw_abc_def") is None
