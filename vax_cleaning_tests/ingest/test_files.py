"""Reading files as the field produces them: encodings, NFD, quoting, blank and ragged lines, xlsx."""

import unicodedata
from datetime import datetime
from pathlib import Path

import pytest
import xlsxwriter

from vax_cleaning.ingest.files import UnreadableFileError, decode, read_csv_records, read_records, read_xlsx_records
from vax_cleaning_tests.conftest import to_cp1258

CSV = 'Họ và tên,Ngày tiêm,Tên vắc xin,Mũi số,Địa chỉ\nNguyễn Thị Thuỷ,15/08/2021,Pfizer,1,"Xã Tân Phú, Huyện Củ Chi"\n'


def test_utf8_bom_is_detected_and_stripped():
    text, encoding = decode(("\ufeff" + CSV).encode("utf-8"))
    assert encoding == "utf-8-bom" and text.startswith("Họ và tên")


def test_plain_utf8_is_labelled_as_such():
    assert decode(CSV.encode("utf-8"))[1] == "utf-8"


def test_cp1258_file_reads_as_nfc_vietnamese():
    records = read_csv_records(to_cp1258(CSV))
    assert records.encoding == "cp1258"
    assert records.frame["full_name"].to_list() == ["Nguyễn Thị Thuỷ"]
    assert unicodedata.is_normalized("NFC", records.frame["full_name"][0])


def test_nfd_file_is_normalized_to_nfc():
    records = read_csv_records(unicodedata.normalize("NFD", CSV).encode("utf-8"))
    assert records.frame["full_name"][0] == unicodedata.normalize("NFC", "Nguyễn Thị Thuỷ")


def test_quoted_commas_stay_in_one_field():
    assert read_csv_records(CSV.encode()).frame["address"][0] == "Xã Tân Phú, Huyện Củ Chi"


def test_quoted_line_break_keeps_one_record():
    data = CSV + 'Trần Văn Nam,16/08/2021,AZ,1,"Ấp 3\nXã Bình Mỹ"\n'
    frame = read_csv_records(data.encode()).frame
    assert frame["row_number"].to_list() == [1, 2]
    assert frame["address"][1] == "Ấp 3\nXã Bình Mỹ"


def test_blank_lines_count_as_records_and_final_newline_does_not():
    data = CSV + "\n" + "Lê Văn Tám,17/08/2021,AZ,2,\n"
    frame = read_csv_records(data.encode()).frame
    assert frame["row_number"].to_list() == [1, 2, 3]
    assert frame["is_blank"].to_list() == [False, True, False]


def test_short_and_long_rows_keep_their_field_count():
    data = CSV + "Lê Văn Tám,17/08/2021\nLê Văn Tám,17/08/2021,AZ,2,x,y\n"
    frame = read_csv_records(data.encode()).frame
    assert frame["n_fields"].to_list() == [5, 2, 6]
    assert set(frame["header_width"]) == {5}


def test_headers_match_aliases_case_insensitively_in_any_order():
    data = "MŨI TIÊM, ngay_tiem ,Loại vắc xin,ho_ten,Ghi chú\n2,17/08/2021,Moderna,Phạm Thị Hoa,xin về sớm\n"
    records = read_csv_records(data.encode())
    assert set(records.columns) == {"dose_number", "vaccination_date", "vaccine", "full_name"}
    assert records.frame.row(0, named=True)["vaccine"] == "Moderna"


def test_xlsx_numeric_ids_excel_dates_and_text_years(tmp_path: Path):
    path = tmp_path / "79_site.xlsx"
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet()
    date_format = book.add_format({"num_format": "dd/mm/yyyy"})
    sheet.write_row(0, 0, ["Họ và tên", "Ngày sinh", "Số CMND/CCCD", "Ngày tiêm", "Tên vắc xin", "Mũi số"])
    sheet.write_row(1, 0, ["Võ Thị Sáu", "1950", 79150001234, None, "Vero Cell", 2])
    sheet.write_datetime(1, 3, datetime(2021, 9, 1), date_format)
    sheet.write_row(3, 0, ["Đỗ Văn Hùng", "12/03/1985", "079085000001", 44440, "AZ", 1])
    book.close()
    frame = read_xlsx_records(path).frame
    assert frame["row_number"].to_list() == [1, 2, 3]
    assert frame["is_blank"].to_list() == [False, True, False]
    assert frame["id_number"].to_list() == ["79150001234", None, "079085000001"]
    assert frame["vaccination_date"].to_list()[0].startswith("2021-09-01")
    assert frame["vaccination_date"][2] == "2021-09-01"  # serial 44440
    assert frame["date_of_birth"][0] == "1950"


def test_corrupt_xlsx_is_a_clear_error(tmp_path: Path):
    path = tmp_path / "broken.xlsx"
    path.write_text("not a workbook")
    with pytest.raises(UnreadableFileError, match=r"re-export|xlsx"):
        read_records(path)
