"""The store interface the hunt and the guard service share; backends implement it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

from stormwatch.models import Event, Verdict
from stormwatch.store.schema import FLAGGED, AccountStats, EventRow, FindingRow, FlagRule

# Metadata keys whose values identify shared infrastructure or identity (hashes, never raw values).
LINK_METADATA_KEYS: tuple[str, ...] = (
    "payment_hash",
    "card_hash",
    "email_hash",
    "email_domain_hash",
    "phone_hash",
    "device_id",
    "billing_hash",
)


@runtime_checkable
class Store(Protocol):
    """Events, verdicts and findings keyed by event id; re-adding an event replaces it (idempotent) unless
    it is sealed evidence, which is append-only."""

    def add(self, events: Sequence[Event], verdicts: Sequence[Verdict], *, seal: bool = False) -> int:
        """Upsert events and their verdicts (matched by id); returns the number of events written.

        Sealed records are never replaced; `seal=True` writes only new ids and seals them (evidence).
        """
        ...

    def count(self) -> int:
        """Number of distinct events stored."""
        ...

    def account_stats(
        self, *, since: datetime | None = None, until: datetime | None = None, flag: FlagRule = FLAGGED
    ) -> list[AccountStats]:
        """One row per account: events, flagged (by `flag`), blocked, max_risk, first_seen, last_seen."""
        ...

    def infra_usage(
        self, suspicious: Sequence[str], *, since: datetime | None = None, until: datetime | None = None
    ) -> dict[tuple[str, str], tuple[int, int]]:
        """For each (kind, value) of shared infrastructure: (accounts using it, suspicious accounts among them)."""
        ...

    def account_events(
        self, accounts: Sequence[str], *, since: datetime | None = None, until: datetime | None = None
    ) -> list[EventRow]:
        """Event rows joined with their verdicts for the given accounts, ordered by account and time."""
        ...

    def findings_for(self, event_ids: Sequence[str]) -> dict[str, list[FindingRow]]:
        """Findings of the given events, by event id."""
        ...

    def background_prompts(
        self,
        *,
        exclude: Sequence[str] = (),
        n: int = 20000,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[tuple[str, int]]:
        """Distinct prompts of accounts not in `exclude`, each with the number of accounts that sent it."""
        ...

    def neighbours(
        self,
        accounts: Sequence[str],
        *,
        kinds: Sequence[str] = ("ip", "net", "api_key_id", "payment_hash", "email_domain_hash", "email_hash"),
        max_accounts: int = 12,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[str]:
        """Accounts sharing a specific infrastructure value with one of `accounts`."""
        ...

    def designations(self, accounts: Sequence[str]) -> dict[str, str]:
        """Designations given to these accounts by earlier hunts (account → Storm-####)."""
        ...

    def save_designations(self, mapping: dict[str, str]) -> None:
        """Remember designations so later hunts keep them (account → Storm-####)."""
        ...

    def export_findings(self, path: Path) -> int:
        """Write every finding (with its event's account and time) to a Parquet file; returns the row count."""
        ...

    def close(self) -> None:
        """Release the backend."""
        ...
