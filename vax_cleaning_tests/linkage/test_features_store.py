"""registry_features for a next snapshot: only changed people are normalized again, and the table equals a fresh build."""

from pathlib import Path

import duckdb

from vax_cleaning.ingest.registry import load_registry
from vax_cleaning.linkage.features_store import build_registry_features

COLUMNS = "person_id,old_id,full_name,date_of_birth,gender,province_code,address"
MAY = [
    '079080001234,,Nguyễn Văn Hùng,1980-05-12,Nam,79,"Xã Tân Phú, Huyện Củ Chi"',
    "001195000001,012345678,Trần Thị Mai,1995,Nữ,01,Ba Đình",
    "048190000002,,Lê Thị Hoa,1990-03-04,Nữ,48,Hải Châu",
]
JUNE = [
    "048190000002,,Lê Thị Hoà,1990-03-04,Nữ,48,Hải Châu",  # her name corrected, and now first in the file
    '079080001234,,Nguyễn Văn Hùng,1980-05-12,Nam,79,"Xã Tân Phú, Huyện Củ Chi"',
    "001195000001,012345678,Trần Thị Mai,1995,Nữ,01,Ba Đình",
    "079085000003,,Phạm Văn Nam,1985-07-08,Nam,79,Quận 1",  # born into the registry
]


def warehouse_with(conn: duckdb.DuckDBPyConnection, landing: Path, day: str, rows: list[str]) -> None:
    """registry_snapshot as registry_snapshot materializes it, for one landed snapshot."""
    folder = landing / "registry" / day
    folder.mkdir(parents=True)
    (folder / "registry.csv").write_text("\n".join([COLUMNS, *rows]) + "\n", encoding="utf-8")
    people = load_registry(landing / "registry", day).people
    conn.register("_people", people)
    conn.execute("CREATE OR REPLACE TABLE registry_snapshot AS SELECT * FROM _people")


def features(conn: duckdb.DuckDBPyConnection) -> list[tuple]:
    return conn.execute("SELECT * FROM registry_features ORDER BY registry_row").fetchall()


def test_a_next_snapshot_normalizes_only_the_people_whose_row_changed(tmp_path: Path):
    kept_over = duckdb.connect()
    warehouse_with(kept_over, tmp_path / "a", "2022-05-01", MAY)
    first = build_registry_features(kept_over)
    warehouse_with(kept_over, tmp_path / "a", "2022-06-15", JUNE)
    second = build_registry_features(kept_over)

    fresh = duckdb.connect()
    warehouse_with(fresh, tmp_path / "b", "2022-06-15", JUNE)
    build_registry_features(fresh)

    assert (first.normalized, first.kept) == (3, 0)
    assert (second.people, second.normalized, second.kept) == (4, 2, 2)
    assert features(kept_over) == features(fresh)
    assert [row[0] for row in features(fresh)] == [0, 1, 2, 3]


def test_features_written_by_another_version_are_not_kept(tmp_path: Path):
    conn = duckdb.connect()
    warehouse_with(conn, tmp_path, "2022-05-01", MAY)
    build_registry_features(conn)
    conn.execute("ALTER TABLE registry_features DROP COLUMN name_token_count")  # an older layout
    again = build_registry_features(conn)
    assert (again.normalized, again.kept) == (3, 0)
    assert "name_token_count" in {row[0] for row in conn.execute("DESCRIBE registry_features").fetchall()}
