"""The code location loads, and its asset keys, jobs and schedules are what operators expect."""

import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb

from vax_cleaning.definitions import defs
from vax_cleaning.partitions import province_partitions
from vax_cleaning.runner import run_provinces
from vax_cleaning_tests.conftest import small_landing

ROOT = Path(__file__).resolve().parent.parent


def test_definitions_validate_with_the_dagster_cli():
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dg_checks_the_project_layout():
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dg"), "check", "defs"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_asset_keys_jobs_schedules_and_sensors_snapshot():
    """What operators find in the UI; a change here is a change of the code location's interface."""
    assert sorted(key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()) == [
        "correction_sets", "export_files", "latest_province_progress", "linkage_state", "matched_records",
        "national_progress",
        "passport_ready", "progress_report", "province_progress", "raw_dose_exports", "registry_block_keys",
        "registry_changed_rows", "registry_features", "registry_free_rows", "registry_name_counts",
        "registry_rejected_rows", "registry_snapshot", "rejected_rows", "review_decisions",
    ]  # fmt: skip
    jobs = {job.name for job in defs.resolve_all_job_defs()} - {"__ASSET_JOB"}
    assert jobs == {"load_registry", "clean_province", "clean_provinces", "national_rollup"}
    assert [schedule.name for schedule in defs.schedules] == ["nightly_provinces"]
    assert sorted(sensor.name for sensor in defs.sensors) == [
        "national_results", "new_export_files", "new_registry_snapshot", "rematch_after_registry",
    ]  # fmt: skip


def test_every_table_the_pipeline_writes_is_an_asset(landing: Path, tmp_path: Path):
    """The graph shows what wrote each table: a run leaves no table or view that is not an asset key."""
    small_landing(landing)
    database = tmp_path / "w.duckdb"
    assert run_provinces(data_dir=str(landing), duckdb_path=str(database), run_date="2022-06-20").succeeded
    with duckdb.connect(str(database), read_only=True) as conn:
        written = {name for (name,) in conn.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert written - keys == set()
    assert len(written) >= 13


def test_the_shared_policy_is_on_every_asset():
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.owners == ["team:vax-cleaning"] and "duckdb" in node.kinds, key
        assert node.tags["vax/personal_data"] in ("true", "false"), key
    assert graph.get(dg.AssetKey("matched_records")).tags["vax/personal_data"] == "true"


def test_one_partition_per_province_with_readable_names():
    keys = province_partitions.get_partition_keys()
    assert len(keys) == 63
    assert "79 Thành phố Hồ Chí Minh" in keys and "01 Hà Nội" in keys


def test_every_asset_has_checks_owner_and_description():
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.owners and node.description, key
    assert defs.resolve_asset_graph().asset_check_keys
    assert isinstance(defs.resolve_job_def("clean_province"), dg.JobDefinition)


def test_runs_execute_their_steps_in_the_run_process():
    """A backfill of many provinces pays one process start per partition, not one per step (issue 14)."""
    assert defs.resolve_job_def("clean_province").executor_def is dg.in_process_executor
    assert defs.resolve_implicit_global_asset_job_def().executor_def is dg.in_process_executor  # UI backfills
