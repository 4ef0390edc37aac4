"""Linkage stage: registry features once per snapshot, matched records and correction sets per province,
passport readiness nationally."""

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import dagster as dg
import duckdb
import numpy as np
import polars as pl
from dagster_duckdb import DuckDBResource

from vax_cleaning import warehouse
from vax_cleaning.defs.linkage.config import LinkageConfig
from vax_cleaning.defs.metadata import action_counts, column_lineage, counts_by, status_metadata, table_metadata
from vax_cleaning.defs.policies import NATIONAL_REFRESH, terminal_errors, warehouse_asset, warehouse_multi_asset
from vax_cleaning.linkage import incremental, link_doses
from vax_cleaning.linkage import passport_ready as eligibility
from vax_cleaning.linkage.block import RegistryCounts
from vax_cleaning.linkage.calibrate import Calibration, RegistryRows, calibrate, calibration_sample, u_positions
from vax_cleaning.linkage.decisions import linkage_instructions
from vax_cleaning.linkage.duplicates import DOSE_KEY, ROW_KEY
from vax_cleaning.linkage.features_read import FREE_ROWS, NAME_COUNTS, features_sql, require_current, slots_at
from vax_cleaning.linkage.features_store import build_registry_features
from vax_cleaning.linkage.link import (
    DOSE_COLUMNS,
    OPTIONAL_DOSE_COLUMNS,
    LinkageResult,
    OtherLinkedLookup,
    RegistryReach,
)
from vax_cleaning.linkage.reach import (
    BLOCK_KEYS,
    check_block_keys,
    fetch_people,
    reach_rows,
    reachable_people,
    worth_reaching,
)
from vax_cleaning.linkage.settings import LinkageSettings
from vax_cleaning.partitions import partition_key, province_code, province_partitions
from vax_cleaning.report import refresh_progress
from vax_cleaning.vocabulary import (
    APPLIED_ACTIONS,
    LINKED_STATUSES,
    PERSON_STATUSES,
    DecidedBy,
    MatchStatus,
    Rule,
    sql_list,
)

LINKED = sql_list(LINKED_STATUSES)

MATCH_CHECKS = [
    dg.AssetCheckSpec(
        "every_record_matched_once",
        asset="matched_records",
        blocking=True,
        description="Each accepted record of the province has exactly one matched_records row; no record is both matched and rejected.",
    ),
    dg.AssetCheckSpec(
        "status_domain",
        asset="matched_records",
        blocking=True,
        description="match_status is one of the contract's five; person_id is set exactly for verified, corrected and duplicate.",
    ),
    dg.AssetCheckSpec(
        "corrections_reference_people_and_records",
        asset="correction_sets",
        blocking=True,
        description="Every correction names an existing registry person and a real dose record; every corrected record has an applied (auto or confirmed) correction.",
    ),
]

IDENTITY = ["full_name", "date_of_birth", "gender", "id_number"]
MATCHED_LINEAGE = column_lineage(
    {
        "source_file": [("raw_dose_exports", "source_file")],
        "source_row": [("raw_dose_exports", "source_row")],
        "province_code": [("raw_dose_exports", "province_code")],
        "person_id": [("registry_snapshot", "person_id")],
        "match_status": [("raw_dose_exports", c) for c in IDENTITY] + [("registry_snapshot", c) for c in IDENTITY[:3]],
        "match_score": [("raw_dose_exports", c) for c in IDENTITY] + [("registry_snapshot", c) for c in IDENTITY[:3]],
        "decided_by": [("review_decisions", "outcome")],
    }
)
CORRECTION_LINEAGE = column_lineage(
    {
        "source_file": [("matched_records", "source_file")],
        "source_row": [("matched_records", "source_row")],
        "person_id": [("matched_records", "person_id")],
        "current_value": [("raw_dose_exports", c) for c in IDENTITY],
        "corrected_value": [("registry_snapshot", c) for c in ["person_id", "full_name", "date_of_birth", "gender"]],
    }
)
PASSPORT_LINEAGE = column_lineage(
    {
        "person_id": [("matched_records", "person_id")],
        "doses_linked": [("matched_records", "match_status")],
        "eligible": [
            ("matched_records", "match_status"),
            ("raw_dose_exports", "vaccination_date"),
            ("raw_dose_exports", "vaccine_code"),
            ("raw_dose_exports", "dose_number"),
        ],
    }
)

DOSE_SELECT = ", ".join(DOSE_COLUMNS + OPTIONAL_DOSE_COLUMNS)
"""Only what the linkage reads: addresses, phones and lots stay in DuckDB (memory at millions of records)."""

_OTHER_LINKED_SQL = f"""
    WITH same_people AS (  -- few: people with linked doses in another province too
        SELECT source_file, source_row, person_id FROM matched_records
        WHERE province_code <> ? AND match_status IN {LINKED}
          AND person_id IN (SELECT person_id FROM _batch_doses)
    )
    SELECT m.source_file, m.source_row, m.person_id, d.vaccination_date, d.vaccine_code
    FROM same_people m JOIN raw_dose_exports d USING (source_file, source_row)
    SEMI JOIN _batch_doses b
      ON b.person_id = m.person_id AND b.vaccination_date = d.vaccination_date AND b.vaccine_code = d.vaccine_code
"""


@warehouse_multi_asset(
    specs=[
        dg.AssetSpec(
            "registry_features",
            deps=["registry_snapshot"],
            group_name="linkage",
            kinds={"polars"},
            description="The registry in force in the linkage's comparable form (canonical and diacritic-free "
            "names, name tokens, household key, birth-date parts), computed once per snapshot so province runs "
            "need not normalize ~100 M names again. In registry_snapshot's row order.",
        ),
        dg.AssetSpec(
            BLOCK_KEYS,
            deps=["registry_features"],
            group_name="linkage",
            description="Internal: each registry person's blocking keys as hashes and IDs as integers, by which a "
            "province run finds the few people its records can reach in a national registry.",
        ),
        dg.AssetSpec(
            NAME_COUNTS,
            deps=["registry_features"],
            group_name="linkage",
            description="Internal: people per name key of registry_features, from which readers compute name_share "
            "(so a next snapshot does not rewrite every person's row).",
        ),
        dg.AssetSpec(
            FREE_ROWS,
            deps=["registry_features"],
            group_name="linkage",
            description="Internal: slots no person holds (people gone), through which positions in registry order "
            "map to slots (the calibration's u pairs).",
        ),
    ],
)
def registry_features(context: dg.AssetExecutionContext, duckdb: DuckDBResource):
    """Rebuilt whenever registry_snapshot is (job load_registry); province runs only read it."""
    with duckdb.get_connection() as conn:
        with terminal_errors(warehouse.MissingTableError):
            warehouse.require_table(conn, "registry_snapshot", "registry_snapshot (job load_registry)")
        build = build_registry_features(conn)  # bounded memory; only changed people on a next snapshot
        described = {
            table: warehouse.read_frame(conn, f"SELECT * FROM {table} LIMIT 0")
            for table in ("registry_features", BLOCK_KEYS, NAME_COUNTS, FREE_ROWS)
        }
        side_rows = {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0] for table in (NAME_COUNTS, FREE_ROWS)
        }
    context.log.info(
        f"registry_features: {build.people} people, {build.normalized} normalized, {build.kept} unchanged since the "
        "previous snapshot"
    )
    yield dg.MaterializeResult(
        asset_key="registry_features",
        metadata={
            **table_metadata(described["registry_features"], "registry_features", rows=build.people),
            "people_normalized": build.normalized,
            "people_unchanged_kept": build.kept,
        },
    )
    yield dg.MaterializeResult(
        asset_key=BLOCK_KEYS, metadata=table_metadata(described[BLOCK_KEYS], BLOCK_KEYS, rows=build.people)
    )
    for table in (NAME_COUNTS, FREE_ROWS):
        yield dg.MaterializeResult(
            asset_key=table, metadata=table_metadata(described[table], table, rows=side_rows[table])
        )


@warehouse_multi_asset(
    specs=[
        dg.AssetSpec(
            "matched_records",
            deps=["raw_dose_exports", "registry_features", "review_decisions"],
            group_name="linkage",
            kinds={"polars"},
            description="One row per accepted dose record: match_status, the registry person_id it is linked "
            "to, match_score, decided_by (machine, or review where people's decision set it), and the "
            "per-field comparison levels and rule that decided it.",
        ),
        dg.AssetSpec(
            "correction_sets",
            deps=["matched_records"],
            group_name="linkage",
            kinds={"polars"},
            description="One row per proposed field correction (registry value replaces the export's), "
            "applied automatically (action=auto), applied after people linked the record (action=confirmed) "
            "or left to a reviewer (action=review).",
        ),
        dg.AssetSpec(
            "linkage_state",
            deps=["matched_records"],
            group_name="linkage",
            description="Internal: per province, the files its runs linked and what they were linked with (registry "
            "snapshot, settings and review decisions' digest, the snapshot's calibration); the next run links only "
            "files that arrived since, while the rest stays the same.",
        ),
    ],
    partitions_def=province_partitions,
    check_specs=MATCH_CHECKS,
)
def match_province(context: dg.AssetExecutionContext, duckdb: DuckDBResource, config: LinkageConfig):
    """Links one province's records against the national registry; cross-province duplicates settle here.

    Only the records of files that arrived since the last run (and the earlier ones they can change) are linked
    while the snapshot, settings and review decisions stay the same (linkage/incremental.py); else all of them."""
    code = province_code(context.partition_key)
    with terminal_errors(ValueError):  # an operator's setting out of range: the message names it
        settings = config.settings()
    with duckdb.get_connection() as conn:
        with terminal_errors(warehouse.MissingTableError):
            warehouse.require_table(
                conn, "registry_features", "registry_snapshot and registry_features (job load_registry)"
            )
            require_current(conn)
        run = _LinkRun(
            code=code,
            settings=settings,
            snapshot_date=conn.execute("SELECT max(snapshot_date) FROM registry_snapshot").fetchall()[0][0],
            registry_size=conn.execute("SELECT count(*) FROM registry_features").fetchall()[0][0],
            reviews=_review_instructions(conn, code),
        )
        state = incremental.read_state(conn, code)
        digest = incremental.fingerprint(settings, run.reviews, incremental.registry_identity(conn))
        kept = (
            state
            if state is not None and (state.snapshot_date, state.fingerprint) == (run.snapshot_date, digest)
            else None
        )
        delta = incremental.file_delta(conn, code) if kept is not None else None
    if kept is not None and not config.relink and not delta.gone:
        yield from _link_new_records(context, duckdb, run, kept, delta.new)
        return
    yield from _link_whole_province(context, duckdb, run, kept, digest)


@dataclass(frozen=True)
class _LinkRun:
    """What every linkage of one province run shares."""

    code: str
    settings: LinkageSettings
    snapshot_date: object
    registry_size: int
    reviews: pl.DataFrame | None


@dataclass(frozen=True)
class _Registry:
    """The registry as one linkage of a province sees it."""

    people: pl.DataFrame
    """The whole registry (in registry order), or only the people the batch's IDs and reviews name."""
    reach: RegistryReach | None
    """With only the IDs' people: fetches what the records the ID does not settle can reach (reach.py)."""
    fit: Callable[[], Calibration] | None
    """When asked for: the calibration on this batch, from what was fetched (the warehouse may be closed)."""


def _registry_for(
    conn: duckdb.DuckDBPyConnection, doses: pl.DataFrame, run: _LinkRun, connect: Callable, calibrating: bool
) -> _Registry:
    """The whole registry, or, when it is much larger than the batch, only the people the batch's IDs and reviews
    name, with the way to fetch what the records the ID does not settle can reach (reach.py); `calibrating`: also
    what the calibration reads, fetched with them in one pass (the sample's reach and the u pairs)."""
    if not worth_reaching(run.registry_size, doses.height):
        people = warehouse.read_frame(conn, features_sql())  # link_doses counts namesakes and block sizes itself
        fit = (lambda: calibrate(doses, people, run.settings)) if calibrating else None  # EM on this batch
        return _Registry(people, None, fit)
    with terminal_errors(warehouse.MissingTableError):
        check_block_keys(conn)  # by which a province finds its people in a national registry
    named = None if run.reviews is None else run.reviews["person_id"]

    def reach(records: pl.DataFrame) -> tuple[pl.DataFrame, RegistryCounts]:
        with connect() as reach_conn:
            reached = reachable_people(reach_conn, records, run.settings.max_block_size, named)
        return reached.people, reached.counts

    owners = reach_rows(conn, doses, run.settings.max_block_size, named, blocks=False).rows
    if not calibrating:
        return _Registry(fetch_people(conn, owners), reach, None)
    sample = calibration_sample(doses)  # the people the calibration's sample can reach: the same fit
    sampled = reach_rows(conn, sample, run.settings.max_block_size, named, whole_windows=True)
    u_ranks = u_positions(run.registry_size)  # u from the whole registry: positions in registry order, at their slots
    u_rows = pl.Series("registry_row", slots_at(conn, u_ranks), pl.UInt32)
    fetched = fetch_people(conn, pl.concat([owners, sampled.rows, u_rows]).unique())
    owner_people, sample_people, u_people = (
        fetched.filter(pl.col("registry_row").is_in(rows.implode())) for rows in (owners, sampled.rows, u_rows)
    )
    del fetched  # split once: each part lives only as long as its user

    def rows_at(positions: np.ndarray) -> pl.DataFrame:
        if not np.array_equal(positions, u_ranks):  # estimate_u reads u_positions' defaults
            raise ValueError("the calibration asked for other u pairs than calibrate.u_positions fetched")
        if u_people.height != len(positions):  # the snapshot was replaced under the run: its next run links again
            raise RuntimeError(f"registry_features changed during the run ({u_people.height} of {len(positions)} rows)")
        return u_people

    def fit() -> Calibration:
        whole = RegistryRows(run.registry_size, rows_at)
        return calibrate(sample, sample_people, run.settings, whole, sampled.counts)

    return _Registry(owner_people, reach, fit)


def _link_whole_province(
    context: dg.AssetExecutionContext,
    duckdb: DuckDBResource,
    run: _LinkRun,
    kept: incremental.LinkageState | None,
    digest: str,
):
    """Every record of the province; the calibration is fitted anew unless the snapshot's is kept."""
    code = run.code
    with duckdb.get_connection() as conn:
        doses = warehouse.read_frame(
            conn, f"SELECT {DOSE_SELECT} FROM raw_dose_exports WHERE province_code = ?", [code]
        )
        registry = _registry_for(conn, doses, run, duckdb.get_connection, calibrating=kept is None)
        inputs = {"doses": doses, "registry": registry.people}  # people in registry_snapshot's row order
        reach, fit = registry.reach, registry.fit
        del doses, registry
    context.log.info(f"province {code}: {inputs['registry'].height} of {run.registry_size} registry people read")
    # millions of rows each, handed over (popped) so that link_doses can free what it no longer needs;
    # the warehouse stays unlocked while the linkage runs
    if fit is not None:
        calibration = fit()
        del fit  # what only the calibration read
        calibrated, calibration_metadata = calibration.settings, calibration.as_metadata()
    else:  # the snapshot's calibration, fitted at its first run: links do not move as files arrive
        calibrated, calibration_metadata = kept.calibrated, kept.calibration
    result = link_doses(
        inputs.pop("doses"),
        inputs.pop("registry"),
        calibrated,
        baseline=run.settings,  # a link stands only where the hand-set weights link the same person too
        other_linked=_other_linked_lookup(duckdb, code),
        reviews=run.reviews,
        reach=reach,
    )
    matched = result.matched.with_columns(registry_snapshot_date=pl.lit(run.snapshot_date))
    corrections = result.corrections.with_columns(province_code=pl.lit(code))
    state = incremental.LinkageState(run.snapshot_date, digest, calibrated, calibration_metadata)
    with duckdb.get_connection() as conn:
        tables = {"matched_records": matched, "correction_sets": corrections}
        incremental.ensure_state_table(conn)
        # one transaction: this province's slices, the other provinces' copies turned duplicate and their fresh
        # progress points, and the state the next run starts from are all written or none
        with warehouse.replacing_slices(conn, tables, "province_code", code):
            superseded_by_province = _supersede(conn, result.superseded)
            progress_refreshed = refresh_progress(conn, sorted(superseded_by_province))
            incremental.write_state(conn, code, state)
        checks = _check_results(conn, code)
    context.log.info(f"province {code}: {matched.height} records matched; {counts_by(matched, 'match_status')}")
    yield from _report(
        context,
        run,
        (matched, corrections),
        (matched, corrections),
        calibration_metadata,
        (result.superseded.height, superseded_by_province, progress_refreshed),
        checks,
        {"linked_this_run": matched.height, "linked_whole_province": True},
    )


def _link_new_records(
    context: dg.AssetExecutionContext,
    duckdb: DuckDBResource,
    run: _LinkRun,
    kept: incremental.LinkageState,
    new_files: list[str],
):
    """The records of files that arrived since the last run, and the earlier records they can change."""
    code = run.code
    lookup = _other_linked_lookup(duckdb, code)

    def link(members: pl.DataFrame) -> tuple[LinkageResult, pl.DataFrame]:
        with warehouse.registered(conn, "_members", members):
            doses = warehouse.read_frame(
                conn,
                f"SELECT {DOSE_SELECT} FROM raw_dose_exports SEMI JOIN _members USING (source_file, source_row) "
                "WHERE province_code = ?",
                [code],
            )
        registry = _registry_for(conn, doses, run, lambda: contextlib.nullcontext(conn), calibrating=False)
        result = link_doses(
            doses,
            registry.people,
            kept.calibrated,
            other_linked=lookup,
            reviews=run.reviews,
            baseline=run.settings,
            reach=registry.reach,
        )
        linked = result.matched.filter(pl.col("person_id").is_not_null()).select(*ROW_KEY, "person_id")
        return result, linked.join(doses.select(*ROW_KEY, "vaccination_date", "vaccine_code"), on=ROW_KEY).select(
            DOSE_KEY
        )

    with duckdb.get_connection() as conn:
        if new_files:
            members, result = incremental.records_to_relink(conn, code, new_files, link)
        else:  # nothing arrived: nothing changes
            members = pl.DataFrame(schema={"source_file": pl.String, "source_row": pl.Int32})
            result, _ = link(members)
        matched = result.matched.with_columns(registry_snapshot_date=pl.lit(run.snapshot_date))
        corrections = result.corrections.with_columns(province_code=pl.lit(code))
        with warehouse.transaction(conn):
            _replace_rows(conn, {"matched_records": matched, "correction_sets": corrections}, code, members)
            superseded_by_province = _supersede(conn, result.superseded)
            progress_refreshed = refresh_progress(conn, sorted(superseded_by_province))
            incremental.record_linked_files(conn, code)
        checks = _check_results(conn, code)
        province = (
            warehouse.read_frame(
                conn, "SELECT match_status, rule, decided_by FROM matched_records WHERE province_code = ?", [code]
            ),
            warehouse.read_frame(
                conn, "SELECT field, rule, action FROM correction_sets WHERE province_code = ?", [code]
            ),
        )
    context.log.info(
        f"province {code}: {len(new_files)} new files; {members.height} records linked (new, and earlier ones "
        f"sharing a phone + birth date or a dose with them); {counts_by(matched, 'match_status')}"
    )
    yield from _report(
        context,
        run,
        (matched, corrections),
        province,
        kept.calibration,
        (result.superseded.height, superseded_by_province, progress_refreshed),
        checks,
        {"linked_this_run": members.height, "linked_whole_province": False, "new_files": len(new_files)},
    )


def _replace_rows(
    conn: duckdb.DuckDBPyConnection, tables: dict[str, pl.DataFrame], code: str, members: pl.DataFrame
) -> None:
    """The rows of `members` (source_file, source_row) in each table replaced by the frame's (caller's transaction)."""
    with warehouse.registered(conn, "_relinked", members):
        for table, frame in tables.items():
            conn.execute(
                f"DELETE FROM {table} WHERE province_code = ? AND (source_file, source_row) IN "
                "(SELECT (source_file, source_row) FROM _relinked)",
                [code],
            )
            with warehouse.registered(conn, "_incoming", frame):
                conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _incoming")


def _report(
    context: dg.AssetExecutionContext,
    run: _LinkRun,
    written: tuple[pl.DataFrame, pl.DataFrame],
    province: tuple[pl.DataFrame, pl.DataFrame],
    calibration: dict,
    superseded: tuple[int, dict[str, int], list[str]],
    checks: list[dg.AssetCheckResult],
    scope: dict[str, object],
):
    """Both assets' materializations: this run's rows' schema, the whole province's counts (`province`: matched and
    correction rows), the other provinces' events, the checks."""
    code = run.code
    superseded_rows, superseded_by_province, progress_refreshed = superseded
    for other, records in superseded_by_province.items():  # another province's tables changed: say so on its partition
        assets = ("matched_records", "correction_sets", *(["province_progress"] if other in progress_refreshed else []))
        for asset in assets:
            context.log_event(
                dg.AssetMaterialization(
                    asset_key=asset,
                    partition=partition_key(other),
                    description=f"{records} records became duplicates of records of province {code} (kept copy)",
                    metadata={"superseded_by_province": code, "records_now_duplicate": records},
                )
            )
    matched, corrections = written
    province_matched, province_corrections = province
    yield dg.MaterializeResult(
        asset_key="matched_records",
        metadata={
            **table_metadata(matched, "matched_records", rows=province_matched.height),
            "dagster/column_lineage": MATCHED_LINEAGE,
            **status_metadata(province_matched),
            "decided_by_review": province_matched.filter(pl.col("decided_by") == DecidedBy.REVIEW).height,
            **scope,
            "linkage_settings": dg.MetadataValue.json(run.settings.as_metadata()),
            "linkage_calibration": dg.MetadataValue.json(calibration),
            "registry_snapshot_date": str(run.snapshot_date),
            "other_province_records_superseded": superseded_rows,
        },
    )
    yield dg.MaterializeResult(
        asset_key="correction_sets",
        metadata={
            **table_metadata(corrections, "correction_sets", rows=province_corrections.height),
            "dagster/column_lineage": CORRECTION_LINEAGE,
            "by_field": counts_by(province_corrections, "field"),
            "by_rule": counts_by(province_corrections, "rule"),
            "by_action": action_counts(province_corrections),
        },
    )
    yield dg.MaterializeResult(
        asset_key="linkage_state", metadata={**scope, "registry_snapshot_date": str(run.snapshot_date)}
    )
    yield from checks


def _review_instructions(conn: duckdb.DuckDBPyConnection, code: str) -> pl.DataFrame | None:
    """People's decisions the linkage must honour (review_decisions of this province; none before its first run)."""
    if not warehouse.table_exists(conn, "review_decisions"):
        return None
    return linkage_instructions(
        warehouse.read_frame(conn, "SELECT * FROM review_decisions WHERE province_code = ?", [code])
    )


def _other_linked_lookup(duckdb: DuckDBResource, code: str) -> OtherLinkedLookup:
    """Other provinces' linked copies of a batch's doses, fetched by DuckDB (not all their records into memory)."""

    def lookup(batch_doses: pl.DataFrame) -> pl.DataFrame | None:
        with duckdb.get_connection() as conn:
            if not warehouse.table_exists(conn, "matched_records"):
                return None
            conn.register("_batch_doses", batch_doses)
            return warehouse.read_frame(conn, _OTHER_LINKED_SQL, [code])

    return lookup


SUPERSEDE_STATEMENTS: tuple[tuple[str, list], ...] = (
    (
        """UPDATE matched_records m SET match_status = ?, rule = ?, decided_by = ?,
               duplicate_of_file = s.duplicate_of_file, duplicate_of_row = s.duplicate_of_row
           FROM _superseded s WHERE m.source_file = s.source_file AND m.source_row = s.source_row""",
        [MatchStatus.DUPLICATE, Rule.DUPLICATE, DecidedBy.MACHINE],
    ),
    (
        """UPDATE matched_records m SET duplicate_of_file = s.duplicate_of_file, duplicate_of_row = s.duplicate_of_row
           FROM _superseded s WHERE m.duplicate_of_file = s.source_file AND m.duplicate_of_row = s.source_row""",
        [],
    ),
    (
        """DELETE FROM correction_sets c USING _superseded s
           WHERE c.source_file = s.source_file AND c.source_row = s.source_row""",
        [],
    ),
)
"""Other provinces' copies become duplicates, their duplicates point at the kept copy, their corrections go."""


def _supersede(conn: duckdb.DuckDBPyConnection, superseded: pl.DataFrame) -> dict[str, int]:
    """Other provinces' copies of a dose whose keeper is in this province become duplicates (and so do their pointers).

    Runs inside the caller's transaction, so these statements commit with this province's slices or not at all.
    Returns {province code: records changed} for their fresh progress points and their partitions' events.
    """
    if superseded.is_empty():
        return {}
    with warehouse.registered(conn, "_superseded", superseded):
        for statement, parameters in SUPERSEDE_STATEMENTS:
            conn.execute(statement, parameters)
    counted = superseded.group_by(pl.col("source_file").str.slice(0, 2).alias("province")).len()
    return {province: int(n) for province, n in counted.sort("province").iter_rows()}


def _check_results(conn: duckdb.DuckDBPyConnection, code: str) -> list[dg.AssetCheckResult]:
    """The linkage invariants, verified on what was actually written."""
    counts = conn.execute(
        f"""SELECT
             (SELECT count(*) FROM raw_dose_exports WHERE province_code = $1),
             (SELECT count(*) FROM matched_records WHERE province_code = $1),
             (SELECT count(DISTINCT (source_file, source_row)) FROM matched_records WHERE province_code = $1),
             (SELECT count(*) FROM matched_records m JOIN rejected_rows r USING (source_file, source_row) WHERE m.province_code = $1),
             (SELECT count(*) FROM matched_records WHERE province_code = $1 AND match_status NOT IN {sql_list(MatchStatus)}),
             (SELECT count(*) FROM matched_records WHERE province_code = $1
                AND (person_id IS NOT NULL) <> (match_status IN {sql_list(PERSON_STATUSES)})),
             (SELECT count(*) FROM correction_sets c WHERE province_code = $1
                AND NOT EXISTS (SELECT 1 FROM registry_snapshot p WHERE p.person_id = c.person_id)),
             (SELECT count(*) FROM correction_sets c WHERE province_code = $1
                AND NOT EXISTS (SELECT 1 FROM raw_dose_exports d WHERE d.source_file = c.source_file AND d.source_row = c.source_row)),
             (SELECT count(*) FROM matched_records m WHERE province_code = $1 AND match_status = '{MatchStatus.CORRECTED}'
                AND NOT EXISTS (SELECT 1 FROM correction_sets c WHERE c.source_file = m.source_file
                                AND c.source_row = m.source_row AND c.action IN {sql_list(APPLIED_ACTIONS)}))""",
        [code],
    ).fetchall()[0]
    (
        accepted,
        matched,
        distinct,
        also_rejected,
        bad_status,
        person_mismatch,
        no_person,
        no_record,
        corrected_without_fix,
    ) = counts
    return [
        dg.AssetCheckResult(
            asset_key="matched_records",
            check_name="every_record_matched_once",
            passed=accepted == matched == distinct and also_rejected == 0,
            metadata={"accepted": accepted, "matched": matched, "distinct": distinct, "also_rejected": also_rejected},
        ),
        dg.AssetCheckResult(
            asset_key="matched_records",
            check_name="status_domain",
            passed=bad_status == 0 and person_mismatch == 0,
            metadata={"unknown_status": bad_status, "person_id_inconsistent": person_mismatch},
        ),
        dg.AssetCheckResult(
            asset_key="correction_sets",
            check_name="corrections_reference_people_and_records",
            passed=no_person == 0 and no_record == 0 and corrected_without_fix == 0,
            metadata={
                "unknown_person": no_person,
                "unknown_record": no_record,
                "corrected_without_applied_correction": corrected_without_fix,
            },
        ),
    ]


PASSPORT_CHECKS = [
    dg.AssetCheckSpec(
        "one_row_per_linked_person",
        asset="passport_ready",
        blocking=True,
        description="Exactly the people with at least one verified or corrected dose, once each.",
    ),
]


@warehouse_asset(
    deps=["matched_records"],
    group_name="passport",
    kinds={"polars"},
    check_specs=PASSPORT_CHECKS,
    automation_condition=NATIONAL_REFRESH,
    description="One row per linked person (national): doses_linked and whether the linked doses complete the "
    "primary series of the person's first vaccine, i.e. whether a passport can be signed.",
)
def passport_ready(context: dg.AssetExecutionContext, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """National: a person's doses may be spread over several provinces."""
    with duckdb.get_connection() as conn:
        linked = warehouse.read_frame(
            conn,
            """
            SELECT m.person_id, m.match_status, d.vaccination_date, d.dose_number, d.vaccine_code
            FROM matched_records m JOIN raw_dose_exports d USING (source_file, source_row)
            WHERE m.match_status IN """
            + LINKED,
        )
        ready = eligibility(linked)
        warehouse.replace_table(conn, "passport_ready", ready)
        expected, stored, distinct = conn.execute(
            """
            SELECT (SELECT count(DISTINCT person_id) FROM matched_records WHERE match_status IN """
            + LINKED
            + """),
                   (SELECT count(*) FROM passport_ready), (SELECT count(DISTINCT person_id) FROM passport_ready)"""
        ).fetchall()[0]
        # still the only writer (pool held, connection open): refresh the copy readers use, also in daemon runs
        warehouse.publish_for_readers(conn, duckdb.database, context.log)
    eligible = int(ready["eligible"].sum())
    context.log.info(f"passport_ready: {ready.height} linked people, {eligible} eligible")
    return dg.MaterializeResult(
        metadata={
            **table_metadata(ready, "passport_ready"),
            "dagster/column_lineage": PASSPORT_LINEAGE,
            "eligible": eligible,
            "not_yet_eligible": ready.height - eligible,
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="one_row_per_linked_person",
                passed=expected == stored == distinct,
                metadata={"linked_people": expected, "rows": stored, "distinct": distinct},
            )
        ],
    )
