"""Writing frames into DuckDB so that reruns replace, never append twice (plain functions, no Dagster)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import polars as pl


def ensure_table(conn: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    """Create the table from the frame's schema the first time; later, add columns a new version introduces."""
    conn.register("_schema_source", frame.head(0))
    try:
        conn.execute(f'CREATE TABLE IF NOT EXISTS "{table}" AS SELECT * FROM _schema_source')
        existing = {row[0] for row in conn.execute(f'DESCRIBE "{table}"').fetchall()}
        for name, column_type, *_ in conn.execute("DESCRIBE SELECT * FROM _schema_source").fetchall():
            if name not in existing:
                conn.execute(f'ALTER TABLE "{table}" ADD COLUMN "{name}" {column_type}')
    finally:
        conn.unregister("_schema_source")


def replace_where(conn: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame, column: str, value: str) -> None:
    """Replace the rows of one slice (e.g. one province) in a single transaction: idempotent reruns."""
    replace_slices(conn, {table: frame}, column, value)


def replace_slices(conn: duckdb.DuckDBPyConnection, frames: dict[str, pl.DataFrame], column: str, value: str) -> None:
    """Replace one slice of several tables in one transaction: a reader sees all of a run's tables or none."""
    for table, frame in frames.items():
        ensure_table(conn, table, frame)
    try:
        with transaction(conn):
            for table, frame in frames.items():
                conn.register("_incoming", frame)
                conn.execute(f'DELETE FROM "{table}" WHERE "{column}" = ?', [value])
                conn.execute(f'INSERT INTO "{table}" BY NAME SELECT * FROM _incoming')
                conn.unregister("_incoming")
    finally:
        conn.unregister("_incoming")


@contextmanager
def transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """All or nothing: a reader never sees half of a replacement."""
    conn.execute("BEGIN TRANSACTION")
    try:
        yield
        conn.execute("COMMIT")
    except Exception:
        conn.execute("ROLLBACK")
        raise


def replace_table(conn: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    """Swap a whole (national) table atomically."""
    conn.register("_incoming", frame)
    try:
        conn.execute(f'CREATE OR REPLACE TABLE "{table}" AS SELECT * FROM _incoming')
    finally:
        conn.unregister("_incoming")


def append(conn: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    """Add rows to a history table (e.g. progress over time)."""
    ensure_table(conn, table, frame)
    conn.register("_incoming", frame)
    try:
        conn.execute(f'INSERT INTO "{table}" BY NAME SELECT * FROM _incoming')
    finally:
        conn.unregister("_incoming")


def table_exists(conn: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Downstream stages may run before any upstream wrote anything."""
    sql = "SELECT count(*) FROM information_schema.tables WHERE table_name = ?"
    return bool(
        conn.execute(sql, [table]).fetchall()[0][0]
    )  # fetch fully: duckdb 2 forbids work while a result is open


class MissingTableError(LookupError):
    """A table another asset writes is not there yet: retrying cannot help, materializing that asset does."""


def require_table(conn: duckdb.DuckDBPyConnection, table: str, written_by: str) -> None:
    """Fail with the fix (what to materialize) instead of DuckDB's catalog error deep in a query."""
    if not table_exists(conn, table):
        raise MissingTableError(f"no {table} table yet: materialize {written_by}, then rerun")


def read_frame(conn: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pl.DataFrame:
    """Query result as a polars frame (duckdb 2 offers .pl() on relations, not on executed cursors)."""
    return conn.sql(sql, params=params).pl()
