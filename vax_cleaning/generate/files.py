"""Export files: how doses are split into files per province, and each file's look (format, headers, dates)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

CANONICAL_COLUMNS: tuple[str, ...] = (
    "full_name",
    "date_of_birth",
    "gender",
    "id_number",
    "phone",
    "address",
    "vaccine",
    "dose_number",
    "vaccination_date",
    "lot_number",
    "facility",
)
"""The contract's dose export columns (section 2.1), in the usual order of real exports."""

HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "full_name": ("Họ và tên", "Họ tên"),
    "date_of_birth": ("Ngày sinh",),
    "gender": ("Giới tính",),
    "id_number": ("Số CMND/CCCD", "CMND/CCCD", "Số định danh"),
    "phone": ("Số điện thoại", "SĐT"),
    "address": ("Địa chỉ",),
    "vaccine": ("Tên vắc xin", "Loại vắc xin"),
    "dose_number": ("Mũi số", "Mũi tiêm"),
    "vaccination_date": ("Ngày tiêm",),
    "lot_number": ("Số lô",),
    "facility": ("Cơ sở tiêm", "Cơ sở tiêm chủng"),
}
"""Vietnamese headers allowed by the contract; the first is the most common."""

SNAKE_HEADERS: dict[str, str] = {
    "full_name": "ho_ten",
    "date_of_birth": "ngay_sinh",
    "gender": "gioi_tinh",
    "id_number": "so_dinh_danh",
    "phone": "so_dien_thoai",
    "address": "dia_chi",
    "vaccine": "vac_xin",
    "dose_number": "mui_so",
    "vaccination_date": "ngay_tiem",
    "lot_number": "so_lo",
    "facility": "co_so_tiem",
}
"""ASCII headers some provincial systems export."""

DATE_FORMATS: tuple[str, ...] = ("%d/%m/%Y", "%-d/%-m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d")
"""Date formats allowed by the contract (strftime spelling)."""

EXCEL_DATE_FORMATS: dict[str, str] = {
    "%d/%m/%Y": "dd/mm/yyyy",
    "%-d/%-m/%Y": "d/m/yyyy",
    "%d-%m-%Y": "dd-mm-yyyy",
    "%d.%m.%Y": "dd.mm.yyyy",
    "%Y-%m-%d": "yyyy-mm-dd",
}
"""Number formats shown by Excel for real date cells."""

GENDER_STYLES: dict[str, tuple[str, str]] = {"Nam/Nữ": ("Nam", "Nữ"), "M/F": ("M", "F"), "1/0": ("1", "0")}
"""How a file writes (male, female)."""

# Decks: each file draws the next card of a shuffled deck, so small runs still show every variant
# and large runs follow the deck's proportions.
ENCODING_DECK = ("utf-8",) * 5 + ("utf-8-sig",) * 2 + ("cp1258",) * 2 + ("utf-8-nfd",)
HEADER_DECK = ("vi",) * 6 + ("vi_mixed",) * 2 + ("snake", "canonical")
HEADER_CASE_DECK = ("as_is",) * 8 + ("upper", "padded")
ORDER_DECK = ("standard",) * 7 + ("shuffled",) * 3
EXTRA_COLUMN_DECK: tuple[str | None, ...] = (None,) * 6 + ("Ghi chú",) * 2 + ("STT",) * 2
DATE_DECK = (DATE_FORMATS[0],) * 4 + (DATE_FORMATS[1],) * 2 + DATE_FORMATS[2:4] + (DATE_FORMATS[4],) * 2
GENDER_DECK = ("Nam/Nữ",) * 8 + ("M/F", "1/0")
XLSX_DECK = ((True, True), (False, True), (False, False))  # (ids_as_numbers, real_dates)
TERMINATOR_DECK = ("\r\n",) * 7 + ("\n",) * 3
NAMING_DECK = ("dated",) * 4 + ("vietnamese",)

XLSX_SHARE = 0.025
"""Share of a province's records exported as .xlsx (writing xlsx is slow, so it stays small)."""

XLSX_MAX_ROWS = 4_000
XLSX_MIN_ROWS = 120
BATCH_DAYS = 60
"""Files group a site's doses of about two months (then split to size)."""
CSV_TARGET_ROWS = 9_000
MIN_FILES = 3


@dataclass(frozen=True)
class FileSpec:
    """One export file and the conventions its author used."""

    file_id: int
    province_code: str
    path: str  # relative to exports/, '/' separators, NFC
    fmt: str  # 'csv' | 'xlsx'
    encoding: str  # 'utf-8' | 'utf-8-sig' | 'cp1258' | 'utf-8-nfd' (csv only)
    columns: tuple[str, ...]  # canonical names in file order; '_extra' marks the extra column
    headers: tuple[str, ...]  # header cells as written
    extra_column: str | None
    date_format: str
    gender_style: str
    ids_as_numbers: bool  # xlsx: IDs written as numbers (leading zero lost)
    real_dates: bool  # xlsx: dates as Excel dates rather than text
    line_terminator: str


def deal(rng: np.random.Generator, deck: tuple, n: int) -> list:
    """n cards from repeatedly shuffled copies of a deck."""
    cards: list = []
    while len(cards) < n:
        cards.extend(deck[i] for i in rng.permutation(len(deck)))
    return cards[:n]


def split_sizes(rng: np.random.Generator, total: int, parts: int) -> list[int]:
    """Split total into `parts` uneven positive sizes."""
    if parts <= 0:
        return []
    weights = rng.uniform(0.6, 1.4, parts)
    sizes = np.floor(weights / weights.sum() * total).astype(int)
    sizes[: total - sizes.sum()] += 1
    return sizes.tolist()


def plan_sizes(rng: np.random.Generator, n: int) -> list[tuple[int, str]]:
    """(rows, format) per file of a province: a few small xlsx files, the rest csv."""
    xlsx_rows = 0 if n < 400 else min(n // 5, max(round(XLSX_SHARE * n), XLSX_MIN_ROWS))
    n_xlsx = int(np.ceil(xlsx_rows / XLSX_MAX_ROWS))
    csv_rows = n - xlsx_rows
    n_csv = max(MIN_FILES, round(csv_rows / CSV_TARGET_ROWS)) if csv_rows >= 300 else 1
    plan = [(s, "xlsx") for s in split_sizes(rng, xlsx_rows, n_xlsx)]
    plan += [(s, "csv") for s in split_sizes(rng, csv_rows, n_csv)]
    return [plan[i] for i in rng.permutation(len(plan)) if plan[i][0] > 0]


def header_cells(
    rng: np.random.Generator, columns: tuple[str, ...], style: str, case: str, extra: str | None
) -> tuple[str, ...]:
    """Header row as the file's author typed it."""
    cells = []
    for column in columns:
        if column == "_extra":
            cells.append(extra or "")
        elif style == "vi":
            cells.append(HEADER_ALIASES[column][0])
        elif style == "vi_mixed":
            aliases = HEADER_ALIASES[column]
            cells.append(aliases[rng.integers(len(aliases))])
        elif style == "snake":
            cells.append(SNAKE_HEADERS[column])
        else:
            cells.append(column)
    if case == "upper":
        cells = [c.upper() for c in cells]
    elif case == "padded":
        cells = [f" {c} " for c in cells]
    return tuple(cells)


def column_order(rng: np.random.Generator, order: str, extra: str | None) -> tuple[str, ...]:
    """Canonical columns in the file's order, with the extra column (STT first, notes last)."""
    columns = list(CANONICAL_COLUMNS)
    if order == "shuffled":
        columns = [columns[i] for i in rng.permutation(len(columns))]
    if extra == "STT":
        columns.insert(0, "_extra")
    elif extra:
        columns.append("_extra")
    return tuple(columns)


def file_name(naming: str, first_day: date, site_no: int, ext: str) -> str:
    """'2021-08-02_site03.csv', or a Vietnamese name as some sites used."""
    if naming == "vietnamese":
        return f"Danh sách tiêm {first_day:%d-%m-%Y} điểm {site_no:02d}.{ext}"
    return f"{first_day:%Y-%m-%d}_site{site_no:02d}.{ext}"


def plan_files(rng: np.random.Generator, doses: pl.DataFrame) -> tuple[list[FileSpec], np.ndarray]:
    """Split each province's doses into files (by site, then date) and give every file its style."""
    file_of_dose = np.empty(len(doses), dtype=np.int32)
    province = doses["province_code"].to_numpy()
    site = doses["site_no"].to_numpy()
    day = doses["vaccination_date"].to_numpy()
    chunks: list[tuple[str, str, date, int]] = []  # province, fmt, first day, site
    for code in sorted(set(province.tolist())):
        rows = np.flatnonzero(province == code)
        batch = (day[rows] - day.min()).astype(np.int64) // BATCH_DAYS
        rows = rows[np.lexsort((rng.random(len(rows)), day[rows], site[rows], batch))]
        start = 0
        for size, fmt in plan_sizes(rng, len(rows)):
            part = rows[start : start + size]
            start += size
            file_of_dose[part] = len(chunks)
            chunks.append((code, fmt, day[part].min().astype(object), int(site[part[0]])))
    return style_files(rng, chunks), file_of_dose


def style_files(rng: np.random.Generator, chunks: list[tuple[str, str, date, int]]) -> list[FileSpec]:
    """Draw every file's conventions from the decks."""
    n = len(chunks)
    n_csv = sum(1 for c in chunks if c[1] == "csv")
    encodings = iter(deal(rng, ENCODING_DECK, n_csv))
    xlsx_styles = iter(deal(rng, XLSX_DECK, n - n_csv))
    header_styles, cases = deal(rng, HEADER_DECK, n), deal(rng, HEADER_CASE_DECK, n)
    orders, extras = deal(rng, ORDER_DECK, n), deal(rng, EXTRA_COLUMN_DECK, n)
    dates, genders = deal(rng, DATE_DECK, n), deal(rng, GENDER_DECK, n)
    terminators, namings = deal(rng, TERMINATOR_DECK, n), deal(rng, NAMING_DECK, n)
    specs: list[FileSpec] = []
    used: set[str] = set()
    for i, (code, fmt, first_day, site_no) in enumerate(chunks):
        ids_as_numbers, real_dates = next(xlsx_styles) if fmt == "xlsx" else (False, False)
        stem = file_name(namings[i], first_day, site_no, fmt)
        path, k = f"{code}/{stem}", 2
        while path in used:
            path = f"{code}/{stem.rsplit('.', 1)[0]}_{k}.{fmt}"
            k += 1
        used.add(path)
        columns = column_order(rng, orders[i], extras[i])
        specs.append(
            FileSpec(
                file_id=i,
                province_code=code,
                path=path,
                fmt=fmt,
                encoding=next(encodings) if fmt == "csv" else "xlsx",
                columns=columns,
                headers=header_cells(rng, columns, header_styles[i], cases[i], extras[i]),
                extra_column=extras[i],
                date_format=dates[i],
                gender_style=genders[i],
                ids_as_numbers=ids_as_numbers,
                real_dates=real_dates,
                line_terminator=terminators[i],
            )
        )
    return specs


def files_frame(specs: list[FileSpec]) -> pl.DataFrame:
    """File attributes as a table, to join onto records."""
    return pl.DataFrame(
        {
            "file_id": [s.file_id for s in specs],
            "source_file": [s.path for s in specs],
            "file_province": [s.province_code for s in specs],
            "fmt": [s.fmt for s in specs],
            "ids_as_numbers": [s.ids_as_numbers for s in specs],
        },
        schema_overrides={"file_id": pl.Int32},
    )
