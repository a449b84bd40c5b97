"""Orchestration: the only layer that wires the library's pieces together, prints or shows progress.

`cli/`, `api/` and a future `web/` call these jobs (or the library directly); the library below never
prints, reads the environment or loads configuration of its own. Every job takes a `Runtime`
(`stormwatch.runtime`) or the plain values it needs.
"""

from stormwatch.jobs.demo import DEMO_SAMPLES, MIN_EVENTS, run_demo, simulate_and_hunt, summary_table
from stormwatch.jobs.export import export_job
from stormwatch.jobs.hunt import hunt_job
from stormwatch.jobs.scan import scan_events, scan_texts

__all__ = [
    "DEMO_SAMPLES",
    "MIN_EVENTS",
    "export_job",
    "hunt_job",
    "run_demo",
    "scan_events",
    "scan_texts",
    "simulate_and_hunt",
    "summary_table",
]
