"""The linkage assets through real Dagster runs."""

from pathlib import Path

import dagster as dg

from vax_cleaning.definitions import defs
from vax_cleaning.partitions import partition_key
from vax_cleaning.runner import run_config
from vax_cleaning_tests.conftest import small_landing


def test_province_without_a_loaded_registry_fails_at_once_with_the_fix(landing: Path, tmp_path: Path):
    small_landing(landing)
    result = defs.resolve_job_def("clean_province").execute_in_process(
        partition_key=partition_key("79"), instance=dg.DagsterInstance.ephemeral(), raise_on_error=False,
        run_config=run_config(str(landing), str(tmp_path / "w.duckdb")),
    )
    assert not result.success
    failures = [event for event in result.all_events if event.is_step_failure]
    assert [event.step_key for event in failures] == ["match_province"]  # no retries: the registry will not appear by itself
    assert "materialize registry_snapshot" in str(failures[0].event_specific_data.error)
