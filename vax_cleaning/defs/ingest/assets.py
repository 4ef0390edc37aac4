"""Ingest stage: raw dose exports (per province) and the national registry snapshot, each with its side tables."""

from datetime import date

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource
from pydantic import Field

from vax_cleaning import warehouse
from vax_cleaning.defs.metadata import counts_by, table_metadata
from vax_cleaning.defs.policies import terminal_errors, warehouse_multi_asset
from vax_cleaning.ingest import registry, registry_load
from vax_cleaning.ingest.exports import (
    files_outside_province_folders,
    ingest_province,
    landed_files,
    plan_ingestion,
    unknown_province_folders,
)
from vax_cleaning.ingest.registry import RegistryError, ignored_entries
from vax_cleaning.partitions import province_code, province_partitions
from vax_cleaning.resources import LandingFolder


class IngestConfig(dg.Config):
    """How much of the province's folder a run reads."""

    reingest: bool = Field(
        default=False,
        description="Read every file of the province again, not only the new ones, and replace what was ingested "
        "(after a landed file was deliberately replaced, or a new version of the reading rules).",
    )


RAW_CHECKS = [
    dg.AssetCheckSpec(
        "conservation",
        asset="raw_dose_exports",
        blocking=True,
        description="Every data record of every file is in raw_dose_exports or rejected_rows, exactly once.",
    ),
    dg.AssetCheckSpec(
        "vaccination_date_present",
        asset="raw_dose_exports",
        blocking=True,
        description="No accepted record lacks a parseable vaccination date.",
    ),
    dg.AssetCheckSpec(
        "known_province_folders",
        asset="raw_dose_exports",
        description="Every entry under exports/ is a folder named by one of the 63 province codes; other folders "
        "and files lying directly under exports/ belong to no province and are not ingested (named here).",
    ),
    dg.AssetCheckSpec(
        "every_landed_file_ingested",
        asset="raw_dose_exports",
        description="Every data-looking file under exports/<PP>/ (CSV, Excel, text) was ingested: files skipped "
        "or refused (see export_files.status), and workbook sheets with export columns left unread, are named here.",
    ),
    dg.AssetCheckSpec(
        "landed_files_unchanged",
        asset="raw_dose_exports",
        description="No file ingested before has changed content (size, SHA-256 in export_files) or disappeared "
        "since: landed files are immutable, a correction is a new file (named here when one changed).",
    ),
]


@warehouse_multi_asset(
    specs=[
        dg.AssetSpec(
            "raw_dose_exports",
            group_name="ingest",
            kinds={"polars"},
            description="Accepted dose records of one province's exports (CSV/XLSX, any field encoding), "
            "typed, with source_file/source_row lineage.",
        ),
        dg.AssetSpec(
            "rejected_rows",
            group_name="ingest",
            description="Records of the province's exports that could not be accepted, with the reason "
            "(blank, field count, vaccination date, vaccine, dose number, unreadable file).",
        ),
        dg.AssetSpec(
            "export_files",
            group_name="ingest",
            description="One row per landed export file of the province: format/encoding, records, "
            "accepted, rejected, and the problem when it could not be read.",
        ),
    ],
    partitions_def=province_partitions,
    check_specs=RAW_CHECKS,
)
def raw_dose_exports(
    context: dg.AssetExecutionContext, landing: LandingFolder, duckdb: DuckDBResource, config: IngestConfig
):
    """Reads only the files no earlier run ingested (landed files are immutable), or the whole folder on request."""
    code = province_code(context.partition_key)
    with duckdb.get_connection() as conn:
        ingested = _ingested_files(conn, code)
    plan = None if ingested is None else plan_ingestion(landed_files(landing.exports_dir, code), ingested)
    changed_files = [] if plan is None else plan.changed  # named by the check when read anew on request
    if config.reingest:
        plan = None
    elif changed_files:
        raise dg.Failure(
            description=f"province {code}: landed files changed after they were ingested: {'; '.join(changed_files)}. "
            "Fix: land a correction as a new file and put the original back; to read the province's folder anew as "
            "it is now, run with config reingest: true.",
            allow_retries=False,
        )
    exports = ingest_province(landing.exports_dir, code, landing.today(), plan)
    with duckdb.get_connection() as conn:
        tables = {
            "raw_dose_exports": exports.accepted,
            "rejected_rows": exports.rejected,
            "export_files": exports.files,
        }
        if plan is None:
            with warehouse.replacing_slices(conn, tables, "province_code", code):
                if warehouse.table_exists(conn, "linkage_state"):  # records read anew: the next linkage links all
                    conn.execute("DELETE FROM linkage_state WHERE province_code = ?", [code])
        else:
            _add_files(conn, tables, code, [*plan.replaced, *(entry.name for entry in plan.to_read)])
        stored = conn.execute(
            """SELECT (SELECT count(*) FROM raw_dose_exports WHERE province_code = $1),
                      (SELECT count(*) FROM rejected_rows WHERE province_code = $1 AND source_row > 0),
                      (SELECT count(*) FROM (SELECT source_file, source_row FROM (SELECT source_file, source_row FROM raw_dose_exports WHERE province_code = $1
                                             UNION ALL SELECT source_file, source_row FROM rejected_rows WHERE province_code = $1)
                       GROUP BY ALL HAVING count(*) > 1)),
                      (SELECT count(*) FROM raw_dose_exports WHERE province_code = $1 AND vaccination_date IS NULL)""",
            [code],
        ).fetchall()[0]
        file_records = conn.execute(
            "SELECT coalesce(sum(records), 0) FROM export_files WHERE province_code = ?", [code]
        ).fetchall()[0][0]
    accepted_rows, rejected_rows, duplicated_identities, undated = stored
    read = "all files" if plan is None else f"{len(plan.to_read)} new or completed files"
    unknown_folders = unknown_province_folders(landing.exports_dir)
    loose_files = files_outside_province_folders(landing.exports_dir)
    layout_problems = [
        *([f"unknown province folders under exports/: {unknown_folders}"] if unknown_folders else []),
        *([f"files directly under exports/, in no province folder: {loose_files}"] if loose_files else []),
    ]
    context.log.info(
        f"province {code}: read {read} ({exports.files.height} inventory rows, {exports.accepted.height} accepted); "
        f"now {file_records} records, {accepted_rows} accepted, {rejected_rows} rejected"
    )
    yield dg.MaterializeResult(
        asset_key="rejected_rows",
        metadata={
            **table_metadata(exports.rejected, "rejected_rows"),
            "by_reason": counts_by(exports.rejected, "reason_code"),
        },
    )
    yield dg.MaterializeResult(
        asset_key="export_files",
        metadata={
            **table_metadata(exports.files, "export_files"),
            "files_by_format": counts_by(exports.files, "format"),
            "files_by_status": counts_by(exports.files, "status"),
            "files_with_problems": exports.files.filter(pl.col("problem").is_not_null())["source_file"].to_list(),
        },
    )
    yield dg.MaterializeResult(
        asset_key="raw_dose_exports",
        metadata={
            **table_metadata(exports.accepted, "raw_dose_exports", rows=accepted_rows),
            "read_this_run": read,
            "accepted_this_run": exports.accepted.height,
            "files": exports.files.height,
            "records_in_files": file_records,
            "rejected": rejected_rows,
            "id_issues": counts_by(exports.accepted, "id_issue"),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="conservation",
                passed=accepted_rows + rejected_rows == file_records and duplicated_identities == 0,
                metadata={
                    "records_in_files": file_records,
                    "accepted": accepted_rows,
                    "rejected": rejected_rows,
                    "identities_stored_twice": duplicated_identities,
                },
            ),
            dg.AssetCheckResult(
                check_name="vaccination_date_present", passed=undated == 0, metadata={"accepted_without_date": undated}
            ),
            dg.AssetCheckResult(
                check_name="known_province_folders",
                passed=not layout_problems,
                description=f"not ingested: {'; '.join(layout_problems)}" if layout_problems else None,
                metadata={"unknown_folders": unknown_folders, "files_outside_province_folders": loose_files},
            ),
            dg.AssetCheckResult(
                check_name="every_landed_file_ingested",
                passed=not exports.not_ingested,
                description=f"data-looking files not ingested: {exports.not_ingested}"
                if exports.not_ingested
                else None,
                metadata={"not_ingested": exports.not_ingested},
            ),
            dg.AssetCheckResult(
                check_name="landed_files_unchanged",
                passed=not changed_files,
                description=f"landed files changed after they were ingested: {changed_files}"
                if changed_files
                else None,
                metadata={"changed_since_ingested": changed_files},
            ),
        ],
    )


def _ingested_files(conn, code: str) -> pl.DataFrame | None:
    """The province's export_files rows (file, source_file, size_bytes, sha256): what earlier runs ingested (None: a
    warehouse from before files had an identity, read whole once)."""
    if not warehouse.table_exists(conn, "export_files"):
        return pl.DataFrame(
            schema={"file": pl.String, "source_file": pl.String, "size_bytes": pl.Int64, "sha256": pl.String}
        )
    if not {"file", "sha256"} <= {row[0] for row in conn.execute("DESCRIBE export_files").fetchall()}:
        return None
    return warehouse.read_frame(
        conn, "SELECT file, source_file, size_bytes, sha256 FROM export_files WHERE province_code = ?", [code]
    )


def _add_files(conn, tables: dict[str, pl.DataFrame], code: str, files: list[str]) -> None:
    """This run's rows in, the earlier rows of the same files out, in one transaction."""
    for table, frame in tables.items():
        warehouse.ensure_table(conn, table, frame)
    gone = pl.DataFrame({"file": files}, schema={"file": pl.String})
    with warehouse.transaction(conn), warehouse.registered(conn, "_gone_files", gone):
        conn.execute(
            """CREATE OR REPLACE TEMP TABLE _gone_sources AS SELECT source_file FROM export_files
               WHERE province_code = ? AND file IN (SELECT file FROM _gone_files)""",
            [code],
        )
        for table, frame in tables.items():
            with warehouse.registered(conn, "_incoming", frame):
                conn.execute(
                    f'DELETE FROM "{table}" WHERE province_code = ? AND source_file IN (SELECT source_file FROM _gone_sources)',
                    [code],
                )
                conn.execute(f'INSERT INTO "{table}" BY NAME SELECT * FROM _incoming')
        conn.execute("DROP TABLE _gone_sources")


REGISTRY_CHECKS = [
    dg.AssetCheckSpec(
        "person_id_unique",
        asset="registry_snapshot",
        blocking=True,
        description="person_id is a unique 12-digit number in the snapshot in force.",
    ),
    dg.AssetCheckSpec(
        "registry_rows_valid",
        asset="registry_snapshot",
        description="No registry row was set aside for a missing, malformed or duplicated person_id.",
    ),
    dg.AssetCheckSpec(
        "id_layout_agrees",
        asset="registry_snapshot",
        description="Share of people whose CCCD's embedded birth year or gender digit disagrees with the record.",
    ),
    dg.AssetCheckSpec(
        "registry_folders_well_formed",
        asset="registry_snapshot",
        description="Every entry under registry/ is a registry/<YYYY-MM-DD>/ snapshot folder with a CSV or Parquet "
        "file; anything else (a folder like 2022-13-45 or latest, a file directly under registry/) is ignored and "
        "named here.",
    ),
]

ID_LAYOUT_DISAGREEMENT_TOLERANCE = 0.01
"""Above 1% disagreement the snapshot (or its export) is suspect; below, it is the registry's own noise."""


@warehouse_multi_asset(
    specs=[
        dg.AssetSpec(
            "registry_snapshot",
            group_name="ingest",
            kinds={"polars"},
            description="The national population registry snapshot in force (newest registry/<date>/ unless "
            "configured), validated, with the snapshot date on every row so downstream results can say "
            "which snapshot they used.",
        ),
        dg.AssetSpec(
            "registry_rejected_rows",
            group_name="ingest",
            description="Registry rows set aside (person_id missing, malformed or duplicated), with the reason.",
        ),
        dg.AssetSpec(
            registry_load.CHANGED,
            group_name="ingest",
            description="Internal: the slots (registry_row) a next snapshot brought in place deleted or wrote, for "
            "registry_features to update only those (it empties the table); no table: rebuilt whole.",
        ),
    ],
    check_specs=REGISTRY_CHECKS,
)
def registry_snapshot(context: dg.AssetExecutionContext, landing: LandingFolder, duckdb: DuckDBResource):
    """National, not per province: a dose given in one province may belong to a person registered in another.

    A snapshot that is refused (unreadable, empty, or the newest one shrunken below MIN_SHARE_OF_LOADED of the
    snapshot in force) fails the step at once and leaves the tables as they were: the previous snapshot stays in force.
    """
    ignored = ignored_entries(landing.registry_dir)
    for entry in ignored:
        context.log.warning(f"ignored under registry/: {entry}")
    with terminal_errors(RegistryError), duckdb.get_connection() as conn:
        # typed batch by batch into a staging table (bounded memory at ~100 M people): all rows on a first load,
        # only the changed ones on a next snapshot, then brought into force in one transaction
        try:
            staged = registry_load.stage(conn, landing.registry_dir, landing.registry_date)
            with warehouse.transaction(conn):
                if not landing.registry_date:  # a pinned snapshot is the operator's choice
                    registry.refuse_shrunken(staged.snapshot, *_loaded_snapshot(conn))
                registry_load.apply(conn, staged)
                duplicates, malformed = conn.execute(_unique_sql(staged.in_place)).fetchall()[0]
        finally:
            registry_load.drop_work_tables(conn)
        year_disagrees, gender_disagrees, year_only = conn.execute(_SNAPSHOT_FACTS).fetchall()[0]
        by_reason = dict(
            conn.execute("SELECT reason, count(*) FROM registry_rejected_rows GROUP BY 1 ORDER BY 1").fetchall()
        )
        described = {
            table: warehouse.read_frame(conn, f"SELECT * FROM {table} LIMIT 0")
            for table in ("registry_snapshot", "registry_rejected_rows")
        }
    disagreement_share = (year_disagrees + gender_disagrees) / max(staged.snapshot.people, 1)
    context.log.info(
        f"registry snapshot {staged.snapshot.snapshot_date}: {staged.snapshot.people} people, "
        f"{staged.snapshot.rejected} rows set aside; {staged.typed} rows typed, {staged.kept} people kept in place"
    )
    yield dg.MaterializeResult(
        asset_key="registry_rejected_rows",
        metadata={
            **table_metadata(
                described["registry_rejected_rows"], "registry_rejected_rows", rows=staged.snapshot.rejected
            ),
            "by_reason": by_reason,
        },
    )
    yield dg.MaterializeResult(
        asset_key=registry_load.CHANGED,
        metadata={
            "loaded_in_place": staged.in_place,
            "people_leaving_their_slot": staged.leaving,  # changed (their slot written again) or gone
            "people_arriving": staged.snapshot.people - staged.kept,  # changed or new
        },
    )
    yield dg.MaterializeResult(
        asset_key="registry_snapshot",
        metadata={
            **table_metadata(described["registry_snapshot"], "registry_snapshot", rows=staged.snapshot.people),
            "snapshot_date": staged.snapshot.snapshot_date.isoformat(),
            "snapshot_files": list(staged.snapshot.files),
            "rows_set_aside": staged.snapshot.rejected,
            "rows_set_aside_by_reason": by_reason,
            "year_only_birth_dates": year_only,
            "loaded_in_place": staged.in_place,
            "rows_typed": staged.typed,
            "people_kept_in_place": staged.kept,
            "people_left_or_changed": staged.leaving,
            "warnings": [f"ignored under registry/: {entry}" for entry in ignored],
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="person_id_unique",
                passed=duplicates == 0 and malformed == 0,
                metadata={"duplicated": duplicates, "malformed": malformed},
            ),
            dg.AssetCheckResult(
                check_name="registry_rows_valid",
                passed=staged.snapshot.rejected == 0,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"rows_set_aside": staged.snapshot.rejected},
            ),
            dg.AssetCheckResult(
                check_name="id_layout_agrees",
                passed=disagreement_share <= ID_LAYOUT_DISAGREEMENT_TOLERANCE,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={
                    "birth_year_disagrees": year_disagrees,
                    "gender_disagrees": gender_disagrees,
                    "share": round(disagreement_share, 5),
                },
            ),
            dg.AssetCheckResult(
                check_name="registry_folders_well_formed",
                passed=not ignored,
                severity=dg.AssetCheckSeverity.WARN,
                description=f"ignored under registry/: {'; '.join(ignored)}" if ignored else None,
                metadata={"ignored_entries": ignored},
            ),
        ],
    )


_SNAPSHOT_FACTS = """
    SELECT count(*) FILTER (WHERE NOT id_birth_year_agrees),
           count(*) FILTER (WHERE NOT id_gender_agrees),
           count(*) FILTER (WHERE birth_month IS NULL)
    FROM registry_snapshot"""
"""CCCD layout disagreements and year-only birth dates (a scan of three narrow columns)."""


def _unique_sql(in_place: bool) -> str:
    """Duplicated and malformed person_ids (none, once validated): over the whole snapshot after a first load; after
    one in place, over the person_ids written (those kept were unique and well formed already)."""
    people = (
        "registry_snapshot"
        if not in_place
        else f"registry_snapshot WHERE person_id IN ({registry_load.arrived_person_ids_sql()})"
    )
    return f"""
        SELECT count(*) - count(DISTINCT person_id), count(*) FILTER (WHERE NOT regexp_full_match(person_id, '\\d{{12}}'))
        FROM {people}"""


def _loaded_snapshot(conn) -> tuple[int, date | None]:
    """(people, date) of the snapshot in force, as loaded in DuckDB; (0, None) before the first load."""
    if not warehouse.table_exists(conn, "registry_snapshot"):
        return 0, None
    return conn.execute("SELECT count(*), max(snapshot_date) FROM registry_snapshot").fetchall()[0]
