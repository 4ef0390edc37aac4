"""The registry snapshot: newest in force, validated, dated."""

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from vax_cleaning.ingest.registry import RegistryError, load_registry

COLUMNS = "person_id,old_id,full_name,date_of_birth,gender,province_code,address"


def write_snapshot(landing: Path, day: str, rows: list[str]) -> None:
    folder = landing / "registry" / day
    folder.mkdir(parents=True)
    (folder / "registry.csv").write_text("\n".join([COLUMNS, *rows]) + "\n", encoding="utf-8")


def test_newest_snapshot_is_in_force_and_dated(landing: Path):
    write_snapshot(landing, "2022-05-01", ["079080001234,,Nguyễn Văn Hùng,1980-05-12,Nam,79,Củ Chi"])
    write_snapshot(
        landing,
        "2022-06-15",
        [
            "079080001234,,Nguyễn Văn Hùng,1980-05-12,Nam,79,Củ Chi",
            "001195000001,012345678,Trần Thị Mai,1995,Nữ,01,Ba Đình",
        ],
    )
    snapshot = load_registry(landing / "registry")
    assert snapshot.snapshot_date == date(2022, 6, 15)
    assert snapshot.people["person_id"].to_list() == ["079080001234", "001195000001"]
    assert snapshot.people["snapshot_date"].unique().to_list() == [date(2022, 6, 15)]
    assert snapshot.people.filter(pl.col("person_id") == "001195000001").row(0, named=True)["date_of_birth"] == "1995"


def test_configured_snapshot_wins(landing: Path):
    write_snapshot(landing, "2022-05-01", ["079080001234,,Nguyễn Văn Hùng,1980-05-12,Nam,79,Củ Chi"])
    write_snapshot(landing, "2022-06-15", ["079080001234,,Nguyễn Văn Hùng,1980-05-12,Nam,79,Củ Chi"])
    assert load_registry(landing / "registry", "2022-05-01").snapshot_date == date(2022, 5, 1)


def test_duplicate_and_malformed_person_ids_are_set_aside(landing: Path):
    write_snapshot(
        landing,
        "2022-06-15",
        [
            "079080001234,,Nguyễn Văn Hùng,1980-05-12,Nam,79,Củ Chi",
            "079080001234,,Nguyễn Văn Hưng,1980-05-12,Nam,79,Củ Chi",
            "79080001,,Lê Văn Tám,1980-05-12,Nam,79,Củ Chi",
            "001195000001,,Trần Thị Mai,1995-01-02,Nữ,01,Ba Đình",
        ],
    )
    snapshot = load_registry(landing / "registry")
    assert snapshot.people["person_id"].to_list() == ["001195000001"]
    assert snapshot.rejected["reason"].to_list().count("person_id appears more than once in the snapshot") == 2


def test_id_layout_agreement_flags(landing: Path):
    write_snapshot(
        landing,
        "2022-06-15",
        [
            "079080001234,,Nguyễn Văn Hùng,1980-05-12,Nam,79,Củ Chi",  # 0 = male 1900s, 80
            "079180001234,,Nguyễn Văn Hải,1980-05-12,Nam,79,Củ Chi",  # 1 = female: gender disagrees
            "079205001234,,Nguyễn Thị Lan,2005-01-01,Nữ,79,Củ Chi",  # 2 = male 2000s: gender disagrees
            "079306001234,,Nguyễn Thị Hoa,2007-01-01,Nữ,79,Củ Chi",  # 3 = female 2000s, 06 vs 2007: year disagrees
        ],
    )
    flags = load_registry(landing / "registry").people.select("id_birth_year_agrees", "id_gender_agrees").rows()
    assert flags == [(True, True), (True, False), (True, False), (False, True)]


def test_no_snapshot_is_a_clear_error(landing: Path):
    with pytest.raises(RegistryError, match="registry/<YYYY-MM-DD>"):
        load_registry(landing / "registry")
