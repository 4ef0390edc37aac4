"""Read one export file (CSV or XLSX, any encoding seen in the field) into raw string records.

Records keep their 1-based `row_number` (the contract's `source_row`) exactly as the contract counts them: header
excluded, blank lines count, the newline that ends the last line does not make one.

CSV quoting never costs a record. Each physical line (`\n`, `\r\n` or `\r`) is one record, except where a field
opened by a quote at its start really continues on the next lines: the lines join into one record only when the
quote closes within `MAX_QUOTED_LINES` lines and `MAX_QUOTED_CHARS` characters, the joined record has as many
fields as the header, and the opening and closing lines are not each a whole record (as many fields as the header)
on their own. Otherwise (a stray quote) every line stays its own record, judged by its own field count.
Fields are split by one regex over all records at once; Python looks only at lines after an unclosed quote.
In UTF-8 files, polars' CSV parser splits the lines where it provably agrees (native_csv.py).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import fastexcel
import numpy as np
import polars as pl

from vax_cleaning.ingest import native_csv
from vax_cleaning.ingest.headers import EXPORT_COLUMNS, REQUIRED_COLUMNS, map_header

ColumnAliases = dict[str, tuple[str, ...]]
"""Canonical column -> accepted header aliases (headers.EXPORT_COLUMNS, headers.DECISION_COLUMNS)."""

SUPPORTED_SUFFIXES = (".csv", ".xlsx")

_CSV_FIELD = r',("(?:[^"]|"")*"[^,]*|[^,]*)'
"""One CSV field including the comma before it (each line gets a leading comma)."""

_QUOTED = r'"(?:[^"]|"")*"(?:[^,"][^,]*)?'
_UNQUOTED = r'(?:[^,"][^,]*)?'
_ENDS_IN_QUOTE = rf'^(?:(?:{_QUOTED}|{_UNQUOTED}),)*"(?:[^"]|"")*$'
"""A line whose last field opens a quote that the line does not close (quotes count only at a field's start).
Prefixed with a quote, the same test tells whether a line read inside an open quote still ends inside it."""

MAX_QUOTED_LINES = 8
"""A quoted field may join at most this many physical lines into one record."""
MAX_QUOTED_CHARS = 4_000
"""... and the joined record at most this many characters; beyond, the quote is stray and lines stay records."""

_UTF8_BOM = b"\xef\xbb\xbf"
_NON_ASCII = bytes(range(128, 256))
MOSTLY_UTF8 = 0.9
"""Share of non-ASCII characters decoding as valid UTF-8 above which a file that fails strict UTF-8 is UTF-8 with a few
damaged bytes (decoded with U+FFFD in their place) rather than Windows-1258."""

_EXCEL_EPOCH = pl.date(1899, 12, 30)


class UnreadableFileError(Exception):
    """A landed file that cannot be decoded or opened at all (terminal: the file must be re-exported)."""


@dataclass(frozen=True)
class RawRecords:
    """Records of one file as strings: `row_number`, `n_fields`, `header_width`, `is_blank`, canonical columns."""

    frame: pl.DataFrame
    columns: tuple[str, ...]
    encoding: str
    note: str | None = None
    """Something the data officer should know although the file was read (e.g. damaged bytes replaced)."""


@dataclass(frozen=True)
class ExportFile:
    """Every part of one landed export: (label, records), label "" for a CSV or a workbook's only data sheet,
    "#<sheet>" for each data sheet of a workbook that has several; notes about what was not read."""

    parts: list[tuple[str, RawRecords]]
    notes: list[str] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)
    """The notes about sheets that look like data but were not read (hidden, or lacking a required column)."""


def decode(data: bytes) -> tuple[str, str]:
    """UTF-8 (with or without BOM) when it decodes, else Windows-1258; UTF-16/32 by their BOM; always NFC."""
    text, encoding, _ = _decode(data)
    return text, encoding


def _decode(data: bytes) -> tuple[str, str, str | None]:
    """(NFC text, encoding label, note). A UTF-8 BOM before Windows-1258 bytes is dropped, never glued to the header."""
    for bom, codec in (
        (b"\xff\xfe\x00\x00", "utf-32"),
        (b"\x00\x00\xfe\xff", "utf-32"),
        (b"\xff\xfe", "utf-16"),
        (b"\xfe\xff", "utf-16"),
    ):
        if data.startswith(bom):
            try:
                return _nfc(data.decode(codec)), codec, None
            except UnicodeDecodeError:
                raise UnreadableFileError(f"{codec.upper()} byte-order mark but not valid {codec.upper()}") from None
    if data.startswith(b"PK\x03\x04"):
        raise UnreadableFileError("a zip archive or .xlsx workbook, not CSV text: land it with its own suffix")
    codec = _utf16_without_bom(data)
    if codec:
        try:
            return _nfc(data.decode(codec)), codec, "UTF-16 without a byte-order mark"
        except UnicodeDecodeError:
            raise UnreadableFileError(f"looks like {codec.upper()} but is not valid {codec.upper()}") from None
    bom = data.startswith(_UTF8_BOM)
    body = data[len(_UTF8_BOM) :] if bom else data
    label = "utf-8-bom" if bom else "utf-8"
    try:
        return _nfc(body.decode("utf-8")), label, None
    except UnicodeDecodeError:
        pass
    text = body.decode("utf-8", errors="replace")
    damaged = text.count("\ufffd")
    valid_non_ascii = len(text) - len(body.translate(None, _NON_ASCII)) - damaged
    if valid_non_ascii >= MOSTLY_UTF8 * (valid_non_ascii + damaged):
        return _nfc(text), label, f"{damaged} damaged UTF-8 byte sequence(s) read as U+FFFD"
    try:
        text = body.decode("cp1258")
    except UnicodeDecodeError:
        raise UnreadableFileError("neither UTF-8 nor Windows-1258") from None
    return (
        _nfc(text),
        "cp1258-bom" if bom else "cp1258",
        "UTF-8 byte-order mark before Windows-1258 text" if bom else None,
    )


def _utf16_without_bom(data: bytes) -> str | None:
    """'utf-16-le'/'utf-16-be' when the start has NUL bytes at every other position (ASCII written as UTF-16)."""
    sample = data[:4096]
    pairs = len(sample) // 2
    if pairs < 2:
        return None
    even, odd = sample[0 : 2 * pairs : 2].count(0), sample[1 : 2 * pairs : 2].count(0)
    if odd >= 0.4 * pairs and even <= 0.05 * pairs:
        return "utf-16-le"
    if even >= 0.4 * pairs and odd <= 0.05 * pairs:
        return "utf-16-be"
    return None


def _nfc(text: str) -> str:
    """NFC, without byte-order marks left at the start (some tools write two)."""
    return unicodedata.normalize("NFC", text.lstrip("\ufeff"))


def split_lines(text: str) -> list[str]:
    """Physical lines; a final newline ends the last line instead of starting a new one."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _fields_from_lines(lines: pl.Series) -> pl.Series:
    """Quote-aware CSV field split of single-line records, vectorized with a regex."""
    return ("," + lines).str.extract_all(_CSV_FIELD).list.eval(pl.element().str.slice(1))


def join_quoted_lines(lines: list[str], header_width: int) -> pl.Series:
    """One text per record: each physical line, except lines a quoted field really spans, joined with "\\n".

    A line ending inside a quote (`_ENDS_IN_QUOTE`) joins the following lines up to the one that closes it, when
    that takes at most MAX_QUOTED_LINES lines and MAX_QUOTED_CHARS characters, the joined record has
    `header_width` fields, and the first and last lines are not both whole records on their own (`header_width`
    fields each when split alone: then both quotes are stray). Otherwise each line stays a record.
    """
    body = pl.Series("line", lines, dtype=pl.String)
    quoted = body.str.contains('"', literal=True)
    if not quoted.any():
        return body
    candidates = np.flatnonzero(quoted.to_numpy())
    opens = candidates[body.gather(candidates).str.contains(_ENDS_IN_QUOTE).to_numpy()]
    if opens.size == 0:
        return body
    spans = _quoted_spans(lines, opens, header_width)
    if not spans:
        return body
    starts = np.ones(len(lines), dtype=np.int32)
    for first, last in spans:
        starts[first + 1 : last + 1] = 0
    return (
        pl.DataFrame({"line": body, "record": np.cumsum(starts)})
        .group_by("record", maintain_order=True)
        .agg(pl.col("line").str.join("\n"))["line"]
    )


def _quoted_spans(lines: list[str], opens: np.ndarray, header_width: int) -> list[tuple[int, int]]:
    """(first, last) line of every record a quoted field spans, in order; the rare lines near a quote only."""
    window = np.unique(np.concatenate([opens + step for step in range(1, MAX_QUOTED_LINES)]))
    window = window[window < len(lines)]
    still_open = dict(
        zip(
            window.tolist(),
            ('"' + pl.Series([lines[i] for i in window], dtype=pl.String)).str.contains(_ENDS_IN_QUOTE).to_list(),
            strict=True,
        )
    )
    candidates: list[tuple[int, int]] = []
    for first in opens.tolist():
        chars = len(lines[first])
        for last in range(first + 1, min(first + MAX_QUOTED_LINES, len(lines))):
            chars += 1 + len(lines[last])
            if chars > MAX_QUOTED_CHARS:
                break
            if not still_open[last]:
                candidates.append((first, last))
                break
    if not candidates:
        return []
    joined = pl.Series([("\n".join(lines[first : last + 1])) for first, last in candidates], dtype=pl.String)
    widths = _fields_from_lines(joined).list.len().to_list()
    ends = pl.Series([lines[end] for pair in candidates for end in pair], dtype=pl.String)
    alone = _fields_from_lines(ends).list.len().to_list()  # (first, last) of each candidate, split on their own
    spans, free_from = [], 0
    for index, ((first, last), width) in enumerate(zip(candidates, widths, strict=True)):
        both_whole = alone[2 * index] == header_width and alone[2 * index + 1] == header_width
        if first >= free_from and width == header_width and not both_whole:
            spans.append((first, last))
            free_from = last + 1
    return spans


def _header_fields(line: str) -> list[str]:
    """Header cells of the first line, split and unquoted like records (no csv-module field limit)."""
    if not line:
        return []
    fields = _fields_from_lines(pl.Series([line], dtype=pl.String))
    return pl.DataFrame({"cell": fields.explode()}).select(_unquote(pl.col("cell")))["cell"].to_list()


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
    """Decode, split into records and fields, and pick the canonical columns by header.

    A UTF-8 file's lines are parsed by polars' CSV parser where that gives the same records (native_csv.py);
    the rest, and any other file, by lines.
    """
    text, encoding, note = _decode(data)
    header = _header_fields(_first_line(text))
    if encoding in ("utf-8", "utf-8-bom") and note is None:
        native = native_csv.read_lines(text, len(header))
        if native is not None and not _any_opens_quote(native[2]):
            return _records_from_native(*native, header, encoding, columns)
    lines = split_lines(text)
    if not lines:
        return _records_from_fields(pl.Series("fields", [], dtype=pl.List(pl.String)), [], encoding, columns, note)
    fields = _fields_from_lines(join_quoted_lines(lines[1:], len(header)))
    return _records_from_fields(fields, header, encoding, columns, note)


def _any_opens_quote(lines: list[str]) -> bool:
    """Whether the line reader would join one of these lines with the next (so they are not records alone)."""
    return bool(lines) and bool(pl.Series(lines, dtype=pl.String).str.contains(_ENDS_IN_QUOTE).any())


def _first_line(text: str) -> str:
    """The header line as split_lines would give it, without splitting the whole text."""
    return re.split(r"\r\n|\r|\n", text, maxsplit=1)[0]


def _records_from_native(
    parsed: pl.DataFrame,
    odd_rows: list[int],
    odd_lines: list[str],
    header: list[str],
    encoding: str,
    columns: ColumnAliases,
) -> RawRecords:
    """Polars' records (already unquoted) merged in line order with the lines left to the line reader."""
    positions = map_header(header, columns)
    names = native_csv.column_names(len(header))
    width = pl.lit(len(header), dtype=pl.Int32)
    whole = parsed.select(
        "row_number",
        n_fields=width,
        header_width=width,
        is_blank=~pl.col("has_quote")
        & pl.all_horizontal(pl.col(name).fill_null("").str.strip_chars() == "" for name in names),
        **{column: pl.col(names[position]) for column, position in positions.items()},
    )
    odd = _records_from_fields(_fields_from_lines(pl.Series(odd_lines, dtype=pl.String)), header, encoding, columns)
    odd = odd.frame.with_columns(row_number=pl.Series(odd_rows, dtype=pl.Int32))
    frame = pl.concat([whole, odd]).sort("row_number")
    return RawRecords(frame=_blank_to_null(frame, tuple(positions)), columns=tuple(positions), encoding=encoding)


def _records_from_fields(
    fields: pl.Series, header: list[str], encoding: str, columns: ColumnAliases, note: str | None = None
) -> RawRecords:
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
    return RawRecords(
        frame=_blank_to_null(frame, tuple(positions)), columns=tuple(positions), encoding=encoding, note=note
    )


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
    return _sheet_and_visibility(workbook, sheet)[0]


def _sheet_and_visibility(workbook: fastexcel.ExcelReader, sheet: int | str) -> tuple[pl.DataFrame, bool]:
    """(every cell as text, whether the sheet is visible: hidden and very hidden sheets are not data)."""
    try:
        loaded = workbook.load_sheet(sheet, header_row=None, dtypes="string")
        return loaded.to_polars(), loaded.visible == "visible"
    except Exception as error:
        raise UnreadableFileError(f"sheet {sheet!r} is not readable ({type(error).__name__})") from None


def read_xlsx_records(path: Path, columns: ColumnAliases = EXPORT_COLUMNS) -> RawRecords:
    """First sheet; every row after the header up to the last non-empty row, Excel dates as ISO text."""
    return _sheet_records(_load_sheet(_open_workbook(path), 0), columns)


def read_xlsx_exports(
    path: Path, columns: ColumnAliases = EXPORT_COLUMNS, required: tuple[str, ...] = REQUIRED_COLUMNS
) -> ExportFile:
    """Every visible sheet whose header (within the top HEADER_SEARCH_ROWS rows) has the `required` columns.

    Labels are "#<sheet>" when several sheets hold data, "" for the only one. A workbook without any such sheet is
    read as one sheet (its visible sheet with the most export column names, header at their row) so that its
    rows are accounted for (rejected for the missing column) rather than lost.
    """
    workbook = _open_workbook(path)
    data: list[tuple[str, RawRecords]] = []
    hidden: list[str] = []
    partial: list[str] = []
    fallback: tuple[int, pl.DataFrame, int] | None = None  # (known columns, sheet, header row)
    for name in workbook.sheet_names:
        table, visible = _sheet_and_visibility(workbook, name)
        header_at = _find_header(table, columns, required)
        if not visible:
            if header_at is not None:
                hidden.append(f"hidden sheet {name!r} has a data header: not read (unhide it if it holds records)")
            continue
        if header_at is not None:
            data.append((name, _sheet_records(table, columns, header_at=header_at)))
            continue
        known, row = _most_known_header(table, columns)
        if fallback is None or known > fallback[0]:
            fallback = (known, table, row)
        if known >= 2:
            missing = ", ".join(c for c in required if c not in map_header(_cells(table.row(row)), columns))
            partial.append(f"sheet {name!r} has export columns but no {missing} column: not read")
    if not data:
        if fallback is None:
            return ExportFile([("", _sheet_records(pl.DataFrame(), columns))], hidden, hidden)
        _, table, row = fallback
        return ExportFile([("", _sheet_records(table, columns, header_at=row))], hidden, hidden)
    parts = [("", data[0][1])] if len(data) == 1 else [(f"#{name}", records) for name, records in data]
    return ExportFile(parts, hidden + partial, hidden + partial)


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


def _cells(row: tuple) -> list[str]:
    """Header cells as text, NFC."""
    return [unicodedata.normalize("NFC", cell) if cell else "" for cell in row]


def _find_header(table: pl.DataFrame, columns: ColumnAliases, required: tuple[str, ...]) -> int | None:
    """Index of the first top row that names every `required` column, None when no row does."""
    if not required:
        return None
    for index, row in enumerate(table.head(HEADER_SEARCH_ROWS).iter_rows()):
        if all(column in map_header(_cells(row), columns) for column in required):
            return index
    return None


def _most_known_header(table: pl.DataFrame, columns: ColumnAliases) -> tuple[int, int]:
    """(known column names, row index) of the top row naming the most columns; (0, 0) when none names any."""
    best = (0, 0)
    for index, row in enumerate(table.head(HEADER_SEARCH_ROWS).iter_rows()):
        known = len(map_header(_cells(row), columns))
        if known > best[0]:
            best = (known, index)
    return best


def _header_row(table: pl.DataFrame, columns: ColumnAliases, required: tuple[str, ...]) -> int:
    """Index of the first top row that names every `required` column; the first row when none does."""
    found = _find_header(table, columns, required)
    return 0 if found is None else found


def _sheet_records(
    table: pl.DataFrame, columns: ColumnAliases, required: tuple[str, ...] = (), header_at: int | None = None
) -> RawRecords:
    """Every row after the header up to the last non-empty row, Excel dates as ISO text.

    Rows below the last non-empty one (formatted but empty, as Excel leaves them) are not records.
    """
    if table.height == 0:
        return _records_from_fields(pl.Series("fields", [], dtype=pl.List(pl.String)), [], "xlsx", columns)
    start = _header_row(table, columns, required) if header_at is None else header_at
    header = _cells(table.row(start))
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
    filled = np.flatnonzero(body.select(last_filled.alias("filled"))["filled"].to_numpy())
    body = body.head(int(filled[-1]) + 1 if filled.size else 0)
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


def read_export(path: Path) -> ExportFile:
    """One landed export, every part of it: the CSV, or each data sheet of a workbook."""
    if path.suffix.lower() == ".xlsx":
        return read_xlsx_exports(path)
    records = read_csv_records(path.read_bytes())
    return ExportFile([("", records)], [records.note] if records.note else [])
