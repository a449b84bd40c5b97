"""The scan job: events in, verdicts out, with the runtime's detectors and policy."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from stormwatch.engine import Engine
from stormwatch.models import Event, Verdict
from stormwatch.runtime import Runtime

__all__ = ["scan_events", "scan_texts"]


def scan_events(runtime: Runtime, events: Sequence[Event], *, engine: Engine | None = None) -> list[Verdict]:
    """The verdict of each event, in order (`engine`: reuse one built by `runtime.engine()`)."""
    return (engine or runtime.engine()).scan_batch(events)


def scan_texts(
    runtime: Runtime, texts: Iterable[tuple[str, str]], *, engine: Engine | None = None
) -> list[Verdict]:
    """Scan `(id, text)` pairs (the demo's and a quick check's input)."""
    return scan_events(runtime, [Event.from_text(text, id=i) for i, text in texts], engine=engine)
