"""Reporting stage: per-province progress of the clean-up, kept as a time series."""

from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from vax_cleaning import settings
from vax_cleaning.defs.metadata import column_lineage, table_metadata
from vax_cleaning.defs.policies import NATIONAL_REFRESH, terminal_errors, warehouse_asset, warehouse_multi_asset
from vax_cleaning.ingest.reported import TallyError, read_tallies
from vax_cleaning.partitions import province_code, province_partitions
from vax_cleaning.reference import province_names
from vax_cleaning.report import (
    HAS_DATA_SQL,
    LATEST_PROGRESS_SQL,
    STATUS_COLUMNS,
    append_if_changed,
    backlog_by_handler,
    is_empty_province,
    latest,
    national_total,
    progress_history,
    progress_markdown,
    province_progress_row,
    summary_sentence,
    write_report,
)
from vax_cleaning.resources import LandingFolder
from vax_cleaning.vocabulary import MatchStatus

PROGRESS_LINEAGE = column_lineage(
    {
        **{status: [("matched_records", "match_status")] for status in STATUS_COLUMNS if status != "rejected"},
        "decided_by_review": [("matched_records", "decided_by")],
        "rejected": [("raw_dose_exports", "source_row")],
        "doses_total": [("matched_records", "match_status"), ("raw_dose_exports", "source_row")],
    }
)
"""Where each count comes from (rejected_rows is written by the raw_dose_exports asset)."""

PROGRESS_CHECKS = [
    dg.AssetCheckSpec(
        "totals_add_up",
        asset="province_progress",
        blocking=True,
        description="doses_total equals the six status counts summed and the records counted in the files.",
    ),
    dg.AssetCheckSpec(
        "reported_tallies_usable",
        asset="province_progress",
        description="Every row of reported/*.csv for this province (and every row naming no province) has a province "
        "code and a whole number of doses; bad rows are named by file and line, and leave doses_reported empty.",
    ),
]


@warehouse_asset(
    deps=["matched_records", "raw_dose_exports", "review_decisions"],
    partitions_def=province_partitions,
    group_name="reporting",
    check_specs=PROGRESS_CHECKS,
    description="Per-province counts by outcome, one row per run in which they changed (a time series of the "
    "clean-up), with the doses sites reported beside the doses recorded.",
)
def province_progress(
    context: dg.AssetExecutionContext, landing: LandingFolder, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    """Appends a row only when the counts changed, so a rerun leaves the table as it was; a province without
    exports (and without a tally) appends nothing, so 'Materialize all' leaves no all-zero rows."""
    code = province_code(context.partition_key)
    with terminal_errors(TallyError):
        reported, tally_problems = read_tallies(landing.reported_dir).for_province(code)
    with duckdb.get_connection() as conn:
        row, records_in_files = province_progress_row(conn, code, reported)
        empty = is_empty_province(conn, row, records_in_files)
        appended = False if empty else append_if_changed(conn, row)
    if empty:
        context.log.info(f"no exports for {code} {province_names()[code]}: no progress point recorded")
    counts = {c: row[c].item() for c in STATUS_COLUMNS}
    decided_by_review = row["decided_by_review"].item()
    total = row["doses_total"].item()
    return dg.MaterializeResult(
        metadata={
            **table_metadata(row, "province_progress"),
            "dagster/column_lineage": PROGRESS_LINEAGE,
            "appended": appended,
            "no_exports": empty,
            **{name: int(value) for name, value in counts.items()},
            "decided_by_review": int(decided_by_review),
            "doses_total": total,
            "doses_reported": reported,
            "share_linked": round((counts[MatchStatus.VERIFIED] + counts[MatchStatus.CORRECTED]) / max(total, 1), 4),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="totals_add_up",
                passed=total == records_in_files,
                metadata={"doses_total": total, "records_in_files": int(records_in_files)},
            ),
            dg.AssetCheckResult(
                check_name="reported_tallies_usable",
                passed=not tally_problems,
                description=f"tally rows not used: {'; '.join(tally_problems)}" if tally_problems else None,
                metadata={"unusable_rows": tally_problems},
            ),
        ],
    )


NATIONAL_PROGRESS_VIEW = f"""
    CREATE OR REPLACE VIEW latest_province_progress AS {LATEST_PROGRESS_SQL};
    CREATE OR REPLACE VIEW national_progress AS
    SELECT max(as_of) AS as_of, count(*) AS provinces, sum(doses_total) AS doses_total,
           sum(verified) AS verified, sum(corrected) AS corrected, sum(review) AS review,
           sum(unmatched) AS unmatched, sum(duplicate) AS duplicate, sum(rejected) AS rejected,
           sum(decided_by_review) AS decided_by_review, sum(doses_reported) AS doses_reported
    FROM latest_province_progress
"""
"""Views: the latest point of every province, and their national sum."""


@warehouse_multi_asset(
    specs=[
        dg.AssetSpec(
            "latest_province_progress",
            deps=["province_progress"],
            group_name="reporting",
            automation_condition=NATIONAL_REFRESH,
            description="View: the latest province_progress point of every province whose latest point has data.",
        ),
        dg.AssetSpec(
            "national_progress",
            deps=["latest_province_progress"],
            group_name="reporting",
            automation_condition=NATIONAL_REFRESH,
            description="View: the national sum of latest_province_progress.",
        ),
        dg.AssetSpec(
            "progress_report",
            deps=["province_progress"],
            group_name="reporting",
            kinds={"html"},
            automation_condition=NATIONAL_REFRESH,
            description="National progress report (progress.png, progress.html in the database's reports "
            "folder, <duckdb stem>_reports/ beside the DuckDB file unless VAX_REPORTS_DIR is set): a Vietnamese "
            "summary, the national share linked over time, every province with data as a bar of settled doses "
            "and backlog by status (with doses not yet uploaded), and the table with a national total.",
        ),
    ],
    check_specs=[
        dg.AssetCheckSpec(
            "covers_every_province",
            asset="progress_report",
            description="The report shows the latest point of every province that has data (all-zero points are ignored).",
        )
    ],
)
def progress_report(context: dg.AssetExecutionContext, duckdb: DuckDBResource):
    """The views dashboards read, and the chart and table a provincial officer reads (also inline in the UI)."""
    out_dir = Path(settings.reports_dir(duckdb.database))  # each database its own reports folder
    with duckdb.get_connection() as conn:
        conn.execute(NATIONAL_PROGRESS_VIEW)
        history = progress_history(conn)
        png_path, html_path = write_report(conn, out_dir)
        expected = conn.execute(
            f"SELECT count(DISTINCT province_code) FROM province_progress WHERE {HAS_DATA_SQL}"
        ).fetchall()[0][0]
        now = latest(history)
        handlers = backlog_by_handler(conn, now["province_code"].to_list())
    shown = now.height
    markdown = progress_markdown(history, png_path.read_bytes(), handlers)
    context.log.info(f"progress report of {shown} provinces with data written to {out_dir}")
    yield dg.MaterializeResult(asset_key="latest_province_progress", metadata={"dagster/row_count": shown})
    yield dg.MaterializeResult(asset_key="national_progress", metadata={"dagster/row_count": 1})
    yield dg.MaterializeResult(
        asset_key="progress_report",
        check_results=[
            dg.AssetCheckResult(
                check_name="covers_every_province",
                passed=shown == expected and png_path.stat().st_size > 0,
                metadata={"provinces_with_progress": expected, "provinces_shown": shown},
            )
        ],
        metadata={
            "dagster/row_count": shown,
            "summary": dg.MetadataValue.text(
                summary_sentence(national_total(now), shown, handlers, now["doses_reported"].is_not_null().sum())
            ),
            "report": dg.MetadataValue.path(str(html_path)),
            "chart": dg.MetadataValue.path(str(png_path)),
            "progress": dg.MetadataValue.md(markdown),
            "provinces": shown,
            "points": history.height,
        },
    )
