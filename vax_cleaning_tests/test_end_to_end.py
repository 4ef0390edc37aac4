"""The whole pipeline on generated data with ground truth: nothing lost, reasons right."""

import json
from pathlib import Path

import dagster as dg
import duckdb
import openpyxl
import polars as pl
import pytest

from vax_cleaning.generate import generate_landing_folder
from vax_cleaning.generate.evaluate import evaluate
from vax_cleaning.review_export import write_review_workbook
from vax_cleaning.runner import run_provinces

pytestmark = pytest.mark.e2e

RUN_DATE = "2022-06-20"


@pytest.fixture(scope="module")
def instance() -> dg.DagsterInstance:
    """One instance for the module, so tests can read the runs' event logs."""
    with dg.instance_for_test() as test_instance:
        yield test_instance


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory, instance: dg.DagsterInstance) -> tuple[Path, Path]:
    """Generate a small landing folder (3 provinces) and run every asset on it once."""
    root = tmp_path_factory.mktemp("e2e")
    landing, database = root / "landing", root / "warehouse.duckdb"
    generate_landing_folder(landing, persons=3000, provinces=["01", "48", "79"], seed=7)
    outcome = run_provinces(instance=instance, data_dir=str(landing), duckdb_path=str(database), run_date=RUN_DATE)
    assert outcome.succeeded, outcome
    return landing, database


def read(database: Path, sql: str) -> pl.DataFrame:
    with duckdb.connect(str(database), read_only=True) as conn:
        return conn.sql(sql).pl()


def test_conservation_every_record_exactly_once(pipeline):
    landing, database = pipeline
    truth = pl.read_parquet(landing / "ground_truth" / "doses.parquet").select("source_file", "source_row")
    stored = read(
        database,
        "SELECT source_file, source_row FROM raw_dose_exports UNION ALL "
        "SELECT source_file, source_row FROM rejected_rows",
    )
    assert stored.height == truth.height
    assert stored.sort(pl.all()).equals(truth.cast(stored.schema).sort(pl.all()))


def test_rejections_match_the_injected_garbage(pipeline):
    landing, database = pipeline
    truth = pl.read_parquet(landing / "ground_truth" / "doses.parquet")
    rejected = read(database, "SELECT source_file, source_row, reason_code FROM rejected_rows")
    joined = truth.join(
        rejected.cast({"source_row": truth.schema["source_row"]}), on=["source_file", "source_row"], how="left"
    )
    assert joined.filter(pl.col("expected_rejection") != pl.col("reason_code")).is_empty()
    assert joined.filter(pl.col("expected_rejection").is_null() != pl.col("reason_code").is_null()).is_empty()


def test_linkage_meets_the_quality_bar(pipeline):
    landing, database = pipeline
    report = evaluate(landing, database)
    assert report.counts["wrong_auto_links"] == 0
    assert report.misses() == [], report.metrics


def test_every_contract_table_exists_with_its_columns(pipeline):
    _, database = pipeline
    expected = {
        "matched_records": {"source_file", "source_row", "province_code", "match_status", "person_id", "match_score"},
        "correction_sets": {
            "source_file",
            "source_row",
            "person_id",
            "field",
            "current_value",
            "corrected_value",
            "rule",
            "action",
        },
        "rejected_rows": {"source_file", "source_row", "reason"},
        "passport_ready": {"person_id", "doses_linked", "eligible"},
    }
    for table, columns in expected.items():
        present = set(read(database, f"SELECT * FROM {table} LIMIT 0").columns)
        assert columns <= present, table


def test_review_workbook_puts_record_beside_candidate(pipeline, tmp_path: Path):
    _, database = pipeline
    with duckdb.connect(str(database), read_only=True) as conn:
        path = write_review_workbook(conn, "79", tmp_path)
        review_count = conn.execute(
            "SELECT count(*) FROM matched_records WHERE province_code = '79' AND match_status = 'review'"
        ).fetchall()[0][0]
    book = openpyxl.load_workbook(path, read_only=True)
    assert book.sheetnames == ["Cần xác minh", "Không tìm thấy", "Đề xuất sửa"]
    queue = list(book["Cần xác minh"].iter_rows(values_only=True))
    header = queue[0]
    assert header.index("Họ và tên (phiếu tiêm)") < header.index("Họ và tên (CSDL dân cư)")
    assert len(queue) - 1 == review_count
    assert {row[0] for row in queue[1:]} <= {"Công an xã", "Cơ sở tiêm"}


def test_no_personal_data_in_the_event_log(pipeline, instance: dg.DagsterInstance):
    landing, _ = pipeline
    persons = pl.read_parquet(landing / "ground_truth" / "persons.parquet")
    log = "\n".join(  # re-dumped without ASCII escapes, so Vietnamese text is searchable
        json.dumps(json.loads(dg.serialize_value(event)), ensure_ascii=False)
        for run in instance.get_runs()
        for event in instance.all_logs(run.run_id)
    )
    assert "dagster/row_count" in log and "79 Thành phố Hồ Chí Minh" in log  # the scan reads real, decoded logs
    ids = set(persons["person_id"].drop_nulls()) | set(persons["old_id"].drop_nulls())
    names = {name for name in persons["full_name"] if len(name.split()) >= 3}
    assert [i for i in ids if i in log] == []
    assert [n for n in names if n in log] == []
