"""Table writes: a slice is replaced, not appended twice; a new column from a newer version is added."""

import duckdb
import polars as pl

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
