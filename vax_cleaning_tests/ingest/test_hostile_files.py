"""Property-based: hostile CSV text and workbooks never lose or invent a record.

The expected count comes from an independent reading of the contract (section 3): physical lines (`\\n`, `\\r\\n`,
`\\r`), header excluded, blank lines count, the final newline makes no record; a quoted field that really spans
lines (closes within the reader's bounds, the joined record as wide as the header, its first and last lines not
each a whole record) counts once. Quote state is followed character by character here, not with the reader's
regexes; only "how many fields does one line have on its own" uses the contract's field pattern.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from datetime import date
from pathlib import Path

import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vax_cleaning.ingest import files
from vax_cleaning.ingest.exports import ingest_province
from vax_cleaning.ingest.files import read_csv_records, read_xlsx_exports
from vax_cleaning_tests.conftest import HEADER_VI, to_cp1258

MAX_LINES, MAX_CHARS = 8, 4000
LINE_FIELDS = re.compile(r',("(?:[^"]|"")*"[^,]*|[^,]*)')
"""One field of a line split on its own (quoted field with any tail, or up to the next comma)."""
GOOD = "Trần Thị Mai,03/04/1975,Nữ,079175009999,,Xã An Phú,Pfizer,1,15/08/2021,FA1234,Trạm Y tế An Phú"


def test_bounds_are_the_readers():
    assert (files.MAX_QUOTED_LINES, files.MAX_QUOTED_CHARS) == (MAX_LINES, MAX_CHARS)


def physical_lines(text: str) -> list[str]:
    """Lines ended by \\r\\n, \\n or \\r; a final line ending makes no extra line."""
    lines, current, index = [], [], 0
    while index < len(text):
        char = text[index]
        if char in "\r\n":
            lines.append("".join(current))
            current = []
            if char == "\r" and text[index + 1 : index + 2] == "\n":
                index += 1
        else:
            current.append(char)
        index += 1
    if current:
        lines.append("".join(current))
    return lines


def quote_state(text: str) -> tuple[int, bool]:
    """(fields, ends inside a quote) of text read as CSV from a record's start (quotes count at a field's start)."""
    state, fields = "start", 1
    for char in text:
        if state == "start":
            state = "quoted" if char == '"' else "start" if char == "," else "plain"
        elif state == "plain":
            state = "start" if char == "," else "plain"
        elif state == "quoted":
            state = "quote_seen" if char == '"' else "quoted"
        else:  # quote_seen: a doubled quote, or the field closed
            state = "quoted" if char == '"' else "start" if char == "," else "plain"
        if char == "," and state == "start":
            fields += 1
    return fields, state == "quoted"


def alone(line: str) -> int:
    return len(LINE_FIELDS.findall("," + line))


def expected_records(text: str) -> int:
    lines = physical_lines(text)
    if not lines:
        return 0
    width = quote_state(lines[0])[0] if lines[0] else 0
    body, count, index = lines[1:], 0, 0
    while index < len(body):
        last = index
        if quote_state(body[index])[1]:
            size = len(body[index])
            for end in range(index + 1, min(index + MAX_LINES, len(body))):
                size += 1 + len(body[end])
                if size > MAX_CHARS:
                    break
                fields, still_open = quote_state("\n".join(body[index : end + 1]))
                if not still_open:
                    whole = alone(body[index]) == width and alone(body[end]) == width
                    if fields == width and not whole:
                        last = end
                    break
        count += 1
        index = last + 1
    return count


def encode(text: str, encoding: str) -> bytes:
    return {
        "utf-8": lambda: text.encode(),
        "utf-8-bom": lambda: b"\xef\xbb\xbf" + text.encode(),
        "cp1258": lambda: to_cp1258(text),
        "bom+cp1258": lambda: b"\xef\xbb\xbf" + to_cp1258(text),
        "utf-16": lambda: text.encode("utf-16"),
        "utf-16-be": lambda: b"\xfe\xff" + text.encode("utf-16-be"),
    }[encoding]()


ENCODINGS = st.sampled_from(["utf-8", "utf-8-bom", "cp1258", "bom+cp1258", "utf-16", "utf-16-be"])
ENDINGS = st.sampled_from(["\n", "\r\n", "\r"])
TOKENS = ['"', '""', ",", ",", " ", "a", "Ư", "ễ", "đ", "1", "\n", "\n", "\r\n", "\r", "\n\n", "x" * 1500, GOOD]
QUOTED_HEADER = '"Họ và tên","Ngày tiêm","Tên vắc xin","Mũi số"'
HEADERS = st.sampled_from(
    ["", "a", "a,b", "a,b,c", '"x,y",z,"w"', "Họ và tên,Ngày tiêm,Tên vắc xin,Mũi số", QUOTED_HEADER, HEADER_VI]
)


def csv_text(tokens: list[str], max_size: int) -> st.SearchStrategy[str]:
    """A header, a line ending, then a body of random tokens."""
    body = st.lists(st.sampled_from(tokens), max_size=max_size).map("".join)
    return st.builds(lambda header, ending, rest: header + ending + rest, HEADERS, ENDINGS, body)


hostile_text = csv_text(TOKENS, 80)


@settings(max_examples=400, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=hostile_text, encoding=ENCODINGS)
def test_hostile_text_keeps_every_record(text: str, encoding: str):
    frame = read_csv_records(encode(text, encoding)).frame
    assert frame.height == expected_records(text)
    assert frame["row_number"].to_list() == list(range(1, frame.height + 1))


FIELD_TEXT = st.lists(st.sampled_from(['"', "a", "Ư", "ễ", " ", "1", "x" * 40]), max_size=6).map("".join)
MULTILINE_FIELD = st.lists(st.sampled_from(['"', "a", "ễ", " ", "\n", "\r\n"]), max_size=6).map("".join)


@st.composite
def well_formed_csv(draw) -> tuple[str, int]:
    """(CSV text written by the csv module, rows written): full rows with a quoted multi-line field (no commas in
    it), short rows on one line, blank rows; every row spans at most MAX_LINES lines."""
    width = draw(st.integers(2, 6))
    rows = []
    for _ in range(draw(st.integers(0, 25))):
        kind = draw(st.sampled_from(["row", "row", "row", "blank", "short"]))
        if kind == "blank":
            rows.append([])
            continue
        cells = [draw(st.one_of(FIELD_TEXT, FIELD_TEXT.map(lambda t: t.replace("1", ",")))) for _ in range(width)]
        if kind == "short":  # a short row is judged line by line: its quoted line breaks would not join
            rows.append(cells[: draw(st.integers(1, width - 1))])
            continue
        cells[draw(st.integers(0, width - 1))] = draw(MULTILINE_FIELD)
        rows.append(cells)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow([f"h{i}" for i in range(width)])
    writer.writerows(rows)
    return buffer.getvalue(), len(rows)


@settings(max_examples=150, deadline=None, database=None)
@given(case=well_formed_csv(), encoding=ENCODINGS)
def test_a_quoted_multiline_field_counts_once(case: tuple[str, int], encoding: str):
    text, rows = case
    frame = read_csv_records(encode(text, encoding)).frame
    assert frame.height == rows == expected_records(text)


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.lists(st.sampled_from([GOOD, GOOD, '"' + GOOD, "", '"', ",", "x" * 1500, "\r\n", "\n"]), max_size=40))
def test_conservation_through_ingest_province(body: list[str]):
    text = HEADER_VI + "\n" + "\n".join(body)
    with tempfile.TemporaryDirectory() as root:
        folder = Path(root) / "exports" / "79"
        folder.mkdir(parents=True)
        (folder / "site.csv").write_bytes(to_cp1258(text))
        exports = ingest_province(Path(root) / "exports", "79", date(2022, 6, 20))
    rows = sorted([*exports.accepted["source_row"], *exports.rejected["source_row"]])
    assert rows == list(range(1, expected_records(text) + 1))
    assert exports.files["records"].to_list() == [len(rows)]


CELLS = st.one_of(st.none(), st.sampled_from(["", " ", "x", "Pfizer", "15/08/2021"]), st.integers(0, 99))


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    titles=st.lists(st.sampled_from(["DANH SÁCH TIÊM", "Đơn vị: Trạm Y tế", None]), max_size=4),
    sheets=st.lists(st.lists(st.lists(CELLS, max_size=5), max_size=12), min_size=1, max_size=3),
    trailing=st.integers(0, 6),
    cover=st.booleans(),
)
def test_workbook_rows_up_to_the_last_non_empty_one(titles, sheets, trailing, cover):
    header = ["Họ và tên", "Tên vắc xin", "Mũi số", "Ngày tiêm", "Số lô"]
    with tempfile.TemporaryDirectory() as root:
        path = Path(root) / "book.xlsx"
        book = xlsxwriter.Workbook(str(path))
        shade = book.add_format({"bg_color": "#FFFF99"})
        if cover:
            book.add_worksheet("Bìa").write(0, 0, "BÁO CÁO")
        for number, rows in enumerate(sheets):
            sheet = book.add_worksheet(f"Đợt {number + 1}")
            grid = [[title] for title in titles] + [header] + rows
            for r, cells in enumerate(grid):
                for c, value in enumerate(cells):
                    if value is not None:
                        sheet.write(r, c, value)
            for r in range(len(grid), len(grid) + trailing):
                sheet.write_blank(r, 0, None, shade)
        book.close()
        export = read_xlsx_exports(path)
    filled = [max((number for number, cells in enumerate(rows, 1) if _filled(cells)), default=0) for rows in sheets]
    labels = [""] if len(sheets) == 1 else [f"#Đợt {n + 1}" for n in range(len(sheets))]
    assert [label for label, _ in export.parts] == labels
    assert [records.frame.height for _, records in export.parts] == filled


def _filled(cells: list) -> bool:
    return any(value is not None and str(value).strip() != "" for value in cells)


def test_oracle_reads_the_contract_examples():
    assert expected_records("h\n") == 0
    assert expected_records("h\na\n\nb") == 3
    assert expected_records('a,b\n1,"x\ny"\n2,z\n') == 2  # a quoted line break
    assert expected_records('a,b\n"1,x\n2,z\n') == 2  # a stray quote
