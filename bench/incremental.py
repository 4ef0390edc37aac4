"""Incremental province runs: one new export file lands on a province already holding millions of records.

    .venv/bin/python bench/incremental.py --doses 10000000 [--new-records 5000] [--province 79]

Uses throughput.py's generated landing folder (same cache). One export file of the province, the one whose
record count is nearest `--new-records`, is held back; the pipeline runs on the rest (registry and the province,
on a fresh DuckDB file); then the file lands and the province run (the clean_province job: ingest, review
decisions, linkage, progress) is timed. Last, the province is linked again whole (config relink: true) and its
matched_records and correction_sets are compared row for row with what the incremental run left.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg
import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import CACHE, landing_for, peak_rss_gb

from vax_cleaning.definitions import defs
from vax_cleaning.partitions import partition_key
from vax_cleaning.runner import run_config, run_provinces

COMPARED = ("matched_records", "correction_sets")


def linked_copy(source: Path, target: Path, held_back: Path) -> None:
    """The landing folder as hard links (no copy of gigabytes), without the held-back file."""
    for path in source.rglob("*"):
        if path.is_file() and path != held_back:
            (target / path.relative_to(source)).parent.mkdir(parents=True, exist_ok=True)
            os.link(path, target / path.relative_to(source))


def nearest_file(exports: Path, records: int) -> Path:
    """The CSV export whose line count is nearest `records`."""
    counts = {path: sum(1 for _ in path.open("rb")) - 1 for path in sorted(exports.glob("*.csv"))}
    return min(counts, key=lambda path: abs(counts[path] - records))


def clean(province: str, config: dict, instance: dg.DagsterInstance, **linkage: object) -> tuple[float, dict]:
    """(wall seconds, seconds per step) of one clean_province run."""
    ops = {"ops": {"match_province": {"config": linkage}}} if linkage else {}
    started = time.perf_counter()
    result = defs.resolve_job_def("clean_province").execute_in_process(
        partition_key=partition_key(province), instance=instance, run_config={**config, **ops}
    )
    wall = time.perf_counter() - started
    steps = {s.step_key: s.end_time - s.start_time for s in instance.get_run_step_stats(result.run_id) if s.end_time}
    return wall, steps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--doses", type=int, default=10_000_000)
    parser.add_argument("--new-records", type=int, default=5_000)
    parser.add_argument("--province", default="79")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    source = landing_for(args.doses, args.seed)
    held_back = nearest_file(source / "exports" / args.province, args.new_records)
    with tempfile.TemporaryDirectory(dir=CACHE) as work:
        landing, database = Path(work) / "landing", Path(work) / "w.duckdb"
        linked_copy(source, landing, held_back)
        instance = dg.DagsterInstance.ephemeral()
        started = time.perf_counter()
        outcome = run_provinces(
            [args.province], instance=instance, data_dir=str(landing), duckdb_path=str(database), run_date="2022-06-20"
        )
        if not outcome.succeeded:
            raise SystemExit(f"first run failed: {outcome}")
        print(f"first run (registry and province {args.province}, whole): {time.perf_counter() - started:.1f} s")
        config = run_config(str(landing), str(database), run_date="2022-06-20")
        shutil.copy2(held_back, landing / "exports" / args.province / held_back.name)
        wall, steps = clean(args.province, config, instance)
        with duckdb.connect(str(database)) as conn:
            records, new = conn.execute(
                "SELECT count(*), count(*) FILTER (source_file = ?) FROM raw_dose_exports WHERE province_code = ?",
                [f"{args.province}/{held_back.name}", args.province],
            ).fetchall()[0]
            for table in COMPARED:
                conn.execute(f"CREATE TABLE _incremental_{table} AS SELECT * FROM {table}")
        print(f"\n== one new file of {new:,} records on province {args.province}, now {records:,} records ==")
        for step, seconds in sorted(steps.items()):
            print(f"  {step:<28}{seconds:>8.2f} s")
        print(f"  {'province run (wall)':<28}{wall:>8.2f} s   target <= 20 s")
        relink_wall, _ = clean(args.province, config, instance, relink=True)
        print(f"  {'the same, linked whole':<28}{relink_wall:>8.2f} s")
        with duckdb.connect(str(database), read_only=True) as conn:
            for table in COMPARED:
                differing = conn.execute(
                    f"""SELECT (SELECT count(*) FROM (SELECT * FROM {table} EXCEPT ALL SELECT * FROM _incremental_{table}))
                             + (SELECT count(*) FROM (SELECT * FROM _incremental_{table} EXCEPT ALL SELECT * FROM {table}))"""
                ).fetchall()[0][0]
                print(f"  {table}: {differing} rows differ between the incremental run and linking whole")
        print(f"  peak RSS: {peak_rss_gb():.2f} GB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
