"""A province against a registry far larger than its records reads only the people it can reach, and links exactly as
when it reads the whole registry (the calibration included)."""

from pathlib import Path

import duckdb
import polars as pl
import pytest

from vax_cleaning.defs.linkage import assets as linkage_assets
from vax_cleaning.generate import generate_landing_folder
from vax_cleaning.linkage import calibrate
from vax_cleaning.runner import run_provinces

pytestmark = pytest.mark.e2e

TABLES = {
    "matched_records": "source_file, source_row",
    "correction_sets": "source_file, source_row, field",
    "linkage_state": "source_file",
}


def linked(landing: Path, database: Path) -> dict[str, list[tuple]]:
    """Province 79 run on the landing folder; its linkage's tables in a fixed order."""
    assert run_provinces(["79"], data_dir=str(landing), duckdb_path=str(database), run_date="2022-06-20").succeeded
    with duckdb.connect(str(database), read_only=True) as conn:
        return {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY {key}").fetchall() for table, key in TABLES.items()
        }


def test_a_province_reading_only_the_people_it_reaches_links_as_one_reading_the_whole_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    landing = tmp_path / "landing"
    # ~4,500 records against 40,000 people: more than 4 per record, so the run reaches instead of reading all
    generate_landing_folder(landing, persons=2_000, provinces=["79"], seed=4, mix="field", registry_persons=40_000)
    monkeypatch.setattr(calibrate, "MIN_PAIRS", 1_000)  # so small a batch still fits: the u pairs are fetched too
    fetched: list[int] = []

    def counted(conn: duckdb.DuckDBPyConnection, rows):
        people = fetch_people(conn, rows)
        fetched.append(people.height)
        return people

    fetch_people = linkage_assets.fetch_people
    monkeypatch.setattr(linkage_assets, "fetch_people", counted)
    reaching = linked(landing, tmp_path / "reaching.duckdb")
    assert len(fetched) == 1  # the IDs' people, the sample's and the u pairs (here nearly everybody) in one pass

    monkeypatch.setattr(linkage_assets, "worth_reaching", lambda people, records: False)
    reading_all = linked(landing, tmp_path / "reading_all.duckdb")
    assert '"calibrated": "yes"' in reaching["linkage_state"][0][-1]  # fitted on this batch, not hand-set
    for table in TABLES:
        assert reaching[table] == reading_all[table], table


def next_snapshot(registry: Path, day: str) -> None:
    """A later snapshot: every file copied with some addresses and names changed and a few people gone, and some
    people born at the end of the last file (the people kept keep their order, as in a real next export)."""
    files = sorted((registry / "2022-06-15").glob("*.parquet"))
    (registry / day).mkdir()
    for index, path in enumerate(files):
        frame = pl.read_parquet(path)
        n = pl.int_range(pl.len())
        frame = frame.with_columns(
            address=pl.when(n % 50 == 1).then(pl.col("address") + " (mới)").otherwise("address"),
            full_name=pl.when(n % 700 == 3).then(pl.col("full_name") + " Anh").otherwise("full_name"),
        ).filter(n % 400 != 7)
        if index == len(files) - 1:
            born = frame.head(150).with_columns(
                person_id=pl.format("0799{}", pl.int_range(10_000_000, 10_000_150).cast(pl.String)),
                address=pl.col("address") + " (mới sinh)",
            )
            frame = pl.concat([frame, born])
        frame.write_parquet(registry / day / path.name)


def test_a_next_snapshot_loaded_in_place_links_as_a_fresh_load_of_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    landing = tmp_path / "landing"
    generate_landing_folder(landing, persons=2_000, provinces=["79"], seed=4, mix="field", registry_persons=40_000)
    monkeypatch.setattr(calibrate, "MIN_PAIRS", 1_000)  # calibrated on the registry in force: u pairs through gaps
    in_place = tmp_path / "in_place.duckdb"
    linked(landing, in_place)  # the first snapshot loaded and linked
    next_snapshot(landing / "registry", "2022-06-18")
    relinked = linked(landing, in_place)  # the next one brought in place: the province linked again
    with duckdb.connect(str(in_place), read_only=True) as conn:
        slots, people = conn.execute("SELECT max(registry_row) + 1, count(*) FROM registry_features").fetchall()[0]
    assert slots > people  # people gone left gaps
    fresh = linked(landing, tmp_path / "fresh.duckdb")
    assert '"calibrated": "yes"' in relinked["linkage_state"][0][-1]
    for table in TABLES:
        assert relinked[table] == fresh[table], table
