"""A province against a registry far larger than its records reads only the people it can reach, and links exactly as
when it reads the whole registry (the calibration included)."""

from pathlib import Path

import duckdb
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
