"""Progress report for provincial officers: share cleaned over time and the backlog by status (plain functions)."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import duckdb
import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import polars as pl

from vax_cleaning.reference import province_names
from vax_cleaning.vocabulary import LINKED_STATUSES, OPEN_STATUSES, MatchStatus, values
from vax_cleaning.warehouse import read_frame, table_exists

BACKLOG_COLORS = {
    MatchStatus.REVIEW.value: "#e6a23c",
    MatchStatus.UNMATCHED.value: "#d9534f",
    MatchStatus.DUPLICATE.value: "#8c8c8c",
    "rejected": "#5b5b5b",
    "not_uploaded": "#7fb3d5",
}
STATUS_LABELS = {
    **{status.value: status.label for status in MatchStatus},
    "rejected": "Bị loại",
    "not_uploaded": "Chưa tải lên (theo báo cáo)",
}
BY_REVIEW_LABEL = "Đã xử lý qua xác minh"
"""Records whose status an applied review decision set."""
BY_REVIEW_SHARE_LABEL = "Tỷ lệ tồn đọng đã xử lý qua xác minh"
"""decided_by_review / (decided_by_review + review + unmatched): how much of the backlog people have settled."""


LATEST_PROGRESS_SQL = """
    SELECT * FROM province_progress QUALIFY row_number() OVER (PARTITION BY province_code ORDER BY as_of DESC) = 1
"""
"""The latest point of every province (the view latest_province_progress; the CLI summary reads it directly)."""


def progress_history(conn: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every point of province_progress with the share linked (verified + corrected), the province name and the
    share of the backlog settled by review decisions (`share_by_review`, NULL when there is no backlog at all)."""
    if not table_exists(conn, "province_progress"):
        return pl.DataFrame()
    history = read_frame(conn, "SELECT * FROM province_progress ORDER BY province_code, as_of")
    if "decided_by_review" not in history.columns:  # databases written before the column existed
        history = history.with_columns(decided_by_review=pl.lit(0, pl.Int64))
    history = history.with_columns(pl.col("decided_by_review").fill_null(0))
    backlog = pl.col("decided_by_review") + pl.sum_horizontal(values(OPEN_STATUSES))
    return history.with_columns(
        province=pl.col("province_code") + " " + pl.col("province_code").replace_strict(province_names()),
        share_linked=pl.sum_horizontal(values(LINKED_STATUSES)) / pl.col("doses_total").clip(lower_bound=1),
        not_uploaded=(pl.col("doses_reported") - pl.col("doses_total")).clip(lower_bound=0),
        share_by_review=pl.when(backlog > 0).then(pl.col("decided_by_review") / backlog),
    )


def latest(history: pl.DataFrame) -> pl.DataFrame:
    """The newest point of each province."""
    return history.sort("as_of").group_by("province_code", maintain_order=True).last().sort("province_code")


def progress_chart_png(history: pl.DataFrame) -> bytes:
    """Two panels: share linked over time per province; the backlog by status at the latest point."""
    figure, (over_time, backlog) = plt.subplots(1, 2, figsize=(13, 4.8), dpi=100)
    for province, points in history.group_by("province", maintain_order=True):
        over_time.step(
            points["as_of"].to_list(),
            (points["share_linked"] * 100).to_list(),
            where="post",
            marker="o",
            label=province[0],
        )
    over_time.set(title="Tỷ lệ mũi tiêm đã khớp CSDL dân cư (%)", ylim=(0, 100), xlabel="thời điểm chạy")
    over_time.legend(fontsize=8, loc="lower right")
    over_time.xaxis.set_major_formatter(mdates.DateFormatter("%d/%m %H:%M"))
    now = latest(history)
    bottom = [0] * now.height
    for status, color in BACKLOG_COLORS.items():
        values = now[status].fill_null(0).to_list()
        backlog.barh(now["province"].to_list(), values, left=bottom, color=color, label=STATUS_LABELS[status])
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    backlog.set(title="Tồn đọng theo trạng thái (mũi tiêm)")
    backlog.legend(fontsize=8)
    figure.autofmt_xdate()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()


def progress_markdown(history: pl.DataFrame, chart_png: bytes | None = None) -> str:
    """Markdown table of the latest point per province (plus the chart inline) for Dagster metadata."""
    now = latest(history)
    header = (
        f"| Tỉnh/thành | Tổng | Đã khớp | {STATUS_LABELS[MatchStatus.REVIEW]} | {STATUS_LABELS[MatchStatus.UNMATCHED]} | "
        f"{BY_REVIEW_LABEL} | {BY_REVIEW_SHARE_LABEL} | Trùng | Bị loại | Báo cáo | Chưa tải lên |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    rows = [
        f"| {r['province']} | {r['doses_total']} | {r['share_linked']:.1%} | {r[MatchStatus.REVIEW]} | "
        f"{r[MatchStatus.UNMATCHED]} | {r['decided_by_review']} | "
        f"{_percent(r['share_by_review'])} | "
        f"{r[MatchStatus.DUPLICATE]} | {r['rejected']} | {r['doses_reported'] if r['doses_reported'] is not None else '–'} | "
        f"{r['not_uploaded'] if r['not_uploaded'] is not None else '–'} |"
        for r in now.iter_rows(named=True)
    ]
    chart = f"\n\n![progress](data:image/png;base64,{base64.b64encode(chart_png).decode()})" if chart_png else ""
    return "\n".join([header, *rows]) + chart


def _percent(share: float | None) -> str:
    """`12.3%`, or `–` when there is nothing to divide."""
    return "–" if share is None else f"{share:.1%}"


def write_report(conn: duckdb.DuckDBPyConnection, out_dir: Path) -> tuple[Path, Path]:
    """progress.png and progress.html (self-contained) under out_dir."""
    history = progress_history(conn)
    if history.is_empty():
        raise ValueError("province_progress is empty: run `vax-cleaning run` first")
    out_dir.mkdir(parents=True, exist_ok=True)
    png = progress_chart_png(history)
    (out_dir / "progress.png").write_bytes(png)
    table = latest(history).select(
        "province",
        "as_of",
        "doses_total",
        *values(MatchStatus),
        "rejected",
        "doses_reported",
        "not_uploaded",
        pl.col("share_linked").round(4),
        pl.col("decided_by_review").alias(BY_REVIEW_LABEL),
        (pl.col("share_by_review") * 100).round(1).alias(f"{BY_REVIEW_SHARE_LABEL} (%)"),
    )
    html = (
        "<!doctype html><meta charset='utf-8'><title>Tiến độ làm sạch dữ liệu tiêm chủng</title>"
        "<h1>Tiến độ làm sạch dữ liệu tiêm chủng</h1>"
        f"<img alt='progress chart' src='data:image/png;base64,{base64.b64encode(png).decode()}'>"
        f"{_html_table(table)}"
    )
    (out_dir / "progress.html").write_text(html, encoding="utf-8")
    return out_dir / "progress.png", out_dir / "progress.html"


def _html_table(frame: pl.DataFrame) -> str:
    """A plain HTML table (no pandas needed)."""
    head = "".join(f"<th>{name}</th>" for name in frame.columns)
    body = "".join("<tr>" + "".join(f"<td>{value}</td>" for value in row) + "</tr>" for row in frame.iter_rows())
    return f"<table border='1' cellpadding='4'><tr>{head}</tr>{body}</table>"
