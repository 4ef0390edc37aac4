"""The review workbook: open cases only, blank decision columns with a drop-down, text cells, owner-only file."""

from __future__ import annotations

import re
import stat
import zipfile
from pathlib import Path

import duckdb
import openpyxl
import pytest

from vax_cleaning.review_export import write_review_workbook
from vax_cleaning.vocabulary import Decision

DECISION_HEADERS = ["Quyết định", "Số định danh xác minh", "Người xác minh", "Ngày xác minh"]
SHEETS = ["Cần xác minh", "Không tìm thấy", "Đề xuất sửa"]
HYPERLINK = '=HYPERLINK("http://x","y")'
DDE = "=cmd|' /C calc'!A0"

# source_file, source_row, status, person_id, score, rule, candidate, decided_by
MATCHES = [
    ("79/site1.csv", 1, "review", None, 0.81, "AMBIGUOUS_NAME_DOB", "079090000001", "machine"),
    ("79/site1.csv", 2, "review", None, 0.55, "LOW_MARGIN", "079090000002", "machine"),
    ("79/site1.csv", 3, "unmatched", None, None, "NO_CANDIDATE", None, "machine"),
    ("79/site1.csv", 4, "unmatched", None, None, "REVIEW_NOT_IN_REGISTRY", None, "review"),
    ("79/site1.csv", 5, "corrected", "079090000003", 0.97, "CANDIDATE_MATCH", None, "machine"),
    ("79/site1.csv", 6, "verified", "079090000002", 1.0, "REVIEW_LINK", None, "review"),
    ("01/site9.csv", 1, "review", None, 0.6, "WEAK_CANDIDATE", None, "machine"),
]
# source_file, source_row, full_name, date_of_birth_raw, gender, id_raw, phone, address
DOSES = [
    ("79/site1.csv", 1, "Nguyễn Văn An", "12/03/1990", "Nam", "", "0901234567", "12 Lê Lợi, Quận 1"),
    ("79/site1.csv", 2, HYPERLINK, "1985", "Nữ", "079185000123", "0912345678", "5 Hai Bà Trưng"),
    ("79/site1.csv", 3, DDE, "01/01/1970", "Nam", "+84 1", "=1+1", "@SUM(A1)"),
    ("79/site1.csv", 4, "Phạm Thị Dung", "04/04/2000", "Nữ", "", "", "Thủ Đức"),
    ("79/site1.csv", 5, "Le Van Cuong", "1991", "Nam", "079091000003", "", "Quận 3"),
    ("79/site1.csv", 6, "Trần Thị Bình", "02/02/1985", "Nữ", "", "", "Quận 5"),
    ("01/site9.csv", 1, "Hoàng Văn Em", "05/05/1970", "Nam", "", "", "Hoàn Kiếm"),
]
PERSONS = [
    ("079090000001", "Nguyễn Văn An", "1990-03-12", "Nam", "79", "12 Lê Lợi, Quận 1"),
    ("079090000002", "Trần Thị Bình", "1985-02-02", "Nữ", "79", "Quận 5"),
    ("079090000003", "Lê Văn Cường", "1991-07-07", "Nam", "79", "Quận 3"),
]
# source_file, source_row, person_id, field, current, corrected, rule, action
CORRECTIONS = [
    ("79/site1.csv", 5, "079090000003", "full_name", "Le Van Cuong", "Lê Văn Cường", "NAME_NO_DIACRITICS", "auto"),
    ("79/site1.csv", 5, "079090000003", "date_of_birth", "1991", "1991-07-07", "DOB_YEAR_ONLY", "review"),
    ("79/site1.csv", 6, "079090000002", "gender", "Nam", "Nữ", "GENDER_DIFFERENT", "confirmed"),
]


def build_database(path: Path, matches=MATCHES, with_decided_by: bool = True) -> duckdb.DuckDBPyConnection:
    """The four tables the workbook reads, by hand, with only the columns it needs."""
    conn = duckdb.connect(str(path))
    decided_by = ", decided_by VARCHAR" if with_decided_by else ""
    conn.execute(f"""CREATE TABLE matched_records (source_file VARCHAR, source_row INTEGER, province_code VARCHAR,
        match_status VARCHAR, person_id VARCHAR, match_score DOUBLE, name_level VARCHAR, dob_level VARCHAR,
        id_level VARCHAR, rule VARCHAR, candidate_person_id VARCHAR{decided_by})""")
    for file, row, status, person, score, rule, candidate, by in matches:
        values = [file, row, file[:2], status, person, score, "exact", "exact", "none", rule, candidate]
        conn.execute(
            f"INSERT INTO matched_records VALUES ({', '.join('?' * (len(values) + with_decided_by))})",
            values + ([by] if with_decided_by else []),
        )
    conn.execute("""CREATE TABLE raw_dose_exports (source_file VARCHAR, source_row INTEGER, full_name VARCHAR,
        date_of_birth_raw VARCHAR, gender VARCHAR, id_raw VARCHAR, phone VARCHAR, address VARCHAR,
        vaccine_code VARCHAR, dose_number INTEGER, vaccination_date DATE, facility VARCHAR)""")
    for dose in DOSES:
        conn.execute(
            "INSERT INTO raw_dose_exports VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'COMIRNATY', 2, DATE '2022-05-10', ?)",
            [*dose, '=HYPERLINK("http://evil")' if dose[1] == 3 else "Trạm Y tế Phường Bến Nghé"],
        )
    conn.execute("""CREATE TABLE registry_snapshot (person_id VARCHAR, full_name VARCHAR, date_of_birth DATE,
        gender VARCHAR, province_code VARCHAR, address VARCHAR)""")
    conn.executemany("INSERT INTO registry_snapshot VALUES (?, ?, ?, ?, ?, ?)", PERSONS)
    conn.execute("""CREATE TABLE correction_sets (source_file VARCHAR, source_row INTEGER, person_id VARCHAR,
        field VARCHAR, current_value VARCHAR, corrected_value VARCHAR, rule VARCHAR, action VARCHAR,
        province_code VARCHAR)""")
    conn.executemany("INSERT INTO correction_sets VALUES (?, ?, ?, ?, ?, ?, ?, ?, '79')", CORRECTIONS)
    return conn


@pytest.fixture
def workbook_path(tmp_path: Path) -> Path:
    with build_database(tmp_path / "w.duckdb") as conn:
        return write_review_workbook(conn, "79", tmp_path / "out")


def rows(path: Path, sheet: str) -> list[dict]:
    """Data rows of a sheet as header -> value."""
    values = list(openpyxl.load_workbook(path)[sheet].iter_rows(values_only=True))
    return [dict(zip(values[0], row, strict=True)) for row in values[1:]]


def test_file_name_and_sheets(workbook_path: Path):
    assert workbook_path.name == "79_Thành phố Hồ Chí Minh_ra_soat.xlsx"
    assert openpyxl.load_workbook(workbook_path).sheetnames == SHEETS
    assert [p.name for p in workbook_path.parent.iterdir()] == [workbook_path.name]  # no temp file left behind


def test_every_sheet_has_source_and_blank_decision_columns_near_the_left(workbook_path: Path):
    book = openpyxl.load_workbook(workbook_path)
    for name in SHEETS:
        header = [cell.value for cell in book[name][1]]
        assert {"Tệp nguồn", "Dòng"} <= set(header), name
        start = header.index(DECISION_HEADERS[0])
        assert header[start : start + 4] == DECISION_HEADERS, name
        assert start == header.index("Dòng") + 1, name
        for row in rows(workbook_path, name):
            assert row["Tệp nguồn"] and row["Dòng"], name
            assert all(row[h] is None for h in DECISION_HEADERS), name


def test_decision_drop_down_and_text_columns(workbook_path: Path):
    book = openpyxl.load_workbook(workbook_path)
    for name in SHEETS:
        sheet = book[name]
        header = [cell.value for cell in sheet[1]]
        letter = openpyxl.utils.get_column_letter(header.index("Quyết định") + 1)
        lists = [v for v in sheet.data_validations.dataValidation if v.type == "list"]
        assert len(lists) == 1, name
        assert lists[0].formula1 == '"' + ",".join(d.label for d in Decision) + '"'
        assert f"{letter}2:{letter}" in str(lists[0].sqref)
        last_row = int(re.search(rf"{letter}2:{letter}(\d+)", str(lists[0].sqref)).group(1))
        assert last_row >= sheet.max_row
        for title in ("Số định danh xác minh", "Ngày xác minh"):
            column = header.index(title) + 1
            assert sheet.column_dimensions[openpyxl.utils.get_column_letter(column)].number_format == "@"
            for row in range(2, sheet.max_row + 1):
                assert sheet.cell(row, column).number_format == "@", (name, title, row)


def test_header_frozen_filtered_bold_and_readable(workbook_path: Path):
    book = openpyxl.load_workbook(workbook_path)
    for name in SHEETS:
        sheet = book[name]
        assert sheet.freeze_panes == "A2", name
        assert sheet.auto_filter.ref and sheet.auto_filter.ref.startswith("A1:"), name
        assert all(cell.font.bold for cell in sheet[1]), name
        widths = [dim.width for dim in sheet.column_dimensions.values() if dim.width]
        assert widths and max(widths) <= 41, name


def test_formula_looking_text_stays_text(workbook_path: Path):
    book = openpyxl.load_workbook(workbook_path)
    cells = {cell.value: cell for sheet in book for row in sheet.iter_rows() for cell in row if cell.value is not None}
    for text in (HYPERLINK, DDE, "=1+1", "@SUM(A1)", '=HYPERLINK("http://evil")', "+84 1"):
        assert text in cells, text
        assert cells[text].data_type == "s", text
    assert cells["079185000123"].data_type == "s"  # an ID as written keeps its leading zero
    with zipfile.ZipFile(workbook_path) as archive:
        for member in archive.namelist():
            if member.startswith("xl/worksheets/"):
                assert "<f>" not in archive.read(member).decode() and "<f " not in archive.read(member).decode()
        assert not any("hyperlink" in member.lower() for member in archive.namelist())


def test_file_is_owner_only(workbook_path: Path):
    assert stat.S_IMODE(workbook_path.stat().st_mode) == 0o600


def test_rewrite_of_a_world_readable_file_is_owner_only(tmp_path: Path):
    with build_database(tmp_path / "w.duckdb") as conn:
        first = write_review_workbook(conn, "79", tmp_path / "out")
        first.chmod(0o644)
        assert stat.S_IMODE(write_review_workbook(conn, "79", tmp_path / "out").stat().st_mode) == 0o600


def test_only_open_cases_are_listed(workbook_path: Path):
    review = rows(workbook_path, "Cần xác minh")
    assert [(r["Tệp nguồn"], r["Dòng"]) for r in review] == [("79/site1.csv", 1), ("79/site1.csv", 2)]
    assert [r["Đơn vị xử lý"] for r in review] == ["Công an xã", "Cơ sở tiêm"]
    assert review[0]["Lý do"] == "Nhiều người trùng họ tên và ngày sinh"
    assert review[0]["Số định danh (CSDL dân cư)"] == "079090000001"  # the candidate, for the reviewer to copy
    unmatched = rows(workbook_path, "Không tìm thấy")
    assert [(r["Dòng"], r["Họ và tên (phiếu tiêm)"]) for r in unmatched] == [(3, DDE)]  # row 4 settled by people
    corrections = rows(workbook_path, "Đề xuất sửa")
    assert [(r["Dòng"], r["Trường"], r["Xử lý"]) for r in corrections] == [
        (5, "Ngày sinh", "Cần xác nhận"),
        (5, "Họ và tên", "Đã sửa tự động"),
    ]  # the confirmed gender correction of row 6 is settled


def test_older_database_without_decided_by_counts_as_machine(tmp_path: Path):
    matches = [m if m[1] != 4 else (*m[:5], "NO_PLAUSIBLE_CANDIDATE", None, None) for m in MATCHES]
    with build_database(tmp_path / "w.duckdb", matches=matches, with_decided_by=False) as conn:
        path = write_review_workbook(conn, "79", tmp_path / "out")
    assert [r["Dòng"] for r in rows(path, "Không tìm thấy")] == [3, 4]


def test_province_without_open_cases_still_gets_the_columns(tmp_path: Path):
    with build_database(tmp_path / "w.duckdb") as conn:
        path = write_review_workbook(conn, "48", tmp_path / "out")
    book = openpyxl.load_workbook(path)
    for name in SHEETS:
        assert book[name].max_row == 1
        assert DECISION_HEADERS[0] in [cell.value for cell in book[name][1]]


def test_unknown_rule_is_an_error_naming_it(tmp_path: Path):
    matches = [("79/site1.csv", 1, "review", None, 0.5, "MYSTERY_RULE", None, "machine"), *MATCHES[1:]]
    with build_database(tmp_path / "w.duckdb", matches=matches) as conn:
        with pytest.raises(ValueError, match="MYSTERY_RULE"):
            write_review_workbook(conn, "79", tmp_path / "out")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
