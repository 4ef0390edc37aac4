"""Schedules and sensors, with Dagster's testing tools: new files mean exactly one run for their province."""

from datetime import datetime
from pathlib import Path

import dagster as dg

from vax_cleaning.defs.operations.schedules import nightly_provinces
from vax_cleaning.defs.operations.sensors import new_export_files, new_registry_snapshot, rematch_after_registry
from vax_cleaning.resources import LandingFolder
from vax_cleaning_tests.conftest import HEADER_VI, write_export

ROW = "Trần Thị Mai,01/02/1990,Nữ,001190000001,,,AZ,1,15/08/2021,,Trạm Y tế"


def sensor_requests(landing: Path, instance: dg.DagsterInstance) -> dict[str, str]:
    """{run_key: partition_key} of one evaluation of the landing-folder sensor."""
    context = dg.build_sensor_context(instance=instance, resources={"landing": LandingFolder(data_dir=str(landing))})
    return {request.run_key: request.partition_key for request in new_export_files(context).run_requests}


def registry_loaded(instance: dg.DagsterInstance) -> dg.DagsterInstance:
    instance.report_runless_asset_event(dg.AssetMaterialization("registry_features"))
    return instance


def test_new_file_triggers_exactly_one_run_for_its_province(landing: Path):
    instance = registry_loaded(dg.DagsterInstance.ephemeral())
    write_export(landing, "79", "site1.csv", [HEADER_VI, ROW])
    write_export(landing, "01", "site1.csv", [HEADER_VI, ROW])
    first = sensor_requests(landing, instance)
    assert sorted(first.values()) == ["01 Hà Nội", "79 Thành phố Hồ Chí Minh"]
    assert sensor_requests(landing, instance) == first  # nothing new: same run keys, deduplicated by Dagster

    write_export(landing, "79", "site2.csv", [HEADER_VI, ROW])
    new = {key: partition for key, partition in sensor_requests(landing, instance).items() if key not in first}
    assert list(new.values()) == ["79 Thành phố Hồ Chí Minh"]


def test_a_returned_decision_file_triggers_one_run_for_its_province(landing: Path):
    instance = registry_loaded(dg.DagsterInstance.ephemeral())
    write_export(landing, "79", "site1.csv", [HEADER_VI, ROW])
    write_export(landing, "01", "site1.csv", [HEADER_VI, ROW])
    first = sensor_requests(landing, instance)
    (landing / "reviews" / "79").mkdir(parents=True)
    (landing / "reviews" / "79" / "79_ra_soat_tra_ve.xlsx").write_bytes(b"")  # the officer drops the filled workbook
    new = {key: partition for key, partition in sensor_requests(landing, instance).items() if key not in first}
    assert list(new.values()) == ["79 Thành phố Hồ Chí Minh"]


def test_export_sensor_waits_for_the_first_registry_load(landing: Path):
    write_export(landing, "79", "site1.csv", [HEADER_VI, ROW])
    context = dg.build_sensor_context(
        instance=dg.DagsterInstance.ephemeral(), resources={"landing": LandingFolder(data_dir=str(landing))}
    )
    result = new_export_files(context)
    assert not result.run_requests and "waiting for the first registry load" in result.skip_reason.skip_message


def test_new_registry_snapshot_is_loaded_once(landing: Path):
    (landing / "registry" / "2022-06-15").mkdir()
    (landing / "registry" / "2022-06-15" / "registry.csv").write_text("person_id\n")
    context = dg.build_sensor_context(resources={"landing": LandingFolder(data_dir=str(landing))})
    assert new_registry_snapshot(context).run_key == "registry:2022-06-15"


def test_nightly_schedule_requests_every_province_with_exports(landing: Path):
    write_export(landing, "48", "site1.csv", [HEADER_VI, ROW])
    write_export(landing, "79", "site1.csv", [HEADER_VI, ROW])
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2022, 6, 20, 1, 0),
        resources={"landing": LandingFolder(data_dir=str(landing))},
    )
    requests = list(nightly_provinces(context))
    assert [r.partition_key for r in requests] == ["48 Đà Nẵng", "79 Thành phố Hồ Chí Minh"]
    assert nightly_provinces.default_status == dg.DefaultScheduleStatus.STOPPED


def test_registry_reload_rematches_every_province(landing: Path):
    write_export(landing, "01", "site1.csv", [HEADER_VI, ROW])
    write_export(landing, "79", "site1.csv", [HEADER_VI, ROW])
    instance = dg.DagsterInstance.ephemeral()
    context = dg.build_run_status_sensor_context(
        sensor_name="rematch_after_registry",
        dagster_instance=instance,
        dagster_run=dg.DagsterRun(job_name="load_registry", run_id="r1"),
        dagster_event=dg.DagsterEvent(event_type_value="PIPELINE_SUCCESS", job_name="load_registry"),
        resources={"landing": LandingFolder(data_dir=str(landing))},
    )
    requests = rematch_after_registry(context)
    assert [r.partition_key for r in requests] == ["01 Hà Nội", "79 Thành phố Hồ Chí Minh"]
