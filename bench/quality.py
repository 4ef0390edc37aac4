"""Linkage quality on generated data: precision/recall of automatic links, review rate, duplicates, passports.

    .venv/bin/python bench/quality.py --persons 50000 --provinces 01 79 48 --seed 1

Generates a landing folder with ground truth (cached by parameters under bench/.cache/),
runs the whole pipeline through the same code path as `vax-cleaning run`, and prints the table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

from vax_cleaning.generate import generate_landing_folder
from vax_cleaning.generate.evaluate import evaluate, format_report
from vax_cleaning.runner import run_provinces

CACHE = Path(os.environ.get("VAX_BENCH_CACHE") or Path(__file__).resolve().parent / ".cache")
"""Generated landing folders, reused across runs (VAX_BENCH_CACHE overrides, e.g. for the smoke test)."""


def main() -> int:
    """Generate (or reuse), run, evaluate, print."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=50_000)
    parser.add_argument("--provinces", nargs="+", default=["01", "79", "48"])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    landing = CACHE / f"quality-p{args.persons}-{'-'.join(args.provinces)}-s{args.seed}"
    if not (landing / "ground_truth").exists():
        shutil.rmtree(landing, ignore_errors=True)
        summary = generate_landing_folder(landing, persons=args.persons, provinces=args.provinces, seed=args.seed)
        print(f"generated {summary.dose_records} records for {summary.persons} persons")
    database = landing.with_suffix(".duckdb")
    database.unlink(missing_ok=True)
    started = time.perf_counter()
    outcome = run_provinces(args.provinces, data_dir=str(landing), duckdb_path=str(database), run_date="2022-06-20")
    print(f"pipeline: {time.perf_counter() - started:.1f} s, success={outcome.succeeded}")
    report = evaluate(landing, database)
    print(format_report(report))
    print("targets missed:", report.misses() or "none")
    return 0 if outcome.succeeded else 1


if __name__ == "__main__":
    sys.exit(main())
