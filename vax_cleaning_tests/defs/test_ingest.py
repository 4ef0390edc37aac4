"""The ingest assets through real Dagster runs: checks pass, tables land, reruns are idempotent."""

from pathlib import Path

import dagster as dg
import duckdb

from vax_cleaning.runner import run_provinces
from vax_cleaning_tests.conftest import GOOD, HEADER_VI, check_evaluations, small_landing, write_export


def table(path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def test_run_ingests_every_province_and_checks_pass(landing: Path, tmp_path: Path):
    small_landing(landing)
    database = tmp_path / "warehouse.duckdb"
    instance = dg.DagsterInstance.ephemeral()
    outcome = run_provinces(instance=instance, data_dir=str(landing), duckdb_path=str(database), run_date="2022-06-20")
    assert outcome.succeeded and outcome.provinces == ["01", "79"]
    assert table(database, "SELECT province_code, count(*) FROM raw_dose_exports GROUP BY 1 ORDER BY 1") == [
        ("01", 1),
        ("79", 1),
    ]
    assert table(database, "SELECT source_row, reason_code FROM rejected_rows ORDER BY 1") == [
        (2, "blank"),
        (3, "unknown_vaccine"),
    ]
    evaluations = check_evaluations(instance)
    assert all(e.passed for e in evaluations)
    assert {"conservation", "person_id_unique", "every_record_matched_once", "totals_add_up"} <= {
        e.check_name for e in evaluations
    }


def test_rerun_gives_the_same_tables(landing: Path, tmp_path: Path):
    small_landing(landing)
    database = tmp_path / "warehouse.duckdb"
    query = "SELECT * FROM raw_dose_exports ORDER BY source_file, source_row"
    run_provinces(data_dir=str(landing), duckdb_path=str(database), run_date="2022-06-20")
    first = table(database, query), table(database, "SELECT * FROM rejected_rows ORDER BY ALL")
    run_provinces(data_dir=str(landing), duckdb_path=str(database), run_date="2022-06-20")
    assert (table(database, query), table(database, "SELECT * FROM rejected_rows ORDER BY ALL")) == first


def test_unknown_province_folder_fails_the_check_by_name(landing: Path, tmp_path: Path):
    small_landing(landing)
    write_export(landing, "HN", "site1.csv", [HEADER_VI, GOOD])
    instance = dg.DagsterInstance.ephemeral()
    outcome = run_provinces(["79"], instance=instance, data_dir=str(landing), duckdb_path=str(tmp_path / "w.duckdb"))
    assert outcome.unknown_folders == ["HN"]
    failed = [evaluation for evaluation in check_evaluations(instance) if not evaluation.passed]
    assert [e.check_name for e in failed] == ["known_province_folders"]
    assert failed[0].metadata["unknown_folders"].value == ["HN"]


def test_files_outside_province_folders_fail_the_layout_check_by_name(landing: Path, tmp_path: Path):
    small_landing(landing)
    (landing / "exports" / "site1.csv").write_text(HEADER_VI + "\n" + GOOD + "\n")
    instance = dg.DagsterInstance.ephemeral()
    outcome = run_provinces(["79"], instance=instance, data_dir=str(landing), duckdb_path=str(tmp_path / "w.duckdb"))
    assert outcome.succeeded
    failed = [evaluation for evaluation in check_evaluations(instance) if not evaluation.passed]
    assert [e.check_name for e in failed] == ["known_province_folders"]
    assert failed[0].metadata["files_outside_province_folders"].value == ["site1.csv"]


def test_data_files_not_ingested_fail_a_non_blocking_check_by_name(landing: Path, tmp_path: Path):
    small_landing(landing)
    folder = landing / "exports" / "79"
    (folder / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    (folder / "~$site1.xlsx").write_bytes(b"\x0bsomeone")  # a lock file is not data: not named
    (folder / "broken.xlsx").write_text("not a workbook")
    database, instance = tmp_path / "w.duckdb", dg.DagsterInstance.ephemeral()
    outcome = run_provinces(["79"], instance=instance, data_dir=str(landing), duckdb_path=str(database))
    assert outcome.succeeded  # the province's good file is cleaned all the same
    failed = [evaluation for evaluation in check_evaluations(instance) if not evaluation.passed]
    assert [e.check_name for e in failed] == ["every_landed_file_ingested"]
    named = [line.split(": ")[0] for line in failed[0].metadata["not_ingested"].value]
    assert named == ["79/broken.xlsx", "79/old.xls"]
    assert table(database, "SELECT file, status FROM export_files ORDER BY file") == [
        ("79/broken.xlsx", "rejected"),
        ("79/old.xls", "skipped"),
        ("79/site1.csv", "ingested"),
        ("79/~$site1.xlsx", "skipped"),
    ]
