"""A province's exports: every record accepted or rejected with a reason, nothing lost."""

import csv
import os
import unicodedata
from datetime import date
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter

from vax_cleaning.ingest import exports as exports_module
from vax_cleaning.ingest.exports import (
    files_outside_province_folders,
    ingest_province,
    provinces_with_exports,
    unknown_province_folders,
)
from vax_cleaning_tests.conftest import HEADER_VI, write_export

RUN_DAY = date(2022, 6, 20)
GOOD = 'Nguyễn Văn Hùng,12/05/1980,Nam,079080001234,0909123456,"Xã An Phú, Huyện Củ Chi",Pfizer,2,15/08/2021,FA1234,Trạm Y tế An Phú'


def reasons(landing: Path) -> dict[int, str]:
    return dict(
        ingest_province(landing / "exports", "79", RUN_DAY).rejected.select("source_row", "reason_code").iter_rows()
    )


def test_good_record_is_typed(landing: Path):
    write_export(landing, "79", "site1.csv", [HEADER_VI, GOOD])
    record = ingest_province(landing / "exports", "79", RUN_DAY).accepted.row(0, named=True)
    assert record["source_file"] == "79/site1.csv" and record["source_row"] == 1
    assert record["vaccine_code"] == "PF" and record["dose_number"] == 2
    assert record["vaccination_date"] == date(2021, 8, 15) and record["date_of_birth"] == "1980-05-12"
    assert record["id_number"] == "079080001234" and record["gender"] == "Nam"


def test_each_rejection_rule_has_its_reason(landing: Path):
    rows = [
        HEADER_VI,
        "",
        "Nguyễn Văn Hùng,12/05/1980,Nam",
        GOOD + ",thừa",
        GOOD.replace("15/08/2021", "chưa nhập"),
        GOOD.replace("15/08/2021", "01/03/2021"),
        GOOD.replace("15/08/2021", "01/07/2022"),
        GOOD.replace("Pfizer", "Vắc xin lạ"),
        GOOD.replace("Pfizer,2", "Pfizer,7"),
        ",,,,,,,,,,",
        GOOD,
    ]
    write_export(landing, "79", "site1.csv", rows)
    assert reasons(landing) == {
        1: "blank",
        2: "field_count",
        3: "field_count",
        4: "vaccination_date_unparseable",
        5: "vaccination_date_out_of_range",
        6: "vaccination_date_out_of_range",
        7: "unknown_vaccine",
        8: "dose_number_out_of_range",
        9: "blank",
    }


def test_bad_identity_fields_are_accepted_for_linkage(landing: Path):
    bad_identity = "nguyen van hung,99/99/1980,?,7.90800E+10,,,Comirnaty,1,15/08/2021,,"
    write_export(landing, "79", "site1.csv", [HEADER_VI, bad_identity])
    exports = ingest_province(landing / "exports", "79", RUN_DAY)
    assert exports.rejected.is_empty()
    record = exports.accepted.row(0, named=True)
    assert record["id_issue"] == "scientific_notation" and record["date_of_birth"] is None


def test_missing_required_column_rejects_every_record_with_that_reason(landing: Path):
    write_export(landing, "79", "no_vaccine.csv", ["Họ và tên,Ngày tiêm,Mũi số", "Lê Thị Hoa,15/08/2021,1"])
    assert reasons(landing) == {1: "missing_column"}


def test_conservation_over_mixed_files(landing: Path):
    write_export(landing, "79", "a.csv", [HEADER_VI, GOOD, "", GOOD.replace("Pfizer", "??")])
    write_export(landing, "79", "b.csv", [HEADER_VI, GOOD, GOOD], encoding="cp1258")
    (landing / "exports" / "79" / "c.xlsx").write_text("broken")
    exports = ingest_province(landing / "exports", "79", RUN_DAY)
    assert exports.accepted.height + exports.rejected.filter(exports.rejected["source_row"] > 0).height == 5
    assert exports.files.sort("source_file")["records"].to_list() == [3, 2, 0]
    assert exports.rejected.filter(exports.rejected["reason_code"] == "unreadable_file")["source_file"].to_list() == [
        "79/c.xlsx"
    ]


def test_unknown_province_folder_is_reported_not_ingested(landing: Path):
    write_export(landing, "79", "a.csv", [HEADER_VI, GOOD])
    write_export(landing, "99", "a.csv", [HEADER_VI, GOOD])
    write_export(landing, "HCM", "a.csv", [HEADER_VI, GOOD])
    assert unknown_province_folders(landing / "exports") == ["99", "HCM"]
    assert provinces_with_exports(landing / "exports") == ["79"]


def test_every_landed_entry_is_in_the_inventory_with_a_status(landing: Path):
    write_export(landing, "79", "a.csv", [HEADER_VI, GOOD])
    folder = landing / "exports" / "79"
    (folder / "~$a.xlsx").write_bytes(b"\x0bsomeone")
    (folder / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    (folder / "..\\..\\evil.csv").write_text(HEADER_VI + "\n")
    (folder / "cu").mkdir()
    (folder / "cu" / "b.csv").write_text(HEADER_VI + "\n" + GOOD + "\n")
    os.symlink(landing / "gone.csv", folder / "dangling.csv")
    exports = ingest_province(landing / "exports", "79", RUN_DAY)
    assert dict(exports.files.select("file", "status").iter_rows()) == {
        "79/..\\..\\evil.csv": "skipped",
        "79/a.csv": "ingested",
        "79/cu/b.csv": "skipped",
        "79/dangling.csv": "skipped",
        "79/old.xls": "skipped",
        "79/~$a.xlsx": "skipped",
    }
    assert exports.files.filter(pl.col("status") != "ingested")["problem"].null_count() == 0
    assert sorted(line.split(": ")[0] for line in exports.not_ingested) == [  # the lock file is not an export
        "79/..\\..\\evil.csv",
        "79/cu/b.csv",
        "79/dangling.csv",
        "79/old.xls",
    ]


def test_a_link_out_of_the_landing_folder_is_refused_by_name(landing: Path, tmp_path_factory: pytest.TempPathFactory):
    secret = tmp_path_factory.mktemp("elsewhere") / "secret.csv"
    secret.write_text(HEADER_VI + "\n" + GOOD + "\n")
    (landing / "exports" / "79").mkdir()
    os.symlink(secret, landing / "exports" / "79" / "link.csv")
    exports = ingest_province(landing / "exports", "79", RUN_DAY)
    assert exports.accepted.is_empty()
    assert exports.files.select("file", "status").rows() == [("79/link.csv", "rejected")]
    assert exports.rejected.select("source_file", "source_row", "reason_code").rows() == [
        ("79/link.csv", 0, "unreadable_file")
    ]
    assert "outside the landing folder" in exports.rejected["reason"][0]


def test_names_equal_after_nfc_do_not_fail_the_province(landing: Path):
    nfc, nfd = (unicodedata.normalize(form, "Hòa Bình.csv") for form in ("NFC", "NFD"))
    write_export(landing, "79", nfc, [HEADER_VI, GOOD])
    write_export(landing, "79", nfd, [HEADER_VI, GOOD, GOOD])
    exports = ingest_province(landing / "exports", "79", RUN_DAY)
    first, second = sorted([nfc, nfd], key=str.encode)  # read in byte order of the names: the second is refused
    assert dict(exports.files.select("file", "status").iter_rows()) == {
        f"79/{first}": "ingested",
        f"79/{second}": "rejected",
    }
    assert exports.accepted.height == (1 if first == nfc else 2)
    identities = pl.concat(
        [exports.accepted.select("source_file", "source_row"), exports.rejected.select("source_file", "source_row")]
    )
    assert identities.n_unique() == identities.height


def test_one_file_failing_in_any_way_never_stops_the_others(landing: Path, monkeypatch: pytest.MonkeyPatch):
    write_export(landing, "79", "a.csv", [HEADER_VI, GOOD])
    write_export(landing, "79", "b.csv", [HEADER_VI, GOOD])
    real = exports_module.read_export

    def flaky(path: Path):
        if path.name == "b.csv":
            raise RuntimeError("something nobody foresaw")
        return real(path)

    monkeypatch.setattr(exports_module, "read_export", flaky)
    exports = ingest_province(landing / "exports", "79", RUN_DAY)
    assert exports.accepted["source_file"].to_list() == ["79/a.csv"]
    assert dict(exports.files.select("file", "status").iter_rows()) == {"79/a.csv": "ingested", "79/b.csv": "rejected"}
    assert exports.rejected.select("source_file", "source_row").rows() == [("79/b.csv", 0)]
    assert "RuntimeError" in exports.files.filter(pl.col("status") == "rejected")["problem"][0]


def test_trailing_formatted_rows_of_a_workbook_make_no_phantom_rejections(landing: Path):
    folder = landing / "exports" / "79"
    folder.mkdir()
    book = xlsxwriter.Workbook(folder / "site.xlsx")
    sheet, shade = book.add_worksheet(), book.add_format({"border": 1})
    sheet.write_row(0, 0, HEADER_VI.split(","))
    sheet.write_row(1, 0, next(csv.reader([GOOD])))
    for row in range(2, 40):  # formatted, some with a space or an empty string left in a cell
        sheet.write_blank(row, 0, None, shade)
        sheet.write_string(row, 1, " " if row % 2 else "", shade)
    book.close()
    exports = ingest_province(landing / "exports", "79", RUN_DAY)
    assert exports.accepted.height == 1 and exports.rejected.is_empty()


def test_a_province_whose_only_file_cannot_be_read_still_runs(landing: Path):
    write_export(landing, "79", "a.csv", [HEADER_VI, GOOD])
    (landing / "exports" / "92").mkdir()
    (landing / "exports" / "92" / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    assert provinces_with_exports(landing / "exports") == ["79", "92"]


def test_files_directly_under_exports_are_named(landing: Path):
    write_export(landing, "79", "a.csv", [HEADER_VI, GOOD])
    (landing / "exports" / "stray.csv").write_text(HEADER_VI + "\n")
    assert files_outside_province_folders(landing / "exports") == ["stray.csv"]
