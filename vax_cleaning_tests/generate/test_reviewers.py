"""Tests of the synthetic reviewers: workbooks filled from the ground truth, mistakes and their correction.

The review workbook is built here by hand with openpyxl (no dependency on the real export), and the
returned decisions are read back with openpyxl / csv only, locating columns by header name.
"""

from __future__ import annotations

import csv
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from vax_cleaning.cli import main
from vax_cleaning.generate import generate_landing_folder
from vax_cleaning.generate.reviewers import ReviewRound, play_reviewers
from vax_cleaning.vocabulary import Decision

DECIDED_ON = date(2022, 7, 4)
WORKBOOK_NAME = "79_Thành phố Hồ Chí Minh_ra_soat.xlsx"
HEADERS = ("Tệp nguồn", "Dòng", "Quyết định", "Số định danh xác minh", "Người xác minh", "Ngày xác minh")
QUEUE_HEADERS = [
    "Đơn vị xử lý",
    "Lý do",
    "Tệp nguồn",
    "Dòng",
    "Họ và tên (phiếu tiêm)",
    "Quyết định",
    "Ngày xác minh",
    "Số định danh xác minh",
    "Người xác minh",
    "Cơ sở tiêm",
]
UNMATCHED_HEADERS = [
    "Số định danh xác minh",
    "Người xác minh",
    "Tệp nguồn",
    "Lý do",
    "Dòng",
    "Ngày xác minh",
    "Quyết định",
]  # another order: columns are found by name
CORRECTIONS = [["Tệp nguồn", "Dòng", "Trường", "Giá trị hiện tại"], ["79/x.csv", 3, "Họ và tên", "Nguyen Van A"]]
LABELS = {decision.label: decision for decision in Decision}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny generated landing folder (read-only for the tests: each test copies its ground truth)."""
    root = tmp_path_factory.mktemp("generated")
    generate_landing_folder(root, persons=300, provinces=["79"], seed=3)
    return root


@pytest.fixture(scope="module")
def truth(generated: Path) -> pl.DataFrame:
    """Accepted records of the ground truth."""
    return pl.read_parquet(generated / "ground_truth" / "doses.parquet").filter(pl.col("in_registry").is_not_null())


def landing_copy(generated: Path, folder: Path) -> Path:
    """A landing folder holding only the ground truth (reviews/ is written into it)."""
    shutil.copytree(generated / "ground_truth", folder / "ground_truth")
    return folder


def build_workbook(folder: Path, truth: pl.DataFrame) -> Path:
    """A review workbook as the export would write it: record rows with blank decision columns."""
    registered = truth.filter("in_registry").sort("source_file", "source_row")
    absent = truth.filter(~pl.col("in_registry")).sort("source_file", "source_row")
    queue = registered.gather_every(40).head(12)
    unmatched = pl.concat([absent, registered.tail(1)])
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Cần xác minh"
    sheet.append(QUEUE_HEADERS)
    for i, (source_file, source_row) in enumerate(queue.select("source_file", "source_row").iter_rows()):
        handler = "Cơ sở tiêm" if i % 3 == 0 else "Công an xã"
        sheet.append(
            [
                handler,
                "Hai người gần giống nhau",
                source_file,
                source_row if i % 4 else str(source_row),
                "Nguyễn Văn A",
                None,
                None,
                None,
                None,
                "Trạm Y tế Phường An Phú",
            ]
        )
    sheet.append([None] * len(QUEUE_HEADERS))  # a trailing blank row is ignored
    other = book.create_sheet("Không tìm thấy")
    other.append(UNMATCHED_HEADERS)
    for source_file, source_row in unmatched.select("source_file", "source_row").iter_rows():
        other.append([None, None, source_file, "Không tìm thấy trong CSDL dân cư", source_row, None, None])
    fixes = book.create_sheet("Đề xuất sửa")
    for row in CORRECTIONS:
        fixes.append(row)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / WORKBOOK_NAME
    book.save(path)
    return path


def columns(sheet) -> dict[str, int]:
    return {cell.value: cell.column for cell in sheet[1] if cell.value is not None}


def as_day(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return datetime.strptime(str(value), "%d/%m/%Y").date()


def workbook_decisions(path: Path) -> list[dict]:
    """Every decided row of the returned workbook's sheets that carry the decision columns."""
    book = openpyxl.load_workbook(path)
    rows = []
    for sheet in book.worksheets:
        cols = columns(sheet)
        if not set(HEADERS) <= set(cols):
            continue
        for r in range(2, sheet.max_row + 1):
            decision = sheet.cell(r, cols["Quyết định"]).value
            if not decision:
                continue
            id_cell = sheet.cell(r, cols["Số định danh xác minh"])
            rows.append(
                {
                    "key": (sheet.cell(r, cols["Tệp nguồn"]).value, int(sheet.cell(r, cols["Dòng"]).value)),
                    "decision": LABELS[decision],
                    "person_id": id_cell.value,
                    "id_cell": id_cell,
                    "reviewer": sheet.cell(r, cols["Người xác minh"]).value,
                    "decided_on": sheet.cell(r, cols["Ngày xác minh"]).value,
                    "sheet": sheet.title,
                }
            )
    return rows


def csv_decisions(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            {
                "key": (row["Tệp nguồn"], int(row["Dòng"])),
                "decision": LABELS[row["Quyết định"]],
                "person_id": row["Số định danh xác minh"] or None,
                "reviewer": row["Người xác minh"],
                "decided_on": as_day(row["Ngày xác minh"]),
            }
            for row in csv.DictReader(handle)
        ]


def right_decisions(truth: pl.DataFrame) -> dict[tuple[str, int], tuple[Decision, str | None]]:
    return {
        (f, r): (Decision.LINK, pid) if reg else (Decision.NOT_IN_REGISTRY, None)
        for f, r, pid, reg in truth.select("source_file", "source_row", "true_person_id", "in_registry").iter_rows()
    }


def review_files(landing: Path) -> tuple[Path, list[Path]]:
    folder = landing / "reviews" / "79"
    return folder / WORKBOOK_NAME, sorted(folder.glob("*.csv"))


def final_state(landing: Path) -> dict[tuple[str, int], tuple[Decision, str | None] | str]:
    """Contract 2.4 precedence over every returned file: latest date wins; same-day disagreement conflicts."""
    workbook, csvs = review_files(landing)
    rows = [{**row, "decided_on": as_day(row["decided_on"])} for row in workbook_decisions(workbook)]
    rows += [row for path in csvs for row in csv_decisions(path)]
    by_key: dict = {}
    for row in rows:
        by_key.setdefault(row["key"], []).append(row)
    state = {}
    for key, decisions in by_key.items():
        latest = max(row["decided_on"] for row in decisions)
        outcomes = {(row["decision"], row["person_id"]) for row in decisions if row["decided_on"] == latest}
        state[key] = outcomes.pop() if len(outcomes) == 1 else "conflict"
    return state


def test_every_row_gets_the_true_decision(generated: Path, truth: pl.DataFrame, tmp_path: Path) -> None:
    landing = landing_copy(generated, tmp_path / "landing")
    source = build_workbook(tmp_path / "exported", truth)
    done = play_reviewers([source], landing, DECIDED_ON, seed=1, mistakes=0)
    workbook, csvs = review_files(landing)
    assert workbook.is_file() and csvs == []
    rows = workbook_decisions(workbook)
    right = right_decisions(truth)
    absent = int((~truth["in_registry"]).sum())
    assert len(rows) == 12 + absent + 1 == done.rows_filled
    assert done == ReviewRound(
        workbooks=1,
        rows_filled=len(rows),
        links=len(rows) - absent,
        not_in_registry=absent,
        rows_unknown=0,
        wrong=0,
        contradictions=0,
        corrections=0,
        files_written=1,
    )
    for row in rows:
        assert (row["decision"], row["person_id"]) == right[row["key"]]
        assert row["reviewer"] and as_day(row["decided_on"]) == DECIDED_ON
    assert {row["sheet"] for row in rows if row["decision"] is Decision.NOT_IN_REGISTRY} == {"Không tìm thấy"}
    assert any(row["reviewer"] == "Trạm Y tế Phường An Phú" for row in rows)  # routed to the site
    assert any(row["reviewer"].startswith("Công an") for row in rows)
    kinds = {type(row["decided_on"]) for row in rows}
    assert str in kinds and datetime in kinds  # typed as text by some, an Excel date by others


def test_person_ids_stay_text_with_leading_zeros(generated: Path, truth: pl.DataFrame, tmp_path: Path) -> None:
    landing = landing_copy(generated, tmp_path / "landing")
    play_reviewers([build_workbook(tmp_path / "exported", truth)], landing, DECIDED_ON, mistakes=0)
    links = [row for row in workbook_decisions(review_files(landing)[0]) if row["decision"] is Decision.LINK]
    assert any(row["person_id"].startswith("0") for row in links)
    for row in links:
        cell = row["id_cell"]
        assert cell.data_type == "s" and cell.number_format == "@"
        assert isinstance(cell.value, str) and len(cell.value) == 12 and cell.value.isdigit()
    unlinked = [
        row for row in workbook_decisions(review_files(landing)[0]) if row["decision"] is Decision.NOT_IN_REGISTRY
    ]
    assert unlinked and all(row["person_id"] is None for row in unlinked)


def test_mistakes_contradictions_and_their_correction(generated: Path, truth: pl.DataFrame, tmp_path: Path) -> None:
    landing = landing_copy(generated, tmp_path / "landing")
    done = play_reviewers([build_workbook(tmp_path / "exported", truth)], landing, DECIDED_ON, seed=5, mistakes=2)
    assert (done.wrong, done.contradictions, done.corrections, done.files_written) == (2, 2, 4, 3)
    right = right_decisions(truth)
    workbook, csvs = review_files(landing)
    rows = {row["key"]: row for row in workbook_decisions(workbook)}
    wrong = {key for key, row in rows.items() if (row["decision"], row["person_id"]) != right[key]}
    assert len(wrong) == 2
    for key in wrong:
        assert rows[key]["decision"] is Decision.LINK and rows[key]["person_id"] not in (None, right[key][1])
    registry = set(pl.read_parquet(generated / "ground_truth" / "persons.parquet").filter("in_registry")["person_id"])
    assert {rows[key]["person_id"] for key in wrong} <= registry  # a real person, just the wrong one

    second, follow_up = csvs  # ..._bo_sung_YYYYMMDD.csv sorts before ..._dinh_chinh_YYYYMMDD.csv
    assert "bo_sung" in second.name and "dinh_chinh" in follow_up.name
    assert second.read_bytes().decode("utf-8").splitlines()[0] == ",".join(HEADERS)
    contradicting = csv_decisions(second)
    assert len(contradicting) == 2
    for row in contradicting:
        original = rows[row["key"]]
        assert row["key"] not in wrong and row["decided_on"] == DECIDED_ON == as_day(original["decided_on"])
        assert (original["decision"], original["person_id"]) == right[row["key"]]
        assert (row["decision"], row["person_id"]) != right[row["key"]]
        if row["decision"] is Decision.LINK:
            assert row["person_id"] in registry

    corrections = csv_decisions(follow_up)
    assert {row["key"] for row in corrections} == wrong | {row["key"] for row in contradicting}
    for row in corrections:
        assert row["decided_on"] == DECIDED_ON + timedelta(days=1)
        assert (row["decision"], row["person_id"]) == right[row["key"]]

    state = final_state(landing)
    assert state == {key: right[key] for key in rows}  # after the round, every record is decided right
    follow_up.unlink()
    state = final_state(landing)  # without the follow-up: the same-day contradictions conflict, the wrong links hold
    assert {key for key, value in state.items() if value == "conflict"} == {row["key"] for row in contradicting}
    assert {key for key, value in state.items() if value != "conflict" and value != right[key]} == wrong


def test_corrections_sheet_is_left_alone(generated: Path, truth: pl.DataFrame, tmp_path: Path) -> None:
    landing = landing_copy(generated, tmp_path / "landing")
    play_reviewers([build_workbook(tmp_path / "exported", truth)], landing, DECIDED_ON)
    sheet = openpyxl.load_workbook(review_files(landing)[0])["Đề xuất sửa"]
    assert [list(row) for row in sheet.iter_rows(values_only=True)] == CORRECTIONS


def returned_content(landing: Path) -> tuple:
    workbook, csvs = review_files(landing)
    book = openpyxl.load_workbook(workbook)
    cells = {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets}
    return cells, {path.name: path.read_bytes() for path in csvs}


def test_deterministic_for_a_seed(generated: Path, truth: pl.DataFrame, tmp_path: Path) -> None:
    source = build_workbook(tmp_path / "exported", truth)
    results = {}
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        landing = landing_copy(generated, tmp_path / name)
        results[name] = (play_reviewers([source], landing, DECIDED_ON, seed=seed), returned_content(landing))
    assert results["a"] == results["b"]
    assert results["a"][1] != results["c"][1]


def test_refuses_to_modify_a_landed_file(generated: Path, truth: pl.DataFrame, tmp_path: Path) -> None:
    landing = landing_copy(generated, tmp_path / "landing")
    source = build_workbook(tmp_path / "exported", truth)
    play_reviewers([source], landing, DECIDED_ON)
    with pytest.raises(FileExistsError):
        play_reviewers([source], landing, DECIDED_ON)
    play_reviewers([source], landing, DECIDED_ON, overwrite=True)


def test_cli(generated: Path, truth: pl.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    landing = landing_copy(generated, tmp_path / "landing")
    exported = build_workbook(tmp_path / "exported", truth).parent
    (tmp_path / "empty").mkdir()

    assert main(["play-reviewers", "--workbooks", str(tmp_path / "empty"), "--landing", str(landing)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no *_ra_soat.xlsx" in err and "Traceback" not in err
    assert main(["play-reviewers", "--workbooks", str(exported), "--landing", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ground_truth" in err

    args = [
        "play-reviewers",
        "--workbooks",
        str(exported),
        "--landing",
        str(landing),
        "--decided-on",
        "2022-07-04",
        "--seed",
        "2",
        "--mistakes",
        "1",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "04/07/2022" in out and "05/07/2022" in out
    assert "ReviewRound" not in out and "2 correction(s)" in out
    assert all(pid not in out for pid in truth["true_person_id"].drop_nulls())  # no personal data
    workbook, csvs = review_files(landing)
    assert workbook.is_file() and len(csvs) == 2

    assert main(args) == 2  # the decision files have landed: never modified
    assert "already exists" in capsys.readouterr().err
