"""Small hostile export files, one case each, with what ingestion must make of them.

    .venv/bin/python -m vax_cleaning_tests.fuzz.make_corpus OUT_DIR    # writes OUT_DIR/exports/... and lists the cases

Each case writes its files into a landing root (`exports/<PP>/...`, and for a few cases a place beside the root that
a symbolic link points to) and states, independently of the reader, what must come of every entry: its status in
`export_files` (`ingested`, `rejected`, `skipped`), the number of records (contract section 3: header excluded,
blank lines count, the final newline makes none; in .xlsx every row after the header up to the last non-empty
row), and where it is certain, how many are accepted. `test_fuzz_corpus.py` ingests each case alone and all of them
together (with the bundled sample data) in one Dagster run.
"""

from __future__ import annotations

import os
import sys
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import xlsxwriter

from vax_cleaning.generate.files import CANONICAL_COLUMNS
from vax_cleaning_tests.conftest import to_cp1258

PROVINCE = "79"
"""Most cases land in province 79 (beside the sample data's own files there)."""

HEADER = (
    "Họ và tên,Ngày sinh,Giới tính,Số CMND/CCCD,Số điện thoại,Địa chỉ,Tên vắc xin,Mũi số,Ngày tiêm,Số lô,Cơ sở tiêm"
)
HEADER_CELLS = HEADER.split(",")
ROW_CELLS = [
    "Trần Thị Mai",
    "03/04/1975",
    "Nữ",
    "079175009999",
    "",
    "Xã An Phú Huyện Củ Chi",
    "Pfizer",
    "1",
    "15/08/2021",
    "FA1234",
    "Trạm Y tế An Phú",
]
ROW = ",".join(ROW_CELLS)
"""A record every reader must accept (no quotes, 11 fields, a date within the campaign)."""
QUOTED_ROW = ROW.replace("Xã An Phú Huyện Củ Chi", '"Xã An Phú, Huyện Củ Chi"')
"""The same record with a quoted address holding a comma, as most exports write it."""


def row(**changes: str) -> str:
    """ROW with some cells replaced (by canonical column name)."""
    names = list(CANONICAL_COLUMNS)
    cells = list(ROW_CELLS)
    for name, value in changes.items():
        cells[names.index(name)] = value
    return ",".join(cells)


@dataclass(frozen=True)
class Expect:
    """What must become of one landed entry (`file`: path relative to exports/, as landed)."""

    status: str
    records: int = 0
    accepted: int | None = None
    """None where the case does not pin it (the record count and conservation still hold)."""
    parts: dict[str, int] = field(default_factory=dict)
    """Records per sheet (`#<sheet>` suffix of source_file) of a workbook with several data sheets."""
    unread: bool = False
    """Named by the `every_landed_file_ingested` check (data-looking, not (fully) ingested)."""
    full_names: bool = False
    """Every accepted record has its full_name (the first column survived decoding)."""


@dataclass(frozen=True)
class Case:
    name: str
    what: str
    write: Callable[[Path], None]
    expect: dict[str, Expect] = field(default_factory=dict)
    loose_files: tuple[str, ...] = ()
    """Files the case puts directly under exports/ (the layout check names them)."""
    unknown_folders: tuple[str, ...] = ()

    @property
    def provinces(self) -> list[str]:
        return sorted({name.split("/", 1)[0] for name in self.expect})


def ingested(records: int, accepted: int | None = None, **more) -> Expect:
    return Expect("ingested", records, accepted, **more)


SKIPPED_DATA = Expect("skipped", unread=True)
SKIPPED_OTHER = Expect("skipped")
REJECTED = Expect("rejected", unread=True)


def folder(landing: Path, province: str = PROVINCE) -> Path:
    path = landing / "exports" / province
    path.mkdir(parents=True, exist_ok=True)
    return path


def put(name: str, data: bytes | str, province: str = PROVINCE) -> Callable[[Path], None]:
    """A writer of one file (str is written as UTF-8, exactly as given: no newline added)."""

    def write(landing: Path) -> None:
        (folder(landing, province) / name).write_bytes(data.encode() if isinstance(data, str) else data)

    return write


def lines(*records: str, end: str = "\n") -> str:
    """Header and records, each line ended by `end`."""
    return "".join(line + end for line in (HEADER, *records))


def workbook(name: str, sheets: list[dict], province: str = PROVINCE) -> Callable[[Path], None]:
    """A writer of one .xlsx: each sheet {"name", "rows" (list of lists, None = empty cell), "hidden",
    "formatted_rows" (empty formatted rows after the data), "active"}."""

    def write(landing: Path) -> None:
        book = xlsxwriter.Workbook(str(folder(landing, province) / name), {"strings_to_numbers": False})
        shade = book.add_format({"bg_color": "#FFFF99", "border": 1})
        for spec in sheets:
            sheet = book.add_worksheet(spec["name"])
            for index, cells in enumerate(spec["rows"]):
                for column, value in enumerate(cells):
                    if value is not None:
                        sheet.write(index, column, value)
            for extra in range(spec.get("formatted_rows", 0)):
                for column in range(len(HEADER_CELLS)):
                    sheet.write_blank(len(spec["rows"]) + extra, column, None, shade)
            if spec.get("active"):
                sheet.activate()
            if spec.get("hidden"):
                sheet.hide()
        book.close()

    return write


def all_of(*writers: Callable[[Path], None]) -> Callable[[Path], None]:
    def write(landing: Path) -> None:
        for writer in writers:
            writer(landing)

    return write


DATA_ROWS = [HEADER_CELLS, ROW_CELLS, ROW_CELLS, ROW_CELLS]
"""A sheet: header and three good records."""


def _symlink(name: str, target: Callable[[Path], Path]) -> Callable[[Path], None]:
    def write(landing: Path) -> None:
        os.symlink(target(landing), folder(landing) / name)

    return write


def _outside(landing: Path) -> Path:
    """A file beside the landing root, not under it."""
    outside = landing.parent / f"{landing.name}_outside"
    outside.mkdir(exist_ok=True)
    (outside / "secret.csv").write_text(lines(ROW))
    return outside / "secret.csv"


def _inside(landing: Path) -> Path:
    """A file under the landing root but outside exports/."""
    (landing / "elsewhere").mkdir(exist_ok=True)
    (landing / "elsewhere" / "copy.csv").write_text(lines(ROW, ROW))
    return landing / "elsewhere" / "copy.csv"


def _fifo(landing: Path) -> None:
    os.mkfifo(folder(landing) / "pipe.csv")


def _nested(landing: Path) -> None:
    (folder(landing) / "cu" / "sub").mkdir(parents=True)
    (folder(landing) / "cu" / "2021.csv").write_text(lines(ROW))
    (folder(landing) / "cu" / "sub" / "2020.csv").write_text(lines(ROW))
    (folder(landing) / "trong").mkdir()
    (folder(landing) / "x.csv").mkdir()


def _non_utf8_name(landing: Path) -> None:
    with open(os.path.join(os.fsencode(folder(landing)), b"site\xff.csv"), "wb") as file:
        file.write(lines(ROW).encode())


TWIN_NFC = unicodedata.normalize("NFC", "Hòa Bình.csv")
TWIN_NFD = unicodedata.normalize("NFD", "Hòa Bình.csv")
TWIN_FIRST, TWIN_SECOND = sorted([TWIN_NFC, TWIN_NFD], key=str.encode)
"""Files are taken in byte order of their names: the first of two NFC-equal names is read, the other refused."""


def _stray_quote_500() -> str:
    records = [row(full_name=f"Người {i}") for i in range(1, 501)]
    records[9] = '"' + records[9]  # a stray quote on line 10, never closed
    return lines(*records)


def _quoted_too_long() -> str:
    opening = ",".join(ROW_CELLS[:5]) + ',"' + "x" * 3000  # the address opens a quote ...
    closing = "y" * 3000 + '",Pfizer,1,15/08/2021,FA1,Trạm'  # ... closed 6,000 characters later
    return lines(ROW, opening, closing, ROW)


def _very_long_lines() -> str:
    return lines(ROW, "a," * 1_000_000, "b" * 1_000_000, ROW)


CASES: list[Case] = [
    # --- quoting
    Case(
        "stray_quote_line_10",
        "500 records, an unclosed quote at the start of line 10's first field",
        put("stray_quote.csv", _stray_quote_500()),
        {"79/stray_quote.csv": ingested(500, 500)},
    ),
    Case(
        "field_over_csv_limit",
        "a 200,000-character address (over the csv module's 131,072 field limit) in a file with a stray quote",
        put("huge_field.csv", lines(ROW, row(address="x" * 200_000), '"' + ROW)),
        {"79/huge_field.csv": ingested(3, 3)},
    ),
    Case(
        "stray_quote_before_blank_line",
        "an unclosed quote at the start of the lot number, then a blank line and two records",
        put("stray_quote_blank.csv", lines(ROW, row(lot_number='"FA1234'), "", ROW, ROW)),
        {"79/stray_quote_blank.csv": ingested(5, 4)},
    ),
    Case(
        "quoted_line_break",
        "an address written on two lines inside quotes: one record",
        put("line_break.csv", lines(row(address='"Ấp 3\nXã Bình Mỹ"'), QUOTED_ROW)),
        {"79/line_break.csv": ingested(2, 2)},
    ),
    Case(
        "quoted_span_too_long",
        "a quote that closes only 6,000 characters later: the two lines stay records",
        put("quoted_too_long.csv", _quoted_too_long()),
        {"79/quoted_too_long.csv": ingested(4, 2)},
    ),
    Case(
        "quotes_everywhere",
        "lines opening a quote at their start, every third line closing one inside a complete record: nothing joins",
        put(
            "quotes_everywhere.csv",
            lines(*[('"' + ROW) if i % 3 else row(lot_number='FA1"') for i in range(60)]),
        ),
        {"79/quotes_everywhere.csv": ingested(60)},
    ),
    Case(
        "unclosed_quote_at_end",
        "the last line opens a quote and the file ends without a newline",
        put("unclosed_at_end.csv", lines(ROW, ROW) + '"' + ROW),
        {"79/unclosed_at_end.csv": ingested(3, 3)},
    ),
    # --- bytes and lines
    Case(
        "nul_bytes",
        "NUL characters inside a name and a line of NULs",
        put("nul.csv", lines(row(full_name="Trần\x00Thị Mai"), "\x00\x00\x00", ROW)),
        {"79/nul.csv": ingested(3, 2)},
    ),
    Case(
        "mixed_line_endings",
        "\\r\\n, \\n and \\r in one file, a blank line, no final newline",
        put("mixed_endings.csv", HEADER + "\r\n" + ROW + "\n" + ROW + "\r" + ROW + "\r\n\r\n" + ROW),
        {"79/mixed_endings.csv": ingested(5, 4)},
    ),
    Case(
        "carriage_returns_only",
        "old Mac line endings (\\r)",
        put("cr_only.csv", lines(ROW, ROW, ROW, end="\r")),
        {"79/cr_only.csv": ingested(3, 3)},
    ),
    Case(
        "ctrl_z_at_end",
        "a DOS end-of-file character on the last line",
        put("ctrl_z.csv", lines(ROW, ROW) + "\x1a"),
        {"79/ctrl_z.csv": ingested(3, 2)},
    ),
    Case(
        "unicode_line_separator",
        "U+2028 and U+0085 inside a name are not line breaks",
        put("unicode_separators.csv", lines(row(full_name="Trần\u2028Thị\x85Mai"), ROW)),
        {"79/unicode_separators.csv": ingested(2, 2)},
    ),
    Case(
        "empty_file",
        "zero bytes",
        put("empty.csv", b""),
        {"79/empty.csv": ingested(0, 0)},
    ),
    Case(
        "header_only",
        "a header and nothing else",
        put("header_only.csv", lines()),
        {"79/header_only.csv": ingested(0, 0)},
    ),
    Case(
        "only_a_bom",
        "a UTF-8 byte-order mark and nothing else",
        put("only_bom.csv", b"\xef\xbb\xbf"),
        {"79/only_bom.csv": ingested(0, 0)},
    ),
    Case(
        "blank_lines_only",
        "a header and three blank lines",
        put("blank_lines.csv", lines("", "", "")),
        {"79/blank_lines.csv": ingested(3, 0)},
    ),
    Case(
        "ragged_rows",
        "short and long rows between good ones",
        put("ragged.csv", lines(ROW, "Lê Văn Tám,01/01/1990,Nam", ROW + ",thừa,thừa nữa", QUOTED_ROW)),
        {"79/ragged.csv": ingested(4, 2)},
    ),
    Case(
        "formula_looking_cells",
        "cells a spreadsheet would run as formulas stay text",
        put(
            "formulas.csv",
            lines(
                row(full_name='"=HYPERLINK(""http://x.example"",""bấm vào"")"'),
                row(phone="+84909123456", lot_number="@SUM(A1)"),
                row(facility="-1+2", address="=cmd|' /C calc'!A0"),
            ),
        ),
        {"79/formulas.csv": ingested(3, 3)},
    ),
    Case(
        "very_long_lines",
        "a line of a million commas and a line of a million letters",
        put("long_lines.csv", _very_long_lines()),
        {"79/long_lines.csv": ingested(4, 2)},
    ),
    Case(
        "semicolon_separated",
        "European Excel's ';' separator: the header is not recognized, every record is rejected",
        put("semicolons.csv", HEADER.replace(",", ";") + "\n" + ROW.replace(",", ";") + "\n"),
        {"79/semicolons.csv": ingested(1, 0)},
    ),
    # --- encodings
    Case(
        "bom_then_cp1258",
        "a UTF-8 byte-order mark followed by Windows-1258 text",
        put("bom_cp1258.csv", b"\xef\xbb\xbf" + to_cp1258(lines(ROW, ROW, ROW))),
        {"79/bom_cp1258.csv": ingested(3, 3, full_names=True)},
    ),
    Case(
        "utf16_le",
        "UTF-16 little-endian with its byte-order mark, \\r\\n",
        put("utf16le.csv", lines(ROW, ROW, end="\r\n").encode("utf-16")),
        {"79/utf16le.csv": ingested(2, 2, full_names=True)},
    ),
    Case(
        "utf16_be",
        "UTF-16 big-endian with its byte-order mark",
        put("utf16be.csv", b"\xfe\xff" + lines(ROW, ROW).encode("utf-16-be")),
        {"79/utf16be.csv": ingested(2, 2, full_names=True)},
    ),
    Case(
        "utf16_without_bom",
        "UTF-16 little-endian without a byte-order mark",
        put("utf16_no_bom.csv", lines(ROW, ROW).encode("utf-16-le")),
        {"79/utf16_no_bom.csv": ingested(2, 2, full_names=True)},
    ),
    Case(
        "nfd_text",
        "the whole file in Unicode NFD",
        put("nfd.csv", unicodedata.normalize("NFD", lines(ROW, QUOTED_ROW))),
        {"79/nfd.csv": ingested(2, 2, full_names=True)},
    ),
    Case(
        "damaged_utf8",
        "UTF-8 with one damaged byte in a name",
        put("damaged_utf8.csv", lines(ROW, ROW).encode().replace(b"Mai", b"M\xffi", 1)),
        {"79/damaged_utf8.csv": ingested(2, 2, full_names=True)},
    ),
    Case(
        "undecodable",
        "bytes that are neither UTF-8 nor Windows-1258",
        put("undecodable.csv", HEADER.encode() + b"\n" + b"\x81\x8d\x8f\x90\x9d" * 4 + b"\n"),
        {"79/undecodable.csv": REJECTED},
    ),
    Case(
        "workbook_named_csv",
        "an .xlsx workbook landed under a .csv name",
        lambda landing: (
            workbook("tmp.xlsx", [{"name": "Danh sách", "rows": DATA_ROWS}])(landing),
            (folder(landing) / "tmp.xlsx").rename(folder(landing) / "workbook_named.csv"),
        ),
        {"79/workbook_named.csv": REJECTED},
    ),
    # --- workbooks
    Case(
        "xlsx_hidden_cover_sheet",
        "a hidden cover sheet before the data sheet",
        workbook(
            "cover.xlsx",
            [
                {"name": "Bìa", "rows": [["BÁO CÁO TIÊM CHỦNG"], ["Đơn vị: Trạm Y tế An Phú"]], "hidden": True},
                {"name": "Danh sách", "rows": DATA_ROWS, "active": True},
            ],
        ),
        {"79/cover.xlsx": ingested(3, 3)},
    ),
    Case(
        "xlsx_title_block",
        "three title rows and a blank row above the header",
        workbook(
            "title_block.xlsx",
            [
                {
                    "name": "Danh sách",
                    "rows": [["SỞ Y TẾ TP.HCM"], ["DANH SÁCH TIÊM CHỦNG"], ["Ngày 15/08/2021"], [], *DATA_ROWS],
                }
            ],
        ),
        {"79/title_block.xlsx": ingested(3, 3)},
    ),
    Case(
        "xlsx_trailing_formatted_rows",
        "a blank row between records and twenty formatted empty rows after them",
        workbook(
            "trailing.xlsx",
            [{"name": "Danh sách", "rows": [HEADER_CELLS, ROW_CELLS, [], ROW_CELLS, ["  "]], "formatted_rows": 20}],
        ),
        {"79/trailing.xlsx": ingested(3, 2)},
    ),
    Case(
        "xlsx_several_data_sheets",
        "two data sheets and a notes sheet: source_file names each data sheet",
        workbook(
            "several.xlsx",
            [
                {"name": "Đợt 1", "rows": DATA_ROWS},
                {"name": "Đợt 2", "rows": DATA_ROWS[:3]},
                {"name": "Ghi chú", "rows": [["Số liệu đã đối chiếu"]]},
            ],
        ),
        {"79/several.xlsx": ingested(5, 5, parts={"#Đợt 1": 3, "#Đợt 2": 2})},
    ),
    Case(
        "xlsx_hidden_data_sheet",
        "a visible data sheet and a hidden one with a data header (not read, named by the check)",
        workbook(
            "hidden_data.xlsx",
            [{"name": "Danh sách", "rows": DATA_ROWS}, {"name": "Cũ", "rows": DATA_ROWS, "hidden": True}],
        ),
        {"79/hidden_data.xlsx": ingested(3, 3, unread=True)},
    ),
    Case(
        "xlsx_sheet_missing_a_column",
        "a data sheet and a sheet with export columns but no vaccine column (not read, named by the check)",
        workbook(
            "partial_sheet.xlsx",
            [
                {"name": "Danh sách", "rows": DATA_ROWS},
                {"name": "Thiếu cột", "rows": [["Họ và tên", "Ngày tiêm", "Mũi số"], ["Lê Văn Tám", "15/08/2021", 1]]},
            ],
        ),
        {"79/partial_sheet.xlsx": ingested(3, 3, unread=True)},
    ),
    Case(
        "xlsx_without_header",
        "values but no recognizable header: rows after the first are rejected for the missing columns",
        workbook("no_header.xlsx", [{"name": "Sheet1", "rows": [ROW_CELLS, ROW_CELLS, ROW_CELLS]}]),
        {"79/no_header.xlsx": ingested(2, 0)},
    ),
    Case(
        "xlsx_empty",
        "a workbook with one empty sheet",
        workbook("empty.xlsx", [{"name": "Sheet1", "rows": []}]),
        {"79/empty.xlsx": ingested(0, 0)},
    ),
    Case(
        "xlsx_corrupt",
        "text under an .xlsx name",
        put("corrupt.xlsx", lines(ROW)),
        {"79/corrupt.xlsx": REJECTED},
    ),
    # --- names, links and folders
    Case(
        "office_lock_file",
        "Excel's lock file beside an open workbook",
        put("~$Danh sách.xlsx", b"\x0bNguyen Van A" + b"\x00" * 150),
        {"79/~$Danh sách.xlsx": SKIPPED_OTHER},
    ),
    Case(
        "old_excel_xls",
        "an .xls workbook (not read: save as .xlsx)",
        put("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100),
        {"79/old.xls": SKIPPED_DATA},
    ),
    Case(
        "other_suffixes",
        "a text file and a Word document",
        all_of(put("danh_sach.txt", lines(ROW)), put("ghi_chu.docx", b"PK\x03\x04")),
        {"79/danh_sach.txt": SKIPPED_DATA, "79/ghi_chu.docx": SKIPPED_OTHER},
    ),
    Case(
        "hidden_dotfiles",
        "a dotfile whose name looks like a path out of the folder, and LibreOffice's lock file",
        all_of(put("..\\..\\evil.csv", lines(ROW)), put(".~lock.cover.xlsx#", b"x")),
        {"79/..\\..\\evil.csv": SKIPPED_DATA, "79/.~lock.cover.xlsx#": SKIPPED_OTHER},
    ),
    Case(
        "nested_folders",
        "files in nested folders, an empty folder and a folder named like a CSV",
        _nested,
        {
            "79/cu/2021.csv": SKIPPED_DATA,
            "79/cu/sub/2020.csv": SKIPPED_DATA,
            "79/trong": SKIPPED_OTHER,
            "79/x.csv": SKIPPED_DATA,
        },
    ),
    Case(
        "symlink_outside_root",
        "a symbolic link to a file outside the landing folder: refused, not followed",
        _symlink("link_out.csv", _outside),
        {"79/link_out.csv": REJECTED},
    ),
    Case(
        "symlink_inside_root",
        "a symbolic link to a file elsewhere under the landing folder: read",
        _symlink("link_in.csv", _inside),
        {"79/link_in.csv": ingested(2, 2)},
    ),
    Case(
        "dangling_symlink",
        "a symbolic link to a file that does not exist",
        _symlink("dangling.csv", lambda landing: landing / "elsewhere" / "gone.csv"),
        {"79/dangling.csv": SKIPPED_DATA},
    ),
    Case(
        "symlink_to_folder",
        "a symbolic link to a folder under the landing root (here exports/ itself)",
        _symlink("link_dir", lambda landing: landing / "exports"),
        {"79/link_dir": SKIPPED_OTHER},
    ),
    Case(
        "named_pipe",
        "a FIFO named like a CSV (reading it would block forever)",
        _fifo,
        {"79/pipe.csv": SKIPPED_DATA},
    ),
    Case(
        "nfc_nfd_twins",
        "two names equal after NFC (one NFC, one NFD): the first read, the second refused by name",
        all_of(put(TWIN_NFC, lines(ROW)), put(TWIN_NFD, lines(ROW, ROW))),
        {
            f"79/{TWIN_FIRST}": ingested(1 if TWIN_FIRST == TWIN_NFC else 2),
            f"79/{TWIN_SECOND}": REJECTED,
        },
    ),
    Case(
        "name_not_utf8",
        "a file name with a byte that is not UTF-8",
        _non_utf8_name,
        {"79/site\\xff.csv": ingested(1, 1)},
    ),
    Case(
        "province_with_only_an_xls",
        "a province folder whose only file cannot be read still runs and names it",
        put("only.xls", b"\xd0\xcf\x11\xe0", province="92"),
        {"92/only.xls": SKIPPED_DATA},
    ),
    Case(
        "file_outside_province_folders",
        "a file directly under exports/ and an unknown province folder",
        all_of(
            lambda landing: (landing / "exports" / "stray.csv").write_text(lines(ROW)),
            put("a.csv", lines(ROW), province="HCM"),
        ),
        loose_files=("stray.csv",),
        unknown_folders=("HCM",),
    ),
]


def build_corpus(landing: Path, cases: list[Case] = CASES) -> list[Case]:
    """Write every case into one landing root; returns the cases."""
    (landing / "exports").mkdir(parents=True, exist_ok=True)
    for case in cases:
        case.write(landing)
    return cases


def main(argv: list[str]) -> None:
    """Write the corpus to a new folder and list the cases (an option or an existing folder is refused)."""
    if len(argv) != 1 or argv[0].startswith("-") or Path(argv[0]).exists():
        sys.exit("usage: python -m vax_cleaning_tests.fuzz.make_corpus OUT_DIR   (OUT_DIR must not exist yet)")
    build_corpus(Path(argv[0]))
    for case in CASES:
        for name, expect in case.expect.items():
            print(f"{case.name:32} {name!r:40} {expect.status:9} records={expect.records}")
    print(f"{len(CASES)} cases, {sum(len(case.expect) for case in CASES)} landed entries")


if __name__ == "__main__":
    main(sys.argv[1:])
