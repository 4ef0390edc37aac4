"""registry_features in the warehouse: built in bounded memory, and for a next snapshot only where people changed.

A first load's registry is normalized FEATURE_BATCH_ROWS people at a time, in registry_snapshot's slot order
(`registry_row`), into a staging table swapped in at the end with registry_block_keys (reach.py: how a province run
finds its people), the counts per name key (features_read.NAME_COUNTS: name_share is computed at read time) and the
free slots (features_read.FREE_ROWS). A next snapshot brought in place (ingest/registry_load.py) lists the slots it
touched in registry_changed_rows: only the people now in those slots are normalized, and in one transaction the
slots' old rows leave registry_features and registry_block_keys, the new ones come in, the name counts move by the
difference and the free slots are updated: work and disk proportional to the change, and the same tables as a whole
build of that snapshot (by person). Features of another version of this code or of polars are never kept
(FEATURES_VERSION is part of each row's source_hash, checked on a sample): the table is then rebuilt whole.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from vax_cleaning.ingest.registry_load import CHANGED
from vax_cleaning.linkage.features_read import FREE_ROWS, NAME_COUNTS
from vax_cleaning.linkage.normalize import person_features
from vax_cleaning.linkage.reach import BLOCK_KEYS, block_keys_sql
from vax_cleaning.warehouse import append, read_frame, registered, table_exists, transaction

FEATURE_BATCH_ROWS = 2_000_000
"""People normalized at a time."""

STAGED, TODO = "_registry_features_staged", "_registry_features_todo"

FEATURES_VERSION = f"features-1/polars-{pl.__version__}"
"""Bump when normalize.py changes what a person's features are; polars' hashes (household and address keys) may
change with its version: either way no previous feature is kept."""

SOURCE_HASH_SQL = (
    "hash(s.person_id, s.old_id, s.full_name, s.date_of_birth, s.birth_year, s.birth_month, s.birth_day, s.gender, "
    f"s.province_code, s.address, '{FEATURES_VERSION}')"
)
"""Everything of a snapshot row its features are computed from (`s` is registry_snapshot), and how."""


@dataclass(frozen=True)
class FeatureBuild:
    """What a build did: people in the registry, of whom normalized again and kept from the previous snapshot."""

    people: int
    normalized: int
    kept: int


def build_registry_features(conn: duckdb.DuckDBPyConnection) -> FeatureBuild:
    """Bring registry_features (and its side tables) to the registry_snapshot in force: in place when only the slots
    listed in CHANGED differ, else whole (readers never see half either way: one transaction)."""
    people = conn.execute("SELECT count(*) FROM registry_snapshot").fetchall()[0][0]
    for table in (STAGED, TODO):
        conn.execute(f"DROP TABLE IF EXISTS {table}")
    try:
        columns = _features(read_frame(conn, _SNAPSHOT_ROWS + " LIMIT 0")).columns
        if _in_step(conn, columns):
            normalized = _update_in_place(conn, columns)
            if normalized is not None:
                return FeatureBuild(people, normalized, people - normalized)
        return FeatureBuild(people, _build_whole(conn, columns), 0)
    finally:
        for table in (STAGED, TODO):
            conn.execute(f"DROP TABLE IF EXISTS {table}")


_SNAPSHOT_ROWS = f"SELECT {SOURCE_HASH_SQL} AS source_hash, s.* EXCLUDE (raw_hash) FROM registry_snapshot s"
"""Snapshot rows as normalization reads them."""

CHECKED_ROWS = 1_000
"""Features whose source_hash is recomputed before an in-place update: those of another version are not kept."""


def _in_step(conn: duckdb.DuckDBPyConnection, columns: list[str]) -> bool:
    """Do registry_features and its side tables differ from registry_snapshot only in the slots listed in CHANGED?"""
    if not all(table_exists(conn, t) for t in ("registry_features", CHANGED, BLOCK_KEYS, NAME_COUNTS, FREE_ROWS)):
        return False
    previous = [row[0] for row in conn.execute("DESCRIBE registry_features").fetchall()]
    if previous != _ordered(columns):  # written by another version: computed afresh
        return False
    differing = conn.execute(f"""
        SELECT count(*) FROM (SELECT registry_row, {SOURCE_HASH_SQL} AS source_hash FROM registry_snapshot s
                              WHERE s.registry_row < {CHECKED_ROWS}
                                AND s.registry_row NOT IN (SELECT registry_row FROM {CHANGED})) s
        LEFT JOIN registry_features f USING (registry_row)
        WHERE f.source_hash IS DISTINCT FROM s.source_hash""").fetchall()[0][0]
    return differing == 0


def _ordered(columns: list[str]) -> list[str]:
    """registry_features' columns in order: registry_row first."""
    return ["registry_row", *(column for column in columns if column != "registry_row")]


def _build_whole(conn: duckdb.DuckDBPyConnection, columns: list[str]) -> int:
    """Normalize every person, then swap in registry_features and its side tables; returns how many."""
    slots = conn.execute("SELECT coalesce(max(registry_row) + 1, 0) FROM registry_snapshot").fetchall()[0][0]
    normalized = 0
    for first in range(0, slots, FEATURE_BATCH_ROWS):
        normalized += _normalize_range(conn, first, first + FEATURE_BATCH_ROWS)
    if not normalized:  # the staging table's layout, empty
        _stage_nobody(conn)
    with transaction(conn):
        conn.execute(
            f"CREATE OR REPLACE TABLE registry_features AS SELECT {', '.join(_ordered(columns))} FROM {STAGED} "
            "ORDER BY registry_row"
        )
        conn.execute(f"CREATE OR REPLACE TABLE {BLOCK_KEYS} AS {block_keys_sql()}")
        conn.execute(
            f"CREATE OR REPLACE TABLE {NAME_COUNTS} AS "
            "SELECT name_key, count(*) AS people FROM registry_features GROUP BY name_key"
        )
        free = (
            ""
            if normalized == slots
            else f"SELECT range::UINTEGER FROM range({slots}) EXCEPT SELECT registry_row FROM registry_features"
        )
        conn.execute(f"CREATE OR REPLACE TABLE {FREE_ROWS} (registry_row UINTEGER)")
        if free:
            conn.execute(f"INSERT INTO {FREE_ROWS} {free}")
        conn.execute(f"CREATE OR REPLACE TABLE {CHANGED} (registry_row UINTEGER)")
    return normalized


def _stage_nobody(conn: duckdb.DuckDBPyConnection) -> None:
    """The staging table with its columns and no row (nobody to normalize)."""
    with registered(conn, "_no_features", _features(read_frame(conn, _SNAPSHOT_ROWS + " LIMIT 0"))):
        conn.execute(f"CREATE TABLE {STAGED} AS SELECT * FROM _no_features")


def _update_in_place(conn: duckdb.DuckDBPyConnection, columns: list[str]) -> int | None:
    """Normalize the people of the slots listed in CHANGED and swap their rows in, in one transaction; returns how
    many (None: the tables do not add up to the snapshot, so the caller builds them whole)."""
    conn.execute(f"""
        CREATE TABLE {TODO} AS SELECT DISTINCT registry_row FROM {CHANGED}
        WHERE registry_row IN (SELECT registry_row FROM registry_snapshot)""")
    first, end = conn.execute(
        f"SELECT coalesce(min(registry_row), 0), coalesce(max(registry_row) + 1, 0) FROM {TODO}"
    ).fetchall()[0]
    normalized = 0
    for start in range(first, end, FEATURE_BATCH_ROWS):
        normalized += _normalize_range(conn, start, start + FEATURE_BATCH_ROWS, TODO)
    if not normalized:
        _stage_nobody(conn)
    people, after = conn.execute(f"""
        SELECT (SELECT count(*) FROM registry_snapshot),
               (SELECT count(*) FROM registry_features WHERE registry_row NOT IN (SELECT registry_row FROM {CHANGED}))
               + (SELECT count(*) FROM {STAGED})""").fetchall()[0]
    if people != after:
        return None
    gone = f"SELECT registry_row FROM {CHANGED}"
    with transaction(conn):
        conn.execute(f"""
            CREATE OR REPLACE TEMP TABLE _name_delta AS
            SELECT name_key, sum(delta)::BIGINT AS delta FROM (
                SELECT name_key, -1 AS delta FROM registry_features WHERE registry_row IN ({gone})
                UNION ALL SELECT name_key, 1 FROM {STAGED}) GROUP BY name_key""")
        for table in ("registry_features", BLOCK_KEYS):
            conn.execute(f"DELETE FROM {table} WHERE registry_row IN ({gone})")
        conn.execute(
            f"INSERT INTO registry_features SELECT {', '.join(_ordered(columns))} FROM {STAGED} ORDER BY registry_row"
        )
        conn.execute(f"INSERT INTO {BLOCK_KEYS} {block_keys_sql(STAGED)}")
        conn.execute(f"""
            INSERT INTO {NAME_COUNTS} SELECT name_key, 0 FROM _name_delta d
            WHERE NOT EXISTS (SELECT 1 FROM {NAME_COUNTS} c WHERE c.name_key IS NOT DISTINCT FROM d.name_key)""")
        conn.execute(f"""
            UPDATE {NAME_COUNTS} c SET people = c.people + d.delta FROM _name_delta d
            WHERE c.name_key IS NOT DISTINCT FROM d.name_key""")
        conn.execute(f"DELETE FROM {NAME_COUNTS} WHERE people = 0")
        conn.execute(f"""
            INSERT INTO {FREE_ROWS} SELECT DISTINCT registry_row FROM {CHANGED}
            WHERE registry_row NOT IN (SELECT registry_row FROM {STAGED})
              AND registry_row NOT IN (SELECT registry_row FROM {FREE_ROWS})""")
        conn.execute(f"DELETE FROM {FREE_ROWS} WHERE registry_row IN (SELECT registry_row FROM {STAGED})")
        conn.execute(f"DELETE FROM {CHANGED}")
        conn.execute("DROP TABLE _name_delta")
    return normalized


def _normalize_range(conn: duckdb.DuckDBPyConnection, first: int, end: int, only: str | None = None) -> int:
    """Normalize the registry_snapshot people of slots [first, end) (those listed in `only`); returns how many."""
    listed = (
        ""
        if only is None
        else f" AND s.registry_row IN (SELECT registry_row FROM {only} WHERE registry_row >= ? AND registry_row < ?)"
    )
    batch = read_frame(
        conn,
        f"{_SNAPSHOT_ROWS} WHERE s.registry_row >= ? AND s.registry_row < ?{listed}",
        [first, end] * (1 if only is None else 2),
    )
    if batch.height:
        append(conn, STAGED, _features(batch))
    return batch.height


def _features(batch: pl.DataFrame) -> pl.DataFrame:
    """person_features of snapshot rows, with their registry_row and source_hash (person_features keeps row order)."""
    return (
        person_features(batch)
        .drop("_reg")
        .with_columns(registry_row=batch["registry_row"].cast(pl.UInt32), source_hash=batch["source_hash"])
    )
