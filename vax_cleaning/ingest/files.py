"""Read one export file (CSV or XLSX, any encoding seen in the field) into raw string records.

Records keep their 1-based `row_number` (the contract's `source_row`) exactly as the contract counts them: header
excluded, blank lines count, the newline that ends the last line does not make one.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import fastexcel
import polars as pl

from vax_cleaning.ingest.headers import EXPORT_COLUMNS, map_header

ColumnAliases = dict[str, tuple[str, ...]]
"""Canonical column -> accepted header aliases (headers.EXPORT_COLUMNS, headers.DECISION_COLUMNS)."""

SUPPORTED_SUFFIXES = (".csv", ".xlsx")

_CSV_FIELD = r',("(?:[^"]|"")*"[^,]*|[^,]*)'
"""One CSV field including the comma before it (each line gets a leading comma)."""

_EXCEL_EPOCH = pl.date(1899, 12, 30)


class UnreadableFileError(Exception):
    """A landed file that cannot be decoded or opened at all (terminal: the file must be re-exported)."""


@dataclass(frozen=True)
class RawRecords:
    """Records of one file as strings: `row_number`, `n_fields`, `header_width`, `is_blank`, canonical columns."""

    frame: pl.DataFrame
    columns: tuple[str, ...]
    encoding: str


def decode(data: bytes) -> tuple[str, str]:
    """UTF-8 (with or without BOM) when it decodes, else Windows-1258; always returned in NFC."""
    for encoding in ("utf-8-sig", "cp1258"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding == "utf-8-sig":
            encoding = "utf-8-bom" if data.startswith(b"\xef\xbb\xbf") else "utf-8"
        return unicodedata.normalize("NFC", text), encoding
    raise UnreadableFileError("neither UTF-8 nor Windows-1258")


def split_lines(text: str) -> list[str]:
    """Physical lines; a final newline ends the last line instead of starting a new one."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _fields_from_lines(lines: pl.Series) -> pl.Series:
    """Quote-aware CSV field split of single-line records, vectorized with a regex."""
    return ("," + lines).str.extract_all(_CSV_FIELD).list.eval(pl.element().str.slice(1))


def _fields_with_csv_module(text: str) -> pl.Series:
    """Fallback for files with quoted line breaks, where one record spans several lines."""
    records = list(csv.reader(io.StringIO(text, newline="")))
    return pl.Series("fields", records, dtype=pl.List(pl.String))


def _unquote(field: pl.Expr) -> pl.Expr:
    """Strip CSV quoting and doubled quotes; unquoted fields pass through; trim spaces."""
    quoted = field.str.starts_with('"') & field.str.ends_with('"') & (field.str.len_chars() >= 2)
    return (
        pl.when(quoted)
        .then(field.str.slice(1, field.str.len_chars() - 2).str.replace_all('""', '"', literal=True))
        .otherwise(field)
        .str.strip_chars()
    )


def read_csv_records(data: bytes, columns: ColumnAliases = EXPORT_COLUMNS) -> RawRecords:
    """Decode, split into records and fields, and pick the canonical columns by header."""
    text, encoding = decode(data)
    lines = split_lines(text)
    if not lines:
        return _records_from_fields(pl.Series("fields", [], dtype=pl.List(pl.String)), [], encoding, columns)
    body = pl.Series("line", lines[1:], dtype=pl.String)
    if (body.str.count_matches('"', literal=True) % 2 == 1).any():
        fields = _fields_with_csv_module("\n".join(lines[1:]))
    else:
        fields = _fields_from_lines(body)
    header = next(csv.reader([lines[0]]), [])
    return _records_from_fields(fields, header, encoding, columns)


def _records_from_fields(fields: pl.Series, header: list[str], encoding: str, columns: ColumnAliases) -> RawRecords:
    """Shape field lists into one string column per recognised canonical header."""
    positions = map_header(header, columns)
    frame = pl.DataFrame({"fields": fields}).with_row_index("row_number", offset=1)
    frame = frame.select(
        pl.col("row_number").cast(pl.Int32),
        n_fields=pl.col("fields").list.len().cast(pl.Int32),
        header_width=pl.lit(len(header), dtype=pl.Int32),
        is_blank=pl.col("fields").list.eval(pl.element().str.strip_chars() == "").list.all(),
        **{
            column: _unquote(pl.col("fields").list.get(position, null_on_oob=True))
            for column, position in positions.items()
        },
    )
    return RawRecords(frame=_blank_to_null(frame, tuple(positions)), columns=tuple(positions), encoding=encoding)


def _blank_to_null(frame: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    """Empty cells are missing values, whatever the file format."""
    return frame.with_columns(
        [
            pl.when(pl.col(c).str.strip_chars() == "").then(None).otherwise(pl.col(c).str.strip_chars()).alias(c)
            for c in columns
        ]
    )


def _open_workbook(path: Path) -> fastexcel.ExcelReader:
    """fastexcel raises its own hierarchy for corrupt workbooks: one clear error instead."""
    try:
        return fastexcel.read_excel(str(path))
    except Exception as error:
        raise UnreadableFileError(f"not a readable .xlsx workbook ({type(error).__name__})") from None


def _load_sheet(workbook: fastexcel.ExcelReader, sheet: int | str) -> pl.DataFrame:
    """Every cell of one sheet as text, no header interpretation."""
    try:
        return workbook.load_sheet(sheet, header_row=None, dtypes="string").to_polars()
    except Exception as error:
        raise UnreadableFileError(f"sheet {sheet!r} is not readable ({type(error).__name__})") from None


def read_xlsx_records(path: Path, columns: ColumnAliases = EXPORT_COLUMNS) -> RawRecords:
    """First sheet; every row after the header up to the last non-empty row, Excel dates as ISO text."""
    return _sheet_records(_load_sheet(_open_workbook(path), 0), columns)


def read_xlsx_sheets(
    path: Path, columns: ColumnAliases, required: tuple[str, ...]
) -> tuple[list[tuple[str, RawRecords]], int]:
    """(sheet name, records) of every sheet whose header row has the `required` columns, and the number of sheets."""
    workbook = _open_workbook(path)
    sheets = []
    for name in workbook.sheet_names:
        records = _sheet_records(_load_sheet(workbook, name), columns, required)
        if all(column in records.columns for column in required):
            sheets.append((name, records))
    return sheets, len(workbook.sheet_names)


HEADER_SEARCH_ROWS = 10
"""A header under a title block is looked for in this many top rows (rows above it are not records)."""


def _header_row(table: pl.DataFrame, columns: ColumnAliases, required: tuple[str, ...]) -> int:
    """Index of the first top row that names every `required` column; the first row when none does."""
    for index, row in enumerate(table.head(HEADER_SEARCH_ROWS).iter_rows()):
        cells = [unicodedata.normalize("NFC", cell) if cell else "" for cell in row]
        if required and all(column in map_header(cells, columns) for column in required):
            return index
    return 0


def _sheet_records(table: pl.DataFrame, columns: ColumnAliases, required: tuple[str, ...] = ()) -> RawRecords:
    """Every row after the header up to the last non-empty row, Excel dates as ISO text."""
    if table.height == 0:
        return _records_from_fields(pl.Series("fields", [], dtype=pl.List(pl.String)), [], "xlsx", columns)
    start = _header_row(table, columns, required)
    header = [unicodedata.normalize("NFC", cell) if cell else "" for cell in table.row(start)]
    while header and not header[-1]:
        header.pop()
    body = table.slice(start + 1)
    names = body.columns
    last_filled = pl.max_horizontal(
        [
            pl.when(pl.col(name).is_not_null() & (pl.col(name).str.strip_chars() != "")).then(i + 1).otherwise(0)
            for i, name in enumerate(names)
        ]
    )
    positions = map_header(header, columns)
    frame = body.with_row_index("row_number", offset=1).select(
        pl.col("row_number").cast(pl.Int32),
        n_fields=pl.max_horizontal(last_filled, pl.lit(len(header))).cast(pl.Int32),
        header_width=pl.lit(len(header), dtype=pl.Int32),
        is_blank=last_filled == 0,
        **{
            column: pl.col(names[position]).str.normalize("NFC").str.strip_chars()
            for column, position in positions.items()
        },
    )
    found = tuple(positions)
    frame = _blank_to_null(frame, found).with_columns(
        [
            _excel_serial_to_iso(pl.col(c)).alias(c)
            for c in ("date_of_birth", "vaccination_date", "decided_on")
            if c in found
        ]
    )
    return RawRecords(frame=frame, columns=found, encoding="xlsx")


def _excel_serial_to_iso(cell: pl.Expr) -> pl.Expr:
    """A date cell Excel kept as a serial number (days since 1899-12-30) becomes yyyy-mm-dd."""
    is_serial = cell.str.contains(r"^\d{5}(\.0+)?$")
    serial_days = cell.str.extract(r"^(\d{5})", 1).cast(pl.Int64)
    as_date = (_EXCEL_EPOCH + pl.duration(days=serial_days)).dt.strftime("%Y-%m-%d")
    return pl.when(is_serial).then(as_date).otherwise(cell)


def read_records(path: Path) -> RawRecords:
    """Dispatch on the file suffix (the caller only passes SUPPORTED_SUFFIXES)."""
    if path.suffix.lower() == ".xlsx":
        return read_xlsx_records(path)
    return read_csv_records(path.read_bytes())
