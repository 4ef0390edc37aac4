"""review_decisions through real Dagster runs: decision files read, judged, honoured, and held across snapshots."""

import shutil
from pathlib import Path

import dagster as dg
import duckdb

from vax_cleaning.runner import run_provinces
from vax_cleaning_tests.conftest import HEADER_VI, check_evaluations, write_export

REGISTRY = (
    "person_id,old_id,full_name,date_of_birth,gender,province_code,address\n"
    '079080001234,,Nguyễn Văn Hùng,1980-05-12,Nam,79,"Xã An Phú, Huyện Củ Chi"\n'
)
HUNG = (
    'Nguyễn Văn Hùng,12/05/1980,Nam,079080001234,,"Xã An Phú, Huyện Củ Chi",Pfizer,1,15/08/2021,FA1234,Trạm Y tế An Phú'
)
KHOA = 'Đặng Văn Khoa,03/02/1961,Nam,,,"Xã Tân Phú, Huyện Củ Chi",Pfizer,1,15/08/2021,FA1234,Trạm Y tế An Phú'
DECISIONS_VI = "Tệp nguồn,Dòng,Quyết định,Số định danh xác minh,Người xác minh,Ngày xác minh"


def landing_with_decisions(landing: Path) -> None:
    """Hùng's dose (linked by ID, but a citizen says it is not his) and Khoa's (police: not in the registry)."""
    (landing / "registry" / "2022-06-15").mkdir(parents=True)
    (landing / "registry" / "2022-06-15" / "registry.csv").write_text(REGISTRY, encoding="utf-8")
    write_export(landing, "79", "site1.csv", [HEADER_VI, HUNG, KHOA])
    reviews = landing / "reviews" / "79"
    reviews.mkdir(parents=True)
    (reviews / "quyet_dinh_cong_an.csv").write_text(
        f"{DECISIONS_VI}\n"
        "79/site1.csv,1,Không phải người này,079080001234,Công an xã An Phú,16/06/2022\n"
        "79/site1.csv,2,Chưa có trong CSDL dân cư,,Công an xã Tân Phú,16/06/2022\n",
        encoding="utf-8",
    )
    (reviews / "hong.xlsx").write_bytes(b"not a workbook")  # a broken return: named, never sinks the others


def rows(database: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def test_decisions_from_a_vietnamese_csv_apply_and_a_broken_file_is_named(landing: Path, tmp_path: Path):
    landing_with_decisions(landing)
    database, instance = tmp_path / "w.duckdb", dg.DagsterInstance.ephemeral()
    outcome = run_provinces(instance=instance, data_dir=str(landing), duckdb_path=str(database), run_date="2022-06-20")
    assert outcome.succeeded
    assert rows(database, "SELECT review_row, decision, outcome FROM review_decisions ORDER BY 1") == [
        (1, "not_this_person", "applied"), (2, "not_in_registry", "applied")]  # fmt: skip
    hung, khoa = rows(database, "SELECT match_status, person_id, decided_by FROM matched_records ORDER BY source_row")
    assert hung[0] in ("review", "unmatched") and hung[1] is None  # the citizen's complaint undoes the link
    assert khoa == ("unmatched", None, "review")
    readable = [e for e in check_evaluations(instance) if e.check_name == "decision_files_readable"]
    assert [e.passed for e in readable] == [False]
    assert "hong.xlsx" in readable[0].description
    assert rows(database, "SELECT decided_by_review FROM latest_province_progress") == [(1,)]


def test_a_newer_snapshot_lifts_not_in_registry_but_not_this_person_holds(landing: Path, tmp_path: Path):
    landing_with_decisions(landing)
    database = tmp_path / "w.duckdb"
    run_provinces(data_dir=str(landing), duckdb_path=str(database), run_date="2022-06-20")
    shutil.copytree(
        landing / "registry" / "2022-06-15", landing / "registry" / "2022-06-19"
    )  # Khoa may be registered now
    outcome = run_provinces(data_dir=str(landing), duckdb_path=str(database), run_date="2022-06-20")
    assert outcome.succeeded
    assert rows(database, "SELECT review_row, outcome FROM review_decisions ORDER BY 1") == [
        (1, "applied"),
        (2, "stale"),
    ]
    hung, khoa = rows(database, "SELECT match_status, person_id, decided_by FROM matched_records ORDER BY source_row")
    assert hung[1] is None  # never relinked automatically to the person people ruled out
    assert khoa == ("unmatched", None, "machine")  # the machine decides again
