"""A fresh instance cleans each province once; landed files that will not be ingested are named when they land.

The sensors are evaluated the way the daemon does it, one after the other, and the runs they request are created in
the instance as the daemon would, so that the next sensor sees them.
"""

from pathlib import Path

import dagster as dg
import pytest

from vax_cleaning.definitions import defs
from vax_cleaning.defs.operations.sensors import new_export_files, rematch_after_registry
from vax_cleaning.resources import LandingFolder
from vax_cleaning_tests.conftest import GOOD, HEADER_VI, small_landing, write_export

CONFIG_LOG = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def load_registry(instance: dg.DagsterInstance, landing: Path, tmp_path: Path) -> dg.DagsterRun:
    """A registry load that has just succeeded (what new_registry_snapshot launches)."""
    config = {
        **CONFIG_LOG,
        "resources": {
            "landing": {"config": {"data_dir": str(landing)}},
            "duckdb": {"config": {"database": str(tmp_path / "w.duckdb")}},
        },
    }
    result = defs.resolve_job_def("load_registry").execute_in_process(instance=instance, run_config=config)
    assert result.success
    return result.dagster_run


def landing_sensor(instance: dg.DagsterInstance, landing: Path) -> list[dg.RunRequest]:
    context = dg.build_sensor_context(instance=instance, resources={"landing": LandingFolder(data_dir=str(landing))})
    return list(new_export_files(context).run_requests or [])


def rematch_sensor(instance: dg.DagsterInstance, landing: Path, load: dg.DagsterRun) -> list[dg.RunRequest]:
    context = dg.build_run_status_sensor_context(
        sensor_name="rematch_after_registry",
        dagster_instance=instance,
        dagster_run=load,
        dagster_event=dg.DagsterEvent(event_type_value="PIPELINE_SUCCESS", job_name="load_registry"),
        resources={"landing": LandingFolder(data_dir=str(landing))},
    )
    result = rematch_after_registry(context)
    return [] if isinstance(result, dg.SkipReason) else list(result)


def launch(instance: dg.DagsterInstance, requests: list[dg.RunRequest]) -> None:
    """What the daemon does with a sensor's requests: a clean_province run each, with the request's tags (not yet
    started: a queued run would need the code server's origin, and a run waiting to start counts the same)."""
    job = defs.resolve_job_def("clean_province")
    for request in requests:
        instance.create_run_for_job(
            job_def=job,
            tags={**request.tags, "dagster/partition": request.partition_key},
            status=dg.DagsterRunStatus.NOT_STARTED,
        )


def runs_per_province(instance: dg.DagsterInstance) -> dict[str, int]:
    counted: dict[str, int] = {}
    for run in instance.get_runs(dg.RunsFilter(job_name="clean_province")):
        counted[run.tags["dagster/partition"]] = counted.get(run.tags["dagster/partition"], 0) + 1
    return counted


ONCE_EACH = {"01 Hà Nội": 1, "79 Thành phố Hồ Chí Minh": 1}


@pytest.mark.parametrize("landing_sensor_first", [True, False], ids=["landing-sensor-first", "rematch-first"])
def test_a_fresh_instance_cleans_each_province_once(landing: Path, tmp_path: Path, landing_sensor_first: bool):
    small_landing(landing)
    instance = dg.DagsterInstance.ephemeral()
    assert landing_sensor(instance, landing) == []  # nothing before the first registry load
    load = load_registry(instance, landing, tmp_path)
    if landing_sensor_first:
        launch(instance, landing_sensor(instance, landing))
        launch(instance, rematch_sensor(instance, landing, load))
    else:
        launch(instance, rematch_sensor(instance, landing, load))
        launch(instance, landing_sensor(instance, landing))
    assert runs_per_province(instance) == ONCE_EACH
    assert landing_sensor(instance, landing) == []  # later evaluations: nothing new

    write_export(landing, "79", "site2.csv", [HEADER_VI, GOOD.replace("15/08/2021", "17/08/2021")])  # a new file
    assert [r.partition_key for r in landing_sensor(instance, landing)] == ["79 Thành phố Hồ Chí Minh"]


def test_a_registry_reload_rematches_a_province_cleaned_before_it(landing: Path, tmp_path: Path):
    small_landing(landing)
    instance = dg.DagsterInstance.ephemeral()
    load_registry(instance, landing, tmp_path)
    launch(instance, landing_sensor(instance, landing))
    reload = load_registry(instance, landing, tmp_path)  # the same landed files, a newer load: every province again
    assert sorted(r.partition_key for r in rematch_sensor(instance, landing, reload)) == sorted(ONCE_EACH)


def test_the_landing_sensor_waits_for_the_whole_registry_load(landing: Path, tmp_path: Path):
    small_landing(landing)
    instance = dg.DagsterInstance.ephemeral()
    load = load_registry(instance, landing, tmp_path)
    instance.handle_run_event(  # as if registry_features were written and the run had not yet ended
        load.run_id, dg.DagsterEvent(event_type_value="PIPELINE_START", job_name="load_registry")
    )
    assert instance.get_run_by_id(load.run_id).status == dg.DagsterRunStatus.STARTED
    context = dg.build_sensor_context(instance=instance, resources={"landing": LandingFolder(data_dir=str(landing))})
    result = new_export_files(context)
    assert not result.run_requests and "to finish" in result.skip_reason.skip_message


def evaluate(landing: Path, cursor: str | None = None) -> dg.SensorResult:
    context = dg.build_sensor_context(
        instance=dg.DagsterInstance.ephemeral(),
        cursor=cursor,
        resources={"landing": LandingFolder(data_dir=str(landing))},
    )
    return new_export_files(context)


def test_an_unknown_folder_or_an_unsupported_file_is_named_as_soon_as_it_lands(landing: Path):
    write_export(landing, "79", "site1.csv", [HEADER_VI, GOOD])
    quiet = evaluate(landing)
    assert quiet.asset_events == [] and "not ingested" not in quiet.skip_reason.skip_message

    write_export(landing, "7x", "site1.csv", [HEADER_VI, GOOD])  # a typo in the province folder
    (landing / "exports" / "79" / "site2.xls").write_bytes(b"\xd0\xcf\x11\xe0")  # an old Excel file
    result = evaluate(landing, quiet.cursor)
    message = result.skip_reason.skip_message  # what the sensor's tick says in the UI
    assert "exports/7x/" in message and "exports/79/site2.xls" in message and "save it as .xlsx" in message
    folders, files = result.asset_events
    assert (folders.check_name, folders.passed, folders.partition) == ("known_province_folders", False, None)
    assert "exports/7x/" in folders.description
    assert (files.check_name, files.passed, files.partition) == (
        "every_landed_file_ingested",
        False,
        "79 Thành phố Hồ Chí Minh",
    )
    assert files.metadata["not_ingested"].value == [
        "exports/79/site2.xls: old Excel format .xls: not read; save it as .xlsx or .csv"
    ]
    instance = dg.DagsterInstance.ephemeral()
    for event in result.asset_events:  # what the daemon does with them: accepted as they are
        instance.report_runless_asset_event(event)

    again = evaluate(landing, result.cursor)
    assert again.asset_events == [] and "exports/7x/" in again.skip_reason.skip_message  # named once, still listed

    (landing / "exports" / "7x" / "site1.csv").rename(landing / "exports" / "79" / "site3.csv")  # put right
    (landing / "exports" / "7x").rmdir()
    fixed = evaluate(landing, again.cursor)
    assert [(e.check_name, e.passed) for e in fixed.asset_events] == [("known_province_folders", True)]
