"""Reading files as the field produces them: encodings, NFD, quoting, blank and ragged lines, xlsx."""

import unicodedata
from datetime import datetime
from pathlib import Path

import pytest
import xlsxwriter

from vax_cleaning.ingest.files import (
    UnreadableFileError,
    decode,
    read_csv_records,
    read_records,
    read_xlsx_exports,
    read_xlsx_records,
)
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


ROW = "Lê Văn Tám,17/08/2021,AZ,2,Ấp 3 Xã Bình Mỹ"


def test_a_stray_quote_keeps_every_following_line_a_record():
    rows = [ROW] * 500
    rows[9] = '"' + ROW  # opened on line 10, never closed
    frame = read_csv_records((CSV + "\n".join(rows) + "\n").encode()).frame
    assert frame.height == 501 and frame["row_number"].to_list() == list(range(1, 502))
    assert frame["n_fields"].to_list() == [5] * 501


def test_a_field_longer_than_the_csv_module_limit_is_read():
    data = CSV + f"Lê Văn Tám,17/08/2021,AZ,2,{'x' * 200_000}\n" + '"' + ROW + "\n"
    frame = read_csv_records(data.encode()).frame
    assert frame["row_number"].to_list() == [1, 2, 3] and len(frame["address"][1]) == 200_000


def test_a_stray_quote_before_a_blank_line_loses_no_record():
    data = CSV + 'Lê Văn Tám,17/08/2021,AZ,"2,Ấp 3\n\n' + ROW + "\n" + ROW + "\n"
    frame = read_csv_records(data.encode()).frame
    assert frame["row_number"].to_list() == [1, 2, 3, 4, 5]
    assert frame["is_blank"].to_list() == [False, False, True, False, False]


def test_a_quoted_field_joins_lines_only_within_bounds():
    long_open = 'Lê Văn Tám,17/08/2021,AZ,2,"' + "x" * 3000
    frame = read_csv_records((CSV + long_open + "\n" + "y" * 3000 + '"\n' + ROW + "\n").encode()).frame
    assert frame["row_number"].to_list() == [1, 2, 3, 4]  # 6,000 characters in quotes: a stray quote
    nine_lines = 'Lê Văn Tám,17/08/2021,AZ,2,"' + "\n".join(["ấp"] * 9) + '"\n'
    assert read_csv_records((CSV + nine_lines).encode()).frame.height == 1 + 9  # more than 8 lines: stray


def test_lines_that_are_each_a_whole_record_never_join():
    data = CSV + '"' + ROW + "\n" + '"' + ROW + "\n"  # the second line's quote would close the first's
    frame = read_csv_records(data.encode()).frame
    assert frame["row_number"].to_list() == [1, 2, 3] and frame["n_fields"].to_list() == [5, 5, 5]


def test_utf8_bom_before_windows_1258_text_keeps_the_first_column():
    records = read_csv_records(b"\xef\xbb\xbf" + to_cp1258(CSV))
    assert records.encoding == "cp1258-bom" and "full_name" in records.columns
    assert records.frame["full_name"].to_list() == ["Nguyễn Thị Thuỷ"]


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (("\ufeff" + CSV).encode("utf-16-le"), "utf-16"),
        (b"\xfe\xff" + CSV.encode("utf-16-be"), "utf-16"),
        (CSV.encode("utf-16-le"), "utf-16-le"),  # no byte-order mark: told by its NUL bytes
    ],
)
def test_utf16_is_read_as_utf16(data: bytes, encoding: str):
    records = read_csv_records(data)
    assert records.encoding == encoding
    assert records.frame["full_name"].to_list() == ["Nguyễn Thị Thuỷ"]


def test_utf8_with_a_damaged_byte_is_read_as_utf8_and_says_so():
    records = read_csv_records(CSV.encode().replace("Thuỷ".encode(), b"Thu\xff"))
    assert records.encoding == "utf-8" and records.frame["full_name"][0] == "Nguyễn Thị Thu\ufffd"
    assert records.note and "damaged" in records.note


def workbook(path: Path, sheets: dict[str, list[list]], hidden: tuple[str, ...] = ()) -> Path:
    book = xlsxwriter.Workbook(path)
    shade = book.add_format({"bg_color": "#FFFF99"})
    for name, rows in sheets.items():
        sheet = book.add_worksheet(name)
        for index, cells in enumerate(rows):
            if cells == ["formatted"]:
                sheet.write_blank(index, 0, None, shade)
                sheet.write_blank(index, 3, None, shade)
            else:
                sheet.write_row(index, 0, cells)
        if name in hidden:
            sheet.hide()
    if hidden:
        book.worksheets()[-1].activate()
    book.close()
    return path


XLSX_HEADER = ["Họ và tên", "Ngày tiêm", "Tên vắc xin", "Mũi số"]
XLSX_ROW = ["Lê Văn Tám", "17/08/2021", "AZ", 2]


def test_every_data_sheet_is_read_and_named(tmp_path: Path):
    path = workbook(
        tmp_path / "book.xlsx",
        {"Đợt 1": [XLSX_HEADER, XLSX_ROW], "Ghi chú": [["đã đối chiếu"]], "Đợt 2": [XLSX_HEADER, XLSX_ROW, XLSX_ROW]},
    )
    export = read_xlsx_exports(path)
    assert [(label, records.frame.height) for label, records in export.parts] == [("#Đợt 1", 1), ("#Đợt 2", 2)]


def test_title_block_hidden_cover_and_trailing_formatted_rows_are_not_records(tmp_path: Path):
    rows = [["DANH SÁCH TIÊM CHỦNG"], ["Trạm Y tế An Phú"], [], XLSX_HEADER, XLSX_ROW, [], XLSX_ROW]
    path = workbook(
        tmp_path / "book.xlsx",
        {"Bìa": [["BÁO CÁO"]], "Danh sách": rows + [["formatted"]] * 30 + [["   "]]},
        hidden=("Bìa",),
    )
    (label, records), *others = read_xlsx_exports(path).parts
    assert label == "" and not others
    assert records.frame["row_number"].to_list() == [1, 2, 3]
    assert records.frame["is_blank"].to_list() == [False, True, False]


def test_a_hidden_or_incomplete_data_sheet_is_named_not_read(tmp_path: Path):
    path = workbook(
        tmp_path / "book.xlsx",
        {"Danh sách": [XLSX_HEADER, XLSX_ROW], "Cũ": [XLSX_HEADER, XLSX_ROW], "Nháp": [XLSX_HEADER[:2], XLSX_ROW]},
        hidden=("Cũ",),
    )
    export = read_xlsx_exports(path)
    assert [label for label, _ in export.parts] == [""]
    assert len(export.unread) == 2 and "'Cũ'" in export.unread[0] and "'Nháp'" in export.unread[1]


def test_a_workbook_without_a_data_header_is_still_read_from_its_first_sheet(tmp_path: Path):
    path = workbook(tmp_path / "book.xlsx", {"Sheet1": [XLSX_ROW, XLSX_ROW, XLSX_ROW]})
    (label, records), *_ = read_xlsx_exports(path).parts
    assert label == "" and records.frame.height == 2 and "vaccine" not in records.columns
