"""Export header aliases (data contract 2.1): Vietnamese and canonical names to canonical columns."""

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

REQUIRED_COLUMNS = ("vaccine", "dose_number", "vaccination_date")
"""Without these a record cannot be accepted at all (contract 2.1 rejection rules)."""


def header_key(cell: str | None) -> str:
    """Header cells match case-insensitively after NFC and trimming."""
    return unicodedata.normalize("NFC", cell or "").strip().casefold()


_ALIAS_TO_CANONICAL = {
    header_key(alias): canonical
    for canonical, aliases in EXPORT_COLUMNS.items()
    for alias in (canonical, *aliases)
}


def map_header(cells: list[str | None]) -> dict[str, int]:
    """Canonical column -> position of its first matching header cell; unknown cells are ignored."""
    positions: dict[str, int] = {}
    for position, cell in enumerate(cells):
        canonical = _ALIAS_TO_CANONICAL.get(header_key(cell))
        if canonical is not None and canonical not in positions:
            positions[canonical] = position
    return positions
