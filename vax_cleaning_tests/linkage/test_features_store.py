"""A next snapshot brought in place: only changed people are typed and normalized again, and every table equals a fresh
load of that snapshot (compared by person_id: slots differ, gaps are left where people went)."""

from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from vax_cleaning.ingest import registry_load
from vax_cleaning.linkage.features_read import features_sql, slots_at
from vax_cleaning.linkage.features_store import build_registry_features
from vax_cleaning.linkage.reach import BLOCK_KEYS
from vax_cleaning.warehouse import read_frame, transaction

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


def land(landing: Path, day: str, rows: list[str]) -> None:
    folder = landing / "registry" / day
    folder.mkdir(parents=True)
    (folder / "registry.csv").write_text("\n".join([COLUMNS, *rows]) + "\n", encoding="utf-8")


def load(conn: duckdb.DuckDBPyConnection, landing: Path) -> registry_load.StagedLoad:
    """The newest snapshot into force as the registry_snapshot asset brings it, then registry_features."""
    try:
        staged = registry_load.stage(conn, landing / "registry")
        with transaction(conn):
            registry_load.apply(conn, staged)
    finally:
        registry_load.drop_work_tables(conn)
    return staged


def by_person(conn: duckdb.DuckDBPyConnection) -> dict[str, pl.DataFrame]:
    """Every table a province run reads, by person_id, without the slots (which differ between loads)."""
    people = read_frame(conn, "SELECT registry_row, person_id FROM registry_snapshot")
    return {
        "registry_snapshot": read_frame(
            conn, "SELECT * EXCLUDE (registry_row) FROM registry_snapshot ORDER BY person_id"
        ),
        "registry_rejected_rows": read_frame(conn, "SELECT * FROM registry_rejected_rows"),  # file order
        "registry_features": read_frame(conn, features_sql()).drop("registry_row").sort("person_id"),
        BLOCK_KEYS: read_frame(conn, f"SELECT * FROM {BLOCK_KEYS}")
        .join(people, on="registry_row")
        .drop("registry_row")
        .sort("person_id"),
    }


def assert_same_tables(in_place: duckdb.DuckDBPyConnection, fresh: duckdb.DuckDBPyConnection) -> None:
    kept, loaded = by_person(in_place), by_person(fresh)
    for table, frame in loaded.items():
        assert kept[table].equals(frame), table


def test_a_next_snapshot_normalizes_only_the_people_whose_row_changed(tmp_path: Path):
    kept_over = duckdb.connect()
    land(tmp_path / "a", "2022-05-01", MAY)
    first_load = load(kept_over, tmp_path / "a")
    first = build_registry_features(kept_over)
    land(tmp_path / "a", "2022-06-15", JUNE)
    second_load = load(kept_over, tmp_path / "a")
    second = build_registry_features(kept_over)

    fresh = duckdb.connect()
    land(tmp_path / "b", "2022-06-15", JUNE)
    load(fresh, tmp_path / "b")
    build_registry_features(fresh)

    assert (first_load.in_place, first_load.typed) == (False, 3)
    assert (second_load.in_place, second_load.typed, second_load.kept, second_load.leaving) == (True, 2, 2, 1)
    assert (first.normalized, first.kept) == (3, 0)
    assert (second.people, second.normalized, second.kept) == (4, 2, 2)
    assert_same_tables(kept_over, fresh)
    slots = "SELECT person_id, registry_row FROM registry_snapshot ORDER BY registry_row"
    assert [row[1] for row in fresh.execute(slots).fetchall()] == [0, 1, 2, 3]  # a first load: file order
    assert kept_over.execute(slots).fetchall() == [  # in place: Hoà keeps her slot, Nam takes the next one
        ("079080001234", 0),
        ("001195000001", 1),
        ("048190000002", 2),
        ("079085000003", 3),
    ]


def test_features_written_by_another_version_are_not_kept(tmp_path: Path):
    conn = duckdb.connect()
    land(tmp_path, "2022-05-01", MAY)
    load(conn, tmp_path)
    build_registry_features(conn)
    conn.execute("ALTER TABLE registry_features DROP COLUMN name_token_count")  # an older layout
    again = build_registry_features(conn)
    assert (again.normalized, again.kept) == (3, 0)
    assert "name_token_count" in {row[0] for row in conn.execute("DESCRIBE registry_features").fetchall()}


FAMILIES, GIVEN = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng"], ["Hùng", "Mai", "Hoa", "Nam", "Lan", "Minh", "Thu"]


def people(first: int, count: int) -> pl.DataFrame:
    """`count` people numbered from `first`, with names shared by many (so name shares count)."""
    n = pl.int_range(first, first + count, eager=True)
    return pl.DataFrame(
        {
            "person_id": n.map_elements(lambda i: f"0791{i:08d}", pl.String),
            "old_id": pl.Series([None] * count, dtype=pl.String),
            "full_name": n.map_elements(lambda i: f"{FAMILIES[i % 5]} Văn {GIVEN[i % 7]}", pl.String),
            "date_of_birth": n.map_elements(lambda i: f"19{50 + i % 50}-0{1 + i % 9}-1{i % 10}", pl.String),
            "gender": n.map_elements(lambda i: "Nam" if i % 2 else "Nữ", pl.String),
            "province_code": pl.Series(["79"] * count),
            "address": n.map_elements(lambda i: f"Phường {i % 30}, Quận {i % 12}", pl.String),
        }
    )


def land_parquet(landing: Path, day: str, frame: pl.DataFrame) -> None:
    """The snapshot as two Parquet files (the file order runs across them)."""
    folder = landing / "registry" / day
    folder.mkdir(parents=True)
    half = frame.height // 2
    frame.head(half).write_parquet(folder / "a.parquet")
    frame.slice(half).write_parquet(folder / "b.parquet")


def test_a_next_snapshot_in_place_equals_a_fresh_load_of_it(tmp_path: Path):
    # 12,000 people (name shares counted); the next snapshot: 300 addresses and 40 names changed, 50 people gone,
    # 200 born, a kept person's person_id given to a new row (both set aside), a malformed row, a row repeated
    before = people(0, 12_000)
    n = pl.int_range(pl.len())
    after = before.with_columns(
        address=pl.when(n % 40 == 3).then(pl.col("address") + " (mới)").otherwise("address"),
        full_name=pl.when(n % 300 == 7).then(pl.col("full_name") + " Anh").otherwise("full_name"),
    ).filter(n % 240 != 11)
    clash = before.slice(500, 1).with_columns(full_name=pl.lit("Võ Thị Bảy"))
    malformed = before.slice(600, 1).with_columns(person_id=pl.lit("7908500"))
    after = pl.concat([after, people(20_000, 200), clash, malformed, after.slice(900, 1)])
    in_place, fresh = duckdb.connect(), duckdb.connect()
    land_parquet(tmp_path / "a", "2022-05-01", before)
    load(in_place, tmp_path / "a")
    build_registry_features(in_place)
    slot_of = dict(in_place.execute("SELECT person_id, registry_row FROM registry_snapshot").fetchall())
    land_parquet(tmp_path / "a", "2022-06-15", after)
    staged = load(in_place, tmp_path / "a")
    built = build_registry_features(in_place)
    land_parquet(tmp_path / "b", "2022-06-15", after)
    load(fresh, tmp_path / "b")
    build_registry_features(fresh)

    # typed: 340 changed, 200 born, the clashing, malformed and repeated rows and the repeated row's original;
    # leaving: 340 changed, 50 gone, the clashing person and the repeated one; normalized: the typed people
    assert (staged.in_place, staged.typed, staged.kept, staged.leaving) == (True, 544, 11_608, 392)
    assert (built.normalized, built.kept) == (540, 11_608)
    assert built.people == fresh.execute("SELECT count(*) FROM registry_snapshot").fetchall()[0][0]
    assert built.normalized + built.kept == built.people
    assert_same_tables(in_place, fresh)
    assert read_frame(in_place, features_sql())["name_share"].null_count() == 0
    # unchanged people keep their slot; the slots of registry order are found through the gaps
    kept = dict(in_place.execute("SELECT person_id, registry_row FROM registry_snapshot").fetchall())
    unchanged = before.join(after, on=before.columns, how="semi")["person_id"].to_list()
    assert all(kept[p] == slot_of[p] for p in unchanged if p in kept)
    order = np.array(sorted(kept.values()), dtype=np.uint32)
    positions = np.array([0, 1, 11, 500, 5_000, len(order) - 1])
    assert slots_at(in_place, positions).tolist() == order[positions].tolist()
