"""The `vax-cleaning` command: run (data contract section 4), generate, export-review, report."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from vax_cleaning import settings


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `vax-cleaning` console script."""
    parser = argparse.ArgumentParser(prog="vax-cleaning", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="materialize every asset for every province with exports")
    run.add_argument("--province", nargs="+", metavar="PP", help="only these 2-digit province codes")
    generate = commands.add_parser("generate", help="write a synthetic landing folder with ground truth")
    generate.add_argument("--persons", type=int, required=True)
    generate.add_argument("--provinces", nargs="+", required=True, metavar="PP")
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument("--out", type=Path, required=True)
    generate.add_argument(
        "--mix",
        choices=("standard", "field"),
        default="standard",
        help="error model: the standard mix, or the harder field mix (generate/field_mix.py)",
    )
    review = commands.add_parser(
        "export-review", help="write per-province review workbooks (.xlsx) for sites and police"
    )
    review.add_argument("--province", nargs="+", metavar="PP", help="only these provinces (default: all matched)")
    review.add_argument("--out", type=Path, default=Path("review_exports"))
    report = commands.add_parser("report", help="render the progress chart and table (PNG + HTML)")
    report.add_argument("--out", type=Path, default=Path("reports"))
    add_play_reviewers_parser(commands)
    args = parser.parse_args(argv)
    if args.command == "play-reviewers":
        return play_reviewers_command(
            args.workbooks, args.landing, args.decided_on, args.seed, args.mistakes, args.overwrite
        )
    if args.command == "run":
        return run_command(args.province)
    if args.command == "report":
        return report_command(args.out)
    if args.command == "export-review":
        return export_review_command(args.province, args.out)
    return generate_command(args.persons, args.provinces, args.seed, args.out, args.mix)


def run_command(provinces: list[str] | None) -> int:
    """Materialize through the same Definitions the UI loads; exit non-zero if any partition failed.

    Exit codes: 0 all materialized, 1 a run failed (the summary says which and why), 2 a wrong command or an
    unusable DuckDB path (one line, before any run starts), 128 + signal number when SIGINT/SIGTERM stopped it.
    """
    import os
    import signal
    import threading

    def stop_here(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(signum)

    # while no run is in flight (starting up, printing the summary) a signal simply ends the command
    signals = (signal.SIGINT, signal.SIGTERM) if threading.current_thread() is threading.main_thread() else ()
    previous = {number: signal.signal(number, stop_here) for number in signals}
    try:
        from vax_cleaning.runner import RunInterrupted, UnknownProvinceError, run_until_signalled, summary_table
        from vax_cleaning.warehouse import WarehouseLocationError

        try:
            outcome = run_until_signalled(provinces)
        except (UnknownProvinceError, WarehouseLocationError) as error:
            print(f"vax-cleaning run: {error}", file=sys.stderr)
            return 2
        except RunInterrupted as stop:
            stop.tell(f"vax-cleaning run: {stop}")
            # the worker thread may be inside DuckDB or polars: end the process now, not unwind the interpreter
            os._exit(stop.exit_code)
        print(summary_table(outcome))
    except KeyboardInterrupt as interrupt:
        signum = interrupt.args[0] if interrupt.args else signal.SIGINT
        print(f"vax-cleaning run: stopped by {signal.Signals(signum).name}: no run was in flight", file=sys.stderr)
        return 128 + signum
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    return 0 if outcome.succeeded else 1


def export_review_command(provinces: list[str] | None, out: Path) -> int:
    """Review queue, unmatched records and correction set per province, as Vietnamese-headed workbooks."""
    import duckdb

    from vax_cleaning.review_export import write_review_workbook

    with duckdb.connect(settings.duckdb_path(), read_only=True) as conn:
        codes = provinces or [
            row[0] for row in conn.execute("SELECT DISTINCT province_code FROM matched_records ORDER BY 1").fetchall()
        ]
        for code in codes:
            print(write_review_workbook(conn, code, out))
    return 0


def report_command(out: Path) -> int:
    """Progress chart (PNG) and table (HTML) for provincial officers."""
    import duckdb

    from vax_cleaning.report import write_report

    with duckdb.connect(settings.duckdb_path(), read_only=True) as conn:
        for path in write_report(conn, out):
            print(path)
    return 0


def generate_command(persons: int, provinces: list[str], seed: int, out: Path, mix: str = "standard") -> int:
    """Synthetic landing folder for demos, tests and benchmarks."""
    from vax_cleaning.generate import generate_landing_folder

    summary = generate_landing_folder(out, persons=persons, provinces=provinces, seed=seed, mix=mix)
    print(summary)
    return 0


def add_play_reviewers_parser(commands: argparse._SubParsersAction) -> None:
    """`play-reviewers`: fill exported review workbooks from the ground truth of a synthetic landing folder."""
    play = commands.add_parser(
        "play-reviewers", help="fill review workbooks from the ground truth and return them under reviews/ (synthetic)"
    )
    play.add_argument("--workbooks", type=Path, required=True, metavar="DIR", help="folder of *_ra_soat.xlsx")
    play.add_argument("--landing", type=Path, required=True, metavar="DIR", help="generated landing folder")
    play.add_argument("--decided-on", type=date.fromisoformat, default=date.today(), metavar="YYYY-MM-DD")
    play.add_argument("--seed", type=int, default=0)
    play.add_argument("--mistakes", type=int, default=3, help="wrong links, and same-day contradictions, to make")
    play.add_argument("--overwrite", action="store_true", help="replace decision files already under reviews/")


def play_reviewers_command(
    workbooks: Path, landing: Path, decided_on: date, seed: int, mistakes: int, overwrite: bool
) -> int:
    """Play site staff and commune police for a synthetic landing folder; print what was returned."""
    from datetime import timedelta

    from vax_cleaning.generate.reviewers import play_reviewers
    from vax_cleaning.vocabulary import Decision

    paths = sorted(workbooks.glob("*_ra_soat.xlsx")) if workbooks.is_dir() else []
    if not paths:
        print(f"vax-cleaning play-reviewers: no *_ra_soat.xlsx workbook in {workbooks}", file=sys.stderr)
        return 2
    if not (landing / "ground_truth").is_dir():
        print(
            f"vax-cleaning play-reviewers: {landing} has no ground_truth/ folder (not a generated landing folder)",
            file=sys.stderr,
        )
        return 2
    try:
        done = play_reviewers(paths, landing, decided_on, seed=seed, mistakes=mistakes, overwrite=overwrite)
    except (OSError, ValueError) as error:
        print(f"vax-cleaning play-reviewers: {error}", file=sys.stderr)
        return 2
    follow_up = decided_on + timedelta(days=1)
    print(
        f"Returned {done.workbooks} review workbook(s) under {landing / 'reviews'}, decided on {decided_on:%d/%m/%Y}: "
        f"{done.rows_filled} record(s) decided ({done.links} '{Decision.LINK.label}', {done.not_in_registry} "
        f"'{Decision.NOT_IN_REGISTRY.label}'), of which {done.wrong} linked to the wrong person on purpose; "
        f"{done.contradictions} record(s) decided again the same day with a contradicting decision; "
        f"{done.corrections} correction(s) dated {follow_up:%d/%m/%Y} putting them right; "
        f"{done.rows_unknown} row(s) not found in the ground truth left blank; {done.files_written} file(s) written."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
