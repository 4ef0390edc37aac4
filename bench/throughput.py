"""Throughput of the whole pipeline against DuckDB's bare scan-and-join on the same files.

    .venv/bin/python bench/throughput.py --doses 1000000 [--doses 10000000] [--repeat 3] [--registry-persons N]

For each size: generates (or reuses, cached by parameters under bench/.cache/) a landing
folder with the project's generator -- about doses/2.2 vaccinated people over a few provinces
and a national registry -- then runs the full pipeline through the same code path as
`vax-cleaning run` (DuckDB on disk), and, in the same process, the bare baseline: DuckDB reads
the export CSVs and the registry and writes their hash join on the ID column to a table.
Prints wall time per asset, records/s end to end, peak RSS, pipeline/baseline and scaling ratios.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg
import duckdb

from vax_cleaning.generate import generate_landing_folder
from vax_cleaning.runner import run_provinces

CACHE = Path(os.environ.get("VAX_BENCH_CACHE") or Path(__file__).resolve().parent / ".cache")
"""Generated landing folders, reused across runs (VAX_BENCH_CACHE overrides, e.g. for the smoke test)."""
PROVINCES = ["01", "79", "48"]
DOSES_PER_PERSON = 2.27
"""Measured ratio of dose records to vaccinated persons in generated data."""


def landing_for(doses: int, seed: int, registry_persons: int | None = None) -> Path:
    """Generated once per (size, seed, registry size), reused afterwards."""
    padded = f"-r{registry_persons}" if registry_persons else ""
    landing = CACHE / f"throughput-{doses}-s{seed}{padded}"
    if not (landing / "ground_truth").exists():
        started = time.perf_counter()
        summary = generate_landing_folder(
            landing,
            persons=int(doses / DOSES_PER_PERSON),
            provinces=PROVINCES,
            seed=seed,
            overwrite=True,
            registry_persons=registry_persons,
        )
        print(
            f"generated {summary.dose_records:,} records and a registry of {summary.registry_persons:,} people "
            f"in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
    return landing


def step_seconds(instance: dg.DagsterInstance) -> dict[str, float]:
    """Wall time per asset step, summed over the runs in the instance."""
    totals: dict[str, float] = {}
    for run in instance.get_runs():
        for stats in instance.get_run_step_stats(run.run_id):
            if stats.start_time and stats.end_time:
                totals[stats.step_key] = totals.get(stats.step_key, 0.0) + stats.end_time - stats.start_time
    return totals


def run_pipeline(landing: Path, workdir: Path) -> tuple[float, dict[str, float], int]:
    """(wall seconds, per-step seconds, records) for one full run on a fresh DuckDB file."""
    database = workdir / "pipeline.duckdb"
    database.unlink(missing_ok=True)
    instance = dg.DagsterInstance.ephemeral()
    started = time.perf_counter()
    outcome = run_provinces(
        PROVINCES, instance=instance, data_dir=str(landing), duckdb_path=str(database), run_date="2022-06-20"
    )
    wall = time.perf_counter() - started
    if not outcome.succeeded:
        raise SystemExit(f"pipeline failed: {outcome}")
    with duckdb.connect(str(database), read_only=True) as conn:
        records = conn.execute(
            "SELECT (SELECT count(*) FROM matched_records) + (SELECT count(*) FROM rejected_rows)"
        ).fetchall()[0][0]
    return wall, step_seconds(instance), records


def run_baseline(landing: Path, workdir: Path) -> float:
    """DuckDB alone: read the export CSVs and the registry, write the hash join on the ID column."""
    database = workdir / "baseline.duckdb"
    database.unlink(missing_ok=True)
    csvs = [str(p) for p in sorted((landing / "exports").glob("*/*.csv"))]
    snapshot = sorted(p for p in (landing / "registry").iterdir() if p.is_dir())[-1]  # every file of it (padding too)
    parquet, csv = sorted(map(str, snapshot.glob("*.parquet"))), sorted(map(str, snapshot.glob("*.csv")))
    reader = f"read_parquet({parquet!r})" if parquet else f"read_csv({csv!r}, all_varchar=true)"
    started = time.perf_counter()
    with duckdb.connect(str(database)) as conn:
        conn.execute(f"""
            CREATE TABLE joined AS
            SELECT d.*, r.person_id AS registry_person_id
            FROM read_csv({csvs!r}, all_varchar=true, union_by_name=true, ignore_errors=true, null_padding=true) d
            LEFT JOIN {reader} r ON r.person_id = d."Số CMND/CCCD" """)
    return time.perf_counter() - started


def peak_rss_gb() -> float:
    """Peak resident memory of this process and its children (ru_maxrss is KiB on Linux)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + children) / 1024 / 1024


def main() -> int:
    """Measure each size `repeat` times and print medians."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--doses", type=int, action="append", help="dose records to generate (repeatable)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument(
        "--registry-persons",
        type=int,
        default=None,
        metavar="N",
        help="pad the registry to N people with no dose records (e.g. 100000000: national size)",
    )
    args = parser.parse_args()
    sizes = args.doses or [1_000_000]
    medians: dict[int, float] = {}
    for doses in sizes:
        landing = landing_for(doses, args.seed, args.registry_persons)
        with tempfile.TemporaryDirectory(dir=CACHE) as work:
            runs = [run_pipeline(landing, Path(work)) for _ in range(args.repeat)]
            baselines = [run_baseline(landing, Path(work)) for _ in range(args.repeat)]
        wall = statistics.median(r[0] for r in runs)
        base = statistics.median(baselines)
        records = runs[0][2]
        medians[doses] = wall
        print(f"\n== {records:,} dose records, {len(PROVINCES)} provinces, median of {args.repeat} ==")
        for step in sorted(runs[0][1]):
            print(f"  {step:<28}{statistics.median(r[1].get(step, 0.0) for r in runs):>8.2f} s")
        print(f"  {'pipeline (wall)':<28}{wall:>8.2f} s   {records / wall:>12,.0f} records/s")
        print(f"  {'bare DuckDB scan+join':<28}{base:>8.2f} s   ratio pipeline/baseline {wall / base:.2f}")
        print(f"  peak RSS so far: {peak_rss_gb():.2f} GB")
    if len(medians) > 1:
        small, large = min(medians), max(medians)
        print(
            f"\nscaling: time({large:,}) / time({small:,}) = {medians[large] / medians[small]:.2f} (x{large / small:.0f} records)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
