"""The guard service: a scanning API and an OpenAI-compatible screening proxy (`stormwatch serve`)."""

from stormwatch.api._app import create_app
from stormwatch.api._keys import KeyRecord, KeyRing, add_key, generate_key, revoke_key
from stormwatch.api._settings import Settings

__all__ = ["KeyRecord", "KeyRing", "Settings", "add_key", "create_app", "generate_key", "revoke_key"]
