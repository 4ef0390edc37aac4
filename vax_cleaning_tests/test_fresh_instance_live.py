"""`dagster dev` on a fresh instance: the sensors alone load the registry and clean each province exactly once, and
a folder that is no province is named as soon as it lands (the landing sensor's tick and a failed check).

The unit tests (defs/operations/test_fresh_instance.py) evaluate the sensors by hand; this one lets the real daemon
evaluate them, in its own order and timing, and counts the runs it launched.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from vax_cleaning.generate import generate_landing_folder
from vax_cleaning.partitions import partition_key
from vax_cleaning_tests.ui_support import dagster_dev, graphql, wait_for_code_location

pytestmark = pytest.mark.e2e

PROVINCES = ["01", "79"]
BUDGET_SECONDS = 300
QUIET_SECONDS = 45
"""After the last province run ends, long enough for every sensor to evaluate again (landing sensor: every 30 s)."""

RUNS_QUERY = """
query {
  runsOrError(filter: {pipelineName: "clean_province"}) {
    ... on Runs { results { runId status tags { key value } } }
  }
}
"""
FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}

TICKS_QUERY = """
query {
  sensorOrError(sensorSelector: {repositoryLocationName: "vax_cleaning", repositoryName: "__repository__",
                                 sensorName: "new_export_files"}) {
    ... on Sensor { sensorState { ticks(limit: 50) { status skipReason timestamp } } }
  }
}
"""
CHECK_QUERY = """
query {
  assetCheckExecutions(assetKey: {path: ["raw_dose_exports"]}, checkName: "known_province_folders", limit: 20) {
    runId timestamp evaluation { success description }
  }
}
"""


def province_runs(url: str) -> list[dict]:
    """Every clean_province run of the instance: partition, status and what launched it."""
    runs = graphql(url, RUNS_QUERY)["runsOrError"]["results"]
    return [
        {"status": run["status"], **{tag["key"]: tag["value"] for tag in run["tags"]}, "run_id": run["runId"]}
        for run in runs
    ]


def test_a_fresh_instance_cleans_each_province_once(tmp_path: Path):
    deadline = time.monotonic() + BUDGET_SECONDS
    landing = tmp_path / "landing"
    generate_landing_folder(landing, persons=200, provinces=PROVINCES, seed=7)
    stray = landing / "exports" / "7x"  # a typo in a province folder's name: nothing of it can be ingested
    stray.mkdir()
    (stray / "site1.csv").write_text("Họ và tên,Ngày sinh\n", encoding="utf-8")
    expected = sorted(partition_key(code) for code in PROVINCES)

    with dagster_dev(tmp_path, landing, tmp_path / "warehouse.duckdb", deadline) as dev:
        wait_for_code_location(dev.url, "vax_cleaning", deadline)
        settled_since = None
        while time.monotonic() < deadline:
            runs = province_runs(dev.url)
            done = sorted({run.get("dagster/partition") for run in runs}) == expected and all(
                run["status"] in FINISHED for run in runs
            )
            settled_since = (settled_since or time.monotonic()) if done else None
            if settled_since and time.monotonic() - settled_since > QUIET_SECONDS:
                break
            time.sleep(2)
        else:
            pytest.fail(f"the sensors did not clean {expected} within {BUDGET_SECONDS} s: {runs}\n{dev.log_tail()}")
        ticks = graphql(dev.url, TICKS_QUERY)["sensorOrError"]["sensorState"]["ticks"]
        checks = graphql(dev.url, CHECK_QUERY)["assetCheckExecutions"]

    # Named at the landing sensor's first tick, before any province ran: in the tick and as a failed check.
    first_tick = min(ticks, key=lambda tick: tick["timestamp"])
    assert "exports/7x/" in (first_tick["skipReason"] or ""), ticks
    from_sensor = [c for c in checks if not c["runId"] and not c["evaluation"]["success"]]
    assert from_sensor and "exports/7x/" in from_sensor[0]["evaluation"]["description"], checks

    per_partition = {key: [r for r in runs if r.get("dagster/partition") == key] for key in expected}
    summary = {key: [(r["vax/trigger"], r["status"]) for r in found] for key, found in per_partition.items()}
    assert all(len(found) == 1 for found in per_partition.values()), f"runs per province: {summary}"
    assert all(found[0]["status"] == "SUCCESS" for found in per_partition.values()), summary
