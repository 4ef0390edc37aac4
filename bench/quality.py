"""Linkage quality on generated data: precision/recall of automatic links, review rate, duplicates, passports.

    .venv/bin/python bench/quality.py --persons 50000 --provinces 01 79 48 --seed 1 [--review-round]

Generates a landing folder with ground truth (cached by parameters under bench/.cache/),
runs the whole pipeline through the same code path as `vax-cleaning run`, and prints the table.
With --review-round it then exports the review workbooks, lets the synthetic reviewers fill every
review and unmatched row (with a few mistakes they put right a day later), runs again and prints
the table after one round of human review, with the outcomes of review_decisions.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb

from vax_cleaning.generate import generate_landing_folder
from vax_cleaning.generate.evaluate import evaluate, format_report
from vax_cleaning.generate.reviewers import play_reviewers
from vax_cleaning.review_export import write_review_workbook
from vax_cleaning.runner import run_provinces

CACHE = Path(os.environ.get("VAX_BENCH_CACHE") or Path(__file__).resolve().parent / ".cache")
"""Generated landing folders, reused across runs (VAX_BENCH_CACHE overrides, e.g. for the smoke test)."""


def main() -> int:
    """Generate (or reuse), run, evaluate, print."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=50_000)
    parser.add_argument("--provinces", nargs="+", default=["01", "79", "48"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--mix", choices=("standard", "field"), default="standard", help="generator error model")
    parser.add_argument("--review-round", action="store_true", help="then one round of (synthetic) human review")
    args = parser.parse_args()
    mix = "" if args.mix == "standard" else f"-{args.mix}"
    landing = CACHE / f"quality-p{args.persons}-{'-'.join(args.provinces)}-s{args.seed}{mix}"
    if not (landing / "ground_truth").exists():
        shutil.rmtree(landing, ignore_errors=True)
        summary = generate_landing_folder(
            landing, persons=args.persons, provinces=args.provinces, seed=args.seed, mix=args.mix
        )
        print(f"generated {summary.dose_records} records for {summary.persons} persons")
    database = landing.with_suffix(".duckdb")
    database.unlink(missing_ok=True)
    shutil.rmtree(landing / "reviews", ignore_errors=True)
    succeeded = run_and_report(args.provinces, landing, database, "machine only")
    if args.review_round:
        with duckdb.connect(str(database), read_only=True) as conn:
            workbooks = [
                write_review_workbook(conn, code, landing.parent / "review_exports") for code in args.provinces
            ]
        reviewed = play_reviewers(workbooks, landing, decided_on=date(2022, 6, 18), seed=args.seed)
        print(
            f"reviewers returned {reviewed.rows_filled} decided rows ({reviewed.wrong} wrong links and "
            f"{reviewed.contradictions} contradictions, put right by {reviewed.corrections} later decisions)"
        )
        succeeded &= run_and_report(args.provinces, landing, database, "after one review round")
        with duckdb.connect(str(database), read_only=True) as conn:
            print(
                "review_decisions by outcome:",
                dict(
                    conn.execute("SELECT outcome, count(*) FROM review_decisions GROUP BY ALL ORDER BY ALL").fetchall()
                ),
            )
    return 0 if succeeded else 1


def run_and_report(provinces: list[str], landing: Path, database: Path, title: str) -> bool:
    """One pipeline run, the time of its review and linkage steps, and its quality table."""
    instance = dg.DagsterInstance.ephemeral()
    started = time.perf_counter()
    outcome = run_provinces(
        provinces, instance=instance, data_dir=str(landing), duckdb_path=str(database), run_date="2022-06-20"
    )
    steps = {step: 0.0 for step in ("review_decisions", "match_province")}
    for run in instance.get_runs():
        for stats in instance.get_run_step_stats(run.run_id):
            if stats.step_key in steps and stats.start_time and stats.end_time:
                steps[stats.step_key] += stats.end_time - stats.start_time
    print(
        f"== {title}: pipeline {time.perf_counter() - started:.1f} s, success={outcome.succeeded}; "
        + ", ".join(f"{step} {seconds:.2f} s" for step, seconds in steps.items())
    )
    report = evaluate(landing, database)
    print(format_report(report))
    print("targets missed:", report.misses() or "none")
    return outcome.succeeded


if __name__ == "__main__":
    sys.exit(main())
