"""Reading returned decision files: every sheet with the decision columns, CSV in any encoding, problems by name."""

from pathlib import Path

import openpyxl

from vax_cleaning.ingest.reviews import read_decision_files
from vax_cleaning_tests.conftest import to_cp1258

HEADER = ["Tệp nguồn", "Dòng", "Quyết định", "Số định danh xác minh", "Người xác minh", "Ngày xác minh"]


def reviews_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "reviews" / "79"
    folder.mkdir(parents=True)
    return folder


def test_every_sheet_with_decision_columns_counts_and_names_itself(tmp_path: Path):
    folder = reviews_folder(tmp_path)
    book = openpyxl.Workbook()
    cover = book.active
    cover.title = "Hướng dẫn"
    cover.append(["Điền cột Quyết định rồi gửi lại"])  # a cover sheet is not data
    queue = book.create_sheet("Cần xác minh")
    queue.append(["DANH SÁCH CẦN XÁC MINH - PHƯỜNG 1"])  # a title block above the header
    queue.append(HEADER)
    queue.append(
        ["79/site1.csv", 3, "Đúng người", 79190000011, "Công an phường 1", "25/06/2022"]
    )  # ID typed as a number
    queue.append(["79/site1.csv", 4, None, None, None, None])  # not decided yet: ignored
    book.save(folder / "79_ra_soat.xlsx")
    returned = read_decision_files(tmp_path / "reviews", "79")
    assert returned.problems.is_empty()
    assert returned.rows.select("review_file", "review_row", "source_row", "decision", "person_id").rows() == [
        ("79/79_ra_soat.xlsx#Cần xác minh", 1, "3", "Đúng người", "79190000011")]  # fmt: skip


def test_csv_with_vietnamese_headers_in_windows_1258(tmp_path: Path):
    folder = reviews_folder(tmp_path)
    text = ",".join(HEADER) + "\n79/site1.csv,2,Chưa có trong CSDL dân cư,,Công an xã Tân Phú,16/06/2022\n"
    (folder / "cong_an.csv").write_bytes(to_cp1258(text))
    returned = read_decision_files(tmp_path / "reviews", "79")
    assert returned.rows.select("review_file", "decision", "reviewer").rows() == [
        ("79/cong_an.csv", "Chưa có trong CSDL dân cư", "Công an xã Tân Phú")]  # fmt: skip


def test_files_that_cannot_be_used_are_named_and_the_others_still_count(tmp_path: Path):
    folder = reviews_folder(tmp_path)
    (folder / "good.csv").write_text(",".join(HEADER) + "\n79/site1.csv,1,link,079190000011,CA,16/06/2022\n")
    (folder / "broken.xlsx").write_bytes(b"PK not really a zip")
    (folder / "old_excel.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    (folder / "notes.csv").write_text("ghi chú\nkhông có cột quyết định\n")
    (folder / "~$good.xlsx").write_bytes(b"")  # Excel's lock file while someone has it open
    returned = read_decision_files(tmp_path / "reviews", "79")
    assert returned.rows["review_file"].to_list() == ["79/good.csv"]
    assert sorted(returned.problems["review_file"]) == ["79/broken.xlsx", "79/notes.csv", "79/old_excel.xls"]
    assert returned.files == 4
