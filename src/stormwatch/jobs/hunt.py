"""The hunt job: ingest → scan → store → analyse → outputs, on the runtime's store."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from stormwatch.config import Config
from stormwatch.hunt.pipeline import HuntResult, ProgressFn, run_hunt
from stormwatch.runtime import Runtime

__all__ = ["hunt_job"]


def hunt_job(
    runtime: Runtime,
    inputs: Sequence[str | Path],
    *,
    out_dir: Path | None = None,
    workers: int | None = None,
    progress: ProgressFn | None = None,
) -> HuntResult:
    """Hunt `inputs` into the configured store, writing the report and sharing files under `out_dir`.

    The store is opened from the runtime and closed when the hunt ends, also on error. A runtime with
    the default detection settings keeps the pipeline's own (multi-process) scanners; one with its own
    detectors, rule packs, policy or work budget scans in this process with `runtime.engine()` (worker
    processes rebuilding a runtime from `Config.to_json()` is the scale-out issue's part).
    """
    from stormwatch.export import report_links

    store = runtime.open_store()
    try:
        return run_hunt(
            list(inputs),
            store=store,
            out_dir=out_dir,
            fast=runtime.config.fast,
            workers=workers or runtime.config.workers or 1,
            scanner=None if _default_detection(runtime.config) else runtime.engine().scan_batch,
            progress=progress,
            exporter=report_links,
        )
    finally:
        store.close()


def _default_detection(cfg: Config) -> bool:
    return (
        cfg.detectors is None
        and not cfg.rule_packs
        and cfg.policy is None
        and cfg.decode
        and cfg.max_work is None
    )
