"""File formats and encodings: render records as each file's author wrote them, then write csv/xlsx."""

from __future__ import annotations

import csv
import io
import unicodedata
from datetime import datetime
from pathlib import Path

import polars as pl
import xlsxwriter

from vax_cleaning.generate.files import EXCEL_DATE_FORMATS, GENDER_STYLES, FileSpec
from vax_cleaning.generate.text import cp1258_table, decompose_for_cp1258

NOTES: tuple[str, ...] = ("Tiêm lưu động", "Đã tiêm", "Hẹn mũi sau", "Sốt nhẹ sau tiêm")
"""What sites typed into a free 'Ghi chú' column (mostly left empty)."""

FALLBACK_ENCODING = "utf-8-sig"
"""Used when a cp1258 file would contain a character Windows-1258 cannot encode."""

XLSX_CREATED = datetime(2022, 6, 1, 8, 0, 0)
"""Fixed workbook creation time, so xlsx files are byte-identical for a given seed."""


def date_text(year: pl.Expr, month: pl.Expr, day: pl.Expr, fmt: str) -> pl.Expr:
    """A birth date in the file's format; the year alone where month/day are missing."""
    return pl.when(month.is_null()).then(year.cast(pl.String)).otherwise(pl.date(year, month, day).dt.strftime(fmt))


def render(spec: FileSpec, rows: pl.DataFrame) -> pl.DataFrame:
    """Every cell of the file as text (canonical column names, '_extra' for the extra column)."""
    male, female = GENDER_STYLES[spec.gender_style]
    note_index = pl.col("rec_id") % 97
    extra = (
        pl.col("source_row").cast(pl.String)
        if spec.extra_column == "STT"
        else pl.when(note_index < len(NOTES))
        .then(pl.lit(pl.Series(NOTES)).gather(note_index.clip(0, len(NOTES) - 1)))
        .otherwise(pl.lit(""))
    )
    return rows.select(
        full_name=pl.col("full_name"),
        date_of_birth=date_text(pl.col("birth_year"), pl.col("birth_month"), pl.col("birth_day"), spec.date_format),
        gender=pl.col("gender").replace_strict({"Nam": male, "Nữ": female}, default=None),
        id_number=pl.col("id_text"),
        phone=pl.col("phone"),
        address=pl.col("address"),
        vaccine=pl.col("vaccine_text"),
        dose_number=pl.col("dose_written").cast(pl.String),
        vaccination_date=pl.coalesce(pl.col("vdate_text"), pl.col("vdate_written").dt.strftime(spec.date_format)),
        lot_number=pl.col("lot_number"),
        facility=pl.col("facility"),
        _extra=extra,
    )


def csv_rows(spec: FileSpec, rows: pl.DataFrame, cells: pl.DataFrame) -> list[list | tuple]:
    """Data rows in file column order; blank lines and short/long rows where garbage says so."""
    table: list[list | tuple] = cells.select(spec.columns).rows()
    special = rows.select(
        index=pl.int_range(pl.len()), kind=pl.col("expected_rejection"), delta=pl.col("field_delta")
    ).filter(pl.col("kind").is_in(["blank", "field_count"]))
    address_at = spec.columns.index("address")
    for index, kind, delta in special.iter_rows():
        row = list(table[index])
        if kind == "blank":
            table[index] = []
        elif delta < 0:
            table[index] = row[:delta]
        else:  # an unquoted comma in the address splits it in two fields
            address = row[address_at] or ""
            left, _, right = address.partition(",")
            table[index] = [*row[:address_at], left, right.strip(), *row[address_at + 1 :]]
    return table


def encode(text: str, encoding: str) -> tuple[bytes, str]:
    """Bytes of the file in the requested encoding, and the encoding actually used."""
    if encoding == "utf-8-nfd":
        return unicodedata.normalize("NFD", text).encode("utf-8"), encoding
    if encoding == "cp1258":
        try:  # the cells were already decomposed (tones as combining marks)
            return text.encode("cp1258"), encoding
        except UnicodeEncodeError:
            encoding = FALLBACK_ENCODING
    return text.encode(encoding), encoding


def write_csv(path: Path, spec: FileSpec, rows: pl.DataFrame) -> str:
    """Write one csv export with Python's csv module; returns the encoding used."""
    cells = render(spec, rows)
    headers = list(spec.headers)
    if spec.encoding == "cp1258":
        cells = cells.with_columns(decompose_for_cp1258(pl.col(pl.String)))
        headers = [h.translate(cp1258_table()) for h in headers]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=spec.line_terminator)
    writer.writerow(headers)
    writer.writerows(csv_rows(spec, rows, cells))
    data, used = encode(buffer.getvalue(), spec.encoding)
    path.write_bytes(data)
    return used


def xlsx_columns(spec: FileSpec, rows: pl.DataFrame, cells: pl.DataFrame) -> dict[str, list]:
    """Cell values with Excel types: real dates, numeric IDs (leading zero lost), numeric dose numbers."""
    columns = {name: cells[name].to_list() for name in cells.columns}
    columns["dose_number"] = rows["dose_written"].to_list()
    if spec.extra_column == "STT":
        columns["_extra"] = rows["source_row"].to_list()
    if spec.ids_as_numbers:
        columns["id_number"] = [int(v) if v and v.isdigit() else v for v in columns["id_number"]]
    if spec.real_dates:
        birth = rows.select(pl.date("birth_year", "birth_month", "birth_day"))
        columns["date_of_birth"] = [
            d if d is not None else t for d, t in zip(birth.to_series(), columns["date_of_birth"], strict=True)
        ]
        vaccination = rows.select(pl.when(pl.col("vdate_text").is_null()).then("vdate_written")).to_series()
        columns["vaccination_date"] = [
            d if d is not None else t for d, t in zip(vaccination, columns["vaccination_date"], strict=True)
        ]
    return columns


def write_xlsx(path: Path, spec: FileSpec, rows: pl.DataFrame) -> str:
    """Write one xlsx export (xlsxwriter, one sheet); blank garbage rows are left empty."""
    columns = xlsx_columns(spec, rows, render(spec, rows))
    blank = (rows["expected_rejection"] == "blank").fill_null(False).to_list()
    workbook = xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    workbook.set_properties({"created": XLSX_CREATED, "author": "vax_cleaning generator"})
    sheet = workbook.add_worksheet("Danh sách")
    if spec.real_dates:
        date_format = workbook.add_format({"num_format": EXCEL_DATE_FORMATS[spec.date_format]})
        for name in ("date_of_birth", "vaccination_date"):
            position = spec.columns.index(name)
            sheet.set_column(position, position, 12, date_format)
    sheet.write_row(0, 0, spec.headers)
    for number, values in enumerate(zip(*(columns[c] for c in spec.columns), strict=True), start=1):
        if not blank[number - 1]:
            sheet.write_row(number, 0, values)
    workbook.close()
    return "xlsx"


def write_export(exports_dir: Path, spec: FileSpec, rows: pl.DataFrame) -> str:
    """Write one export file under exports/<PP>/; returns the encoding (or 'xlsx') used."""
    path = exports_dir / spec.path
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_xlsx(path, spec, rows) if spec.fmt == "xlsx" else write_csv(path, spec, rows)


def check_registry_format(fmt: str) -> str:
    """The registry file format, refused before any work when unknown (padding a registry takes minutes)."""
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"registry_format must be 'parquet' or 'csv', not {fmt!r}")
    return fmt


def write_registry(registry: pl.DataFrame, folder: Path, fmt: str, stem: str = "registry") -> Path:
    """registry/<snapshot>/<stem>.parquet|csv (contract 2.2); a snapshot may be split over several files."""
    path = folder / f"{stem}.{check_registry_format(fmt)}"
    folder.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        registry.write_csv(path)
    else:
        registry.write_parquet(path)
    return path
