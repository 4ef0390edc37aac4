"""Table writes: a slice is replaced, not appended twice; a new column from a newer version is added; a failure
(full disk, memory limit, unusable DuckDB path) is reported with its real cause."""

import os
import subprocess
from pathlib import Path

import duckdb
import polars as pl
import pytest

from vax_cleaning import warehouse


def test_replace_where_is_idempotent_and_leaves_other_slices():
    conn = duckdb.connect()
    warehouse.replace_where(
        conn, "t", pl.DataFrame({"province_code": ["01", "79"], "n": [1, 2]}), "province_code", "01"
    )
    warehouse.replace_where(conn, "t", pl.DataFrame({"province_code": ["79"], "n": [7]}), "province_code", "79")
    warehouse.replace_where(conn, "t", pl.DataFrame({"province_code": ["79"], "n": [7]}), "province_code", "79")
    assert conn.execute("SELECT * FROM t ORDER BY ALL").fetchall() == [("01", 1), ("79", 7)]


def test_new_columns_are_added_to_an_existing_table():
    conn = duckdb.connect()
    warehouse.replace_where(conn, "t", pl.DataFrame({"province_code": ["01"], "n": [1]}), "province_code", "01")
    warehouse.replace_where(
        conn, "t", pl.DataFrame({"province_code": ["79"], "n": [2], "level": ["exact"]}), "province_code", "79"
    )
    assert conn.execute("SELECT * FROM t ORDER BY ALL").fetchall() == [("01", 1, None), ("79", 2, "exact")]


# Failures keep their real cause: a full disk, a memory limit, a DuckDB path that cannot be written.


def big_frame(rows: int = 200_000) -> pl.DataFrame:
    return pl.DataFrame(
        {"province_code": ["79"] * rows, "s": [f"row {i} padding {i * 7919 % 100003}" for i in range(rows)]}
    )


class CommitFailsConnection:
    """A connection whose COMMIT fails as on a full disk; DuckDB has then ended the transaction, so ROLLBACK fails."""

    def __init__(self):
        self.statements: list[str] = []

    def execute(self, sql: str, *args):
        self.statements.append(sql)
        if sql == "COMMIT":
            raise duckdb.IOException('IO Error: Could not write file "w.duckdb.wal": No space left on device')
        if sql == "ROLLBACK":
            raise duckdb.TransactionException("TransactionContext Error: cannot rollback - no transaction is active")


def test_a_failed_commit_is_reported_not_the_rollback_after_it():
    conn = CommitFailsConnection()
    with pytest.raises(duckdb.IOException, match="No space left on device"), warehouse.transaction(conn):
        conn.execute("INSERT")
    assert conn.statements == ["BEGIN TRANSACTION", "INSERT", "COMMIT", "ROLLBACK"]


def test_out_of_memory_inside_a_transaction_is_reported_as_such():
    conn = duckdb.connect(config={"memory_limit": "1MB"})
    with pytest.raises(duckdb.OutOfMemoryException, match="Out of Memory Error"), warehouse.transaction(conn):
        warehouse.replace_table(conn, "t", big_frame())


def test_exhaustion_keeps_duckdbs_message_and_adds_the_fix():
    conn = duckdb.connect(config={"memory_limit": "1MB"})
    with pytest.raises(warehouse.WarehouseExhaustedError) as raised, warehouse.exhaustion_named(":memory:", "1MB"):
        warehouse.replace_table(conn, "t", big_frame())
    first_line = str(raised.value).splitlines()[0]
    assert first_line.startswith("Out of Memory Error") and "raise VAX_DUCKDB_MEMORY_LIMIT, now 1MB" in first_line
    with pytest.raises(duckdb.CatalogException), warehouse.exhaustion_named(":memory:"):
        conn.execute("SELECT * FROM no_such_table")  # other errors pass through unchanged


@pytest.fixture
def tiny_disk(tmp_path: Path):
    """A 300 KiB tmpfs (mounting needs root): a disk that fills up."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(mount)]).returncode:
        pytest.skip("a tiny tmpfs needs root")
    yield mount
    subprocess.run(["umount", "--lazy", str(mount)], check=True)


def test_disk_full_reports_no_space_left_on_device(tiny_disk: Path):
    with duckdb.connect(str(tiny_disk / "w.duckdb")) as conn:
        warehouse.replace_where(conn, "t", big_frame(1), "province_code", "79")
        with pytest.raises(duckdb.Error, match="No space left on device"):
            warehouse.replace_where(conn, "t", big_frame(20_000), "province_code", "79")


def test_a_missing_or_unusable_duckdb_directory_is_named(tmp_path: Path):
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    for database, cause in [
        (tmp_path / "missing" / "w.duckdb", "does not exist"),
        (a_file / "w.duckdb", "is not a directory"),
        (tmp_path, "is a directory"),
    ]:
        with pytest.raises(warehouse.WarehouseLocationError, match=cause) as raised:
            warehouse.check_database_location(str(database))
        assert "VAX_DUCKDB_PATH" in str(raised.value)
    warehouse.check_database_location(str(tmp_path / "w.duckdb"))
    warehouse.check_database_location(":memory:")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a 0555 directory")
def test_a_read_only_duckdb_directory_is_named(tmp_path: Path):
    read_only = tmp_path / "read_only"
    read_only.mkdir(mode=0o555)
    with pytest.raises(warehouse.WarehouseLocationError, match="is not writable"):
        warehouse.check_database_location(str(read_only / "w.duckdb"))


def test_a_missing_table_fails_the_step_at_once_naming_what_to_materialize(tmp_path: Path):
    import dagster as dg

    from vax_cleaning.resources import Warehouse

    resource = Warehouse(database=str(tmp_path / "w.duckdb"))
    with pytest.raises(dg.Failure) as failure, resource.get_connection() as conn:
        conn.execute("SELECT count(*) FROM matched_records").fetchall()
    assert failure.value.allow_retries is False  # retrying 15 s later finds it missing again
    assert failure.value.description.startswith("no matched_records table yet: materialize matched_records first")
    with pytest.raises(duckdb.CatalogException), resource.get_connection() as conn:
        conn.execute("SELECT no_such_function(1)").fetchall()  # other catalog errors keep DuckDB's own message
