"""Time a UI-style asset backfill of the province assets over N province partitions under `dagster dev`.

    .venv/bin/python bench/backfill.py --partitions 63 --workdir /tmp/backfill63

Generates small provinces (100 people each) the first time, starts `dagster dev` on them (the project's
dagster_home/dagster.yaml settings), stops the sensors, loads the registry, launches one partition backfill of
the seven `clean_province` assets (what "Materialize" over a partition range does) and prints the wall time
and each run's duration, as JSON.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from dagster_graphql import DagsterGraphQLClient

from vax_cleaning.generate import generate_landing_folder
from vax_cleaning.partitions import partition_key
from vax_cleaning.reference import province_names
from vax_cleaning_tests.ui_support import dagster_dev, graphql, wait_for_code_location, wait_for_run

PROVINCE_ASSETS = ["raw_dose_exports", "rejected_rows", "export_files", "review_decisions", "matched_records",
                   "correction_sets", "province_progress"]  # fmt: skip
REPOSITORY = {"repositoryLocationName": "vax_cleaning", "repositoryName": "__repository__"}
STOP_SENSORS = "mutation($i: String) { stopSensor(id: $i) { __typename } }"
SENSORS = """query($r: RepositorySelector!) { sensorsOrError(repositorySelector: $r) {
    ... on Sensors { results { name sensorState { id } } } } }"""
LAUNCH = """mutation($p: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $p) {
    __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }"""
STATUS = """query($b: String!) { partitionBackfillOrError(backfillId: $b) {
    ... on PartitionBackfill { status runs { id status startTime endTime } } } }"""


def main() -> None:
    """Generate (once), start dagster dev, backfill, print the timings."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--partitions", type=int, default=10)
    parser.add_argument("--workdir", type=Path, required=True)
    args = parser.parse_args()
    codes = sorted(province_names())[: args.partitions]
    landing = args.workdir / "landing"
    if not landing.exists():
        generate_landing_folder(landing, persons=100 * len(codes), provinces=codes, seed=5)
    deadline = time.monotonic() + 3000
    with dagster_dev(args.workdir, landing, args.workdir / "warehouse.duckdb", deadline) as dev:
        wait_for_code_location(dev.url, "vax_cleaning", deadline)
        for sensor in graphql(dev.url, SENSORS, {"r": REPOSITORY})["sensorsOrError"]["results"]:
            graphql(dev.url, STOP_SENSORS, {"i": sensor["sensorState"]["id"]})
        client = DagsterGraphQLClient("127.0.0.1", port_number=dev.port, timeout=60)
        wait_for_run(client, client.submit_job_execution("load_registry"), deadline)
        started = time.monotonic()
        selection = {"assetSelection": [{"path": [a]} for a in PROVINCE_ASSETS]}
        params = {**selection, "partitionNames": [partition_key(code) for code in codes]}
        backfill = graphql(dev.url, LAUNCH, {"p": params})["launchPartitionBackfill"]["backfillId"]
        while time.monotonic() < deadline:
            state = graphql(dev.url, STATUS, {"b": backfill})["partitionBackfillOrError"]
            if state["status"] != "REQUESTED":
                break
            time.sleep(1)
        runs = state["runs"]
        durations = sorted(round(r["endTime"] - r["startTime"], 1) for r in runs if r["endTime"] and r["startTime"])
        print(json.dumps({"partitions": len(codes), "status": state["status"],
                          "wall_s": round(time.monotonic() - started, 1), "runs": len(runs),
                          "run_durations_s": durations}))  # fmt: skip


if __name__ == "__main__":
    main()
