"""A province's exports: every record accepted or rejected with a reason, nothing lost."""

from datetime import date
from pathlib import Path

from vax_cleaning.ingest.exports import ingest_province, provinces_with_exports, unknown_province_folders
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
