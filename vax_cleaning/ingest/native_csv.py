"""A native CSV parser (polars') for the common case: a UTF-8 file whose every record is one line.

The line reader (files.py) splits fields with a regex and Python strings: exact for any file, but slower. Polars
parses the file here (every line a row, blank lines as empty rows), and a line keeps polars' fields only where the two
parsers provably agree: polars made exactly one row of every line, the line has the header's field count, and its
every quote stands alone at a field's edge (opening after a comma or the line's start, closing before a comma or the
line's end). Other lines, which are few, come back as text for the line reader to split: blank and ragged lines, and
lines with doubled or mid-field quotes (`ab"c`, `"ab"c`, `""`). A file where a record spans lines (a quoted line
break), or whose line breaks are mixed, goes to the line reader whole.
"""

from __future__ import annotations

import numpy as np
import polars as pl

_NEWLINE, _CARRIAGE_RETURN, _QUOTE, _COMMA = 10, 13, 34, 44


def column_names(width: int) -> list[str]:
    """The positional names the parsed columns get (the header's own cells are read by the line reader)."""
    return [f"field_{index}" for index in range(width)]


def read_lines(text: str, header_width: int) -> tuple[pl.DataFrame, list[int], list[str]] | None:
    """(records polars parsed, the line numbers and texts of the data lines left to the line reader), or None.

    `text`: the file decoded and in NFC. Line numbers count the header as 0, like `source_row`; the frame has
    `row_number`, `has_quote` (the line reader never calls a line with a quote blank) and one String column per
    header cell (`column_names`).
    """
    data = text.encode("utf-8")
    if header_width == 0 or (b"\r" in data and not data.count(b"\r") == data.count(b"\r\n") == data.count(b"\n")):
        return None  # a bare \r, or \n and \r\n mixed: polars would end lines elsewhere
    starts, ends = _line_spans(data)
    parsed = _parsed_rows(data, header_width)
    if parsed is None or parsed.height != len(starts) - 1:
        return None  # a record spanning lines (quoted line break): the line reader decides
    quoted, unsafe, commas = _line_shapes(data, starts)
    names = column_names(header_width)
    quoted_commas = parsed.select(
        pl.sum_horizontal(pl.col(name).str.count_matches(",", literal=True).fill_null(0) for name in names)
    ).to_series()
    data_lines = np.arange(1, len(starts))
    keep = (ends - starts)[1:] > 0
    keep &= ~np.isin(data_lines, unsafe)
    keep &= commas[1:] - quoted_commas.to_numpy() == header_width - 1  # a ragged row was cut or padded to fit
    kept, odd = data_lines[keep], data_lines[~keep]
    odd_texts = [data[starts[line] : ends[line]].decode("utf-8") for line in odd.tolist()]
    rows = parsed.filter(pl.Series(keep)).with_columns(
        row_number=pl.Series(kept, dtype=pl.Int32), has_quote=pl.Series(np.isin(kept, quoted))
    )
    return rows, odd.tolist(), odd_texts


def _line_shapes(data: bytes, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lines with a quote, lines with a quote not alone at a field's edge, commas per line).

    `ab"c`, `"ab"c` and `""` split differently in the two parsers; a quote alone at an edge opens or closes a field.
    """
    codes = np.frombuffer(data, np.uint8)
    quotes = np.flatnonzero(codes == _QUOTE)
    padded = np.frombuffer(b"\n" + data + b"\n", np.uint8)
    before, after = padded[quotes], padded[quotes + 2]
    alone = (before != _QUOTE) & (after != _QUOTE)
    at_edge = np.isin(before, (_COMMA, _NEWLINE)) | np.isin(after, (_COMMA, _NEWLINE, _CARRIAGE_RETURN))
    quote_lines = np.searchsorted(starts, quotes, side="right") - 1
    commas = np.diff(np.searchsorted(np.flatnonzero(codes == _COMMA), np.append(starts, len(data))))
    return np.unique(quote_lines), np.unique(quote_lines[~(alone & at_edge)]), commas


def _line_spans(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(start, end) byte offsets of each physical line without its line break; a final break ends the last line."""
    newlines = np.flatnonzero(np.frombuffer(data, np.uint8) == _NEWLINE)
    starts = np.concatenate([[0], newlines + 1])
    ends = np.concatenate([newlines, [len(data)]])
    if data.endswith(b"\n"):
        starts, ends = starts[:-1], ends[:-1]
    carriage = np.zeros(len(ends), dtype=bool)
    nonempty = ends > starts
    carriage[nonempty] = np.frombuffer(data, np.uint8)[ends[nonempty] - 1] == _CARRIAGE_RETURN
    return starts, ends - carriage


def _parsed_rows(data: bytes, header_width: int) -> pl.DataFrame | None:
    """Polars' rows after the header line, one String column per header cell (ragged rows cut or padded)."""
    try:
        return pl.read_csv(
            data,
            has_header=False,
            skip_lines=1,
            schema=dict.fromkeys(column_names(header_width), pl.String),
            quote_char='"',
            truncate_ragged_lines=True,
            raise_if_empty=False,
        )
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException):  # a panic is a BaseException: caught by name
        return None
