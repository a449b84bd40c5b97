"""The hunt: account analytics, account linking, clustering, designation and attribution."""

from __future__ import annotations

from stormwatch.hunt.analytics import AccountProfile, likely_utc_offset, profile_accounts
from stormwatch.hunt.attribution import attribute_cluster, score_profile
from stormwatch.hunt.linking import LinkConfig, cluster_accounts, designate, link_accounts
from stormwatch.hunt.pipeline import analyse, default_scanner, run_hunt, write_outputs
from stormwatch.hunt.profiles import ActorProfile, load_profiles
from stormwatch.hunt.result import ClusterExporter, HuntResult

__all__ = [
    "AccountProfile",
    "ActorProfile",
    "ClusterExporter",
    "HuntResult",
    "LinkConfig",
    "analyse",
    "attribute_cluster",
    "cluster_accounts",
    "default_scanner",
    "designate",
    "likely_utc_offset",
    "link_accounts",
    "load_profiles",
    "profile_accounts",
    "run_hunt",
    "score_profile",
    "write_outputs",
]
