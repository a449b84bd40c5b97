"""The one exception family of Stormwatch; every subclass says where the problem is."""

from __future__ import annotations


class StormwatchError(Exception):
    """Root of every error Stormwatch raises on purpose."""


class KnowledgeBaseError(StormwatchError):
    """The knowledge base could not be built, loaded or queried."""


class UnknownIdError(KnowledgeBaseError):
    """An id or name is not in the knowledge base; carries the closest matches."""

    def __init__(self, kind: str, key: str, suggestions: list[str] | None = None) -> None:
        self.kind = kind
        self.key = key
        self.suggestions = suggestions or []
        hint = f"; closest: {', '.join(self.suggestions)}" if self.suggestions else ""
        super().__init__(f"unknown {kind} {key!r}{hint}")


class InputRecordError(StormwatchError):
    """One input record is bad: names the source, line (or row), field and reason."""

    def __init__(
        self, source: str, line: int | None, field: str | None, reason: str, record_id: str | None = None
    ) -> None:
        self.source = source
        self.line = line
        self.field = field
        self.reason = reason
        self.record_id = record_id
        where = source if line is None else f"{source}:{line}"
        rid = f" (record {record_id!r})" if record_id else ""
        fld = f" field {field!r}:" if field else ""
        super().__init__(f"{where}{rid}:{fld} {reason}")


class ConfigError(StormwatchError):
    """A rule pack, policy or other configuration file is invalid; names file and location."""

    def __init__(self, source: str, reason: str, location: str | None = None) -> None:
        self.source = source
        self.reason = reason
        self.location = location
        where = f"{source}:{location}" if location else source
        super().__init__(f"{where}: {reason}")


class DetectorError(StormwatchError):
    """A detector failed on an event (the engine records it and carries on)."""
