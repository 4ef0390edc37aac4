"""The registry snapshot: newest in force, validated, dated."""

import unicodedata
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from vax_cleaning.ingest.registry import (
    MIN_SHARE_OF_LOADED,
    RegistryError,
    StagedSnapshot,
    ignored_entries,
    load_registry,
    refuse_shrunken,
    snapshot_dates,
)
from vax_cleaning_tests.conftest import to_cp1258

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


def test_a_windows_1258_registry_is_read_with_its_diacritics(landing: Path):
    folder = landing / "registry" / "2022-06-15"
    folder.mkdir(parents=True)
    text = f"{COLUMNS}\n079080001234,,Hà Anh Nam,1980-05-12,Nam,79,Xã Tân Thông Hội\n001195000001,,Trần Thị Mai,1995,Nữ,01,Ba Đình\n"
    (folder / "registry.csv").write_bytes(to_cp1258(text))  # tone marks combining, as Vietnamese Windows tools write
    people = load_registry(landing / "registry").people
    assert people["full_name"].to_list() == ["Hà Anh Nam", "Trần Thị Mai"]  # NFC, not "H� Anh Nam"
    assert people["address"].to_list() == ["Xã Tân Thông Hội", "Ba Đình"]


def test_a_registry_with_a_bom_and_nfd_text_is_read_in_nfc(landing: Path):
    folder = landing / "registry" / "2022-06-15"
    folder.mkdir(parents=True)
    text = f"{COLUMNS}\n079080001234,,Hà Anh Nam,1980-05-12,Nam,79,Củ Chi\n"
    (folder / "registry.csv").write_bytes(b"\xef\xbb\xbf" + unicodedata.normalize("NFD", text).encode())
    assert load_registry(landing / "registry").people["full_name"].to_list() == ["Hà Anh Nam"]


def test_malformed_entries_under_registry_are_ignored_and_named(landing: Path):
    write_snapshot(landing, "2022-06-15", ["079080001234,,Nguyễn Văn Hùng,1980-05-12,Nam,79,Củ Chi"])
    write_snapshot(landing, "2022-13-45", ["079080001234,,Nguyễn Văn Hùng,1980-05-12,Nam,79,Củ Chi"])
    write_snapshot(landing, "latest", ["079080001234,,Nguyễn Văn Hùng,1980-05-12,Nam,79,Củ Chi"])
    (landing / "registry" / "registry.csv").write_text(COLUMNS + "\n")
    (landing / "registry" / ".DS_Store").write_bytes(b"")
    assert snapshot_dates(landing / "registry") == [date(2022, 6, 15)]
    assert load_registry(landing / "registry").snapshot_date == date(2022, 6, 15)
    ignored = ignored_entries(landing / "registry")
    assert [entry.split(":")[0] for entry in ignored] == ["2022-13-45/", "latest/", "registry.csv"]


def test_a_pinned_date_that_is_not_a_date_is_a_clear_error(landing: Path):
    write_snapshot(landing, "2022-06-15", ["079080001234,,Nguyễn Văn Hùng,1980-05-12,Nam,79,Củ Chi"])
    with pytest.raises(RegistryError, match="'latest' is not a date"):
        load_registry(landing / "registry", "latest")


def test_a_header_only_snapshot_is_refused_naming_the_file(landing: Path):
    write_snapshot(landing, "2022-06-15", [])
    with pytest.raises(RegistryError, match=r"holds nobody \(registry/2022-06-15/registry.csv: 0 rows") as error:
        load_registry(landing / "registry")
    assert "pin the previous one with landing.registry_date" in str(error.value)


def test_a_zero_byte_registry_file_is_refused_naming_the_file(landing: Path):
    folder = landing / "registry" / "2022-06-15"
    folder.mkdir(parents=True)
    (folder / "registry.csv").write_bytes(b"")
    with pytest.raises(RegistryError, match=r"registry/2022-06-15/registry.csv is empty \(0 bytes\)"):
        load_registry(landing / "registry")


@pytest.mark.parametrize("encoding", ["utf-8", "cp1258"])
def test_a_ragged_registry_row_is_refused_naming_the_file_and_line(landing: Path, encoding: str):
    folder = landing / "registry" / "2022-06-15"
    folder.mkdir(parents=True)
    text = "\n".join(
        [
            COLUMNS,
            "079080001234,,Nguyễn Văn Hùng,1980-05-12,Nam,79,Củ Chi",
            "001195000001,,Trần Thị Mai,1995,Nữ,01,Phường Phúc Xá, Quận Ba Đình",  # the address is not quoted
            "",
        ]
    )
    (folder / "registry.csv").write_bytes(to_cp1258(text) if encoding == "cp1258" else text.encode())
    with pytest.raises(RegistryError, match=r"registry/2022-06-15/registry.csv, line 3: 8 fields, the header has 7"):
        load_registry(landing / "registry")


def test_a_registry_file_without_the_columns_names_the_file(landing: Path):
    folder = landing / "registry" / "2022-06-15"
    folder.mkdir(parents=True)
    (folder / "registry.csv").write_text("ma_dinh_danh,ho_ten\n079080001234,Nguyễn Văn Hùng\n")
    with pytest.raises(RegistryError, match=r"registry/2022-06-15/registry.csv lacks columns"):
        load_registry(landing / "registry")


def test_a_corrupt_parquet_file_names_the_file(landing: Path):
    folder = landing / "registry" / "2022-06-15"
    folder.mkdir(parents=True)
    (folder / "registry.parquet").write_bytes(b"PAR1 not really parquet")
    with pytest.raises(RegistryError, match=r"registry/2022-06-15/registry.parquet cannot be read"):
        load_registry(landing / "registry")


def test_a_snapshot_shrunken_below_half_of_the_one_in_force_is_refused_with_the_counts(landing: Path):
    write_snapshot(landing, "2022-06-15", ["079080001234,,Nguyễn Văn Hùng,1980-05-12,Nam,79,Củ Chi"])
    loaded = load_registry(landing / "registry")
    snapshot = StagedSnapshot(loaded.snapshot_date, loaded.files, loaded.people.height, loaded.rejected.height)
    refuse_shrunken(snapshot, 2, date(2022, 5, 1))  # exactly half: a registry may shrink that much
    with pytest.raises(RegistryError) as error:
        refuse_shrunken(snapshot, 3, date(2022, 5, 1))
    assert "has 1 people, fewer than 50% of the 3 of the snapshot in force (2022-05-01)" in str(error.value)
    assert "land a complete snapshot or pin the previous one with landing.registry_date" in str(error.value)
    assert MIN_SHARE_OF_LOADED == 0.5


def test_damaged_utf8_bytes_are_refused_naming_the_line_not_read_as_windows_1258(landing: Path):
    folder = landing / "registry" / "2022-06-15"
    folder.mkdir(parents=True)
    rows = [f"0790800{i:05d},,Nguyễn Văn Hùng,1980-05-12,Nam,79,Củ Chi" for i in range(40)]
    data = "\n".join([COLUMNS, *rows, ""]).encode()
    damaged = data.replace("Hùng".encode(), "Hùng".encode()[:-3] + b"\xc3", 1)  # row 1: "ù" cut short
    (folder / "registry.csv").write_bytes(damaged)
    with pytest.raises(RegistryError, match=r"registry/2022-06-15/registry.csv, line 2: damaged UTF-8 bytes"):
        load_registry(landing / "registry")


def test_people_keep_the_file_order_across_batches_and_row_groups(landing: Path, monkeypatch: pytest.MonkeyPatch):
    # registry_row (the file order) breaks ties between candidates: the snapshot is swapped in without a sort, so the
    # order must survive several typed batches, DuckDB's parallel row groups and the duplicates being set aside
    from vax_cleaning.ingest import registry

    monkeypatch.setattr(registry, "BATCH_ROWS", 70_000)
    ids = [f"0791{(n * 7919) % 10**8:08d}" for n in range(300_000)]  # not sorted: file order is not ID order
    ids[123_456] = ids[7]  # one person_id on two rows: both set aside
    write_snapshot(landing, "2022-06-15", [f"{i},,Nguyễn Văn Hùng,1985-03-04,Nam,79," for i in ids])
    snapshot = load_registry(landing / "registry")
    assert snapshot.people["person_id"].to_list() == [i for n, i in enumerate(ids) if n not in (7, 123_456)]
    assert snapshot.rejected["person_id"].to_list() == [ids[7], ids[7]]
