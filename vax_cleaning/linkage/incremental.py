"""Incremental province runs: when a day's files arrive, link only their records and the earlier ones they can change.

A record's link depends on the registry snapshot, the settings, the calibration and people's review decisions, and
on the other records in two ways only: sibling records (the same phone and birth date: siblings.py) and copies of
the same dose (the same person, vaccination date and vaccine: duplicates.py). While the first four stay as they were
(`LinkageState`: the calibration is fitted once per snapshot and kept), a run links again the new files' records
and, until nothing is added, every earlier record sharing a phone + birth date or a dose with one of them; every
other row stays as it was. Anything else (a new snapshot, other settings, new review decisions, a file read again
or gone, a new version of the linkage) links the whole province again. Tested: files arriving in batches give the
tables of one full run.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import polars as pl

from vax_cleaning.linkage.features_store import FEATURES_VERSION
from vax_cleaning.linkage.link import LinkageResult
from vax_cleaning.linkage.settings import LinkageSettings
from vax_cleaning.warehouse import read_frame, registered, table_exists

LINKAGE_VERSION = f"linkage-1/{FEATURES_VERSION}"
"""Bump when a change to the linkage may change a record's link: a province's next run then links it whole."""

ROW_KEY = ["source_file", "source_row"]

STATE_COLUMNS = (
    "province_code VARCHAR, source_file VARCHAR, sha256 VARCHAR, registry_snapshot_date DATE, fingerprint VARCHAR, "
    "calibrated_settings VARCHAR, calibration VARCHAR"
)
"""The internal table linkage_state (docs/internal-tables.md): one row per file a province's runs linked, each with
what the last full run linked with (the same on every row of the province)."""


@dataclass(frozen=True)
class LinkageState:
    """What a province's records were linked with: a run with the same links only what is new."""

    snapshot_date: object
    """registry_snapshot_date linked against."""
    fingerprint: str
    """Settings, review decisions and linkage version (`fingerprint`)."""
    calibrated: LinkageSettings
    """The calibrated settings fitted at the snapshot's first full run, kept for its life."""
    calibration: dict
    """That calibration's metadata (fitted weights), shown again by every incremental run."""


def fingerprint(settings: LinkageSettings, reviews: pl.DataFrame | None, registry: str) -> str:
    """A digest of what decides every record's link: the linkage version, the settings, the province's review
    decisions and the registry's content (`registry_identity`: a snapshot reloaded under the same date changes it)."""
    digest = hashlib.sha256(f"{LINKAGE_VERSION}|{registry}".encode())
    digest.update(json.dumps(settings.as_metadata(), sort_keys=True).encode())
    if reviews is not None and reviews.height:
        digest.update(reviews.sort(pl.all(), nulls_last=True).write_csv().encode())
    return digest.hexdigest()


def registry_identity(conn: duckdb.DuckDBPyConnection) -> str:
    """The registry's people and content, as registry_features stores them (each person's row hash)."""
    people, content = conn.execute("SELECT count(*), bit_xor(source_hash) FROM registry_features").fetchall()[0]
    return f"{people}:{content}"


def ensure_state_table(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(f"CREATE TABLE IF NOT EXISTS linkage_state ({STATE_COLUMNS})")


def read_state(conn: duckdb.DuckDBPyConnection, code: str) -> LinkageState | None:
    """The province's last full link run, or None (never linked, or linked by a version that kept no state)."""
    if not table_exists(conn, "linkage_state"):
        return None
    rows = conn.execute(
        "SELECT registry_snapshot_date, fingerprint, calibrated_settings, calibration FROM linkage_state "
        "WHERE province_code = ? LIMIT 1",
        [code],
    ).fetchall()
    if not rows:
        return None
    snapshot_date, digest, calibrated, calibration = rows[0]
    try:
        settings = LinkageSettings.from_metadata(json.loads(calibrated))
        return LinkageState(snapshot_date, digest, settings, json.loads(calibration))
    except (KeyError, TypeError, ValueError):  # written by another version: link the whole province
        return None


def write_state(conn: duckdb.DuckDBPyConnection, code: str, state: LinkageState) -> None:
    """A full run's state, on a row per ingested file (inside the caller's transaction)."""
    conn.execute("DELETE FROM linkage_state WHERE province_code = ?", [code])
    values = [state.snapshot_date, state.fingerprint, json.dumps(state.calibrated.as_metadata())]
    conn.execute(
        f"""INSERT INTO linkage_state
            SELECT $1, source_file, sha256, $2, $3, $4, $5 FROM ({_INGESTED_SQL})
            UNION ALL SELECT $1, NULL, NULL, $2, $3, $4, $5  -- the state even of a province without files""",
        [code, *values, json.dumps(state.calibration, default=str)],
    )


def record_linked_files(conn: duckdb.DuckDBPyConnection, code: str) -> None:
    """The files an incremental run linked join the province's state (inside the caller's transaction)."""
    conn.execute(
        f"""INSERT INTO linkage_state
            SELECT i.province_code, i.source_file, i.sha256, s.registry_snapshot_date, s.fingerprint,
                   s.calibrated_settings, s.calibration
            FROM ({_INGESTED_SQL}) i,
                 (SELECT * FROM linkage_state WHERE province_code = $1 AND source_file IS NULL) s
            WHERE (i.source_file, i.sha256) NOT IN
                  (SELECT (source_file, sha256) FROM linkage_state WHERE province_code = $1 AND source_file IS NOT NULL)""",
        [code],
    )


_INGESTED_SQL = """SELECT DISTINCT province_code, source_file, coalesce(sha256, '') AS sha256 FROM export_files
    WHERE province_code = $1 AND status = 'ingested'"""


@dataclass(frozen=True)
class FileDelta:
    """The province's ingested files against those its last run linked."""

    new: list[str]
    """source_file of files ingested since (their records are to be linked)."""
    gone: list[str]
    """source_file of linked files no longer ingested as they were (read again, or removed)."""


def file_delta(conn: duckdb.DuckDBPyConnection, code: str) -> FileDelta:
    rows = conn.execute(
        f"""WITH ingested AS ({_INGESTED_SQL}),
                 linked AS (SELECT source_file, sha256 FROM linkage_state
                            WHERE province_code = $1 AND source_file IS NOT NULL)
            SELECT 'new', source_file FROM (SELECT source_file, sha256 FROM ingested EXCEPT SELECT * FROM linked)
            UNION ALL
            SELECT 'gone', source_file FROM (SELECT * FROM linked EXCEPT SELECT source_file, sha256 FROM ingested)""",
        [code],
    ).fetchall()
    return FileDelta(sorted(f for kind, f in rows if kind == "new"), sorted(f for kind, f in rows if kind == "gone"))


_KEYS_SQL = """
    CREATE OR REPLACE TEMP TABLE _relink_keys AS
    SELECT r.source_file, r.source_row, m.person_id, r.vaccination_date, r.vaccine_code, m.source_row IS NOT NULL AS linked,
           coalesce(m.duplicate_of_file NOT LIKE $1 || '/%', false) AS elsewhere_kept,
           CASE WHEN r.date_of_birth IS NOT NULL AND r.digits <> '' THEN r.digits || '|' || r.date_of_birth END AS phone_dob
    FROM (SELECT source_file, source_row, vaccination_date, vaccine_code, date_of_birth,
                 regexp_replace(phone, '[^\\p{Nd}]', '', 'g') AS digits
          FROM raw_dose_exports WHERE province_code = $1) r
    LEFT JOIN (SELECT source_file, source_row, person_id, duplicate_of_file FROM matched_records
               WHERE province_code = $1) m
      USING (source_file, source_row)"""
"""Each record of the province with its phone + birth date (a superset of siblings.py's key: every character but a
digit of any script dropped, as polars' \\D does, no minimum length, so records siblings.py groups always share it)
and, once linked, its dose and whether it is a duplicate of another province's record."""

_ADDED_SQL = """
    WITH phones AS (SELECT DISTINCT phone_dob FROM _relink_keys SEMI JOIN _relink_members USING (source_file, source_row)
                    WHERE phone_dob IS NOT NULL),
         doses AS (SELECT DISTINCT person_id, vaccination_date, vaccine_code FROM (
                       SELECT person_id, vaccination_date, vaccine_code
                       FROM _relink_keys SEMI JOIN _relink_members USING (source_file, source_row)
                       UNION ALL SELECT person_id, vaccination_date, vaccine_code FROM _relink_doses)
                   WHERE person_id IS NOT NULL),
         sharing AS (SELECT source_file, source_row FROM _relink_keys SEMI JOIN phones USING (phone_dob)
                     UNION SELECT source_file, source_row FROM _relink_keys
                     SEMI JOIN doses USING (person_id, vaccination_date, vaccine_code))
    SELECT source_file, source_row FROM sharing ANTI JOIN _relink_members USING (source_file, source_row)"""
"""Records sharing a phone + birth date, or a dose (of their last link or of this run's), with a member, that are
not members yet."""


def records_to_relink(
    conn: duckdb.DuckDBPyConnection,
    code: str,
    new_files: list[str],
    link: Callable[[pl.DataFrame], tuple[LinkageResult, pl.DataFrame]],
) -> tuple[pl.DataFrame, LinkageResult]:
    """Link the new files' records and every earlier record they can change; returns (members, link's result).

    `link(members)` links the records (source_file, source_row) and returns (result, their dose keys: person_id,
    vaccination_date, vaccine_code of the ones linked or duplicate)."""
    conn.execute(_KEYS_SQL, [code])
    members = read_frame(  # and the duplicates of other provinces' records: their keeper may have changed since
        conn,
        "SELECT source_file, source_row FROM _relink_keys "
        "WHERE (NOT linked AND source_file IN (SELECT unnest(?))) OR elsewhere_kept",
        [new_files],
    )
    doses = pl.DataFrame(schema={"person_id": pl.String, "vaccination_date": pl.Date, "vaccine_code": pl.String})
    try:
        while True:
            members = _closed(conn, members, doses)
            result, linked_doses = link(members)
            more = _sharing_doses(conn, members, linked_doses)  # phones and earlier doses are closed already
            if more.is_empty():
                return members, result
            members, doses = pl.concat([members, more]), linked_doses
    finally:
        conn.execute("DROP TABLE IF EXISTS _relink_keys")


def _closed(conn: duckdb.DuckDBPyConnection, members: pl.DataFrame, doses: pl.DataFrame) -> pl.DataFrame:
    """`members` with every earlier record sharing a phone + birth date or a dose with them, repeatedly."""
    while True:
        more = _added(conn, members, doses)
        if more.is_empty():
            return members
        members = pl.concat([members, more])


def _sharing_doses(conn: duckdb.DuckDBPyConnection, members: pl.DataFrame, doses: pl.DataFrame) -> pl.DataFrame:
    """Records, not members yet, holding one of `doses` (person_id, vaccination_date, vaccine_code) by their last link."""
    with registered(conn, "_relink_members", members), registered(conn, "_relink_doses", doses):
        return read_frame(
            conn,
            """SELECT source_file, source_row FROM _relink_keys
               SEMI JOIN _relink_doses USING (person_id, vaccination_date, vaccine_code)
               ANTI JOIN _relink_members USING (source_file, source_row)""",
        ).cast(members.schema)


def _added(conn: duckdb.DuckDBPyConnection, members: pl.DataFrame, doses: pl.DataFrame) -> pl.DataFrame:
    with registered(conn, "_relink_members", members), registered(conn, "_relink_doses", doses):
        return read_frame(conn, _ADDED_SQL).cast(members.schema)
