"""The progress report as an officer reads it: only provinces with data, Vietnamese headers, percentages,
Vietnam local time, a national total and a summary that says who must act on how many doses."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from vax_cleaning.reference import province_names
from vax_cleaning.report import (
    NoProgressError,
    latest,
    progress_chart_png,
    progress_history,
    progress_markdown,
    write_report,
)
from vax_cleaning.vocabulary import Handler, MatchStatus, Rule

FIRST_RUN = datetime(2026, 11, 30, 12, 5)  # UTC as stored: 19:05 in Vietnam
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def point(code: str, as_of: datetime, verified: int, corrected: int, review: int, unmatched: int, **rest) -> dict:
    """One province_progress row as the assets write it (doses_total = the six counts)."""
    counts = {"verified": verified, "corrected": corrected, "review": review, "unmatched": unmatched}
    counts |= {"duplicate": rest.get("duplicate", 0), "rejected": rest.get("rejected", 0)}
    return {
        "province_code": code,
        "as_of": as_of,
        "doses_total": sum(counts.values()),
        **counts,
        "decided_by_review": rest.get("decided_by_review", 0),
        "doses_reported": rest.get("doses_reported"),
    }


def warehouse_with(points: list[dict], rules: dict[tuple[str, str], int] | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory warehouse holding these progress points and, per (province, rule), that many open records."""
    conn = duckdb.connect()
    progress = pl.DataFrame(points, schema_overrides={"doses_reported": pl.Int64, "as_of": pl.Datetime("us")})
    conn.register("_p", progress)
    conn.execute("CREATE TABLE province_progress AS SELECT * FROM _p")
    if rules is not None:
        conn.execute("CREATE TABLE matched_records (province_code VARCHAR, match_status VARCHAR, rule VARCHAR)")
        for (code, rule), n in rules.items():
            status = MatchStatus.REVIEW if Rule(rule).group == "review" else MatchStatus.UNMATCHED
            conn.execute("INSERT INTO matched_records SELECT ?, ?, ? FROM range(?)", [code, status, rule, n])
    return conn


def sixty_three_provinces_three_with_data() -> list[dict]:
    """'Materialize all' before the fix: an all-zero row for every province without exports, data in 01, 48, 79."""
    zero = [point(code, FIRST_RUN, 0, 0, 0, 0) for code in province_names() if code not in ("01", "48", "79")]
    return [
        *zero,
        point("79", FIRST_RUN, 40_000, 5_000, 1_500, 700, duplicate=696, rejected=20, doses_reported=50_000),
        point("79", FIRST_RUN + timedelta(hours=2), 44_000, 5_128, 300, 120, duplicate=780, rejected=20),
        point("01", FIRST_RUN + timedelta(minutes=1), 9_000, 500, 250, 50, decided_by_review=30, doses_reported=9_900),
        point("48", FIRST_RUN + timedelta(minutes=2), 1_000, 0, 0, 0),
    ]


@pytest.fixture
def report(tmp_path: Path) -> tuple[str, bytes]:
    """The HTML and PNG written for 63 provinces of which 3 have data."""
    rules = {("79", Rule.ID_CONFLICT): 200, ("79", Rule.LOW_MARGIN): 100, ("79", Rule.NO_CANDIDATE): 120}
    rules |= {("01", Rule.WEAK_CANDIDATE): 250, ("01", Rule.REVIEW_NOT_IN_REGISTRY): 50}
    conn = warehouse_with(sixty_three_provinces_three_with_data(), rules)
    png_path, html_path = write_report(conn, tmp_path / "w_reports")
    return html_path.read_text(encoding="utf-8"), png_path.read_bytes()


def table_rows(page: str) -> list[list[str]]:
    """The HTML table's rows, header first, as cell texts."""
    return [re.findall(r"<t[hd]>(.*?)</t[hd]>", row) for row in re.findall(r"<tr>(.*?)</tr>", page)]


def test_the_report_lists_only_provinces_with_data_under_a_national_total(report):
    page, png = report
    assert png.startswith(PNG_MAGIC)
    rows = table_rows(page)
    assert [row[0] for row in rows[1:]] == ["Cả nước", "01 Hà Nội", "48 Đà Nẵng", "79 Thành phố Hồ Chí Minh"]
    assert "Hà Giang" not in page and "None" not in page
    header = dict(zip(rows[0], rows[1], strict=True))  # the national total row, by header
    assert all(dict(zip(rows[0], row, strict=True))["Số mũi đã tải lên"] != "0" for row in rows[1:])
    assert header["Số mũi đã tải lên"] == "61.148"  # 50.348 (79's latest point only) + 9.800 + 1.000
    assert header[MatchStatus.VERIFIED.label] == "54.000"
    assert header[MatchStatus.DUPLICATE.label] == "780"  # 79's latest point, not its first one
    assert header["Số mũi cơ sở báo cáo"] == "9.900"  # only 01's tally is known now: 79's latest has none


def test_the_report_speaks_vietnamese_percentages_and_vietnam_time(report):
    page, _ = report
    headers = table_rows(page)[0]
    assert not [h for h in headers if re.fullmatch(r"[a-z_]+", h)], headers  # no snake_case column names
    assert MatchStatus.REVIEW.label in headers and "Tỉnh/thành" in headers
    by_province = {row[0]: dict(zip(headers, row, strict=True)) for row in table_rows(page)[1:]}
    assert by_province["48 Đà Nẵng"]["Tỷ lệ đã khớp CSDL dân cư"] == "100,0 %"
    assert by_province["01 Hà Nội"]["Tỷ lệ đã khớp CSDL dân cư"] == "96,9 %"  # 9.500 / 9.800
    assert by_province["01 Hà Nội"]["Cập nhật lúc"] == "30/11/2026 19:06 (UTC+7)"
    assert by_province["79 Thành phố Hồ Chí Minh"]["Cập nhật lúc"] == "30/11/2026 21:05 (UTC+7)"
    assert "0.9" not in page.split("<table")[1]  # no fractions anywhere in the table


def test_the_summary_says_how_many_doses_are_done_and_who_must_review_the_rest(report):
    page, _ = report
    summary = re.search(r"<p>(.*?)</p>", page).group(1)
    assert summary.startswith("Cả nước — 3 tỉnh/thành có dữ liệu, cập nhật 30/11/2026 21:05 (UTC+7): ")
    assert "59.628 trên 61.148 mũi tiêm đã tải lên đã khớp CSDL dân cư (97,5 %;" in summary
    # open: 79 has 300 review + 120 unmatched, 01 has 250 + 50: by handler from matched_records
    assert f"Còn 720 mũi chưa khớp: 320 mũi chờ {Handler.COMMUNE_POLICE} xác minh" in summary
    assert f"350 mũi chờ {Handler.SITE} xác minh" in summary
    assert f"50 mũi thuộc diện “{Rule.REVIEW_NOT_IN_REGISTRY.label}”" in summary
    # 01: 9.900 reported, 9.800 uploaded; the others have no tally now
    assert "100 mũi chưa tải lên (so với số mũi cơ sở báo cáo, 1/3 tỉnh/thành có số báo cáo)." in summary


def test_without_matched_records_the_summary_counts_the_backlog_by_status(tmp_path: Path):
    conn = warehouse_with([point("48", FIRST_RUN, 90, 0, 6, 4)])
    page = write_report(conn, tmp_path)[1].read_text(encoding="utf-8")
    assert (
        f"Còn 10 mũi chưa khớp: 6 {MatchStatus.REVIEW.label.lower()}, 4 {MatchStatus.UNMATCHED.label.lower()}." in page
    )
    assert "Chưa có số mũi cơ sở báo cáo nên chưa biết số mũi chưa tải lên." in page


def test_the_ui_markdown_has_the_summary_the_chart_and_the_total_first():
    history = progress_history(warehouse_with(sixty_three_provinces_three_with_data()))
    assert latest(history).height == 3
    markdown = progress_markdown(history, progress_chart_png(history))
    summary, chart, table = markdown.split("\n\n")
    assert summary.startswith("Cả nước — 3 tỉnh/thành")
    assert chart.startswith("![progress](data:image/png;base64,")
    assert table.splitlines()[2].startswith("| **Cả nước** |")
    assert len(table.splitlines()) == 2 + 1 + 3


def test_a_report_with_no_province_with_data_says_so(tmp_path: Path):
    conn = warehouse_with([point(code, FIRST_RUN, 0, 0, 0, 0) for code in province_names()])
    with pytest.raises(NoProgressError, match="no province with data"):
        write_report(conn, tmp_path)


def test_a_province_whose_exports_were_withdrawn_drops_out_instead_of_showing_old_counts():
    from vax_cleaning.report import LATEST_PROGRESS_SQL

    conn = warehouse_with(
        [
            point("79", FIRST_RUN, 40_000, 5_000, 1_500, 700),
            point("79", FIRST_RUN + timedelta(hours=1), 0, 0, 0, 0),  # its exports were moved away
            point("01", FIRST_RUN, 9_000, 500, 250, 50),
        ]
    )
    assert [row[0] for row in conn.execute(f"SELECT province_code FROM ({LATEST_PROGRESS_SQL})").fetchall()] == ["01"]
    assert latest(progress_history(conn))["province_code"].to_list() == ["01"]
