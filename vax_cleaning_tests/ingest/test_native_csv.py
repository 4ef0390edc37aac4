"""Polars' CSV parser is used only where it gives exactly the line reader's records."""

import os
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from vax_cleaning.ingest import files, native_csv
from vax_cleaning.ingest.files import read_csv_records

HEADER = "Họ và tên,Ngày sinh,Số CMND/CCCD,Tên vắc xin,Mũi số,Ngày tiêm,Địa chỉ"
ROWS = [
    'Nguyễn Thị Thuỷ,12/03/1985,079185001234,Pfizer,1,15/08/2021,"Xã Tân Phú, Huyện Củ Chi"',
    "",
    "Trần Văn Nam,1990,079090004321,AZ,2,20/09/2021,Xã An Phú, Huyện Củ Chi",
    'Lê Thị Hoa,01/01/1970,,Moderna,1,01/10/2021,""',
    '"Phạm Văn ""Tèo""",05/05/1965,001065000111,Vero Cell,1,02/10/2021,"Phường 1"',
    ",,,,,,",
]


def _by_lines(data: bytes, monkeypatch: pytest.MonkeyPatch) -> files.RawRecords:
    """The line reader's records for the same bytes (the reference the native path must equal)."""
    with monkeypatch.context() as patched:
        patched.setattr(native_csv, "read_lines", lambda text, width: None)
        return read_csv_records(data)


def test_a_field_file_with_blank_ragged_and_quoted_lines_is_parsed_by_polars(monkeypatch: pytest.MonkeyPatch) -> None:
    data = unicodedata.normalize("NFD", "\r\n".join([HEADER, *ROWS]) + "\r\n").encode()
    taken = []
    real = native_csv.read_lines
    monkeypatch.setattr(native_csv, "read_lines", lambda text, width: taken.append(real(text, width)) or taken[-1])
    records = read_csv_records(data)
    assert taken[0] is not None
    frame = records.frame
    assert frame["row_number"].to_list() == [1, 2, 3, 4, 5, 6]
    assert frame["is_blank"].to_list() == [False, True, False, False, False, True]
    assert frame["n_fields"].to_list() == [7, 1, 8, 7, 7, 7]  # the unquoted comma in row 3 makes 8 fields
    assert frame["full_name"].to_list()[4] == 'Phạm Văn "Tèo"'
    assert frame["address"].to_list()[0] == "Xã Tân Phú, Huyện Củ Chi"
    assert unicodedata.is_normalized("NFC", frame["full_name"][0])
    assert_frame_equal(frame, _by_lines(data, monkeypatch).frame)


def test_a_line_with_a_quote_inside_a_field_is_left_to_the_line_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    mid_quote = 'Lê Thị "Bé" Hoa,01/01/1970,,Moderna,1,01/10/2021,Xã An Phú'
    text = "\n".join([HEADER, ROWS[0], mid_quote, ROWS[0]]) + "\n"
    parsed, odd_rows, odd_lines = native_csv.read_lines(text, 7)
    assert parsed["row_number"].to_list() == [1, 3] and (odd_rows, odd_lines) == ([2], [mid_quote])
    records = read_csv_records(text.encode())
    assert records.frame["full_name"][1] == 'Lê Thị "Bé" Hoa'
    assert_frame_equal(records.frame, _by_lines(text.encode(), monkeypatch).frame)


def test_a_quoted_line_break_sends_the_file_to_the_line_reader() -> None:
    text = HEADER + '\nNguyễn Thị Thuỷ,12/03/1985,079185001234,Pfizer,1,15/08/2021,"Xã Tân Phú,\nHuyện Củ Chi"\n'
    assert native_csv.read_lines(text, 7) is None


CLEAN_CELLS = st.sampled_from(["", "a", "Thuỷ", " b ", '"x,y"', '"Củ Chi"', '""'])
ODD_CELLS = st.sampled_from(['"a""b"', 'a"b', '"ab"c', ' "q"', '"', '"x\ny"', "\x00", "\t", "\r", "\n"])
SOME_ODD_CELLS = st.one_of(CLEAN_CELLS, CLEAN_CELLS, CLEAN_CELLS, CLEAN_CELLS, CLEAN_CELLS, ODD_CELLS)
LINES = st.one_of(
    *(st.lists(st.lists(cells, min_size=1, max_size=4), max_size=8) for cells in (CLEAN_CELLS, SOME_ODD_CELLS))
)
"""Files of lines of 1 (maybe blank) to 4 cells as the field writes them, well quoted or not; the header has 3."""


@settings(
    max_examples=int(os.environ.get("NATIVE_CSV_EXAMPLES", 400)),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(LINES, st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_polars_and_the_line_reader_agree_on_any_text(
    monkeypatch: pytest.MonkeyPatch, lines: list[list[str]], newline: str, final_newline: bool
) -> None:
    body = newline.join(",".join(cells) for cells in lines) + (newline if final_newline else "")
    data = ("Họ và tên,Ngày tiêm,Tên vắc xin" + newline + body).encode()
    assert_frame_equal(read_csv_records(data).frame, _by_lines(data, monkeypatch).frame)
