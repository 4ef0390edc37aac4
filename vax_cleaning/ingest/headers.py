"""Header aliases of landed files: exports (data contract 2.1) and review decisions (2.4)."""

from __future__ import annotations

import unicodedata

EXPORT_COLUMNS: dict[str, tuple[str, ...]] = {
    "full_name": ("Họ và tên", "Họ tên", "ho_ten"),
    "date_of_birth": ("Ngày sinh", "ngay_sinh"),
    "gender": ("Giới tính", "gioi_tinh"),
    "id_number": ("Số CMND/CCCD", "CMND/CCCD", "Số định danh", "so_dinh_danh"),
    "phone": ("Số điện thoại", "SĐT", "so_dien_thoai"),
    "address": ("Địa chỉ", "dia_chi"),
    "vaccine": ("Tên vắc xin", "Loại vắc xin", "vac_xin"),
    "dose_number": ("Mũi số", "Mũi tiêm", "mui_so"),
    "vaccination_date": ("Ngày tiêm", "ngay_tiem"),
    "lot_number": ("Số lô", "so_lo"),
    "facility": ("Cơ sở tiêm", "Cơ sở tiêm chủng", "co_so_tiem"),
}
"""Canonical column -> accepted aliases; the canonical name itself is always accepted too."""

DECISION_COLUMNS: dict[str, tuple[str, ...]] = {
    "source_file": ("Tệp nguồn",),
    "source_row": ("Dòng",),
    "decision": ("Quyết định",),
    "person_id": ("Số định danh xác minh",),
    "reviewer": ("Người xác minh", "Đơn vị xác minh"),
    "decided_on": ("Ngày xác minh",),
}
"""Review decision columns (data contract 2.4): canonical column -> Vietnamese aliases."""

DECISION_HEADERS = {canonical: aliases[0] for canonical, aliases in DECISION_COLUMNS.items()}
"""The Vietnamese header each decision column carries in the workbooks the project writes."""

REQUIRED_COLUMNS = ("vaccine", "dose_number", "vaccination_date")
"""Without these a record cannot be accepted at all (contract 2.1 rejection rules)."""


def header_key(cell: str | None) -> str:
    """Header cells match case-insensitively after NFC and trimming."""
    return unicodedata.normalize("NFC", cell or "").strip().casefold()


def _alias_index(columns: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """Header key of every alias (and of the canonical name) -> canonical column."""
    return {header_key(alias): canonical for canonical, aliases in columns.items() for alias in (canonical, *aliases)}


def map_header(cells: list[str | None], columns: dict[str, tuple[str, ...]] = EXPORT_COLUMNS) -> dict[str, int]:
    """Canonical column -> position of its first matching header cell; unknown cells are ignored."""
    aliases = _alias_index(columns)  # a few dozen entries, once per file
    positions: dict[str, int] = {}
    for position, cell in enumerate(cells):
        canonical = aliases.get(header_key(cell))
        if canonical is not None and canonical not in positions:
            positions[canonical] = position
    return positions


def export_columns_markdown() -> str:
    """docs/interface.md's table of export columns and the headers accepted for each."""
    lines = ["| column | headers accepted (any case, NFC or NFD) |", "|---|---|"]
    lines += [f"| `{column}` | {', '.join(aliases)} |" for column, aliases in EXPORT_COLUMNS.items()]
    return "\n".join(lines)
