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
