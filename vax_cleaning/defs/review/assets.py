"""Review stage: decisions returned by site staff and commune police, judged per province (data contract 2.4)."""

from datetime import date

import dagster as dg
import duckdb
import polars as pl
from dagster_duckdb import DuckDBResource

from vax_cleaning import warehouse
from vax_cleaning.defs.metadata import counts_by, decision_counts, table_metadata
from vax_cleaning.defs.policies import terminal_errors, warehouse_asset
from vax_cleaning.ingest.reviews import read_decision_files
from vax_cleaning.linkage.decisions import REVIEW_DECISION_SCHEMA, parse_decision_rows, settle_decisions
from vax_cleaning.partitions import province_code, province_partitions
from vax_cleaning.resources import LandingFolder

REVIEW_CHECKS = [
    dg.AssetCheckSpec("every_decision_row_once", asset="review_decisions", blocking=True,
                      description="Every non-blank decision row of every decision file appears exactly once, with an outcome."),
    dg.AssetCheckSpec("decision_files_readable", asset="review_decisions",
                      description="Every file under reviews/<PP>/ could be read and has the decision columns; "
                      "a failure names the files (their decisions are not applied until they are returned again)."),
]  # fmt: skip


@warehouse_asset(
    deps=["raw_dose_exports", "registry_snapshot"],
    partitions_def=province_partitions,
    group_name="review",
    kinds={"polars"},
    check_specs=REVIEW_CHECKS,
    description="One row per decision row returned under reviews/<PP>/ (link, not_in_registry, not_this_person), "
    "with its outcome (applied, superseded, conflict, stale, rejected) and the reason when not applied. "
    "Re-read on every run: decisions hold across reruns, new exports and new registry snapshots.",
)
def review_decisions(
    context: dg.AssetExecutionContext, landing: LandingFolder, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    """A malformed decision file is reported by name and never stops the province's run."""
    code = province_code(context.partition_key)
    returned = read_decision_files(landing.reviews_dir, code)
    with duckdb.get_connection() as conn:
        settled, snapshot_date = _judged(conn, returned.rows, code, landing.today())
    with duckdb.get_connection() as conn:
        warehouse.replace_where(conn, "review_decisions", settled, "province_code", code)
        stored = conn.execute("SELECT count(*) FROM review_decisions WHERE province_code = ?", [code]).fetchall()[0][0]
    problems = returned.problems
    context.log.info(
        f"province {code}: {returned.files} decision files, {settled.height} decision rows; {counts_by(settled, 'outcome')}"
    )
    return dg.MaterializeResult(
        metadata={
            **table_metadata(settled, "review_decisions"),
            "decision_files": returned.files,
            "by_outcome": counts_by(settled, "outcome"),
            "by_decision": decision_counts(settled),
            "not_applied_by_reason": counts_by(settled.filter(pl.col("reason_code").is_not_null()), "reason_code"),
            "registry_snapshot_date": str(snapshot_date),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="every_decision_row_once",
                passed=stored == returned.rows.height == settled.height,
                metadata={"decision_rows_read": returned.rows.height, "rows_stored": stored},
            ),
            dg.AssetCheckResult(
                check_name="decision_files_readable",
                passed=problems.is_empty(),
                description="; ".join(f"{f}: {p}" for f, p in problems.iter_rows()) or None,
                metadata={"files_not_used": problems["review_file"].to_list()},
            ),
        ],
    )


def _judged(
    conn: duckdb.DuckDBPyConnection, rows: pl.DataFrame, code: str, today: date
) -> tuple[pl.DataFrame, date | None]:
    """Decision rows settled against the province's records and the registry snapshot in force (and its date)."""
    if rows.is_empty():
        return pl.DataFrame(schema=REVIEW_DECISION_SCHEMA), None
    with terminal_errors(warehouse.MissingTableError):
        warehouse.require_table(conn, "registry_snapshot", "registry_snapshot (job load_registry)")
        warehouse.require_table(conn, "raw_dose_exports", "raw_dose_exports for this province")
    named = parse_decision_rows(rows)  # person IDs padded, file names NFC: as they will be judged
    conn.register("_named", named.select("source_file", "person_id"))
    try:
        records = warehouse.read_frame(
            conn,
            """
            SELECT source_file, source_row FROM raw_dose_exports
            WHERE province_code = ? AND source_file IN (SELECT source_file FROM _named)""",
            [code],
        )
        people = warehouse.read_frame(
            conn, "SELECT person_id FROM registry_snapshot WHERE person_id IN (SELECT person_id FROM _named)"
        )
        snapshot_date = conn.execute("SELECT max(snapshot_date) FROM registry_snapshot").fetchall()[0][0]
    finally:
        conn.unregister("_named")
    return settle_decisions(rows, code, records, people, snapshot_date, today), snapshot_date
