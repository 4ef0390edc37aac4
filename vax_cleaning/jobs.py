"""Jobs: the national registry load, and the per-province cleaning run."""

from __future__ import annotations

import dagster as dg

registry_job = dg.define_asset_job(
    "load_registry",
    selection=dg.AssetSelection.assets("registry_snapshot"),
    description="Load and validate the registry snapshot in force (national).",
)

province_job = dg.define_asset_job(
    "clean_province",
    selection=dg.AssetSelection.assets(
        "raw_dose_exports", "review_decisions", "matched_records", "correction_sets", "province_progress"
    ),
    description="Ingest, judge returned review decisions, link, correct and report one province.",
)

national_job = dg.define_asset_job(
    "national_rollup",
    selection=dg.AssetSelection.assets("passport_ready", "progress_report"),
    description="Recompute national results (passport readiness, progress report) from every province's records.",
)
