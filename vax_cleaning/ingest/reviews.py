"""Review decision files returned by people (data contract 2.4): every decision row of `reviews/<PP>/`, as text.

Same reading as exports (encodings, quoting, .xlsx), but every sheet of a workbook counts whose
header has the decision columns. Nothing here judges a decision: `linkage.decisions` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from vax_cleaning.ingest.exports import source_file_name
from vax_cleaning.ingest.files import RawRecords, UnreadableFileError, read_csv_records, read_xlsx_sheets
from vax_cleaning.ingest.headers import DECISION_COLUMNS

REQUIRED_DECISION_COLUMNS = ("source_file", "source_row", "decision")
"""A sheet or CSV without these is not a decision list."""

DECISION_ROW_SCHEMA: dict[str, pl.DataType] = {
    "review_file": pl.String(),
    "review_row": pl.Int32(),
    "field_count_problem": pl.String(),
    **{column: pl.String() for column in DECISION_COLUMNS},
}
"""Raw decision rows: where they stand, and every decision column as written (NULL when blank)."""

FILE_PROBLEM_SCHEMA: dict[str, pl.DataType] = {"review_file": pl.String(), "problem": pl.String()}


@dataclass(frozen=True)
class DecisionFiles:
    """Non-blank decision rows of one province's review folder, and the files that could not be used."""

    rows: pl.DataFrame
    problems: pl.DataFrame
    files: int


def review_files(reviews_dir: Path, province_code: str) -> list[Path]:
    """Files under reviews/<PP>/, in a stable order (Office lock files `~$…` are not files people returned)."""
    folder = reviews_dir / province_code
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith((".", "~$")))


def read_decision_files(reviews_dir: Path, province_code: str) -> DecisionFiles:
    """Every non-blank decision row of the province; a file that cannot be used is a problem, never an exception."""
    rows, problems = [pl.DataFrame(schema=DECISION_ROW_SCHEMA)], []
    paths = review_files(reviews_dir, province_code)
    for path in paths:
        name = source_file_name(path, reviews_dir)
        try:
            file_rows = [_decision_rows(label, records) for label, records in _decision_sheets(path, name)]
        except UnreadableFileError as error:
            problems.append((name, str(error)))
            continue
        except (OSError, pl.exceptions.PolarsError) as error:  # one odd file never sinks the others' decisions
            problems.append(
                (name, f"file could not be read ({type(error).__name__}); return it again as .xlsx or .csv")
            )
            continue
        if not file_rows:
            problems.append((name, "no sheet or header with the decision columns (Tệp nguồn, Dòng, Quyết định)"))
        rows.extend(file_rows)
    return DecisionFiles(
        rows=pl.concat(rows),
        problems=pl.DataFrame(problems, schema=FILE_PROBLEM_SCHEMA, orient="row"),
        files=len(paths),
    )


def _decision_sheets(path: Path, name: str) -> list[tuple[str, RawRecords]]:
    """(review_file label, records): `file.xlsx#sheet` when a workbook has several sheets."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        records = read_csv_records(path.read_bytes(), DECISION_COLUMNS)
        return [(name, records)] if all(c in records.columns for c in REQUIRED_DECISION_COLUMNS) else []
    if suffix == ".xlsx":
        sheets, sheet_count = read_xlsx_sheets(path, DECISION_COLUMNS, REQUIRED_DECISION_COLUMNS)
        return [(f"{name}#{sheet}" if sheet_count > 1 else name, records) for sheet, records in sheets]
    raise UnreadableFileError(f"unsupported file type {path.suffix or '(none)'}: return decisions as .xlsx or .csv")


def _decision_rows(label: str, records: RawRecords) -> pl.DataFrame:
    """Rows whose decision cell is filled; a row whose field count differs from the header is flagged."""
    frame = records.frame.with_columns(
        [pl.lit(None, pl.String).alias(c) for c in DECISION_COLUMNS if c not in records.columns]
    )
    return (
        frame.filter(pl.col("decision").is_not_null())
        .with_columns(
            review_file=pl.lit(label),
            review_row=pl.col("row_number"),
            field_count_problem=pl.when(pl.col("n_fields") != pl.col("header_width")).then(
                pl.format("row has {} fields, header has {}", "n_fields", "header_width")
            ),
        )
        .select(list(DECISION_ROW_SCHEMA))
        .cast(DECISION_ROW_SCHEMA)
    )
