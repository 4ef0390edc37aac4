"""The progress series and the progress report for officers (plain functions, no Dagster).

Every asset that writes a province_progress point counts it here (`province_progress_row`), so a point written
after another province's run changed this province's records is counted exactly like the province's own. The
report speaks the officers' terms: Vietnamese labels, percentages, Vietnam local time, a national total and a
one-paragraph summary; it shows only provinces that have data.
"""

from __future__ import annotations

import base64
import html
import io
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import polars as pl
from matplotlib.patches import Patch

from vax_cleaning import warehouse
from vax_cleaning.reference import province_names
from vax_cleaning.vocabulary import LINKED_STATUSES, OPEN_STATUSES, DecidedBy, Handler, MatchStatus, Rule, values
from vax_cleaning.warehouse import MissingTableError, read_frame, table_exists

# --- the progress series -------------------------------------------------------------------------------------

STATUS_COLUMNS = (*values(MatchStatus), "rejected")
"""The six outcomes that add up to doses_total."""

PROGRESS_COUNTS_SQL = f"""
    SELECT {", ".join(f"count(*) FILTER (WHERE match_status = '{s}') AS {s}" for s in MatchStatus)},
      (SELECT count(*) FROM rejected_rows WHERE province_code = $1 AND source_row > 0)      AS rejected,
      count(*) FILTER (WHERE decided_by = '{DecidedBy.REVIEW}')                             AS decided_by_review,
      (SELECT coalesce(sum(records), 0) FROM export_files WHERE province_code = $1)         AS records_in_files
    FROM matched_records WHERE province_code = $1
"""
"""One province's counts by outcome, as matched_records and rejected_rows hold them now."""


class NoProgressError(MissingTableError):
    """No province has progress with data yet: nothing to report (terminal, like a missing table: run the provinces
    first; retrying cannot help)."""


HAS_DATA_SQL = "(doses_total > 0 OR coalesce(doses_reported, 0) > 0)"
"""A point that says something: records were uploaded, or sites reported doses. All-zero points are ignored."""

LATEST_PROGRESS_SQL = f"""
    SELECT * FROM (
        SELECT * FROM province_progress
        QUALIFY row_number() OVER (PARTITION BY province_code ORDER BY as_of DESC) = 1
    ) WHERE {HAS_DATA_SQL}
"""
"""The latest point of every province whose latest point has data (the view latest_province_progress; the CLI
summary reads it): a province whose exports were all withdrawn drops out instead of showing its old counts."""


def progress_row(code: str, counts: dict[str, int], reported: int | None, decided_by_review: int = 0) -> pl.DataFrame:
    """One point of the time series, stamped with the run's time (UTC, as the contract's TIMESTAMP is stored)."""
    return pl.DataFrame(
        {
            "province_code": [code],
            "as_of": [datetime.now(UTC).replace(tzinfo=None)],
            "doses_total": [sum(counts[c] for c in STATUS_COLUMNS)],
            **{c: [counts[c]] for c in STATUS_COLUMNS},
            "decided_by_review": [decided_by_review],
            "doses_reported": [reported],
        },
        schema={
            "province_code": pl.String,
            "as_of": pl.Datetime("us"),
            "doses_total": pl.Int64,
            **{c: pl.Int64 for c in STATUS_COLUMNS},
            "decided_by_review": pl.Int64,
            "doses_reported": pl.Int64,
        },
    )


def province_progress_row(conn: duckdb.DuckDBPyConnection, code: str, reported: int | None) -> tuple[pl.DataFrame, int]:
    """The province's point counted from what the warehouse holds now (inside the caller's transaction, if any),
    and the records its export files hold (for the totals check)."""
    counts = read_frame(conn, PROGRESS_COUNTS_SQL, [code]).row(0, named=True)
    records_in_files = int(counts.pop("records_in_files"))
    decided_by_review = int(counts.pop("decided_by_review"))
    return progress_row(code, counts, reported, decided_by_review), records_in_files


def append_if_changed(conn: duckdb.DuckDBPyConnection, row: pl.DataFrame) -> bool:
    """History keeps every change; an identical rerun adds nothing (idempotent materialization)."""
    warehouse.ensure_table(conn, "province_progress", row)
    newest = read_frame(
        conn,
        "SELECT * FROM province_progress WHERE province_code = ? ORDER BY as_of DESC LIMIT 1",
        [row["province_code"].item()],
    )
    compared = ["doses_total", *STATUS_COLUMNS, "decided_by_review", "doses_reported"]
    if newest.height and newest.select(compared).cast(pl.Int64).equals(row.select(compared)):
        return False
    warehouse.append(conn, "province_progress", row)
    return True


def refresh_progress(conn: duckdb.DuckDBPyConnection, codes: list[str]) -> list[str]:
    """A fresh point for provinces whose records another province's run changed, so their latest point never
    disagrees with matched_records; the doses sites reported carry over from their latest point.

    Provinces without a series yet get theirs from their own run. Returns the provinces that got a point.
    """
    if not codes or not table_exists(conn, "province_progress"):
        return []
    reported = read_frame(
        conn,
        "SELECT province_code, doses_reported FROM province_progress WHERE province_code IN (SELECT unnest($1)) "
        "QUALIFY row_number() OVER (PARTITION BY province_code ORDER BY as_of DESC) = 1 ORDER BY province_code",
        [codes],
    )
    refreshed = []
    for code, doses_reported in reported.iter_rows():
        row, _ = province_progress_row(conn, code, doses_reported)
        if append_if_changed(conn, row):
            refreshed.append(code)
    return refreshed


def is_empty_province(conn: duckdb.DuckDBPyConnection, row: pl.DataFrame, records_in_files: int) -> bool:
    """No exports (nothing in its files, nothing matched), no tally and no series yet: a point would only say zero.
    A province that had data gets its zero point: its exports were withdrawn, and the report must say so."""
    nothing = records_in_files == 0 and row["doses_total"].item() == 0 and not row["doses_reported"].fill_null(0).item()
    code = row["province_code"].item()
    had_data = (
        table_exists(conn, "province_progress")
        and conn.execute("SELECT count(*) FROM province_progress WHERE province_code = ?", [code]).fetchall()[0][0]
    )
    return nothing and not had_data


# --- the report ----------------------------------------------------------------------------------------------

LOCAL_TIME_ZONE = "Asia/Ho_Chi_Minh"
LOCAL_TIME_SUFFIX = "(UTC+7)"
NATIONAL_LABEL = "Cả nước"
REJECTED_LABEL = "Bị loại"
NOT_UPLOADED_LABEL = "Chưa tải lên (theo báo cáo)"
BY_REVIEW_LABEL = "Đã xử lý qua xác minh"
"""Records whose status an applied review decision set."""
BY_REVIEW_SHARE_LABEL = "Tỷ lệ tồn đọng đã xử lý qua xác minh"
"""decided_by_review / (decided_by_review + review + unmatched): how much of the backlog people have settled."""

SEGMENTS = {
    MatchStatus.VERIFIED.value: ("#2e7d32", MatchStatus.VERIFIED.label),
    MatchStatus.CORRECTED.value: ("#81c784", MatchStatus.CORRECTED.label),
    MatchStatus.DUPLICATE.value: ("#b0b0b0", MatchStatus.DUPLICATE.label),
    MatchStatus.REVIEW.value: ("#e6a23c", MatchStatus.REVIEW.label),
    MatchStatus.UNMATCHED.value: ("#d9534f", MatchStatus.UNMATCHED.label),
    "rejected": ("#5b5b5b", REJECTED_LABEL),
    "not_uploaded": ("#7fb3d5", NOT_UPLOADED_LABEL),
}
"""The chart's stacked segments, settled first (linked, then duplicates of a linked copy), then the backlog."""
SETTLED = [MatchStatus.VERIFIED.value, MatchStatus.CORRECTED.value, MatchStatus.DUPLICATE.value]
"""Nothing left to do for these records."""

TABLE_HEADERS = {
    "province": "Tỉnh/thành",
    "as_of_local": "Cập nhật lúc",
    "doses_total": "Số mũi đã tải lên",
    "share_linked": "Tỷ lệ đã khớp CSDL dân cư",
    **{status.value: status.label for status in MatchStatus},
    "rejected": REJECTED_LABEL,
    "doses_reported": "Số mũi cơ sở báo cáo",
    "not_uploaded": NOT_UPLOADED_LABEL,
    "decided_by_review": BY_REVIEW_LABEL,
    "share_by_review": BY_REVIEW_SHARE_LABEL,
}
"""The table's columns (in order) and their Vietnamese headers."""


def progress_history(conn: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every point with data (all-zero points ignored) with the province's name, the local time, the share linked
    (verified + corrected) and the share of the backlog settled by review decisions (NULL when there is none)."""
    if not table_exists(conn, "province_progress"):
        return pl.DataFrame()
    # a province's all-zero points stay (its last one may say its exports were withdrawn); provinces that never had
    # data do not appear at all
    history = read_frame(
        conn,
        f"""SELECT * FROM province_progress WHERE province_code IN
              (SELECT province_code FROM province_progress WHERE {HAS_DATA_SQL}) ORDER BY province_code, as_of""",
    )
    if "decided_by_review" not in history.columns:  # databases written before the column existed
        history = history.with_columns(decided_by_review=pl.lit(0, pl.Int64))
    return _derived(
        history.with_columns(
            pl.col("decided_by_review").fill_null(0),
            province=pl.col("province_code") + " " + pl.col("province_code").replace_strict(province_names()),
        )
    )


def _derived(frame: pl.DataFrame) -> pl.DataFrame:
    """Shares and local time from the counts (for provinces and for the national total alike)."""
    backlog = pl.col("decided_by_review") + pl.sum_horizontal(values(OPEN_STATUSES))
    not_uploaded = (pl.col("doses_reported") - pl.col("doses_total")).clip(lower_bound=0)
    return frame.with_columns(
        share_linked=pl.sum_horizontal(values(LINKED_STATUSES)) / pl.col("doses_total").clip(lower_bound=1),
        not_uploaded=not_uploaded,
        doses_known=pl.col("doses_total") + not_uploaded.fill_null(0),
        share_by_review=pl.when(backlog > 0).then(pl.col("decided_by_review") / backlog),
        as_of_local=_local(pl.col("as_of")).dt.strftime(f"%d/%m/%Y %H:%M {LOCAL_TIME_SUFFIX}"),
    )


def _local(utc: pl.Expr) -> pl.Expr:
    """A stored (naive UTC) timestamp as Vietnam's wall-clock time."""
    return utc.dt.replace_time_zone("UTC").dt.convert_time_zone(LOCAL_TIME_ZONE).dt.replace_time_zone(None)


def latest(history: pl.DataFrame) -> pl.DataFrame:
    """The newest point of each province whose newest point has data (see LATEST_PROGRESS_SQL)."""
    newest = history.sort("as_of").group_by("province_code", maintain_order=True).last().sort("province_code")
    return newest.filter((pl.col("doses_total") > 0) | (pl.col("doses_reported").fill_null(0) > 0))


def national_total(now: pl.DataFrame) -> pl.DataFrame:
    """The sum of the provinces' latest points as one row named Cả nước (doses_reported: the tallies known)."""
    counted = ["doses_total", *STATUS_COLUMNS, "decided_by_review", "doses_reported"]
    total = now.select(
        pl.lit(NATIONAL_LABEL).alias("province"), pl.col("as_of").max(), *[pl.col(c).sum() for c in counted]
    )
    summed = _derived(total)
    if now["doses_reported"].is_null().all():  # no tally anywhere: unknown, not zero
        return summed.with_columns(pl.lit(None, pl.Int64).alias(c) for c in ("doses_reported", "not_uploaded"))
    # a province that uploaded more than it reported does not offset another's missing doses
    return summed.with_columns(
        not_uploaded=pl.lit(now["not_uploaded"].sum(), pl.Int64), doses_known=pl.lit(now["doses_known"].sum())
    )


def national_series(history: pl.DataFrame) -> pl.DataFrame:
    """The national share linked after each run: every province's latest point at that time, summed."""
    times = history.select(pl.col("as_of").unique().sort())
    grid = times.join(history.select(pl.col("province_code").unique()), how="cross").sort("as_of")
    points = grid.join_asof(
        history.select("as_of", "province_code", "doses_total", *values(LINKED_STATUSES)).sort("as_of"),
        on="as_of",
        by="province_code",
        strategy="backward",
        check_sortedness=False,  # both sorted by as_of above; polars cannot check it within groups
    )
    return (
        points.group_by("as_of")
        .agg(linked=pl.sum_horizontal(values(LINKED_STATUSES)).sum(), total=pl.col("doses_total").sum())
        .sort("as_of")
        .with_columns(share=pl.col("linked") / pl.col("total").clip(lower_bound=1), local=_local(pl.col("as_of")))
    )


def backlog_by_handler(conn: duckdb.DuckDBPyConnection, codes: list[str]) -> dict[str, int] | None:
    """Open records (review, unmatched) of the given provinces by who settles them (vocabulary Rule.handler);
    key "": settled by people (confirmed not in the registry). None when matched_records is not there."""
    if not codes or not table_exists(conn, "matched_records"):
        return None
    by_rule = read_frame(
        conn,
        "SELECT rule, count(*) AS n FROM matched_records WHERE province_code IN (SELECT unnest($1)) "
        "AND match_status IN (SELECT unnest($2)) GROUP BY rule",
        [codes, values(OPEN_STATUSES)],
    )
    handlers = {str(rule): rule.handler.value if rule.handler else "" for rule in Rule}
    counted = by_rule.group_by(pl.col("rule").replace_strict(handlers, default="").alias("handler")).agg(
        pl.col("n").sum()
    )
    return {handler: int(n) for handler, n in counted.iter_rows()}


def summary_sentence(
    total: pl.DataFrame, provinces: int, handlers: dict[str, int] | None = None, with_tally: int | None = None
) -> str:
    """The paragraph an officer reads first: how many doses are done, who must act on how many, what is missing
    (`with_tally`: how many of the provinces have a tally, when not all do)."""
    t = total.row(0, named=True)
    verified, corrected = t[MatchStatus.VERIFIED], t[MatchStatus.CORRECTED]
    review, unmatched = t[MatchStatus.REVIEW], t[MatchStatus.UNMATCHED]
    parts = [
        f"{NATIONAL_LABEL} — {provinces} tỉnh/thành có dữ liệu, cập nhật {t['as_of_local']}: "
        f"{_count(verified + corrected)} trên {_count(t['doses_total'])} mũi tiêm đã tải lên đã khớp CSDL dân cư "
        f"({_percent(t['share_linked'])}; {_count(verified)} {MatchStatus.VERIFIED.label.lower()}, "
        f"{_count(corrected)} {MatchStatus.CORRECTED.label.lower()})."
    ]
    open_total = review + unmatched
    police, site = (handlers or {}).get(Handler.COMMUNE_POLICE.value, 0), (handlers or {}).get(Handler.SITE.value, 0)
    settled = (handlers or {}).get("", 0)
    if handlers is not None and police + site + settled == open_total:  # matched_records agrees with the points
        waiting = (
            f"{_count(police)} mũi chờ {Handler.COMMUNE_POLICE.value} xác minh, "
            f"{_count(site)} mũi chờ {Handler.SITE.value} xác minh"
        )
        if settled:
            waiting += f", {_count(settled)} mũi thuộc diện “{Rule.REVIEW_NOT_IN_REGISTRY.label}”"
        parts.append(f"Còn {_count(open_total)} mũi chưa khớp: {waiting}.")
    else:
        parts.append(
            f"Còn {_count(open_total)} mũi chưa khớp: {_count(review)} {MatchStatus.REVIEW.label.lower()}, "
            f"{_count(unmatched)} {MatchStatus.UNMATCHED.label.lower()}."
        )
    parts.append(
        f"{_count(t[MatchStatus.DUPLICATE])} bản ghi {MatchStatus.DUPLICATE.label.lower()}, "
        f"{_count(t['rejected'])} bản ghi {REJECTED_LABEL.lower()}."
    )
    if t["not_uploaded"] is None:
        parts.append("Chưa có số mũi cơ sở báo cáo nên chưa biết số mũi chưa tải lên.")
    else:
        partial = f", {with_tally}/{provinces} tỉnh/thành có số báo cáo" if with_tally not in (None, provinces) else ""
        parts.append(f"{_count(t['not_uploaded'])} mũi chưa tải lên (so với số mũi cơ sở báo cáo{partial}).")
    return " ".join(parts)


def _count(n: int | None) -> str:
    """`49.128`: Vietnamese thousands separator; `–` when unknown."""
    return "–" if n is None else f"{int(n):,}".replace(",", ".")


def _percent(share: float | None) -> str:
    """`96,9 %` (Vietnamese decimal comma), or `–` when there is nothing to divide."""
    return "–" if share is None else f"{share * 100:.1f}".replace(".", ",") + " %"


def _count_expr(count: pl.Expr) -> pl.Expr:
    """`_count` for a whole column: digits grouped by three from the right, joined by dots."""
    return count.cast(pl.String).str.reverse().str.extract_all(r"\d{1,3}").list.join(".").str.reverse()


def _percent_expr(share: pl.Expr) -> pl.Expr:
    """`_percent` for a whole column."""
    return pl.format("{} %", (share * 100).round(1).cast(pl.String).str.replace(".", ",", literal=True))


def report_table(now: pl.DataFrame) -> pl.DataFrame:
    """The national total first, then every province with data: formatted cells under Vietnamese headers."""
    rows = pl.concat([national_total(now), now], how="diagonal_relaxed")
    counts = ("doses_total", *STATUS_COLUMNS, "doses_reported", "not_uploaded", "decided_by_review")
    cells = [
        pl.col("province"),
        pl.col("as_of_local"),
        *[_count_expr(pl.col(c)).alias(c) for c in counts],
        *[_percent_expr(pl.col(c)).alias(c) for c in ("share_linked", "share_by_review")],
    ]
    formatted = rows.select(cells).with_columns(pl.all().fill_null("–"))
    return formatted.select(pl.col(c).alias(header) for c, header in TABLE_HEADERS.items())


def progress_chart_png(history: pl.DataFrame) -> bytes:
    """The national share linked over time (top) and every province with data as a 100 % bar of its doses,
    settled first then the backlog by status, sorted by share settled; the figure grows with the provinces."""
    now = latest(history)
    shares = now.with_columns(
        [(pl.col(c).fill_null(0) / pl.col("doses_known").clip(lower_bound=1) * 100).alias(f"_{c}") for c in SEGMENTS]
    ).with_columns(_settled=pl.sum_horizontal(f"_{c}" for c in SETTLED))
    shares = shares.sort(["_settled", "province_code"], descending=[False, True])  # barh draws bottom-up: best on top
    n = shares.height
    figure = plt.figure(figsize=(10, 4.2 + 0.32 * n), dpi=100, layout="constrained")
    over_time, bars = figure.subplots(2, 1, height_ratios=[2.4, 0.9 + 0.32 * n])
    _draw_national_over_time(over_time, national_series(history))
    positions = list(range(n))
    left = [0.0] * n
    for column, (color, _) in SEGMENTS.items():
        widths = shares[f"_{column}"].to_list()
        bars.barh(positions, widths, left=left, color=color, height=0.75)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    bars.set_yticks(positions, labels=shares["province"].to_list(), fontsize=8 if n > 20 else 10)
    bars.set(xlim=(0, 100), ylim=(-0.6, n - 0.4))
    bars.set_xlabel("% số mũi tiêm của tỉnh/thành (đã tải lên và chưa tải lên theo báo cáo)")
    bars.set_title("Theo tỉnh/thành, xếp theo tỷ lệ đã xử lý xong (số bên phải: số mũi)", fontsize=11)
    bars.xaxis.set_major_formatter(lambda x, _: f"{x:.0f} %")
    totals = bars.twinx()
    totals.set_ylim(bars.get_ylim())
    totals.set_yticks(positions, labels=[_count(v) for v in shares["doses_known"].to_list()], fontsize=8)
    totals.tick_params(length=0)
    figure.legend(
        handles=[Patch(color=color, label=label) for color, label in SEGMENTS.values()],
        loc="outside lower center",
        ncol=4,
        fontsize=9,
        frameon=False,
    )
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()


def _draw_national_over_time(axes: plt.Axes, series: pl.DataFrame) -> None:
    """One line; ticks spaced by the span of the runs (minutes apart or months apart), labelled in Vietnamese order."""
    times, shares = series["local"].to_list(), (series["share"] * 100).to_list()
    axes.plot(times, shares, drawstyle="steps-post", marker="o", color="#2e7d32")
    axes.annotate(_percent(shares[-1] / 100), (times[-1], shares[-1]), textcoords="offset points", xytext=(6, -14))
    axes.set(ylim=(0, 105), title=f"{NATIONAL_LABEL}: tỷ lệ mũi tiêm đã khớp CSDL dân cư theo thời gian")
    axes.set_xlabel(f"giờ Việt Nam {LOCAL_TIME_SUFFIX}")
    axes.yaxis.set_major_formatter(lambda y, _: f"{y:.0f} %")
    axes.grid(axis="y", alpha=0.3)
    locator = mdates.AutoDateLocator(minticks=3, maxticks=7)
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(  # each label as precise as the ticks' spacing needs: never the same one twice
        mdates.ConciseDateFormatter(
            locator,
            formats=["%Y", "%m/%Y", "%d/%m", "%H:%M", "%H:%M", "%H:%M:%S"],
            zero_formats=["", "%Y", "%m/%Y", "%d/%m", "%H:%M", "%H:%M"],
            offset_formats=["", "%Y", "%m/%Y", "%d/%m/%Y", "%d/%m/%Y", "%d/%m/%Y %H:%M"],
        )
    )
    if times[0] == times[-1]:  # a single run: give the point room
        axes.set_xlim(mdates.date2num(times[0]) - 1 / 24, mdates.date2num(times[0]) + 1 / 24)


def progress_markdown(
    history: pl.DataFrame, chart_png: bytes | None = None, handlers: dict[str, int] | None = None
) -> str:
    """The summary, the table (national total first) and the chart inline, for Dagster metadata."""
    now = latest(history)
    table = report_table(now)
    header = "| " + " | ".join(table.columns) + " |\n|---|---|" + "---:|" * (table.width - 2)
    rows = ["| " + " | ".join(row) + " |" for row in table.iter_rows()]
    rows[0] = "| " + " | ".join(f"**{cell}**" for cell in table.row(0)) + " |"
    chart = f"\n\n![progress](data:image/png;base64,{base64.b64encode(chart_png).decode()})" if chart_png else ""
    summary = summary_sentence(national_total(now), now.height, handlers, now["doses_reported"].is_not_null().sum())
    return f"{summary}{chart}\n\n" + "\n".join([header, *rows])


def write_report(conn: duckdb.DuckDBPyConnection, out_dir: Path) -> tuple[Path, Path]:
    """progress.png and progress.html (self-contained) under out_dir."""
    history = progress_history(conn)
    if history.is_empty():
        raise NoProgressError("province_progress holds no province with data: run `vax-cleaning run` first")
    out_dir.mkdir(parents=True, exist_ok=True)
    png = progress_chart_png(history)
    (out_dir / "progress.png").write_bytes(png)
    now = latest(history)
    handlers = backlog_by_handler(conn, now["province_code"].to_list())
    summary = summary_sentence(national_total(now), now.height, handlers, now["doses_reported"].is_not_null().sum())
    title = "Tiến độ làm sạch dữ liệu tiêm chủng Covid-19"
    page = (
        f"<!doctype html><html lang='vi'><meta charset='utf-8'><title>{title}</title>"
        "<style>body{font-family:sans-serif;margin:1.5em}td,th{padding:3px 6px}td{text-align:right}"
        "td:first-child,td:nth-child(2){text-align:left}tr:first-child+tr{font-weight:bold}"
        "img{max-width:100%}</style>"
        f"<h1>{title}</h1><p>{html.escape(summary)}</p>"
        f"<img alt='Biểu đồ tiến độ' src='data:image/png;base64,{base64.b64encode(png).decode()}'>"
        f"{_html_table(report_table(now))}</html>"
    )
    (out_dir / "progress.html").write_text(page, encoding="utf-8")
    return out_dir / "progress.png", out_dir / "progress.html"


def _html_table(frame: pl.DataFrame) -> str:
    """A plain HTML table (no pandas needed); every cell escaped."""
    head = "".join(f"<th>{html.escape(name)}</th>" for name in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(value)}</td>" for value in row) + "</tr>" for row in frame.iter_rows()
    )
    return f"<table border='1' cellspacing='0'><tr>{head}</tr>{body}</table>"
