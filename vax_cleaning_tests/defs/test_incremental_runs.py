"""Files arrive day by day: a province run ingests and links only what is new, and ends with a full rerun's tables."""

import shutil
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from vax_cleaning.definitions import defs
from vax_cleaning.generate import generate_landing_folder
from vax_cleaning.partitions import partition_key
from vax_cleaning.runner import run_config

pytestmark = pytest.mark.e2e

PROVINCES = ["79", "01"]
TABLES = {
    "raw_dose_exports": "source_file, source_row",
    "rejected_rows": "source_file, source_row",
    "matched_records": "source_file, source_row",
    "correction_sets": "source_file, source_row, field",
}


def rows(database: Path) -> dict[str, list[tuple]]:
    """Every table the provinces' runs write, in a fixed order."""
    with duckdb.connect(str(database), read_only=True) as conn:
        return {table: conn.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall() for table in TABLES}


def clean(province: str, config: dict, instance: dg.DagsterInstance, **linkage: object) -> dg.ExecuteInProcessResult:
    ops = {"ops": {"match_province": {"config": linkage}}} if linkage else {}
    return defs.resolve_job_def("clean_province").execute_in_process(
        partition_key=partition_key(province), instance=instance, run_config={**config, **ops}
    )


def scope(result: dg.ExecuteInProcessResult) -> dict[str, object]:
    """How much of the province the run linked (matched_records' metadata)."""
    own = [
        m
        for m in result.asset_materializations_for_node("match_province")
        if m.asset_key == dg.AssetKey("matched_records") and "linked_this_run" in m.metadata
    ]
    metadata = own[0].metadata
    return {key: metadata[key].value for key in ("linked_this_run", "linked_whole_province") if key in metadata}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two provinces' exports (field error mix: siblings, duplicates, namesakes) and their registry."""
    landing = tmp_path_factory.mktemp("incremental") / "landing"
    generate_landing_folder(landing, persons=3_000, provinces=PROVINCES, seed=11, mix="field")
    return landing


def test_files_arriving_in_batches_give_the_tables_of_a_full_rerun(generated: Path, tmp_path: Path):
    landing = tmp_path / "landing"
    shutil.copytree(generated / "registry", landing / "registry")
    files = sorted((generated / "exports").glob("*/*"))
    assert len(files) >= 6
    batches = [files[i::3] for i in range(3)]  # every day brings files of both provinces, of every period
    database, instance = tmp_path / "w.duckdb", dg.DagsterInstance.ephemeral()
    config = run_config(str(landing), str(database), run_date="2022-06-20")
    assert defs.resolve_job_def("load_registry").execute_in_process(instance=instance, run_config=config).success

    for day, batch in enumerate(batches):
        for path in batch:
            (landing / "exports" / path.parent.name).mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, landing / "exports" / path.parent.name / path.name)
        for province in PROVINCES:
            linked = scope(clean(province, config, instance))
            assert linked["linked_whole_province"] == (day == 0)  # the first run links all, later ones what is new
    with duckdb.connect(str(database), read_only=True) as conn:
        province_records = conn.execute("SELECT count(*) FROM raw_dose_exports WHERE province_code = '79'").fetchall()
    assert 0 < linked["linked_this_run"] < province_records[0][0]
    incremental = rows(database)

    for province in PROVINCES:  # the same warehouse, every record linked again
        assert scope(clean(province, config, instance, relink=True))["linked_whole_province"]
    assert rows(database) == incremental

    fresh = tmp_path / "fresh.duckdb"  # every file ingested at once reads the same records
    fresh_config = run_config(str(landing), str(fresh), run_date="2022-06-20")
    assert defs.resolve_job_def("load_registry").execute_in_process(instance=instance, run_config=fresh_config).success
    for province in PROVINCES:
        clean(province, fresh_config, instance)
    at_once = rows(fresh)
    for table in ("raw_dose_exports", "rejected_rows"):
        assert at_once[table] == incremental[table], table


def test_a_run_with_nothing_new_changes_nothing(generated: Path, tmp_path: Path):
    database, instance = tmp_path / "w.duckdb", dg.DagsterInstance.ephemeral()
    config = run_config(str(generated), str(database), run_date="2022-06-20")
    assert defs.resolve_job_def("load_registry").execute_in_process(instance=instance, run_config=config).success
    clean("79", config, instance)
    before = rows(database)
    assert scope(clean("79", config, instance)) == {"linked_this_run": 0, "linked_whole_province": False}
    assert rows(database) == before


def test_a_registry_reloaded_under_the_same_date_links_the_whole_province(generated: Path, tmp_path: Path):
    landing = tmp_path / "landing"
    shutil.copytree(generated, landing)
    database, instance = tmp_path / "w.duckdb", dg.DagsterInstance.ephemeral()
    config = run_config(str(landing), str(database), run_date="2022-06-20")
    load = defs.resolve_job_def("load_registry")
    assert load.execute_in_process(instance=instance, run_config=config).success
    clean("79", config, instance)
    snapshot = next((landing / "registry").glob("*/registry.parquet"))
    people = pl.read_parquet(snapshot)
    people.with_columns(address=pl.col("address") + " (sửa)").write_parquet(snapshot)  # the same folder, corrected
    assert load.execute_in_process(instance=instance, run_config=config).success
    assert scope(clean("79", config, instance))["linked_whole_province"]
