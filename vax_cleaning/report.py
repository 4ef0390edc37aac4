"""Progress report for provincial officers: share cleaned over time and the backlog by status (plain functions)."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import duckdb
import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import polars as pl  # noqa: E402

from vax_cleaning.reference import province_names  # noqa: E402
from vax_cleaning.warehouse import read_frame, table_exists  # noqa: E402

BACKLOG_COLORS = {"review": "#e6a23c", "unmatched": "#d9534f", "duplicate": "#8c8c8c", "rejected": "#5b5b5b",
                  "not_uploaded": "#7fb3d5"}
STATUS_LABELS = {"verified": "Đã xác thực", "corrected": "Đã hiệu chỉnh", "review": "Cần xác minh",
                 "unmatched": "Không tìm thấy", "duplicate": "Trùng lặp", "rejected": "Bị loại",
                 "not_uploaded": "Chưa tải lên (theo báo cáo)"}


def progress_history(conn: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every point of province_progress with the share linked (verified + corrected) and the province name."""
    if not table_exists(conn, "province_progress"):
        return pl.DataFrame()
    history = read_frame(conn, "SELECT * FROM province_progress ORDER BY province_code, as_of")
    return history.with_columns(
        province=pl.col("province_code") + " " + pl.col("province_code").replace_strict(province_names()),
        share_linked=(pl.col("verified") + pl.col("corrected")) / pl.col("doses_total").clip(lower_bound=1),
        not_uploaded=(pl.col("doses_reported") - pl.col("doses_total")).clip(lower_bound=0),
    )


def latest(history: pl.DataFrame) -> pl.DataFrame:
    """The newest point of each province."""
    return history.sort("as_of").group_by("province_code", maintain_order=True).last().sort("province_code")


def progress_chart_png(history: pl.DataFrame) -> bytes:
    """Two panels: share linked over time per province; the backlog by status at the latest point."""
    figure, (over_time, backlog) = plt.subplots(1, 2, figsize=(13, 4.8), dpi=100)
    for province, points in history.group_by("province", maintain_order=True):
        over_time.step(points["as_of"].to_list(), (points["share_linked"] * 100).to_list(), where="post", marker="o", label=province[0])
    over_time.set(title="Tỷ lệ mũi tiêm đã khớp CSDL dân cư (%)", ylim=(0, 100), xlabel="thời điểm chạy")
    over_time.legend(fontsize=8, loc="lower right")
    over_time.xaxis.set_major_formatter(mdates.DateFormatter("%d/%m %H:%M"))
    now = latest(history)
    bottom = [0] * now.height
    for status, color in BACKLOG_COLORS.items():
        values = now[status].fill_null(0).to_list()
        backlog.barh(now["province"].to_list(), values, left=bottom, color=color, label=STATUS_LABELS[status])
        bottom = [b + v for b, v in zip(bottom, values)]
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
    header = "| Tỉnh/thành | Tổng | Đã khớp | Cần xác minh | Không tìm thấy | Trùng | Bị loại | Báo cáo | Chưa tải lên |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    rows = [
        f"| {r['province']} | {r['doses_total']} | {r['share_linked']:.1%} | {r['review']} | {r['unmatched']} | "
        f"{r['duplicate']} | {r['rejected']} | {r['doses_reported'] if r['doses_reported'] is not None else '–'} | "
        f"{r['not_uploaded'] if r['not_uploaded'] is not None else '–'} |"
        for r in now.iter_rows(named=True)
    ]
    chart = f"\n\n![progress](data:image/png;base64,{base64.b64encode(chart_png).decode()})" if chart_png else ""
    return "\n".join([header, *rows]) + chart


def write_report(conn: duckdb.DuckDBPyConnection, out_dir: Path) -> tuple[Path, Path]:
    """progress.png and progress.html (self-contained) under out_dir."""
    history = progress_history(conn)
    if history.is_empty():
        raise ValueError("province_progress is empty: run `vax-cleaning run` first")
    out_dir.mkdir(parents=True, exist_ok=True)
    png = progress_chart_png(history)
    (out_dir / "progress.png").write_bytes(png)
    table = latest(history).select(
        "province", "as_of", "doses_total", "verified", "corrected", "review", "unmatched", "duplicate", "rejected",
        "doses_reported", "not_uploaded", pl.col("share_linked").round(4),
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
