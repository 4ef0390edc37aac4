"""registry_features in the warehouse: built in bounded memory, and for a next snapshot only where people changed.

A national registry (~100 M people) is normalized FEATURE_BATCH_ROWS people at a time, in registry_snapshot's row
order (its rowid, the file order: `registry_row`). Each person's features depend only on their own snapshot row, so a
person whose row is unchanged since the previous snapshot (same person_id, same `source_hash` of the row) keeps the
features already computed; only the others are normalized again. The share of the registry holding each name key
(`name_share`, term frequency) is counted over everybody at the end, in SQL. The result equals a build from scratch
(features of another version of this code or of polars are never kept: FEATURES_VERSION is part of the hash).
registry_block_keys (reach.py: how a province run finds its people) is rebuilt from it in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from vax_cleaning.linkage.normalize import MIN_PEOPLE_FOR_NAME_SHARE, person_features
from vax_cleaning.linkage.reach import BLOCK_KEYS, block_keys_sql
from vax_cleaning.warehouse import append, read_frame, table_exists, transaction

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
    """Replace registry_features for the registry_snapshot in force (one swap at the end: readers never see half)."""
    people = conn.execute("SELECT count(*) FROM registry_snapshot").fetchall()[0][0]
    for table in (STAGED, TODO):
        conn.execute(f"DROP TABLE IF EXISTS {table}")
    try:
        columns = _features(read_frame(conn, _SNAPSHOT_ROWS + " LIMIT 0")).columns
        kept = _keep_unchanged(conn, columns)
        normalized = 0
        for first in range(0, people, FEATURE_BATCH_ROWS):
            normalized += _normalize_range(conn, first, first + FEATURE_BATCH_ROWS)
        with transaction(conn):
            conn.execute(_final_sql(people, columns))
            conn.execute(f"CREATE OR REPLACE TABLE {BLOCK_KEYS} AS {block_keys_sql()}")
    finally:
        for table in (STAGED, TODO):
            conn.execute(f"DROP TABLE IF EXISTS {table}")
    return FeatureBuild(people, normalized, kept)


_SNAPSHOT_ROWS = f"SELECT s.rowid AS registry_row, {SOURCE_HASH_SQL} AS source_hash, s.* FROM registry_snapshot s"
"""Snapshot rows as normalization reads them."""


def _keep_unchanged(conn: duckdb.DuckDBPyConnection, columns: list[str]) -> int:
    """Stage the previous features of people whose snapshot row is unchanged; list the other rows in TODO."""
    conn.execute(f"CREATE TABLE {TODO} AS SELECT rowid AS registry_row FROM registry_snapshot")
    if not table_exists(conn, "registry_features"):
        return 0
    previous = {row[0] for row in conn.execute("DESCRIBE registry_features").fetchall()}
    if previous != {*columns, "name_share"}:  # written by another version: computed afresh
        return 0
    conn.execute(f"""
        CREATE TABLE {STAGED} AS
        SELECT f.* EXCLUDE (registry_row, name_share), s.rowid::UINTEGER AS registry_row
        FROM registry_snapshot s JOIN registry_features f
          ON f.person_id = s.person_id AND f.source_hash = {SOURCE_HASH_SQL}""")
    conn.execute(f"DELETE FROM {TODO} WHERE registry_row IN (SELECT registry_row FROM {STAGED})")
    return conn.execute(f"SELECT count(*) FROM {STAGED}").fetchall()[0][0]


def _normalize_range(conn: duckdb.DuckDBPyConnection, first: int, end: int) -> int:
    """Normalize the TODO rows among registry_snapshot rows [first, end); returns how many."""
    batch = read_frame(
        conn,
        f"""{_SNAPSHOT_ROWS} WHERE s.rowid >= ? AND s.rowid < ?
              AND s.rowid IN (SELECT registry_row FROM {TODO} WHERE registry_row >= ? AND registry_row < ?)""",
        [first, end, first, end],
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


def _final_sql(people: int, columns: list[str]) -> str:
    """registry_features from the staged rows, with each name key's share of the whole registry, in registry order."""
    share = (  # multiplied by the reciprocal, as polars divides: the same bits as normalize.with_name_share
        f"count(*) OVER (PARTITION BY name_key)::DOUBLE * (1.0::DOUBLE / {people})"
        if people >= MIN_PEOPLE_FOR_NAME_SHARE
        else "NULL::DOUBLE"
    )
    ordered = ", ".join(["registry_row", *(column for column in columns if column != "registry_row")])
    return f"""CREATE OR REPLACE TABLE registry_features AS
        SELECT {ordered}, {share} AS name_share FROM {STAGED} ORDER BY registry_row"""
