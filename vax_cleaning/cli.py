"""The `vax-cleaning` command: run (data contract section 4), generate, export-review, report."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from vax_cleaning import settings

if TYPE_CHECKING:
    import duckdb


EXAMPLES = {
    "run": "example:\n  VAX_DATA_DIR=/srv/landing VAX_DUCKDB_PATH=/srv/vax/vax.duckdb vax-cleaning run --province 79 01",
    "generate": "example:\n  vax-cleaning generate --persons 2000 --provinces 79 01 --seed 1 --out /tmp/landing\n"
    "  VAX_DATA_DIR=/tmp/landing vax-cleaning run",
    "export-review": "example:\n  vax-cleaning export-review --province 79 --out review_exports/",
    "report": "example:\n  vax-cleaning report            # into the database's reports folder",
    "play-reviewers": "example:\n  vax-cleaning play-reviewers --workbooks review_exports/ --landing /tmp/landing",
}
"""One example per command, shown by `--help` above the environment variables."""


def _epilog(command: str) -> str:
    """`--help` text after the options: an example, then the environment variables the command reads."""
    return f"{EXAMPLES[command]}\n\n{settings.ENVIRONMENT_HELP}"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `vax-cleaning` console script."""
    parser = argparse.ArgumentParser(
        prog="vax-cleaning",
        description=__doc__,
        epilog=f"{EXAMPLES['run']}\n\n{settings.ENVIRONMENT_HELP}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=_epilog(name),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    run = command("run", "materialize every asset for every province with exports, then print a summary")
    run.add_argument("--province", nargs="+", metavar="PP", help="only these 2-digit province codes")
    generate = command("generate", "write a synthetic landing folder with ground truth")
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
    generate.add_argument(
        "--registry-persons",
        type=int,
        default=None,
        metavar="N",
        help="pad the registry snapshot with people who have no dose records (same realism, unique IDs) until it "
        "holds N people, e.g. 100000000 for a national registry; written as extra Parquet files, in chunks",
    )
    review = command("export-review", "write per-province review workbooks (.xlsx) for sites and police")
    review.add_argument("--province", nargs="+", metavar="PP", help="only these provinces (default: all matched)")
    review.add_argument("--out", type=Path, default=Path("review_exports"))
    report = command("report", "render the progress chart and table (PNG + HTML)")
    report.add_argument(
        "--out", type=Path, default=None, help="folder (default: VAX_REPORTS_DIR, else <stem>_reports/ beside the DB)"
    )
    add_play_reviewers_parser(command)
    args = parser.parse_args(argv)
    if args.command == "play-reviewers":
        return play_reviewers_command(
            args.workbooks, args.landing, args.decided_on, args.seed, args.mistakes, args.overwrite
        )
    if args.command == "run":
        return run_command(args.province)
    if args.command == "report":
        return report_command(args.out or Path(settings.reports_dir()))
    if args.command == "export-review":
        return export_review_command(args.province, args.out)
    return generate_command(args.persons, args.provinces, args.seed, args.out, args.mix, args.registry_persons)


def run_command(provinces: list[str] | None) -> int:
    """Materialize through the same Definitions the UI loads; always end with the summary and a meaningful exit code.

    Exit codes: 0 all materialized, 1 a step failed or there was nothing to clean (the summary says which, why and
    the fix), 2 a wrong command, an unusable DuckDB path or landing folder (one line, before any run starts),
    128 + signal number when SIGINT/SIGTERM stopped it.
    """
    import os
    import signal
    import threading

    def stop_here(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(signum)

    # while no run is in flight (starting up, printing the summary) a signal simply ends the command
    signals = (signal.SIGINT, signal.SIGTERM) if threading.current_thread() is threading.main_thread() else ()
    previous = {number: signal.signal(number, stop_here) for number in signals}
    display = None
    try:
        from vax_cleaning.console import RunDisplay
        from vax_cleaning.runner import USER_ERRORS, RunInterrupted, run_until_signalled, summary_table

        display = RunDisplay()
        try:
            outcome = run_until_signalled(provinces, progress=display)
        except USER_ERRORS as error:
            display.close()
            print(f"vax-cleaning run: {error}", file=sys.stderr)
            return 2
        except RunInterrupted as stop:
            display.close()
            stop.tell(f"vax-cleaning run: {stop}")
            # the worker thread may be inside DuckDB or polars: end the process now, not unwind the interpreter
            os._exit(stop.exit_code)
        except Exception as error:  # a bug, not a user error: one line here, the traceback in a file
            display.close()
            return _unexpected("run", error, getattr(error, "instance_dir", ""))
        display.close()
        print(summary_table(outcome))
    except KeyboardInterrupt as interrupt:
        if display is not None:
            display.close()
        signum = interrupt.args[0] if interrupt.args else signal.SIGINT
        print(f"vax-cleaning run: stopped by {signal.Signals(signum).name}: no run was in flight", file=sys.stderr)
        return 128 + signum
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    return 0 if outcome.succeeded else 1


def _unexpected(command: str, error: BaseException, instance_dir: str = "") -> int:
    """An error nobody anticipated: one line with where the traceback is, exit 1 (no traceback on the terminal)."""
    import tempfile
    import traceback

    with tempfile.NamedTemporaryFile(
        "w", prefix=f"vax-cleaning-{command}-error-", suffix=".txt", delete=False
    ) as details:
        details.write("".join(traceback.format_exception(error)))
    logs = f"; run logs: DAGSTER_HOME={instance_dir}" if instance_dir else ""
    frames = traceback.extract_tb(error.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    # never the message itself: a parser's or DuckDB's message may quote a cell (a name, an ID)
    print(
        f"vax-cleaning {command}: unexpected error {type(error).__name__}{where} "
        f"(details in {details.name}{logs}; please send that file to the on-call engineer)",
        file=sys.stderr,
    )
    return 1


class ReadError(Exception):
    """Why a reading command cannot read the warehouse, with the fix; `code` is the exit code (2: fix the setup)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def open_for_reading(command: str) -> duckdb.DuckDBPyConnection:
    """The read-only copy (never locked by a run), else the database itself with a note; ReadError when neither is."""
    import duckdb

    database, copy = settings.duckdb_path(), settings.read_copy_path()
    if Path(copy).is_file():
        from datetime import UTC, datetime

        from vax_cleaning.console import vietnam_time

        published = datetime.fromtimestamp(Path(copy).stat().st_mtime, UTC)
        print(
            f"vax-cleaning {command}: reading the read-only copy {copy}, published {vietnam_time(published)}",
            file=sys.stderr,
        )
        written = [Path(database), Path(database + ".wal")]
        changed = max((path.stat().st_mtime for path in written if path.exists()), default=0.0)
        if changed > published.timestamp():  # province runs whose national rollup has not run (or failed) since
            print(
                f"vax-cleaning {command}: the database changed after that ({vietnam_time(datetime.fromtimestamp(changed, UTC))}): "
                "these results may be behind; `vax-cleaning run` (or the national_rollup job) publishes a fresh copy",
                file=sys.stderr,
            )
        source = copy
    elif Path(database).is_file():
        print(
            f"vax-cleaning {command}: no read-only copy at {copy} yet, reading {database} itself "
            "(`vax-cleaning run` publishes the copy; a run writing right now may lock the database)",
            file=sys.stderr,
        )
        source = database
    else:
        raise ReadError(
            f"no database at {database}: run `vax-cleaning run` first, or set VAX_DUCKDB_PATH to the database file",
            code=2,
        )
    try:
        return duckdb.connect(source, read_only=True)
    except duckdb.IOException as error:
        if "lock" in str(error).lower():
            raise ReadError(
                f"{source} is being written by a run right now: try again when it ends "
                "(after `vax-cleaning run` the read-only copy is used, which is never locked)"
            ) from error
        raise ReadError(f"cannot open {source}: {str(error).splitlines()[0]}") from error


def _not_ready(error: Exception) -> ReadError:
    """A table the command needs is missing or empty: the pipeline has not produced it yet."""
    first = str(error).strip().splitlines()[0]
    return ReadError(f"{first} — run `vax-cleaning run` first, then retry")


def export_review_command(provinces: list[str] | None, out: Path) -> int:
    """Review queue, unmatched records and correction set per province, as Vietnamese-headed workbooks."""
    import duckdb

    from vax_cleaning.reference import province_names
    from vax_cleaning.review_export import write_review_workbook

    names = province_names()
    unknown = [code for code in provinces or [] if code not in names]
    if unknown:
        print(
            f"vax-cleaning export-review: not province codes: {unknown}; use the 2-digit GSO codes, e.g. 01 or 79",
            file=sys.stderr,
        )
        return 2
    written, missing = [], []
    try:
        with open_for_reading("export-review") as conn:
            present = {row[0] for row in conn.execute("SELECT DISTINCT province_code FROM matched_records").fetchall()}
            for code in provinces or sorted(present):
                if code not in present:
                    missing.append(code)
                    continue
                path = write_review_workbook(conn, code, out)
                written.append(path)
                print(path)
    except ReadError as error:
        print(f"vax-cleaning export-review: {error}", file=sys.stderr)
        return error.code
    except duckdb.CatalogException as error:
        print(f"vax-cleaning export-review: {_not_ready(error)}", file=sys.stderr)
        return 1
    for code in missing:
        print(
            f"vax-cleaning export-review: {code} {names[code]} has no matched records yet: "
            f"run `vax-cleaning run --province {code}` first",
            file=sys.stderr,
        )
    print(
        f"{len(written)} review workbook(s) in {out} (personal data: readable by you only; share each with its "
        "province's officers only)"
    )
    return 1 if missing else 0


def report_command(out: Path) -> int:
    """Progress chart (PNG) and table (HTML) for provincial officers."""
    import duckdb

    from vax_cleaning.report import NoProgressError, write_report
    from vax_cleaning.warehouse import MissingTableError

    try:
        with open_for_reading("report") as conn:
            paths = write_report(conn, out)
    except ReadError as error:
        print(f"vax-cleaning report: {error}", file=sys.stderr)
        return error.code
    except (duckdb.CatalogException, MissingTableError, NoProgressError) as error:
        print(f"vax-cleaning report: {_not_ready(error)}", file=sys.stderr)
        return 1
    for path in paths:
        print(path)
    return 0


def generate_command(
    persons: int,
    provinces: list[str],
    seed: int,
    out: Path,
    mix: str = "standard",
    registry_persons: int | None = None,
) -> int:
    """Synthetic landing folder for demos, tests and benchmarks (optionally with a national-size registry)."""
    from vax_cleaning.generate import generate_landing_folder

    try:
        summary = generate_landing_folder(
            out, persons=persons, provinces=provinces, seed=seed, mix=mix, registry_persons=registry_persons
        )
    except (ValueError, OSError) as error:
        print(f"vax-cleaning generate: {error}", file=sys.stderr)
        return 2
    print(generation_text(summary, out, provinces, seed, mix))
    return 0


def generation_text(summary: object, out: Path, provinces: list[str], seed: int, mix: str) -> str:
    """What `generate` wrote, as sentences a person reads (counts only: nothing personal)."""

    def kinds(counts: dict[str, int]) -> str:
        return ", ".join(f"{name} {count:,}" for name, count in sorted(counts.items(), key=lambda kv: -kv[1]))

    lines = [
        f"Synthetic landing folder written to {out} (provinces {' '.join(provinces)}, seed {seed}, {mix} mix):",
        f"  people: {summary.persons:,} vaccinated, {summary.registry_persons:,} in the registry snapshot",
        f"  export files: {summary.files:,} ({kinds(dict(summary.file_encodings))})",
        f"  dose records: {summary.dose_records:,}, of which {summary.accepted_records:,} acceptable "
        f"(incl. {summary.duplicate_records:,} duplicates) and {summary.garbage_records:,} to be rejected",
        f"  records with identity errors: {summary.records_with_identity_errors:,}",
    ]
    if summary.identity_errors:
        lines.append(f"    by kind: {kinds(dict(summary.identity_errors))}")
    if summary.rejections:
        lines.append(f"  expected rejections: {kinds(dict(summary.rejections))}")
    lines += [
        f"  ground truth: {out / 'ground_truth'}",
        f"Next: VAX_DATA_DIR={out} vax-cleaning run",
    ]
    return "\n".join(lines)


def add_play_reviewers_parser(command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """`play-reviewers`: fill exported review workbooks from the ground truth of a synthetic landing folder."""
    play = command(
        "play-reviewers", "fill review workbooks from the ground truth and return them under reviews/ (synthetic)"
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
