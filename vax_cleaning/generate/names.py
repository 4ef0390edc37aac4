"""Vietnamese name and place tables with realistic frequencies, and vectorized draws from them."""

from __future__ import annotations

import numpy as np

FAMILY_NAMES: dict[str, float] = {
    "Nguyễn": 38.0,
    "Trần": 11.0,
    "Lê": 9.5,
    "Phạm": 7.0,
    "Hoàng": 2.6,
    "Huỳnh": 2.4,
    "Phan": 4.5,
    "Vũ": 2.0,
    "Võ": 1.9,
    "Đặng": 2.1,
    "Bùi": 2.0,
    "Đỗ": 1.4,
    "Hồ": 1.3,
    "Ngô": 1.3,
    "Dương": 1.0,
    "Lý": 0.5,
    # tail (≈11.5%), roughly Zipf
    "Đào": 1.1,
    "Đoàn": 1.0,
    "Vương": 0.8,
    "Trịnh": 0.8,
    "Trương": 0.8,
    "Lâm": 0.7,
    "Mai": 0.7,
    "Đinh": 0.7,
    "Tô": 0.5,
    "Hà": 0.5,
    "Cao": 0.5,
    "Lương": 0.4,
    "Tạ": 0.3,
    "Châu": 0.3,
    "Quách": 0.25,
    "Thái": 0.25,
    "Lưu": 0.25,
    "Kiều": 0.2,
    "Tôn": 0.15,
    "Triệu": 0.2,
    "Nông": 0.2,
    "Lại": 0.15,
    "Khúc": 0.1,
    "Mạc": 0.1,
    "La": 0.1,
    "Hứa": 0.1,
    "Phùng": 0.2,
    "Từ": 0.1,
    "Giang": 0.1,
    "Tăng": 0.1,
    "Chu": 0.15,
}
"""Family names and their share (percent) of the population."""

MALE_MIDDLE: dict[str, float] = {
    "Văn": 40,
    "Hữu": 7,
    "Đức": 8,
    "Minh": 9,
    "Quốc": 6,
    "Công": 5,
    "Thanh": 5,
    "Ngọc": 3,
    "Xuân": 3,
    "Quang": 5,
    "Đình": 5,
    "Trọng": 3,
    "Anh": 3,
    "Hoàng": 3,
    "Tiến": 2,
    "Duy": 3,
}
"""Male middle names; 'Văn' dominates among older generations."""

FEMALE_MIDDLE: dict[str, float] = {
    "Thị": 50,
    "Ngọc": 8,
    "Thu": 6,
    "Thanh": 5,
    "Kim": 5,
    "Mai": 3,
    "Thùy": 3,
    "Hồng": 4,
    "Phương": 3,
    "Bích": 3,
    "Minh": 2,
    "Hoài": 2,
    "Diệu": 2,
    "Khánh": 2,
    "Ánh": 2,
}
"""Female middle names; 'Thị' dominates among older generations."""

SECOND_MIDDLE_MALE: tuple[str, ...] = ("Minh", "Hoàng", "Anh", "Quang", "Gia", "Bảo", "Nhật")
"""Second middle words that make 4-word male names (Trần Văn Minh Quân)."""

SECOND_MIDDLE_FEMALE: tuple[str, ...] = ("Thu", "Ngọc", "Thùy", "Kim", "Bảo", "Phương", "Thanh")
"""Second middle words that make 4-word female names (Nguyễn Thị Thu Hà)."""

MALE_GIVEN: dict[str, float] = {
    "Hùng": 6,
    "Dũng": 5,
    "Tuấn": 5,
    "Minh": 5,
    "Hải": 4,
    "Nam": 4,
    "Long": 4,
    "Quang": 3,
    "Sơn": 4,
    "Thắng": 3,
    "Hoàng": 3,
    "Huy": 4,
    "Khoa": 2,
    "Tùng": 3,
    "Đức": 3,
    "Phúc": 3,
    "Thành": 4,
    "Trung": 3,
    "Hiếu": 3,
    "Bình": 3,
    "Cường": 3,
    "Kiên": 2,
    "Phong": 2,
    "Toàn": 2,
    "Vinh": 2,
    "Hòa": 3,
    "Tài": 2,
    "Lộc": 2,
    "Khánh": 2,
    "Đạt": 3,
    "Duy": 2,
    "Hưng": 2,
    "Lâm": 1,
    "Nghĩa": 2,
    "Quý": 1,
    "Thịnh": 1,
    "Thuận": 1,
    "Tiến": 2,
    "Việt": 2,
    "Xuân": 1,
    "Thụy": 1,
    "Khải": 1,
    "Quân": 3,
    "An": 2,
    "Bảo": 2,
    "Thanh": 2,
    "Hậu": 1,
    "Tú": 1,
    "Thủy": 0.5,
    "Hoè": 0.3,
}
"""Male given names, including oa/oe/uy tone-placement cases (Hòa, Thụy, Thủy, Hoè)."""

FEMALE_GIVEN: dict[str, float] = {
    "Lan": 4,
    "Hương": 5,
    "Hoa": 3,
    "Hà": 4,
    "Mai": 4,
    "Linh": 5,
    "Trang": 5,
    "Thảo": 4,
    "Nga": 3,
    "Hằng": 3,
    "Hạnh": 3,
    "Hiền": 3,
    "Huyền": 3,
    "Loan": 2,
    "Lý": 1,
    "Nhung": 2,
    "Oanh": 2,
    "Phương": 3,
    "Quyên": 1,
    "Thanh": 2,
    "Thúy": 3,
    "Thủy": 3,
    "Tuyết": 2,
    "Vân": 2,
    "Yến": 2,
    "Anh": 4,
    "Ngọc": 3,
    "Chi": 2,
    "Dung": 2,
    "Giang": 2,
    "Hòa": 2,
    "Thoa": 1,
    "Xuân": 2,
    "Hòe": 0.5,
    "Nhàn": 1,
    "Thu": 2,
    "Diệp": 1,
    "Hồng": 2,
    "Liên": 2,
    "Uyên": 2,
    "Nguyệt": 1,
    "Khuê": 0.5,
    "Thùy": 2,
    "Duyên": 2,
    "Tâm": 2,
    "Hậu": 1,
    "Vy": 2,
}
"""Female given names, including oa/oe/uy tone-placement cases (Hòa, Thúy, Thủy, Hòe, Thùy)."""

COMMUNES: tuple[str, ...] = (
    "An Phú",
    "Tân Định",
    "Bình Thạnh",
    "Phú Mỹ",
    "Tân Lập",
    "Hòa Bình",
    "Đông Hòa",
    "Tây Sơn",
    "Quang Trung",
    "Lê Lợi",
    "Trần Phú",
    "Hưng Đạo",
    "Tân Phong",
    "Phú Lâm",
    "Thạnh Xuân",
    "An Khánh",
    "Kim Liên",
    "Cát Linh",
    "Văn Miếu",
    "Thủy Xuân",
    "Hòa Khánh",
    "Mỹ An",
    "Tam Hiệp",
    "Đại Mỗ",
    "Xuân Đỉnh",
    "Cổ Nhuế",
    "Yên Hòa",
    "Nghĩa Tân",
    "Dịch Vọng",
    "Phước Long",
    "Long Thạnh",
    "Tân Hưng",
    "Bình Trưng",
    "Thảo Điền",
    "Linh Trung",
    "Hiệp Phú",
    "Tăng Nhơn Phú",
    "Phước Bình",
    "Thạch Thang",
    "Hải Châu",
    "Thuận Phước",
    "Nại Hiên Đông",
    "An Hải Bắc",
    "Khuê Trung",
    "Hòa Cường",
    "Hòa Minh",
    "Thanh Khê Tây",
    "Vĩnh Trung",
    "Tân Chính",
    "Đông Sơn",
    "Nam Hồng",
    "Vạn Phúc",
    "Quỳnh Lôi",
    "Ngọc Thụy",
)
"""Commune/ward base names (Xã / Phường …) for addresses and vaccination sites."""

DISTRICTS: tuple[str, ...] = (
    "Ba Đình",
    "Hoàn Kiếm",
    "Đống Đa",
    "Cầu Giấy",
    "Thanh Xuân",
    "Hoàng Mai",
    "Long Biên",
    "Gia Lâm",
    "Đông Anh",
    "Sóc Sơn",
    "Thủ Đức",
    "Bình Chánh",
    "Củ Chi",
    "Hóc Môn",
    "Nhà Bè",
    "Gò Vấp",
    "Tân Bình",
    "Phú Nhuận",
    "Hải Châu",
    "Thanh Khê",
    "Sơn Trà",
    "Ngũ Hành Sơn",
    "Liên Chiểu",
    "Cẩm Lệ",
    "Hòa Vang",
    "Thủy Nguyên",
    "Yên Phong",
    "Tiên Du",
    "Phú Xuyên",
    "Thạch Thất",
    "Quốc Oai",
    "Mỹ Đức",
    "Chương Mỹ",
    "Đan Phượng",
    "Hoài Đức",
    "Thanh Oai",
)
"""District base names (Huyện / Quận …)."""

URBAN_PROVINCES: frozenset[str] = frozenset({"01", "79", "48", "31", "92"})
"""Centrally-run cities: addresses there are mostly 'Phường …, Quận …'."""

SITE_PATTERNS: tuple[str, ...] = (
    "Trạm Y tế {commune_kind} {commune}",
    "Trung tâm Y tế {district_kind} {district}",
    "Bệnh viện Đa khoa {district}",
    "Điểm tiêm Trường THCS {commune}",
    "Nhà văn hóa {commune_kind} {commune}",
)
"""Vaccination site name templates."""


def weighted_table(table: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """Split a name->weight table into (names, probabilities) for numpy draws."""
    names = np.array(list(table), dtype=object)
    weights = np.array(list(table.values()), dtype=float)
    return names, weights / weights.sum()


def draw(rng: np.random.Generator, table: dict[str, float], size: int) -> np.ndarray:
    """Draw `size` names from a weighted table (object array)."""
    names, probabilities = weighted_table(table)
    return names[rng.choice(len(names), size=size, p=probabilities)]


def draw_by_gender(
    rng: np.random.Generator,
    male: np.ndarray,
    male_table: dict[str, float],
    female_table: dict[str, float],
) -> np.ndarray:
    """Draw one name per person from the table of that person's gender."""
    out = np.empty(len(male), dtype=object)
    n_male = int(male.sum())
    out[male] = draw(rng, male_table, n_male)
    out[~male] = draw(rng, female_table, len(male) - n_male)
    return out


def youthful(table: dict[str, float], dominant: str, factor: float) -> dict[str, float]:
    """Younger generations use the dominant middle name (Văn/Thị) less often."""
    return {name: weight * (factor if name == dominant else 1.0) for name, weight in table.items()}


def draw_middle_names(
    rng: np.random.Generator,
    male: np.ndarray,
    young: np.ndarray,
    no_middle_share: float = 0.03,
    four_word_share: float = 0.07,
) -> np.ndarray:
    """Middle name(s) per person: gendered, age-dependent, sometimes absent or two words."""
    out = np.empty(len(male), dtype=object)
    for is_male, is_young in ((True, False), (True, True), (False, False), (False, True)):
        mask = (male == is_male) & (young == is_young)
        table = MALE_MIDDLE if is_male else FEMALE_MIDDLE
        if is_young:
            table = youthful(table, "Văn" if is_male else "Thị", 0.35)
        out[mask] = draw(rng, table, int(mask.sum()))
    u = rng.random(len(male))
    four = u < four_word_share
    seconds_m = np.array(SECOND_MIDDLE_MALE, dtype=object)
    seconds_f = np.array(SECOND_MIDDLE_FEMALE, dtype=object)
    second = np.where(
        male,
        seconds_m[rng.integers(0, len(seconds_m), len(male))],
        seconds_f[rng.integers(0, len(seconds_f), len(male))],
    )
    four &= out != second  # no 'Thị Thu Thu'
    out[four] = out[four] + " " + second[four]
    out[(u >= four_word_share) & (u < four_word_share + no_middle_share)] = ""
    return out
