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
    selection=dg.AssetSelection.all() - dg.AssetSelection.assets("registry_snapshot"),
    description="Ingest, link, correct and report one province.",
)
