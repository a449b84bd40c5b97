"""The written policy the judge model is given: editable Markdown, versioned for the answer cache."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from stormwatch.errors import ConfigError

DEFAULT_POLICY_PATH = Path(__file__).resolve().parent / "policy.md"
MAX_POLICY_BYTES = 64 * 1024
_VERSION = re.compile(r"stormwatch-judge-policy\s+version:\s*([A-Za-z0-9._-]{1,40})")
_SLUG = re.compile(r"^- `([a-z0-9]+(?:-[a-z0-9]+)*)`:", re.MULTILINE)


@dataclass(frozen=True)
class JudgePolicy:
    """A policy text and its version (the declared one plus a hash of the text, so edits bust the cache)."""

    text: str
    version: str
    source: str

    @classmethod
    def load(cls, path: str | Path | None = None) -> JudgePolicy:
        """Read a Markdown policy (the packaged one when `path` is None)."""
        p = Path(path) if path is not None else DEFAULT_POLICY_PATH
        try:
            size = p.stat().st_size
            if size > MAX_POLICY_BYTES:
                raise ConfigError(str(p), f"judge policy is {size} bytes; the limit is {MAX_POLICY_BYTES}")
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(str(p), f"cannot read judge policy: {exc.strerror or exc}") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(str(p), f"judge policy is not UTF-8: {exc.reason}") from exc
        return cls.from_text(text, source=str(p))

    @classmethod
    def from_text(cls, text: str, *, source: str = "<text>") -> JudgePolicy:
        """A policy from a string; its first `stormwatch-judge-policy version: X` marker names the version."""
        if not text.strip():
            raise ConfigError(source, "judge policy is empty")
        m = _VERSION.search(text[:400])
        declared = m.group(1) if m else "unversioned"
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
        return cls(text=text, version=f"{declared}+{digest}", source=source)

    def category_slugs(self) -> list[str]:
        """The category slugs the policy lists (lines of the form ``- `slug`: ...``), in order."""
        return _SLUG.findall(self.text)
