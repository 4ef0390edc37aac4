"""Many provinces in one run (what a backfill of the province partitions does, without a process per province)."""

from pathlib import Path

import dagster as dg
import duckdb

from vax_cleaning.definitions import defs
from vax_cleaning.runner import run_config
from vax_cleaning_tests.conftest import small_landing


def test_one_run_cleans_every_province_each_as_its_own_partition_run(landing: Path, tmp_path: Path):
    small_landing(landing)
    database = tmp_path / "w.duckdb"
    config = run_config(str(landing), str(database), "2022-06-20")
    with dg.instance_for_test() as instance:
        assert defs.resolve_job_def("load_registry").execute_in_process(instance=instance, run_config=config).success
        result = defs.resolve_job_def("clean_provinces").execute_in_process(
            instance=instance, run_config={**config, "ops": {"clean_each_province": {"config": {"provinces": []}}}}
        )
        assert result.success
        runs = instance.get_runs(dg.RunsFilter(job_name="clean_province"))
        assert sorted(run.tags["vax/province"] for run in runs) == ["01", "79"]
        assert all(run.status == dg.DagsterRunStatus.SUCCESS for run in runs)
        materialized = instance.get_materialized_partitions(dg.AssetKey("province_progress"))
        assert {key[:2] for key in materialized} == {"01", "79"}
    with duckdb.connect(str(database), read_only=True) as conn:
        provinces = conn.execute("SELECT DISTINCT province_code FROM matched_records ORDER BY 1").fetchall()
    assert provinces == [("01",), ("79",)]


def test_an_unknown_province_fails_at_once_with_the_fix(landing: Path, tmp_path: Path):
    small_landing(landing)
    config = run_config(str(landing), str(tmp_path / "w.duckdb"), "2022-06-20")
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("clean_provinces").execute_in_process(
            instance=instance,
            run_config={**config, "ops": {"clean_each_province": {"config": {"provinces": ["99"]}}}},
            raise_on_error=False,
        )
    assert not result.success
    failure = result.failure_data_for_node("clean_each_province")
    assert "not province codes: ['99']" in failure.user_failure_data.description
