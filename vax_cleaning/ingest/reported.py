"""Optional tallies of doses the sites reported administering (reported/*.csv: province_code, doses_reported).

A tally row concerns one province: a bad row (`79,many`) is that province's problem, named by file and line, and the
other provinces' tallies still count. Only a file that cannot be read at all (empty, not text, no such columns) is a
TallyError for everyone.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from vax_cleaning.ingest.files import UnreadableFileError, decode
from vax_cleaning.reference import province_names

TALLY_SCHEMA = {"province_code": pl.String, "doses_reported": pl.Int64}
PROBLEM_SCHEMA = {"province_code": pl.String, "file": pl.String, "line": pl.Int64, "problem": pl.String}
"""One row per unusable tally row; `province_code` is NULL when the row names no province."""

TALLY_COLUMNS = ("province_code", "doses_reported")

_WHOLE_NUMBER = re.compile(r"^\d+$")


class TallyError(Exception):
    """A tallies file that cannot be used (terminal: fix or remove the file)."""


@dataclass(frozen=True)
class Tallies:
    """Doses reported per province (usable rows summed over every file), and the rows that could not be used."""

    doses: pl.DataFrame
    problems: pl.DataFrame

    def for_province(self, code: str) -> tuple[int | None, list[str]]:
        """(doses reported, problems that concern it). None when there is no tally, or when one of its rows is bad:
        a partial sum would understate the doses not yet uploaded. Rows naming no province concern every province.
        """
        problems = self.problems.filter(pl.col("province_code").is_null() | (pl.col("province_code") == code))
        own_problem = problems.filter(pl.col("province_code") == code).height > 0
        doses = self.doses.filter(pl.col("province_code") == code)["doses_reported"]
        reported = None if own_problem or doses.is_empty() else int(doses.item())
        return reported, [
            f"{row['file']}, line {row['line']}: {row['problem']}" for row in problems.iter_rows(named=True)
        ]


def read_tallies(reported_dir: Path) -> Tallies:
    """Every tally row of every reported/*.csv; empty when none landed."""
    paths = sorted(reported_dir.glob("*.csv")) if reported_dir.is_dir() else []
    rows: list[tuple[str, int]] = []
    problems: list[tuple[str | None, str, int, str]] = []
    for path in paths:
        file_rows, file_problems = _read_file(path)
        rows += file_rows
        problems += file_problems
    doses = pl.DataFrame(rows, schema=TALLY_SCHEMA, orient="row")
    return Tallies(
        doses=doses.group_by("province_code").agg(pl.col("doses_reported").sum()).sort("province_code"),
        problems=pl.DataFrame(problems, schema=PROBLEM_SCHEMA, orient="row"),
    )


def _read_file(path: Path) -> tuple[list[tuple[str, int]], list[tuple[str | None, str, int, str]]]:
    """(usable rows, unusable rows) of one tallies file; a TallyError when the file as a whole cannot be used."""
    name = f"reported/{path.name}"
    data = path.read_bytes()
    if not data.strip():
        raise TallyError(
            f"{name} is empty ({len(data)} bytes): land it again with the header province_code,doses_reported "
            "and one row per province, or remove it"
        )
    try:
        text, _ = decode(data)
    except UnreadableFileError as error:
        raise TallyError(f"{name} is not text ({error}): land it again as CSV, or remove it") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [cell.strip() for cell in next(reader, [])]
    if not set(TALLY_COLUMNS) <= set(header):
        raise TallyError(f"{name} needs the columns province_code, doses_reported (its header: {header})")
    code_at, doses_at = header.index("province_code"), header.index("doses_reported")
    codes = province_names()
    rows, problems = [], []
    for record in reader:
        if not any(cell.strip() for cell in record):
            continue  # a blank line
        line = reader.line_num
        raw_code = record[code_at].strip() if code_at < len(record) else ""
        code = raw_code.zfill(2) if raw_code.isdigit() and len(raw_code) <= 2 else raw_code
        province = code if code in codes else None
        raw_doses = record[doses_at].strip() if doses_at < len(record) else ""
        if province is None:
            problems.append((None, name, line, f"'{raw_code}' is not a province code"))
        elif len(record) != len(header):
            problems.append((province, name, line, f"row has {len(record)} fields, the header has {len(header)}"))
        elif not _WHOLE_NUMBER.match(raw_doses):
            problems.append((province, name, line, f"doses_reported '{raw_doses}' is not a whole number"))
        else:
            rows.append((province, int(raw_doses)))
    return rows, problems
