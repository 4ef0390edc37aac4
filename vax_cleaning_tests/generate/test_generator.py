"""Tests of the synthetic landing-folder generator, reading its files back independently of ingestion."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from datetime import date, datetime
from pathlib import Path

import openpyxl
import polars as pl
import pytest

import vax_cleaning.generate as generator
from vax_cleaning.generate import IDENTITY_ERROR_RATES, GenerationSummary, generate_landing_folder
from vax_cleaning.ingest.registry import load_registry
from vax_cleaning.reference import provinces, vaccines

PROVINCES = ["01", "79", "48"]
TODAY = date(2022, 6, 20)
CANONICAL = {  # contract section 2.1, written out again here on purpose
    "full_name": ("họ và tên", "họ tên", "ho_ten"),
    "date_of_birth": ("ngày sinh", "ngay_sinh"),
    "gender": ("giới tính", "gioi_tinh"),
    "id_number": ("số cmnd/cccd", "cmnd/cccd", "số định danh", "so_dinh_danh"),
    "phone": ("số điện thoại", "sđt", "so_dien_thoai"),
    "address": ("địa chỉ", "dia_chi"),
    "vaccine": ("tên vắc xin", "loại vắc xin", "vac_xin"),
    "dose_number": ("mũi số", "mũi tiêm", "mui_so"),
    "vaccination_date": ("ngày tiêm", "ngay_tiem"),
    "lot_number": ("số lô", "so_lo"),
    "facility": ("cơ sở tiêm", "cơ sở tiêm chủng", "co_so_tiem"),
}
REGISTRY_COLUMNS = ["person_id", "old_id", "full_name", "date_of_birth", "gender", "province_code", "address"]
NAME_KINDS = {
    "no_diacritics",
    "partial_diacritics",
    "tone_placement",
    "case_spacing",
    "name_typo",
    "missing_middle_name",
}


def canonical(header: object) -> str | None:
    """Contract header matching: NFC, trimmed, case-insensitive, aliases."""
    key = unicodedata.normalize("NFC", str(header or "")).strip().lower()
    return next((name for name, aliases in CANONICAL.items() if key == name or key in aliases), None)


def decode(data: bytes) -> tuple[str, str]:
    """Text of a csv export and the encoding it was found in."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1258"), "cp1258"


def read_export(path: Path) -> tuple[list[str], list[list], str]:
    """(header, data records, encoding) of one export, with csv / openpyxl only."""
    if path.suffix == ".csv":
        text, encoding = decode(path.read_bytes())
        rows = list(csv.reader(io.StringIO(text, newline="")))
        return rows[0], rows[1:], encoding
    sheet = openpyxl.load_workbook(path, read_only=True).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    while rows and all(v is None for v in rows[-1]):
        rows.pop()
    return rows[0], rows[1:], "xlsx"


def exports(root: Path) -> dict[str, tuple[list[str], list[list], str]]:
    """Every export by its contract source_file."""
    return {
        unicodedata.normalize("NFC", p.relative_to(root / "exports").as_posix()): read_export(p)
        for p in sorted((root / "exports").rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small landing folder (≈3k records, 3 provinces)."""
    root = tmp_path_factory.mktemp("landing")
    generate_landing_folder(root, persons=1300, provinces=PROVINCES, seed=11, registry_format="csv")
    return root


@pytest.fixture(scope="module")
def truth(landing: Path) -> pl.DataFrame:
    return pl.read_parquet(landing / "ground_truth" / "doses.parquet")


@pytest.fixture(scope="module")
def files(landing: Path) -> dict[str, tuple[list[str], list[list], str]]:
    return exports(landing)


def test_layout_matches_contract(landing: Path, files: dict) -> None:
    codes = set(provinces()["code"])
    assert {p.name for p in (landing / "exports").iterdir()} == set(PROVINCES)
    assert all(Path(f).suffix in {".csv", ".xlsx"} and f.split("/")[0] in codes for f in files)
    for code in PROVINCES[:2]:  # the big provinces get at least 3 files
        assert sum(f.startswith(code + "/") for f in files) >= 3
    registry = pl.read_csv(landing / "registry" / "2022-06-15" / "registry.csv", infer_schema=False)
    assert registry.columns == REGISTRY_COLUMNS
    assert registry["person_id"].is_unique().all()
    assert registry["date_of_birth"].str.contains(r"^\d{4}(-\d{2}-\d{2})?$").all()
    assert set(registry["gender"]) == {"Nam", "Nữ"}
    assert set(registry["province_code"]) <= codes
    assert (registry["full_name"].str.normalize("NFC") == registry["full_name"]).all()
    tallies = pl.read_csv(landing / "reported" / "tallies.csv", infer_schema=False)
    assert tallies.columns == ["province_code", "doses_reported"] and set(tallies["province_code"]) == set(PROVINCES)
    for header, _, _ in files.values():
        names = [canonical(h) for h in header]
        assert set(CANONICAL) <= set(names), header
        assert sum(n is None for n in names) <= 1  # at most one extra column


def test_ground_truth_has_one_row_per_record(truth: pl.DataFrame, files: dict) -> None:
    assert set(truth["source_file"]) == set(files)
    for name, (header, rows, _) in files.items():
        rows_truth = truth.filter(pl.col("source_file") == name).sort("source_row")
        assert rows_truth["source_row"].to_list() == list(range(1, len(rows) + 1)), name
        for row, rejection in zip(rows, rows_truth["expected_rejection"], strict=True):
            if rejection == "blank":
                assert all(v in (None, "") for v in row)
            elif rejection == "field_count":
                assert len(row) != len(header)
            else:
                assert len(row) == len(header)


def parse_date(value: object) -> date | None:
    """A vaccination date in one of the contract's formats, or None."""
    if isinstance(value, datetime):
        return value.date()
    for fmt in ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(str(value), fmt).date()
        except ValueError:
            continue
    return None


def test_accepted_records_are_acceptable_and_garbage_is_not(truth: pl.DataFrame, files: dict) -> None:
    spellings = {
        s.strip().lower()
        for name, aliases in zip(vaccines()["name"], vaccines()["aliases"], strict=True)
        for s in [name, *aliases.split("|")]
    }
    seen = set()
    for name, (header, rows, _) in files.items():
        position = {canonical(h): i for i, h in enumerate(header)}
        rows_truth = truth.filter(pl.col("source_file") == name).sort("source_row")
        for row, rejection in zip(rows, rows_truth["expected_rejection"], strict=True):
            if rejection in ("blank", "field_count"):
                continue
            day = parse_date(row[position["vaccination_date"]])
            checks = {
                "vaccination_date_unparseable": day is not None,
                "vaccination_date_out_of_range": day is None or date(2021, 3, 8) <= day <= TODAY,
                "unknown_vaccine": unicodedata.normalize("NFC", str(row[position["vaccine"]])).strip().lower()
                in spellings,
                "dose_number_out_of_range": 1 <= int(row[position["dose_number"]]) <= 6 if day else True,
            }
            for kind, ok in checks.items():
                assert ok == (rejection != kind), (name, row, rejection)
            seen.add(rejection)
    assert {"vaccination_date_out_of_range", "unknown_vaccine", None} <= seen


def test_person_ids_follow_cccd_layout(landing: Path) -> None:
    persons = pl.read_parquet(landing / "ground_truth" / "persons.parquet").filter(pl.col("in_registry"))
    codes = set(provinces()["code"])
    for person_id, dob, gender, birth_province in persons.select(
        "person_id", "date_of_birth", "gender", "birth_province_code"
    ).iter_rows():
        assert re.fullmatch(r"\d{12}", person_id)
        assert person_id[0] == "0" and person_id[1:3] in codes and person_id[1:3] == birth_province
        year = int(dob[:4])
        expected_digit = (0 if year < 2000 else 2) + (0 if gender == "Nam" else 1)
        assert int(person_id[3]) == expected_digit and person_id[4:6] == f"{year % 100:02d}"
    assert persons["person_id"].is_unique().all()


def test_error_rates_roughly_as_configured(tmp_path: Path) -> None:
    summary = generate_landing_folder(tmp_path, persons=9000, provinces=["79", "01"], seed=3)
    assert 18_000 <= summary.dose_records <= 24_000
    truth = pl.read_parquet(tmp_path / "ground_truth" / "doses.parquet")
    originals = truth.filter(pl.col("expected_rejection").is_null() & pl.col("duplicate_of_file").is_null())
    n = len(originals)
    share = originals["error_kinds"].explode().drop_nulls().value_counts().with_columns(pl.col("count") / n)
    observed = dict(share.iter_rows())
    for kind, rate in IDENTITY_ERROR_RATES.items():
        low, high = rate * 0.6, rate * 1.4 + 0.002
        if kind == "lost_leading_zero":
            high += 0.02  # xlsx files with numeric IDs lose every leading zero
        assert low <= observed.get(kind, 0.0) <= high, (kind, observed.get(kind), rate)
    with_errors = (originals["error_kinds"].list.len() > 0).mean()
    assert 0.10 <= with_errors <= 0.16
    assert 0.010 <= summary.duplicate_records / n <= 0.020
    assert 0.003 <= summary.garbage_records / n <= 0.007
    assert set(summary.rejections) == {
        "blank",
        "field_count",
        "vaccination_date_unparseable",
        "vaccination_date_out_of_range",
        "unknown_vaccine",
        "dose_number_out_of_range",
    }


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_deterministic_by_seed(tmp_path: Path) -> None:
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        generate_landing_folder(tmp_path / name, persons=400, provinces=["79", "01"], seed=seed)
    assert tree_bytes(tmp_path / "a") == tree_bytes(tmp_path / "b")
    assert tree_bytes(tmp_path / "a") != tree_bytes(tmp_path / "c")


def test_refuses_to_mix_generations_unless_overwriting(tmp_path: Path) -> None:
    generate_landing_folder(tmp_path, persons=200, provinces=["79"], seed=1)
    (tmp_path / "notes.txt").write_text("kept")
    with pytest.raises(FileExistsError):
        generate_landing_folder(tmp_path, persons=200, provinces=["79"], seed=2)
    generate_landing_folder(tmp_path, persons=200, provinces=["01"], seed=2, overwrite=True)
    assert [p.name for p in (tmp_path / "exports").iterdir()] == ["01"]
    assert (tmp_path / "notes.txt").read_text() == "kept"


def clean_names(landing: Path, truth: pl.DataFrame, source_file: str) -> list[str]:
    """True names of the records of one file, blank where the written name carries an error."""
    persons = pl.read_parquet(landing / "ground_truth" / "persons.parquet").select("true_person_key", "full_name")
    rows = (
        truth.filter(pl.col("source_file") == source_file)
        .sort("source_row")
        .join(persons, on="true_person_key", how="left", maintain_order="left")
    )
    clean = (
        pl.col("expected_rejection").is_null()
        & pl.col("duplicate_of_file").is_null()
        & ~pl.col("error_kinds").list.eval(pl.element().is_in(list(NAME_KINDS))).list.any()
    )
    return rows.select(pl.when(clean).then("full_name").otherwise(pl.lit(""))).to_series().to_list()


def test_cp1258_and_nfd_files_decode_to_the_true_names(landing: Path, truth: pl.DataFrame, files: dict) -> None:
    found = {"cp1258": 0, "nfd": 0}
    for name, (header, rows, encoding) in files.items():
        if encoding == "xlsx":
            continue
        raw = (landing / "exports" / name).read_bytes()
        nfd = encoding != "cp1258" and unicodedata.normalize("NFC", raw.decode("utf-8-sig")) != raw.decode("utf-8-sig")
        if encoding != "cp1258" and not nfd:
            continue
        found["cp1258" if encoding == "cp1258" else "nfd"] += 1
        at = [canonical(h) for h in header].index("full_name")
        expected = clean_names(landing, truth, name)
        written = [unicodedata.normalize("NFC", r[at]) if len(r) > at else "" for r in rows]
        checked = [(w, e) for w, e in zip(written, expected, strict=True) if e]
        assert checked and all(w == e for w, e in checked), name
    assert found["cp1258"] >= 1 and found["nfd"] >= 1


def test_xlsx_files_use_excel_types(files: dict) -> None:
    xlsx = [content for name, content in files.items() if name.endswith(".xlsx")]
    assert xlsx
    for header, rows, _ in xlsx:
        names = [canonical(h) for h in header]
        ids = {type(r[names.index("id_number")]) for r in rows if r[names.index("id_number")] is not None}
        assert ids <= {str} or ids <= {int, str}  # numeric-ID files keep only unreadable IDs as text
        for row in rows:
            if all(v is None for v in row):
                continue  # a blank row
            birth = row[names.index("date_of_birth")]
            assert isinstance(birth, (datetime, str))
            if isinstance(birth, str) and len(birth) <= 4:
                assert re.fullmatch(r"\d{4}", birth)  # a year alone is text
            assert isinstance(row[names.index("dose_number")], int)
        numbers = [str(r[names.index("id_number")]) for r in rows if isinstance(r[names.index("id_number")], int)]
        short = [n for n in numbers if len(n) <= 11]  # the leading zero is gone (a typo may replace it)
        assert len(short) >= 0.9 * len(numbers) and all(len(n) in (9, 10, 11, 12) for n in numbers)


PADDED = {"persons": 1500, "provinces": ["79", "01"], "seed": 4}
"""A small population whose registry is padded to REGISTRY_N people, in chunks of PAD_CHUNK."""
REGISTRY_N, PAD_CHUNK = 9000, 2500


def pad_files(root: Path) -> list[Path]:
    return sorted((root / "registry" / "2022-06-15").glob("registry-pad-*"))


@pytest.fixture(scope="module")
def padded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerationSummary]:
    """A landing folder whose registry is padded over several chunk files."""
    root = tmp_path_factory.mktemp("padded")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(generator, "PADDING_CHUNK", PAD_CHUNK)
        summary = generate_landing_folder(root, **PADDED, registry_persons=REGISTRY_N)
    return root, summary


def test_padding_fills_the_registry_to_exactly_n_with_unique_ids(padded: tuple[Path, GenerationSummary]) -> None:
    root, summary = padded
    folder = root / "registry" / "2022-06-15"
    assert [p.name for p in pad_files(root)] == [f"registry-pad-0000{i}.parquet" for i in (1, 2, 3)]
    registry = pl.concat([pl.read_parquet(p) for p in sorted(folder.iterdir())])
    assert registry.columns == REGISTRY_COLUMNS and registry.height == REGISTRY_N == summary.registry_persons
    assert registry["person_id"].is_unique().all() and registry["person_id"].str.contains(r"^0\d{11}$").all()
    old_ids = registry["old_id"].drop_nulls()
    assert old_ids.is_unique().all() and old_ids.str.contains(r"^[1-3]\d{8}$").all()
    snapshot = load_registry(root / "registry")
    assert snapshot.people.height == REGISTRY_N and snapshot.rejected.height == 0
    assert snapshot.people["id_birth_year_agrees"].all() and snapshot.people["id_gender_agrees"].all()


def test_padding_people_are_as_realistic_as_the_population(padded: tuple[Path, GenerationSummary]) -> None:
    root, _ = padded
    pad = pl.concat([pl.read_parquet(p) for p in pad_files(root)])
    main = pl.read_parquet(root / "registry" / "2022-06-15" / "registry.parquet")
    assert all(pl.read_parquet(p)["person_id"].is_sorted() for p in pad_files(root))  # as the main file
    assert pad["province_code"].n_unique() >= 55  # the whole country, not the requested provinces
    assert set(pad["province_code"]) <= set(provinces()["code"]) and set(pad["gender"]) == {"Nam", "Nữ"}
    assert abs(pad["old_id"].is_not_null().mean() - main["old_id"].is_not_null().mean()) < 0.05
    assert pad["date_of_birth"].str.contains(r"^\d{4}$").sum() > 0  # some old people's year alone
    assert pad["date_of_birth"].str.contains(r"^\d{4}(-\d{2}-\d{2})?$").all()
    assert (pad["full_name"].str.count_matches(" ") >= 1).all() and pad["full_name"].str.contains("Nguyễn").mean() > 0.2
    assert pad["address"].str.contains(r"^(Xã|Phường) .+, (Huyện|Quận|Thị xã) .+$").all()


def test_padding_people_have_no_dose_records(padded: tuple[Path, GenerationSummary]) -> None:
    root, _ = padded
    pad_ids = pl.concat([pl.read_parquet(p) for p in pad_files(root)])["person_id"]
    persons = pl.read_parquet(root / "ground_truth" / "persons.parquet")
    doses = pl.read_parquet(root / "ground_truth" / "doses.parquet")
    assert not pad_ids.is_in(persons["person_id"].drop_nulls().implode()).any()
    assert not pad_ids.is_in(doses["true_person_id"].drop_nulls().implode()).any()


def test_padding_changes_nothing_else_and_is_deterministic(
    tmp_path: Path, padded: tuple[Path, GenerationSummary]
) -> None:
    root, summary = padded
    plain = generate_landing_folder(tmp_path / "plain", **PADDED)
    not_larger = generate_landing_folder(tmp_path / "small", **PADDED, registry_persons=plain.registry_persons)
    padded_files = tree_bytes(root)
    pads = {p.relative_to(root).as_posix() for p in pad_files(root)}
    assert (
        tree_bytes(tmp_path / "plain")
        == tree_bytes(tmp_path / "small")
        == {name: data for name, data in padded_files.items() if name not in pads}
    )
    assert not_larger == plain and summary.registry_persons == REGISTRY_N != plain.registry_persons
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(generator, "PADDING_CHUNK", PAD_CHUNK)
        generate_landing_folder(tmp_path / "again", **PADDED, registry_persons=REGISTRY_N)
    assert tree_bytes(tmp_path / "again") == padded_files


def test_padding_writes_csv_parts_for_a_csv_registry(tmp_path: Path) -> None:
    summary = generate_landing_folder(
        tmp_path, persons=200, provinces=["79"], seed=1, registry_format="csv", registry_persons=1000
    )
    folder = tmp_path / "registry" / "2022-06-15"
    assert sorted(p.name for p in folder.iterdir()) == ["registry-pad-00001.csv", "registry.csv"]
    assert summary.registry_persons == 1000 == load_registry(tmp_path / "registry").people.height
