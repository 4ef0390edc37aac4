"""Landed files are keyed on their content: a run reads only new files, a half-copied file again once complete; a
changed file is refused by name."""

import os
from pathlib import Path

import dagster as dg
import duckdb

from vax_cleaning.definitions import defs
from vax_cleaning.defs.operations.sensors import new_export_files, new_registry_snapshot
from vax_cleaning.partitions import partition_key
from vax_cleaning.resources import LandingFolder
from vax_cleaning_tests.conftest import GOOD, HEADER_VI, small_landing, write_export


def sensor_requests(landing: Path, instance: dg.DagsterInstance) -> dict[str, str]:
    """{run_key: partition_key} of one evaluation of the landing-folder sensor."""
    context = dg.build_sensor_context(instance=instance, resources={"landing": LandingFolder(data_dir=str(landing))})
    return {request.run_key: request.partition_key for request in new_export_files(context).run_requests}


def test_a_file_first_seen_half_copied_is_processed_again_once_complete(landing: Path):
    instance = dg.DagsterInstance.ephemeral()
    instance.report_runless_asset_event(dg.AssetMaterialization("registry_features"))
    write_export(landing, "01", "site1.csv", [HEADER_VI, GOOD])
    complete = "".join(line + "\n" for line in [HEADER_VI, GOOD, GOOD.replace("15/08/2021", "16/08/2021")]).encode()
    copying = landing / "exports" / "79" / "site1.csv"
    copying.parent.mkdir()
    copying.write_bytes(complete[: len(complete) // 2])  # the copy is under way when the sensor looks
    first = sensor_requests(landing, instance)
    assert sorted(first.values()) == ["01 Hà Nội", "79 Thành phố Hồ Chí Minh"]

    with copying.open("ab") as handle:  # the copy completes: same name, new size and modification time
        handle.write(complete[len(complete) // 2 :])
    second = sensor_requests(landing, instance)
    assert [partition for key, partition in second.items() if key not in first] == ["79 Thành phố Hồ Chí Minh"]
    assert sensor_requests(landing, instance) == second  # nothing changed since: the same run keys


def test_a_file_rewritten_in_place_with_the_same_size_changes_the_run_key(landing: Path):
    instance = dg.DagsterInstance.ephemeral()
    instance.report_runless_asset_event(dg.AssetMaterialization("registry_features"))
    path = write_export(landing, "79", "site1.csv", [HEADER_VI, GOOD])
    first = sensor_requests(landing, instance)
    stat = path.stat()
    path.write_bytes(path.read_bytes().replace(b"FA1234", b"FA9999"))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert set(sensor_requests(landing, instance)).isdisjoint(first)


def run_config(landing: Path, database: Path) -> dict:
    return {
        "loggers": {"console": {"config": {"log_level": "ERROR"}}},
        "resources": {
            "landing": {"config": {"data_dir": str(landing), "run_date": "2022-06-20"}},
            "duckdb": {"config": {"database": str(database)}},
        },
    }


def registry_loaded(landing: Path, tmp_path: Path) -> tuple[Path, dg.DagsterInstance, dict]:
    """The small landing folder with its registry loaded: (warehouse, instance, run config)."""
    small_landing(landing)
    database, instance = tmp_path / "w.duckdb", dg.DagsterInstance.ephemeral()
    config = run_config(landing, database)
    assert defs.resolve_job_def("load_registry").execute_in_process(instance=instance, run_config=config).success
    return database, instance, config


def test_a_landed_file_whose_content_changed_after_ingestion_is_named(landing: Path, tmp_path: Path):
    database, instance, config = registry_loaded(landing, tmp_path)
    clean = defs.resolve_job_def("clean_province")

    def run(code: str, run_config: dict = config) -> dg.ExecuteInProcessResult:
        return clean.execute_in_process(
            partition_key=partition_key(code), instance=instance, run_config=run_config, raise_on_error=False
        )

    assert run("79").success and run("01").success
    with duckdb.connect(str(database), read_only=True) as conn:
        stored = conn.execute("SELECT source_file, size_bytes, sha256 FROM export_files ORDER BY 1").fetchall()
    site = landing / "exports" / "79" / "site1.csv"
    assert [(name, size) for name, size, _ in stored] == [
        ("01/site1.csv", (landing / "exports" / "01" / "site1.csv").stat().st_size),
        ("79/site1.csv", site.stat().st_size),
    ]
    assert all(len(digest) == 64 for *_, digest in stored)

    assert run("79").success  # a rerun of the same files
    size_before = site.stat().st_size
    write_export(landing, "79", "site1.csv", [HEADER_VI, GOOD.replace("FA1234", "FA9999")])  # overwritten in place
    refused = run("79")
    assert not refused.success
    failure = refused.failure_data_for_node("raw_dose_exports").user_failure_data.description
    assert f"79/site1.csv: content changed since it was ingested ({size_before} -> {site.stat().st_size} bytes)" in (
        failure
    )
    assert "reingest: true" in failure  # the fix
    with duckdb.connect(str(database), read_only=True) as conn:  # nothing of the changed file was taken in
        assert conn.execute("SELECT count(*) FROM raw_dose_exports WHERE lot_number = 'FA9999'").fetchall() == [(0,)]
    assert run("01").success  # other provinces are not concerned

    reread = run("79", {**config, "ops": {"raw_dose_exports": {"config": {"reingest": True}}}})
    check = next(e for e in reread.get_asset_check_evaluations() if e.check_name == "landed_files_unchanged")
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR  # read anew, and still named once
    assert check.metadata["changed_since_ingested"].value == [
        f"79/site1.csv: content changed since it was ingested ({size_before} -> {site.stat().st_size} bytes)"
    ]
    assert run("79").success  # from now on that content is the ingested one


def test_an_office_lock_file_that_goes_away_is_not_a_removed_export(landing: Path, tmp_path: Path):
    database, instance, config = registry_loaded(landing, tmp_path)
    clean = defs.resolve_job_def("clean_province")
    lock = landing / "exports" / "79" / "~$site1.xlsx"
    lock.write_bytes(b"someone has the workbook open")
    assert clean.execute_in_process(partition_key=partition_key("79"), instance=instance, run_config=config).success
    lock.unlink()  # the workbook was closed
    assert clean.execute_in_process(partition_key=partition_key("79"), instance=instance, run_config=config).success
    with duckdb.connect(str(database), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM export_files WHERE file LIKE '%~$%'").fetchall() == [(0,)]


def test_a_run_reads_only_the_files_that_landed_since_the_last_one(landing: Path, tmp_path: Path):
    database, instance, config = registry_loaded(landing, tmp_path)
    clean = defs.resolve_job_def("clean_province")
    assert clean.execute_in_process(partition_key=partition_key("79"), instance=instance, run_config=config).success
    with duckdb.connect(str(database), read_only=True) as conn:
        before = conn.execute("SELECT * FROM raw_dose_exports ORDER BY ALL").fetchall()
    copying = landing / "exports" / "79" / "site2.csv"
    complete = "".join(f"{line}\n" for line in [HEADER_VI, GOOD, GOOD.replace("15/08/2021", "16/08/2021")]).encode()
    copying.write_bytes(complete[: len(complete) - 20])  # the sensor fired while the copy was under way
    result = clean.execute_in_process(partition_key=partition_key("79"), instance=instance, run_config=config)
    ingest = result.asset_materializations_for_node("raw_dose_exports")[-1].metadata
    assert ingest["read_this_run"].value == "1 new or completed files"
    copying.write_bytes(complete)  # the rest arrives: the file is read again whole, not refused as changed
    result = clean.execute_in_process(partition_key=partition_key("79"), instance=instance, run_config=config)
    conservation = next(e for e in result.get_asset_check_evaluations() if e.check_name == "conservation")
    assert conservation.passed
    with duckdb.connect(str(database), read_only=True) as conn:
        after = conn.execute(
            "SELECT * FROM raw_dose_exports WHERE source_file <> '79/site2.csv' ORDER BY ALL"
        ).fetchall()
        new = conn.execute("SELECT count(*) FROM raw_dose_exports WHERE source_file = '79/site2.csv'").fetchall()
    assert after == before and new == [(2,)]


def test_a_malformed_registry_folder_does_not_stop_the_registry_sensor(landing: Path):
    for day in ("2022-06-15", "2022-13-45", "latest"):
        (landing / "registry" / day).mkdir()
        (landing / "registry" / day / "registry.csv").write_text("person_id\n")
    context = dg.build_sensor_context(resources={"landing": LandingFolder(data_dir=str(landing))})
    assert new_registry_snapshot(context).run_key == "registry:2022-06-15"
