"""The linkage assets through real Dagster runs."""

from pathlib import Path

import dagster as dg
import duckdb
import pytest

from vax_cleaning.definitions import defs
from vax_cleaning.defs.linkage import assets as linkage_assets
from vax_cleaning.defs.linkage.config import LinkageConfig
from vax_cleaning.linkage.compare import NameLevel
from vax_cleaning.linkage.settings import DEFAULT_SETTINGS, OPERATOR_SETTINGS
from vax_cleaning.partitions import partition_key
from vax_cleaning.runner import run_config
from vax_cleaning_tests.conftest import GOOD, HEADER_VI, small_landing, write_export


def test_province_without_a_loaded_registry_fails_at_once_with_the_fix(landing: Path, tmp_path: Path):
    small_landing(landing)
    result = defs.resolve_job_def("clean_province").execute_in_process(
        partition_key=partition_key("79"),
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
        run_config=run_config(str(landing), str(tmp_path / "w.duckdb")),
    )
    assert not result.success
    failures = [event for event in result.all_events if event.is_step_failure]
    assert [event.step_key for event in failures] == [
        "match_province"
    ]  # no retries: the registry will not appear by itself
    assert "materialize registry_snapshot" in str(failures[0].event_specific_data.error)


def test_operator_config_covers_exactly_the_operator_settings_with_the_project_defaults():
    config = LinkageConfig()
    assert set(LinkageConfig.model_fields) == {*OPERATOR_SETTINGS, "relink"}  # and how much of the province to link
    assert config.settings() == DEFAULT_SETTINGS


def test_a_linkage_run_records_the_settings_it_used(landing: Path, tmp_path: Path):
    small_landing(landing)
    config = run_config(str(landing), str(tmp_path / "w.duckdb"), run_date="2022-06-20")
    registry = defs.resolve_job_def("load_registry").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), run_config=config
    )
    assert registry.success
    config["ops"] = {"match_province": {"config": {"max_absent_risk": 0.00005}}}
    result = defs.resolve_job_def("clean_province").execute_in_process(
        partition_key=partition_key("79"),
        instance=dg.DagsterInstance.ephemeral(),
        run_config=config,
    )
    recorded = next(
        m.metadata["linkage_settings"].data
        for m in result.asset_materializations_for_node("match_province")
        if m.asset_key == dg.AssetKey("matched_records")
    )
    assert (
        recorded["max_absent_risk"] == 0.00005
        and recorded["name_weight.exact"] == DEFAULT_SETTINGS.name_weights[NameLevel.EXACT]
    )


def test_a_setting_out_of_range_fails_at_once_naming_it(landing: Path, tmp_path: Path):
    small_landing(landing)
    config = run_config(str(landing), str(tmp_path / "w.duckdb"), run_date="2022-06-20")
    defs.resolve_job_def("load_registry").execute_in_process(instance=dg.DagsterInstance.ephemeral(), run_config=config)
    config["ops"] = {"match_province": {"config": {"min_auto_score": 7.0}}}
    result = defs.resolve_job_def("clean_province").execute_in_process(
        partition_key=partition_key("79"),
        instance=dg.DagsterInstance.ephemeral(),
        run_config=config,
        raise_on_error=False,
    )
    failures = [event for event in result.all_events if event.is_step_failure]
    assert [event.step_key for event in failures] == ["match_province"]
    assert "min_auto_score" in str(failures[0].event_specific_data.error)


def test_superseding_another_provinces_record_shows_on_that_provinces_partition(landing: Path, tmp_path: Path):
    """Hùng's dose was uploaded by a site in 79 and again in 01: the 01 copy is kept, 79's becomes a duplicate."""
    small_landing(landing)
    write_export(landing, "01", "site1.csv", [HEADER_VI, GOOD])  # the same dose as 79/site1.csv row 1
    instance = dg.DagsterInstance.ephemeral()
    config = run_config(str(landing), str(tmp_path / "w.duckdb"), run_date="2022-06-20")
    defs.resolve_job_def("load_registry").execute_in_process(instance=instance, run_config=config)
    clean = defs.resolve_job_def("clean_province")
    for code in ("79", "01"):  # 79 first: its copy is linked until 01's run finds the kept copy
        assert clean.execute_in_process(partition_key=partition_key(code), instance=instance, run_config=config).success
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("matched_records"), asset_partitions=[partition_key("79")]), limit=1
    ).records
    assert records[0].asset_materialization.metadata["superseded_by_province"].value == "01"
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as conn:
        assert conn.execute("SELECT match_status FROM matched_records WHERE province_code = '79'").fetchall() == [
            ("duplicate",)
        ]


UNACCENTED = GOOD.replace("Nguyễn Văn Hùng", "Nguyen Van Hung")
"""Hùng's dose as a site without Vietnamese keyboard typed it: linked by ID, name corrected automatically."""

STATUS_COUNTS = """
    SELECT count(*) FILTER (WHERE match_status = 'verified'), count(*) FILTER (WHERE match_status = 'corrected'),
           count(*) FILTER (WHERE match_status = 'duplicate'), count(*) FILTER (WHERE match_status = 'review'),
           count(*) FILTER (WHERE match_status = 'unmatched')
    FROM matched_records WHERE province_code = '79'"""
LATEST_79 = """
    SELECT verified, corrected, duplicate, review, unmatched FROM province_progress
    WHERE province_code = '79' ORDER BY as_of DESC LIMIT 1"""


def shared_dose_landing(landing: Path) -> dg.DagsterInstance:
    """79 holds a corrected copy of the dose that 01 also uploaded (01's copy is the one kept); registry loaded."""
    small_landing(landing)
    write_export(landing, "79", "site1.csv", [HEADER_VI, UNACCENTED])
    write_export(landing, "01", "site1.csv", [HEADER_VI, GOOD])
    instance = dg.DagsterInstance.ephemeral()
    config = run_config(str(landing), str(landing / "w.duckdb"), run_date="2022-06-20")
    assert defs.resolve_job_def("load_registry").execute_in_process(instance=instance, run_config=config).success
    return instance


def clean(landing: Path, instance: dg.DagsterInstance, code: str) -> dg.ExecuteInProcessResult:
    config = run_config(str(landing), str(landing / "w.duckdb"), run_date="2022-06-20")
    return defs.resolve_job_def("clean_province").execute_in_process(
        partition_key=partition_key(code), instance=instance, run_config=config, raise_on_error=False
    )


def test_a_province_whose_copies_another_run_superseded_gets_a_fresh_progress_point(landing: Path):
    """Issue 13.9: after 79 then 01, 79's latest progress point says what matched_records says (not stale)."""
    instance = shared_dose_landing(landing)
    assert clean(landing, instance, "79").success
    with duckdb.connect(str(landing / "w.duckdb"), read_only=True) as conn:
        assert conn.execute(LATEST_79).fetchall() == [(0, 1, 0, 0, 0)]  # corrected, before 01 ran
    assert clean(landing, instance, "01").success
    with duckdb.connect(str(landing / "w.duckdb"), read_only=True) as conn:
        assert conn.execute(LATEST_79).fetchall() == conn.execute(STATUS_COUNTS).fetchall() == [(0, 0, 1, 0, 0)]
        assert conn.execute("SELECT count(*) FROM correction_sets WHERE province_code = '79'").fetchall() == [(0,)]
        assert conn.execute("SELECT count(*) FROM province_progress WHERE province_code = '79'").fetchall() == [(2,)]
    progress_events = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("province_progress"), asset_partitions=[partition_key("79")]),
        limit=1,
    ).records
    assert progress_events[0].asset_materialization.metadata["superseded_by_province"].value == "01"


def test_a_failure_after_the_supersessions_first_statement_leaves_every_table_as_it_was(
    landing: Path, monkeypatch: pytest.MonkeyPatch
):
    """A disk that fills up half-way through 01's writes: nothing of them lands (79 keeps no half-superseded
    record with an `auto` correction on a duplicate), and the rerun then does all of it."""
    instance = shared_dose_landing(landing)
    assert clean(landing, instance, "79").success
    tables = {
        "matched_records": "SELECT province_code, source_file, source_row, match_status, rule FROM matched_records",
        "correction_sets": "SELECT source_file, source_row, field, action FROM correction_sets",
        "province_progress": "SELECT * FROM province_progress",
    }

    def contents() -> dict[str, list]:
        with duckdb.connect(str(landing / "w.duckdb"), read_only=True) as conn:
            return {table: sorted(conn.execute(sql).fetchall(), key=str) for table, sql in tables.items()}

    before = contents()
    assert before["correction_sets"]  # 79's automatic correction is there to lose
    first, *rest = linkage_assets.SUPERSEDE_STATEMENTS
    killed = ("SELECT error('IO Error: No space left on device')", [])
    monkeypatch.setattr(linkage_assets, "SUPERSEDE_STATEMENTS", (first, killed, *rest))
    result = clean(landing, instance, "01")
    assert not result.success
    failures = [event for event in result.all_events if event.is_step_failure]
    assert [event.step_key for event in failures] == ["match_province"]
    assert contents() == before
    monkeypatch.setattr(linkage_assets, "SUPERSEDE_STATEMENTS", (first, *rest))
    assert clean(landing, instance, "01").success
    with duckdb.connect(str(landing / "w.duckdb"), read_only=True) as conn:
        assert conn.execute(LATEST_79).fetchall() == conn.execute(STATUS_COUNTS).fetchall() == [(0, 0, 1, 0, 0)]
        assert conn.execute("SELECT count(*) FROM correction_sets WHERE province_code = '79'").fetchall() == [(0,)]
