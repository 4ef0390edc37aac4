"""Writing frames into DuckDB so that reruns replace, never append twice (plain functions, no Dagster)."""

from __future__ import annotations

import errno
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl


class WarehouseLocationError(OSError):
    """The DuckDB file cannot be created or written where it is configured: retrying cannot help, fixing the path does."""


class WarehouseExhaustedError(RuntimeError):
    """DuckDB ran out of disk space or of its memory limit: retrying the same work hits the same wall."""


def check_database_location(database: str) -> None:
    """Fail at once, naming the cause and the fix, when the DuckDB file's directory is missing or not writable.

    DuckDB writes the file and its write-ahead log (`<file>.wal`) beside it, so the directory itself must take
    new files; a probe file proves it (permission bits say nothing for root, nor for read-only mounts).
    """
    if database == ":memory:" or database.startswith(("md:", "motherduck:")):
        return
    path = Path(database)
    directory = path.parent
    hint = f"point VAX_DUCKDB_PATH (resource config duckdb.database; now {database}) at a writable directory"
    if not directory.exists():
        raise WarehouseLocationError(f"DuckDB directory {directory} does not exist: create it or {hint}")
    if not directory.is_dir():
        raise WarehouseLocationError(f"DuckDB directory {directory} is not a directory: {hint}")
    if path.is_dir():
        raise WarehouseLocationError(f"DuckDB file {path} is a directory: {hint}")
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise WarehouseLocationError(f"DuckDB file {path} is not writable: {hint}")
    try:
        with tempfile.TemporaryFile(dir=directory, prefix=".vax-write-probe-"):
            pass
    except OSError as error:
        raise WarehouseLocationError(
            f"DuckDB directory {directory} is not writable ({error.strerror}): {hint}"
        ) from error


NO_SPACE = os.strerror(errno.ENOSPC)
""""No space left on device": DuckDB's IO and commit errors carry the system's message."""


@contextmanager
def exhaustion_named(database: str, memory_limit: str | None = None) -> Iterator[None]:
    """Turn DuckDB's out-of-memory and disk-full errors into WarehouseExhaustedError, its message kept, the fix added."""
    try:
        yield
    except duckdb.OutOfMemoryException as error:
        now = f", now {memory_limit}" if memory_limit else ""
        raise WarehouseExhaustedError(_with_fix(error, f"raise VAX_DUCKDB_MEMORY_LIMIT{now}")) from error
    except duckdb.Error as error:
        if NO_SPACE not in str(error):
            raise
        fix = f"free disk space on {Path(database).parent}, then rerun"
        raise WarehouseExhaustedError(_with_fix(error, fix)) from error


def _with_fix(error: Exception, fix: str) -> str:
    """DuckDB's message with the fix at the end of its first line (the line summaries show)."""
    first, _, rest = str(error).partition("\n")
    return f"{first} (fix: {fix})" + (f"\n{rest}" if rest else "")


@contextmanager
def registered(conn: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> Iterator[None]:
    """The frame as a view for the statements inside; a failure inside is never masked by the unregistering.

    After a failed statement DuckDB refuses everything but ROLLBACK in that transaction ("Current transaction
    is aborted"), unregistering included: the statement's own error (out of memory, disk full) is the one to see.
    """
    conn.register(name, frame)
    try:
        yield
    except BaseException:
        try:
            conn.unregister(name)
        except duckdb.Error:
            pass  # the transaction is aborted; the connection is closed after the failure anyway
        raise
    conn.unregister(name)


def ensure_table(conn: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    """Create the table from the frame's schema the first time; later, add columns a new version introduces."""
    with registered(conn, "_schema_source", frame.head(0)):
        conn.execute(f'CREATE TABLE IF NOT EXISTS "{table}" AS SELECT * FROM _schema_source')
        existing = {row[0] for row in conn.execute(f'DESCRIBE "{table}"').fetchall()}
        for name, column_type, *_ in conn.execute("DESCRIBE SELECT * FROM _schema_source").fetchall():
            if name not in existing:
                conn.execute(f'ALTER TABLE "{table}" ADD COLUMN "{name}" {column_type}')


def replace_where(conn: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame, column: str, value: str) -> None:
    """Replace the rows of one slice (e.g. one province) in a single transaction: idempotent reruns."""
    replace_slices(conn, {table: frame}, column, value)


def replace_slices(conn: duckdb.DuckDBPyConnection, frames: dict[str, pl.DataFrame], column: str, value: str) -> None:
    """Replace one slice of several tables in one transaction: a reader sees all of a run's tables or none."""
    with replacing_slices(conn, frames, column, value):
        pass


@contextmanager
def replacing_slices(
    conn: duckdb.DuckDBPyConnection, frames: dict[str, pl.DataFrame], column: str, value: str
) -> Iterator[None]:
    """`replace_slices`, with the caller's further statements (the body) in the same transaction."""
    for table, frame in frames.items():
        ensure_table(conn, table, frame)
    with transaction(conn):
        for table, frame in frames.items():
            with registered(conn, "_incoming", frame):
                conn.execute(f'DELETE FROM "{table}" WHERE "{column}" = ?', [value])
                conn.execute(f'INSERT INTO "{table}" BY NAME SELECT * FROM _incoming')
        yield


@contextmanager
def transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """All or nothing: a reader never sees half of a replacement.

    On failure the original error is what propagates: a COMMIT that fails (disk full) has already ended the
    transaction, so the ROLLBACK after it fails too ("no transaction is active") and must not replace it.
    """
    conn.execute("BEGIN TRANSACTION")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        try:
            conn.execute("ROLLBACK")
        except duckdb.Error:
            pass  # nothing left to roll back, or the connection is unusable: the original error says why
        raise


def replace_table(conn: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    """Swap a whole (national) table atomically."""
    with registered(conn, "_incoming", frame):
        conn.execute(f'CREATE OR REPLACE TABLE "{table}" AS SELECT * FROM _incoming')


def append(conn: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    """Add rows to a history table (e.g. progress over time)."""
    ensure_table(conn, table, frame)
    with registered(conn, "_incoming", frame):
        conn.execute(f'INSERT INTO "{table}" BY NAME SELECT * FROM _incoming')


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


MISSING_TABLE = re.compile(r"Table with name (\S+) does not exist")
"""DuckDB's catalog error for a table nobody created yet (the table's name only: no personal data)."""


@contextmanager
def missing_tables_named() -> Iterator[None]:
    """Turn DuckDB's "Table with name X does not exist" into MissingTableError: an upstream step must run first."""
    try:
        yield
    except duckdb.CatalogException as error:
        match = MISSING_TABLE.search(str(error))
        if not match:
            raise
        table = match.group(1)
        raise MissingTableError(
            f"no {table} table yet: materialize {table} first (`vax-cleaning run` does all steps), then rerun"
        ) from error


def publish_read_copy(conn: duckdb.DuckDBPyConnection, database: str, target: str) -> Path:
    """Checkpoint, copy the file and swap the copy in at once: readers open it read-only and never wait on a writer.

    `conn` must be a read-write connection to `database`: while it is open no other process can write the file, and
    after CHECKPOINT the file holds every committed change (the write-ahead log is empty), so a byte copy is a
    consistent database. The copy is written to `<target>.tmp` and renamed over `target` (atomic on one file
    system): a reader opens the previous copy or the new one, never half of one.
    """
    conn.execute("CHECKPOINT")
    destination = Path(target)
    partial = destination.with_name(destination.name + ".tmp")
    partial.unlink(missing_ok=True)  # a copy a kill interrupted
    try:
        # created 0600 before a byte is copied (it holds personal data), then given the database's own mode
        with (
            open(database, "rb") as source,
            os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as sink,
        ):
            shutil.copyfileobj(source, sink, length=16 * 1024 * 1024)
        shutil.copymode(database, partial)
        os.replace(partial, destination)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return destination


def publish_for_readers(
    conn: duckdb.DuckDBPyConnection, database: str, log: logging.Logger | logging.LoggerAdapter
) -> Path | None:
    """`publish_read_copy` to `settings.read_copy_path` from a step that writes the warehouse (daemon and UI runs
    too); a copy that cannot be written is a warning, never the step's failure: readers keep the previous copy."""
    from vax_cleaning.settings import read_copy_path

    if database == ":memory:" or database.startswith(("md:", "motherduck:")):
        return None
    target = read_copy_path(database)
    try:
        return publish_read_copy(conn, database, target)
    except (OSError, duckdb.Error) as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        log.warning(f"read-only copy {target} not published ({first}): readers keep the previous copy")
        return None


def read_frame(conn: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pl.DataFrame:
    """Query result as a polars frame (duckdb 2 offers .pl() on relations, not on executed cursors)."""
    return conn.sql(sql, params=params).pl()
