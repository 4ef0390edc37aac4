"""Jobs: the national registry load, the per-province cleaning run, and the national roll-up."""

import dagster as dg
from dagster_duckdb import DuckDBResource
from pydantic import Field

from vax_cleaning.ingest.exports import provinces_with_exports
from vax_cleaning.partitions import partition_key
from vax_cleaning.reference import province_names
from vax_cleaning.resources import LandingFolder

registry_job = dg.define_asset_job(
    "load_registry",
    selection=dg.AssetSelection.assets(
        "registry_snapshot",
        "registry_rejected_rows",
        "registry_changed_rows",
        "registry_features",
        "registry_block_keys",
        "registry_name_counts",
        "registry_free_rows",
    ),
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
        "linkage_state",
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


class ProvincesConfig(dg.Config):
    """Which provinces one `clean_provinces` run cleans."""

    provinces: list[str] = Field(
        default_factory=list, description="2-digit GSO codes; empty: every province with files under exports/."
    )


@dg.op(description="Runs clean_province for each province in turn, in this run's process (one writer at a time).")
def clean_each_province(
    context: dg.OpExecutionContext, config: ProvincesConfig, landing: LandingFolder, duckdb: DuckDBResource
) -> None:
    """A backfill of many provinces without a process start per province: each partition is still its own run."""
    from vax_cleaning.definitions import defs  # the code location itself, loaded when the op runs
    from vax_cleaning.runner import run_config

    unknown = [code for code in config.provinces if code not in province_names()]
    if unknown:
        raise dg.Failure(
            f"not province codes: {unknown}; use the 2-digit GSO codes, e.g. 01 or 79", allow_retries=False
        )
    codes = config.provinces or provinces_with_exports(landing.exports_dir)
    job, failed = defs.resolve_job_def(province_job.name), []
    for index, code in enumerate(codes, 1):
        result = job.execute_in_process(
            instance=context.instance,
            partition_key=partition_key(code),
            run_config=run_config(landing.data_dir, duckdb.database, landing.run_date),
            tags={PROVINCE_TAG: code, "vax/province_name": province_names()[code], "vax/trigger": context.run_id},
            raise_on_error=False,
        )
        context.log.info(f"{index}/{len(codes)} {partition_key(code)}: {'ok' if result.success else 'failed'}")
        if not result.success:
            failed.append(code)
    if failed:
        raise dg.Failure(f"{len(failed)} of {len(codes)} provinces failed: {failed} (their runs say why)")


@dg.job(
    description="Clean many provinces in one run, one after another (a UI partition backfill starts a process per "
    "province); each province is still recorded as its own clean_province run and partition."
)
def clean_provinces() -> None:
    """The op above, alone."""
    clean_each_province()
