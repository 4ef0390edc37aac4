"""Read one export file (CSV or XLSX, any encoding seen in the field) into raw string records.

Records keep their 1-based `source_row` exactly as the contract counts them: header
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

from vax_cleaning.ingest.headers import map_header

SUPPORTED_SUFFIXES = (".csv", ".xlsx")

_CSV_FIELD = r',("(?:[^"]|"")*"[^,]*|[^,]*)'
"""One CSV field including the comma before it (each line gets a leading comma)."""

_EXCEL_EPOCH = pl.date(1899, 12, 30)


class UnreadableFileError(Exception):
    """A landed file that cannot be decoded or opened at all (terminal: the file must be re-exported)."""


@dataclass(frozen=True)
class RawRecords:
    """Records of one file as strings: `source_row`, `n_fields`, `header_width`, `is_blank`, canonical columns."""

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
    return (
        ("," + lines)
        .str.extract_all(_CSV_FIELD)
        .list.eval(pl.element().str.slice(1))
    )


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


def read_csv_records(data: bytes) -> RawRecords:
    """Decode, split into records and fields, and pick the canonical columns by header."""
    text, encoding = decode(data)
    lines = split_lines(text)
    if not lines:
        return _records_from_fields(pl.Series("fields", [], dtype=pl.List(pl.String)), [], encoding)
    body = pl.Series("line", lines[1:], dtype=pl.String)
    if (body.str.count_matches('"', literal=True) % 2 == 1).any():
        fields = _fields_with_csv_module("\n".join(lines[1:]))
    else:
        fields = _fields_from_lines(body)
    header = next(csv.reader([lines[0]]), [])
    return _records_from_fields(fields, header, encoding)


def _records_from_fields(fields: pl.Series, header: list[str], encoding: str) -> RawRecords:
    """Shape field lists into one string column per recognised canonical header."""
    positions = map_header(header)
    frame = pl.DataFrame({"fields": fields}).with_row_index("source_row", offset=1)
    frame = frame.select(
        pl.col("source_row").cast(pl.Int32),
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
        [pl.when(pl.col(c).str.strip_chars() == "").then(None).otherwise(pl.col(c).str.strip_chars()).alias(c) for c in columns]
    )


def read_xlsx_records(path: Path) -> RawRecords:
    """First sheet; every row after the header up to the last non-empty row, Excel dates as ISO text."""
    try:
        sheet = fastexcel.read_excel(str(path)).load_sheet(0, header_row=None, dtypes="string")
        table = sheet.to_polars()
    except Exception as error:  # fastexcel raises its own hierarchy for corrupt workbooks
        raise UnreadableFileError(f"not a readable .xlsx workbook ({type(error).__name__})") from None
    if table.height == 0:
        return _records_from_fields(pl.Series("fields", [], dtype=pl.List(pl.String)), [], "xlsx")
    header = [unicodedata.normalize("NFC", cell) if cell else "" for cell in table.row(0)]
    while header and not header[-1]:
        header.pop()
    body = table.slice(1)
    names = body.columns
    last_filled = pl.max_horizontal(
        [pl.when(pl.col(name).is_not_null() & (pl.col(name).str.strip_chars() != "")).then(i + 1).otherwise(0) for i, name in enumerate(names)]
    )
    frame = body.with_row_index("source_row", offset=1).select(
        pl.col("source_row").cast(pl.Int32),
        n_fields=pl.max_horizontal(last_filled, pl.lit(len(header))).cast(pl.Int32),
        header_width=pl.lit(len(header), dtype=pl.Int32),
        is_blank=last_filled == 0,
        **{
            column: pl.col(names[position]).str.normalize("NFC").str.strip_chars()
            for column, position in map_header(header).items()
        },
    )
    columns = tuple(map_header(header))
    frame = _blank_to_null(frame, columns).with_columns(
        [_excel_serial_to_iso(pl.col(c)).alias(c) for c in ("date_of_birth", "vaccination_date") if c in columns]
    )
    return RawRecords(frame=frame, columns=columns, encoding="xlsx")


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
