"""Reported tallies: a bad row is its own province's problem, named by file and line; other provinces still count."""

from pathlib import Path

import pytest

from vax_cleaning.ingest.reported import TallyError, read_tallies
from vax_cleaning_tests.conftest import to_cp1258


def land_tallies(landing: Path, name: str, text: str) -> Path:
    folder = landing / "reported"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_a_bad_row_concerns_only_its_province_and_is_named_by_file_and_line(landing: Path):
    folder = land_tallies(landing, "tallies.csv", "province_code,doses_reported\n01,5\n79,many\n48,7\n")
    land_tallies(landing, "more.csv", "province_code,doses_reported\n1,3\n79,10\n")
    tallies = read_tallies(folder)
    assert tallies.for_province("01") == (8, [])  # 5 + 3, "1" is province 01
    assert tallies.for_province("48") == (7, [])
    assert tallies.for_province("79") == (
        None,
        ["reported/tallies.csv, line 3: doses_reported 'many' is not a whole number"],
    )
    assert tallies.for_province("02") == (None, [])  # no tally: nothing reported, nothing wrong


def test_a_row_naming_no_province_concerns_every_province(landing: Path):
    folder = land_tallies(landing, "tallies.csv", "province_code,doses_reported\n01,5\nHCM,10\n79,3,extra\n")
    tallies = read_tallies(folder)
    assert tallies.for_province("01") == (5, ["reported/tallies.csv, line 3: 'HCM' is not a province code"])
    assert tallies.for_province("79") == (
        None,
        [
            "reported/tallies.csv, line 3: 'HCM' is not a province code",
            "reported/tallies.csv, line 4: row has 3 fields, the header has 2",
        ],
    )


def test_a_windows_1258_tally_file_with_blank_lines_is_read(landing: Path):
    folder = landing / "reported"
    folder.mkdir()
    (folder / "báo_cáo.csv").write_bytes(to_cp1258("province_code, doses_reported\r\n79,12\r\n\r\n01,4\r\n"))
    tallies = read_tallies(folder)
    assert tallies.for_province("79") == (12, []) and tallies.for_province("01") == (4, [])


def test_a_zero_byte_tally_file_is_a_clear_error_naming_it(landing: Path):
    folder = land_tallies(landing, "tallies.csv", "")
    with pytest.raises(TallyError, match=r"reported/tallies.csv is empty \(0 bytes\).*province_code,doses_reported"):
        read_tallies(folder)


def test_a_tally_file_without_the_columns_is_a_clear_error_naming_it(landing: Path):
    folder = land_tallies(landing, "tallies.csv", "tinh,so_mui\n79,12\n")
    with pytest.raises(TallyError, match=r"reported/tallies.csv needs the columns province_code, doses_reported"):
        read_tallies(folder)


def test_no_tallies_folder_means_no_tallies(landing: Path):
    tallies = read_tallies(landing / "reported")
    assert tallies.doses.is_empty() and tallies.problems.is_empty()
