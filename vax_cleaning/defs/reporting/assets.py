"""Reporting stage: per-province progress of the clean-up, kept as a time series."""

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from vax_cleaning import warehouse
from vax_cleaning.defs.metadata import column_lineage, table_metadata
from vax_cleaning.defs.policies import NATIONAL_REFRESH, terminal_errors, warehouse_asset, warehouse_multi_asset
from vax_cleaning.ingest.reported import TallyError, read_tallies
from vax_cleaning.partitions import province_code, province_partitions
from vax_cleaning.report import LATEST_PROGRESS_SQL, latest, progress_history, progress_markdown, write_report
from vax_cleaning.resources import LandingFolder
from vax_cleaning.vocabulary import DecidedBy, MatchStatus

STATUS_COLUMNS = (*(str(status) for status in MatchStatus), "rejected")
"""The six outcomes that add up to doses_total."""

_COUNTS_SQL = f"""
    SELECT {", ".join(f"count(*) FILTER (WHERE match_status = '{s}') AS {s}" for s in MatchStatus)},
      (SELECT count(*) FROM rejected_rows WHERE province_code = $1 AND source_row > 0)      AS rejected,
      count(*) FILTER (WHERE decided_by = '{DecidedBy.REVIEW}')                             AS decided_by_review,
      (SELECT coalesce(sum(records), 0) FROM export_files WHERE province_code = $1)         AS records_in_files
    FROM matched_records WHERE province_code = $1
"""

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
    """Appends a row only when the counts changed, so a rerun leaves the table as it was."""
    code = province_code(context.partition_key)
    with terminal_errors(TallyError):
        reported, tally_problems = read_tallies(landing.reported_dir).for_province(code)
    with duckdb.get_connection() as conn:
        counts = warehouse.read_frame(conn, _COUNTS_SQL, [code]).row(0, named=True)
        records_in_files = counts.pop("records_in_files")
        decided_by_review = counts.pop("decided_by_review")
        row = progress_row(code, counts, reported, decided_by_review)
        appended = append_if_changed(conn, row)
    total = row["doses_total"].item()
    return dg.MaterializeResult(
        metadata={
            **table_metadata(row, "province_progress"),
            "dagster/column_lineage": PROGRESS_LINEAGE,
            "appended": appended,
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


def progress_row(code: str, counts: dict[str, int], reported: int | None, decided_by_review: int = 0) -> pl.DataFrame:
    """One point of the time series, stamped with the run's time (UTC)."""
    return pl.DataFrame(
        {
            "province_code": [code],
            "as_of": [datetime.now(UTC).replace(tzinfo=None)],
            "doses_total": [sum(counts.values())],
            **{c: [counts[c]] for c in STATUS_COLUMNS},
            "decided_by_review": [decided_by_review],
            "doses_reported": [reported],
        },
        schema={
            "province_code": pl.String,
            "as_of": pl.Datetime("us"),
            "doses_total": pl.Int64,
            **{c: pl.Int64 for c in STATUS_COLUMNS},
            "decided_by_review": pl.Int64,
            "doses_reported": pl.Int64,
        },
    )


def append_if_changed(conn, row: pl.DataFrame) -> bool:
    """History keeps every change; an identical rerun adds nothing (idempotent materialization)."""
    warehouse.ensure_table(conn, "province_progress", row)
    latest = warehouse.read_frame(
        conn,
        "SELECT * FROM province_progress WHERE province_code = ? ORDER BY as_of DESC LIMIT 1",
        [row["province_code"].item()],
    )
    compared = ["doses_total", *STATUS_COLUMNS, "decided_by_review", "doses_reported"]
    if latest.height and latest.select(compared).cast(pl.Int64).equals(row.select(compared)):
        return False
    warehouse.append(conn, "province_progress", row)
    return True


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
            description="View: the latest province_progress point of every province.",
        ),
        dg.AssetSpec(
            "national_progress",
            deps=["latest_province_progress"],
            group_name="reporting",
            automation_condition=NATIONAL_REFRESH,
            description="View: the national sum of the latest point of every province.",
        ),
        dg.AssetSpec(
            "progress_report",
            deps=["province_progress"],
            group_name="reporting",
            kinds={"html"},
            automation_condition=NATIONAL_REFRESH,
            description="National progress report (progress.png, progress.html beside the DuckDB file, "
            "under reports/): share of doses linked over time per province and the backlog by status, "
            "with doses not yet uploaded.",
        ),
    ],
    check_specs=[
        dg.AssetCheckSpec(
            "covers_every_province",
            asset="progress_report",
            description="The report shows the latest point of every province that has progress rows.",
        )
    ],
)
def progress_report(context: dg.AssetExecutionContext, duckdb: DuckDBResource):
    """The views dashboards read, and the chart and table a provincial officer reads (also inline in the UI)."""
    with duckdb.get_connection() as conn:
        conn.execute(NATIONAL_PROGRESS_VIEW)
        history = progress_history(conn)
        png_path, html_path = write_report(conn, Path(duckdb.database).parent / "reports")
        expected = conn.execute("SELECT count(DISTINCT province_code) FROM province_progress").fetchall()[0][0]
    shown = latest(history).height
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
            "report": dg.MetadataValue.path(str(html_path)),
            "chart": dg.MetadataValue.path(str(png_path)),
            "progress": dg.MetadataValue.md(progress_markdown(history, png_path.read_bytes())),
            "provinces": int(history["province_code"].n_unique()),
            "points": history.height,
        },
    )
