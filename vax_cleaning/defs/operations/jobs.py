"""Jobs: the national registry load, the per-province cleaning run, and the national roll-up."""

import dagster as dg

from vax_cleaning.partitions import partition_key
from vax_cleaning.reference import province_names

registry_job = dg.define_asset_job(
    "load_registry",
    selection=dg.AssetSelection.assets("registry_snapshot", "registry_rejected_rows", "registry_features"),
    description="Load and validate the registry snapshot in force (national), then normalize it for the linkage.",
)

province_job = dg.define_asset_job(
    "clean_province",
    selection=dg.AssetSelection.assets(
        "raw_dose_exports",
        "rejected_rows",
        "export_files",
        "review_decisions",
        "matched_records",
        "correction_sets",
        "province_progress",
    ),
    description="Ingest, judge returned review decisions, link, correct and report one province.",
)

national_job = dg.define_asset_job(
    "national_rollup",
    selection=dg.AssetSelection.assets(
        "passport_ready", "latest_province_progress", "national_progress", "progress_report"
    ),
    description="Recompute national results (passport readiness, progress views and report) from every province's records.",
)


PROVINCE_TAG = "vax/province"
LANDED_TAG = "vax/landed"
"""Digest of the province's landed files a run was requested for: lets one sensor see that another already asked."""


def province_run_request(code: str, reason: str, run_key: str | None, landed: str | None = None) -> dg.RunRequest:
    """One run of the clean_province job for one province partition."""
    tags = {PROVINCE_TAG: code, "vax/province_name": province_names()[code], "vax/trigger": reason}
    if landed is not None:
        tags[LANDED_TAG] = landed
    return dg.RunRequest(run_key=run_key, partition_key=partition_key(code), tags=tags)
