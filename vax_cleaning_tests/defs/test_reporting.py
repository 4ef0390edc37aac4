"""province_progress through real Dagster runs: tallies count per province, a bad tally file fails fast and clearly."""

from pathlib import Path

import dagster as dg
import duckdb
import pytest

from vax_cleaning.definitions import defs
from vax_cleaning.partitions import partition_key
from vax_cleaning_tests.conftest import small_landing


def config(landing: Path, database: Path) -> dict:
    return {
        "loggers": {"console": {"config": {"log_level": "ERROR"}}},
        "resources": {
            "landing": {"config": {"data_dir": str(landing), "run_date": "2022-06-20"}},
            "duckdb": {"config": {"database": str(database)}},
        },
    }


def clean(landing: Path, database: Path, instance: dg.DagsterInstance, code: str):
    return defs.resolve_job_def("clean_province").execute_in_process(
        partition_key=partition_key(code), instance=instance, run_config=config(landing, database), raise_on_error=False
    )


def loaded_registry(landing: Path, database: Path) -> dg.DagsterInstance:
    instance = dg.DagsterInstance.ephemeral()
    assert (
        defs.resolve_job_def("load_registry")
        .execute_in_process(instance=instance, run_config=config(landing, database))
        .success
    )
    return instance


def test_a_bad_tally_row_fails_only_its_provinces_check_and_other_tallies_count(landing: Path, tmp_path: Path):
    small_landing(landing)  # exports in 01 and 79
    (landing / "reported").mkdir()
    (landing / "reported" / "tallies.csv").write_text("province_code,doses_reported\n01,5\n79,many\n")
    database = tmp_path / "w.duckdb"
    instance = loaded_registry(landing, database)
    checks = {}
    for code in ("01", "79"):
        result = clean(landing, database, instance, code)
        assert result.success, code
        checks[code] = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert checks["01"]["reported_tallies_usable"].passed
    tally_check = checks["79"]["reported_tallies_usable"]
    assert not tally_check.passed
    assert tally_check.metadata["unusable_rows"].value == [
        "reported/tallies.csv, line 3: doses_reported 'many' is not a whole number"
    ]
    assert all(
        e.passed for code in ("01", "79") for name, e in checks[code].items() if name != "reported_tallies_usable"
    )
    with duckdb.connect(str(database), read_only=True) as conn:
        reported = conn.execute("SELECT province_code, doses_reported FROM province_progress ORDER BY 1").fetchall()
    assert reported == [("01", 5), ("79", None)]  # 79's number is unknown, not a partial sum


def test_a_zero_byte_tally_file_fails_at_once_with_the_fix(landing: Path, tmp_path: Path):
    small_landing(landing)
    (landing / "reported").mkdir()
    (landing / "reported" / "tallies.csv").write_bytes(b"")
    database = tmp_path / "w.duckdb"
    result = clean(landing, database, loaded_registry(landing, database), "79")
    assert not result.success
    failures = [event for event in result.all_events if event.is_step_failure]
    retries = [event for event in result.all_events if event.event_type_value == "STEP_UP_FOR_RETRY"]
    assert [event.step_key for event in failures] == ["province_progress"] and not retries
    assert "reported/tallies.csv is empty (0 bytes)" in str(failures[0].event_specific_data.error)


def user_messages(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """What the run's steps logged (context.log), as the UI shows it."""
    return [entry.user_message for entry in instance.all_logs(run_id) if not entry.is_dagster_event]


def test_a_province_without_exports_records_no_progress_point_and_the_report_leaves_it_out(
    landing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Issue 14.2: 'Materialize all' over provinces without exports used to leave permanent all-zero rows."""
    monkeypatch.delenv("VAX_REPORTS_DIR", raising=False)
    small_landing(landing)  # exports in 01 and 79 only
    database = tmp_path / "w.duckdb"
    instance = loaded_registry(landing, database)
    for code in ("79", "02"):
        assert clean(landing, database, instance, code).success, code
    empty_run = clean(landing, database, instance, "02")  # a rerun appends nothing either
    assert empty_run.success
    assert "no exports for 02 Hà Giang: no progress point recorded" in user_messages(instance, empty_run.run_id)
    with duckdb.connect(str(database), read_only=True) as conn:
        assert conn.execute("SELECT DISTINCT province_code FROM province_progress").fetchall() == [("79",)]
    rollup = defs.resolve_job_def("national_rollup").execute_in_process(
        instance=instance, run_config=config(landing, database)
    )
    assert rollup.success
    report = tmp_path / "w_reports" / "progress.html"  # this database's own reports folder
    page = report.read_text(encoding="utf-8")
    assert "79 Thành phố Hồ Chí Minh" in page and "Hà Giang" not in page
    metadata = rollup.asset_materializations_for_node("progress_report")[-1].metadata
    assert metadata["provinces"].value == 1
    assert metadata["summary"].value.startswith("Cả nước — 1 tỉnh/thành có dữ liệu, cập nhật ")
    assert "(UTC+7)" in metadata["summary"].value
    assert "![progress](data:image/png;base64," in metadata["progress"].value
