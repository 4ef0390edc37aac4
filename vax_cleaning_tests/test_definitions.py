"""The code location loads, and its asset keys, jobs and schedules are what operators expect."""

import subprocess
import sys
from pathlib import Path

import dagster as dg

from vax_cleaning.definitions import defs
from vax_cleaning.partitions import province_partitions

ROOT = Path(__file__).resolve().parent.parent


def test_definitions_validate_with_the_dagster_cli():
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_asset_keys_and_jobs_snapshot():
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"raw_dose_exports", "registry_snapshot"} <= keys
    assert {"load_registry", "clean_province"} <= {job.name for job in defs.resolve_all_job_defs()}


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
