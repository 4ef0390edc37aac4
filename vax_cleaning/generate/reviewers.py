"""Synthetic reviewers: fill exported review workbooks from the ground truth, as site staff and police would.

Entry point: `play_reviewers`. For each `{PP}_{province}_ra_soat.xlsx` it fills the decision columns
(contract 2.4) of the sheets "Cần xác minh" and "Không tìm thấy" with the true decision, and returns
the workbook under `<landing>/reviews/<PP>/`. Real reviewers make mistakes, so the first workbook also
gets `mistakes` wrong links and `mistakes` records decided twice the same day in contradiction (the
second decision in a small CSV), and a follow-up CSV dated one day later puts every one of them right:
after the round every record is decided correctly, through the precedence rules (latest date wins;
two different decisions of one day conflict). Deterministic for a seed; nothing personal in the summary.
"""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import openpyxl
import polars as pl
from openpyxl.cell.cell import Cell
from openpyxl.worksheet.worksheet import Worksheet

from vax_cleaning.generate import names
from vax_cleaning.ingest.headers import DECISION_HEADERS
from vax_cleaning.vocabulary import Decision, Handler

__all__ = ["FILLED_SHEETS", "ReviewRound", "play_reviewers"]


FILLED_SHEETS = ("Cần xác minh", "Không tìm thấy")
"""Sheets reviewers fill; "Đề xuất sửa" (corrections) is left as it is."""

HANDLER_HEADER = "Đơn vị xử lý"
FACILITY_HEADER = "Cơ sở tiêm"
TEXT_FORMAT = "@"
DATE_FORMAT = "dd/mm/yyyy"


@dataclass(frozen=True)
class ReviewRound:
    """What one round of synthetic reviewing wrote (counts only)."""

    workbooks: int  # workbooks filled and returned
    rows_filled: int  # workbook rows given a decision (links + not_in_registry)
    links: int  # workbook rows decided "Đúng người" (wrong links included)
    not_in_registry: int  # workbook rows decided "Chưa có trong CSDL dân cư"
    rows_unknown: int  # workbook rows whose record is not in the ground truth (left blank)
    wrong: int  # workbook rows linked to the wrong registry person
    contradictions: int  # records decided a second time, differently, the same day (contradictions CSV)
    corrections: int  # rows of the follow-up CSV, one day later, putting wrong/contradicted records right
    files_written: int  # decision files written under reviews/


@dataclass(frozen=True)
class _Truth:
    """The right decision for one record."""

    decision: Decision
    person_id: str | None


@dataclass
class _Row:
    """One filled workbook row."""

    sheet: str
    row: int
    key: tuple[str, int]
    truth: _Truth
    reviewer: str


def play_reviewers(
    workbooks: Iterable[Path],
    landing: Path,
    decided_on: date,
    seed: int = 0,
    mistakes: int = 3,
    overwrite: bool = False,
) -> ReviewRound:
    """Fill every workbook from `<landing>/ground_truth/`, write it and the mistake files under reviews/<PP>/."""
    landing = Path(landing)
    paths = sorted(Path(p) for p in workbooks)
    if not paths:
        raise ValueError("no review workbooks given")
    truth, registry_ids = _load_truth(landing / "ground_truth")
    rng = np.random.default_rng(seed)
    counts = {"links": 0, "not_in_registry": 0, "unknown": 0, "wrong": 0, "contradictions": 0, "corrections": 0}
    files = 0
    mistakes_left = max(0, mistakes)
    for path in paths:
        code = _province_code(path)
        folder = landing / "reviews" / code
        target = folder / path.name
        _refuse_existing(target, overwrite)
        book = openpyxl.load_workbook(path)
        rows = _fill_rows(book, truth, decided_on, rng, counts)
        wrong, contradicted = [], []
        if mistakes_left and len(rows) >= 2:  # the first workbook with rows gets the mistakes
            per_kind = min(mistakes_left, len(rows) // 2)
            chosen = rng.choice(len(rows), 2 * per_kind, replace=False)
            wrong = [rows[i] for i in sorted(chosen[:per_kind])]
            contradicted = [rows[i] for i in sorted(chosen[per_kind:])]
            mistakes_left = 0
        for row in wrong:
            person = _other_person(rng, registry_ids, row.truth.person_id)
            _write_decision(book[row.sheet], _columns(book[row.sheet]), row.row, Decision.LINK, person, row.reviewer)
            counts["links" if row.truth.decision is Decision.LINK else "not_in_registry"] -= 1
            counts["links"] += 1
        folder.mkdir(parents=True, exist_ok=True)
        book.save(target)
        files += 1
        if wrong or contradicted:
            stem = f"{code}_xac_minh"
            second = [_contradiction(rng, registry_ids, row, decided_on) for row in contradicted]
            if second:
                files += _write_csv(folder / f"{stem}_bo_sung_{decided_on:%Y%m%d}.csv", second, overwrite)
            follow_up = decided_on + timedelta(days=1)
            fixes = [
                _csv_row(row.key, row.truth.decision, row.truth.person_id, _police(rng), follow_up)
                for row in sorted([*wrong, *contradicted], key=lambda r: r.key)
            ]
            files += _write_csv(folder / f"{stem}_dinh_chinh_{follow_up:%Y%m%d}.csv", fixes, overwrite)
            counts["wrong"] += len(wrong)
            counts["contradictions"] += len(contradicted)
            counts["corrections"] += len(fixes)
    return ReviewRound(
        workbooks=len(paths),
        rows_filled=counts["links"] + counts["not_in_registry"],
        links=counts["links"],
        not_in_registry=counts["not_in_registry"],
        rows_unknown=counts["unknown"],
        wrong=counts["wrong"],
        contradictions=counts["contradictions"],
        corrections=counts["corrections"],
        files_written=files,
    )


def _load_truth(folder: Path) -> tuple[pl.DataFrame, np.ndarray]:
    """Ground truth of the accepted records (key, in_registry, person) and the sorted registry person_ids."""
    doses_path, persons_path = folder / "doses.parquet", folder / "persons.parquet"
    if not doses_path.is_file() or not persons_path.is_file():
        raise FileNotFoundError(f"no ground truth in {folder} (doses.parquet and persons.parquet)")
    doses = (
        pl.read_parquet(doses_path, columns=["source_file", "source_row", "true_person_id", "in_registry"])
        .filter(pl.col("in_registry").is_not_null())  # rejected records have no identity
        .with_columns(pl.col("source_file").str.normalize("NFC"), pl.col("source_row").cast(pl.Int64))
    )
    registry = (
        pl.read_parquet(persons_path, columns=["person_id", "in_registry"])
        .filter(pl.col("in_registry") & pl.col("person_id").is_not_null())["person_id"]
        .sort()
    )
    if registry.len() < 2:
        raise ValueError(f"the ground truth in {folder} has fewer than two registry persons")
    return doses, registry.to_numpy()


def _province_code(path: Path) -> str:
    """The workbook's province: the prefix of its file name before '_'."""
    code = path.name.split("_", 1)[0]
    if not (len(code) == 2 and code.isdigit()) or "_" not in path.name:
        raise ValueError(f"{path.name}: file name does not start with a 2-digit province code and '_'")
    return code


def _refuse_existing(path: Path, overwrite: bool) -> None:
    """A landed decision file is never modified (contract 2.4): refuse to replace one unless told to."""
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists; a landed decision file is never modified")


def _fill_rows(
    book: openpyxl.Workbook, truth: pl.DataFrame, decided_on: date, rng: np.random.Generator, counts: dict[str, int]
) -> list[_Row]:
    """Fill the decision columns of every data row of the reviewed sheets with the true decision."""
    filled: list[_Row] = []
    for name in FILLED_SHEETS:
        if name not in book.sheetnames:
            continue
        sheet = book[name]
        columns = _columns(sheet)
        keys = _row_keys(sheet, columns)
        if not keys:
            continue
        found = _lookup(truth, keys)
        offset = int(rng.integers(2))
        for index, (row, key) in enumerate(keys.items()):
            right = found.get(key)
            if right is None:
                counts["unknown"] += 1
                continue
            reviewer = _reviewer(rng, sheet, columns, row)
            as_date = (index + offset) % 2 == 0  # some write a date, others type it as text
            _write_decision(sheet, columns, row, right.decision, right.person_id, reviewer)
            _write_date(sheet.cell(row, columns[DECISION_HEADERS["decided_on"]]), decided_on, as_date)
            counts["links" if right.decision is Decision.LINK else "not_in_registry"] += 1
            filled.append(_Row(name, row, key, right, reviewer))
    return filled


def _normal(header: object) -> str:
    return unicodedata.normalize("NFC", str(header or "")).strip().lower()


def _columns(sheet: Worksheet) -> dict[str, int]:
    """Column index of each header of row 1 (by name), adding any missing decision column at the end."""
    found: dict[str, int] = {}
    for cell in sheet[1]:
        if cell.value is not None:
            found.setdefault(_normal(cell.value), cell.column)
    columns = {
        header: found[_normal(header)]
        for header in (*DECISION_HEADERS.values(), HANDLER_HEADER, FACILITY_HEADER)
        if _normal(header) in found
    }
    for header in DECISION_HEADERS.values():
        if header not in columns:
            column = max((c.column for c in sheet[1] if c.value is not None), default=0) + 1
            sheet.cell(1, column, header)
            columns[header] = column
    return columns


def _row_keys(sheet: Worksheet, columns: dict[str, int]) -> dict[int, tuple[str, int]]:
    """(source_file, source_row) of every data row that names a record."""
    file_col, row_col = columns[DECISION_HEADERS["source_file"]], columns[DECISION_HEADERS["source_row"]]
    keys: dict[int, tuple[str, int]] = {}
    for row in range(2, sheet.max_row + 1):
        source_file, source_row = sheet.cell(row, file_col).value, sheet.cell(row, row_col).value
        if source_file is None or str(source_file).strip() == "" or source_row is None:
            continue
        try:
            number = int(float(str(source_row).strip()))
        except ValueError:
            continue
        keys[row] = (unicodedata.normalize("NFC", str(source_file).strip()), number)
    return keys


def _lookup(truth: pl.DataFrame, keys: dict[int, tuple[str, int]]) -> dict[tuple[str, int], _Truth]:
    """The right decision of each key, by one join against the ground truth."""
    wanted = pl.DataFrame(list(keys.values()), schema={"source_file": pl.String, "source_row": pl.Int64}, orient="row")
    joined = wanted.unique().join(truth, on=["source_file", "source_row"], how="inner")
    return {
        (source_file, source_row): _Truth(Decision.LINK, person)
        if in_registry
        else _Truth(Decision.NOT_IN_REGISTRY, None)
        for source_file, source_row, person, in_registry in joined.select(
            "source_file", "source_row", "true_person_id", "in_registry"
        ).iter_rows()
    }


def _write_decision(
    sheet: Worksheet, columns: dict[str, int], row: int, decision: Decision, person_id: str | None, reviewer: str
) -> None:
    """Decision, person (as text, leading zeros kept) and reviewer of one row."""
    sheet.cell(row, columns[DECISION_HEADERS["decision"]], decision.label)
    id_cell = sheet.cell(row, columns[DECISION_HEADERS["person_id"]])
    id_cell.value = str(person_id) if person_id else None
    id_cell.number_format = TEXT_FORMAT
    sheet.cell(row, columns[DECISION_HEADERS["reviewer"]], reviewer)


def _write_date(cell: Cell, day: date, as_date: bool) -> None:
    """A real Excel date, or the text 'dd/mm/yyyy' people type."""
    if as_date:
        cell.value = day
        cell.number_format = DATE_FORMAT
    else:
        cell.value = day.strftime("%d/%m/%Y")
        cell.number_format = TEXT_FORMAT


def _police(rng: np.random.Generator) -> str:
    """A commune police unit."""
    kind = "phường" if rng.random() < 0.6 else "xã"
    return f"Công an {kind} {names.COMMUNES[rng.integers(len(names.COMMUNES))]}"


def _reviewer(rng: np.random.Generator, sheet: Worksheet, columns: dict[str, int], row: int) -> str:
    """The unit that settles the row: the vaccination site where the workbook routes it there, else commune police."""
    handler = sheet.cell(row, columns[HANDLER_HEADER]).value if HANDLER_HEADER in columns else None
    facility = sheet.cell(row, columns[FACILITY_HEADER]).value if FACILITY_HEADER in columns else None
    police = _police(rng)  # drawn for every row, so the stream does not depend on the routing
    if str(handler or "").strip() == Handler.SITE.value:
        return (
            str(facility).strip() if str(facility or "").strip() else f"{Handler.SITE.value} số {rng.integers(1, 20)}"
        )
    return police


def _other_person(rng: np.random.Generator, registry_ids: np.ndarray, true_id: str | None) -> str:
    """A real registry person who is not the record's own."""
    while True:
        person = str(registry_ids[rng.integers(len(registry_ids))])
        if person != true_id:
            return person


def _contradiction(rng: np.random.Generator, registry_ids: np.ndarray, row: _Row, day: date) -> list:
    """A second, different decision on the same day for a record already decided right in the workbook."""
    if row.truth.decision is Decision.LINK and rng.random() < 0.5:
        decision, person = Decision.NOT_IN_REGISTRY, None
    else:
        decision, person = Decision.LINK, _other_person(rng, registry_ids, row.truth.person_id)
    site = f"{Handler.SITE.value} số {rng.integers(1, 20)}"
    return _csv_row(row.key, decision, person, site, day)


def _csv_row(key: tuple[str, int], decision: Decision, person: str | None, reviewer: str, day: date) -> list:
    return [key[0], key[1], decision.label, person or "", reviewer, day.strftime("%d/%m/%Y")]


def _write_csv(path: Path, rows: list[list], overwrite: bool) -> int:
    """A small decision file with the Vietnamese headers, UTF-8; returns 1."""
    _refuse_existing(path, overwrite)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(DECISION_HEADERS.values())
        writer.writerows(rows)
    return 1
