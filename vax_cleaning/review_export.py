"""Review workbooks for the people who decide doubtful cases: site staff and commune police.

Per province, one .xlsx with Vietnamese headers: the review queue (record and registry
candidate side by side, with who should handle it), the unmatched records, and the
correction set, each listing only what is still open. Every sheet carries the blank
decision columns of contract section 2.4 near the left, so the workbook can be filled in
and returned as it is. Cells are written one by one as strings (never formulas or URLs),
and the file is created readable by its owner only: it holds personal data. Plain
functions over DuckDB; no Dagster.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

import duckdb
import polars as pl

from vax_cleaning.ingest.headers import DECISION_HEADERS
from vax_cleaning.reference import province_names
from vax_cleaning.vocabulary import CorrectionAction, DecidedBy, Decision, MatchStatus, Rule
from vax_cleaning.warehouse import read_frame

FIELD_LABELS = {
    "full_name": "Họ và tên",
    "date_of_birth": "Ngày sinh",
    "gender": "Giới tính",
    "id_number": "Số CMND/CCCD",
}

DECISION_HEADER = DECISION_HEADERS["decision"]
PERSON_ID_HEADER = DECISION_HEADERS["person_id"]
REVIEWER_HEADER = DECISION_HEADERS["reviewer"]
DECIDED_ON_HEADER = DECISION_HEADERS["decided_on"]
FILLED_HEADERS = (DECISION_HEADER, PERSON_ID_HEADER, REVIEWER_HEADER, DECIDED_ON_HEADER)
"""The blank columns people fill in (contract 2.4), right after `Tệp nguồn`/`Dòng`."""

TEXT_HEADERS = (PERSON_ID_HEADER, REVIEWER_HEADER, DECIDED_ON_HEADER)
"""Formatted as text, so a typed 12-digit ID keeps its leading zeros and a date stays as written."""

SPARE_ROWS = 200
"""Rows below the data that still get the drop-down, for records a reviewer adds by hand."""

MAX_WIDTH = 40
"""Widest column, in characters: long addresses wrap off-screen rather than push the decision columns away."""

WORKBOOK_OPTIONS = {
    "strings_to_formulas": False,  # a name typed as '=HYPERLINK(...)' stays a name
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "in_memory": True,  # no worksheet temp files with personal data in the system temp folder
}

_QUEUE_SQL = """
    SELECT m.match_status, m.rule, m.match_score, m.name_level, m.dob_level, m.id_level,
           d.source_file, d.source_row, d.full_name, d.date_of_birth_raw, d.gender, d.id_raw, d.phone, d.address,
           d.vaccine_code, d.dose_number, d.vaccination_date, d.facility,
           p.person_id AS candidate_id, p.full_name AS candidate_name, p.date_of_birth AS candidate_dob,
           p.gender AS candidate_gender, p.province_code AS candidate_province, p.address AS candidate_address
    FROM matched_records m
    JOIN raw_dose_exports d USING (source_file, source_row)
    LEFT JOIN registry_snapshot p ON p.person_id = m.candidate_person_id
    WHERE m.province_code = ? AND m.match_status = ? AND {decided_by} IN ({allowed})
    ORDER BY d.source_file, d.source_row
"""

_CORRECTION_SQL = """
    SELECT * FROM correction_sets
    WHERE province_code = ? AND action IS DISTINCT FROM ?
    ORDER BY source_file, source_row, field
"""


def _has_column(conn: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    """Older databases predate `decided_by`: their statuses were all set by the machine."""
    sql = "SELECT count(*) FROM information_schema.columns WHERE table_name = ? AND column_name = ?"
    return bool(conn.execute(sql, [table, column]).fetchall()[0][0])


def _rule(code: str | None) -> Rule:
    """Routing never guesses: a rule the vocabulary does not know is an error, named."""
    try:
        return Rule(code)
    except ValueError:
        raise ValueError(f"review workbook: unknown rule code {code!r} in matched_records (not in Rule)") from None


def _handler(code: str | None) -> str:
    """Who settles the case; a rule without a handler cannot be sent to anyone."""
    rule = _rule(code)
    if rule.handler is None:
        raise ValueError(f"review workbook: rule code {code!r} has no handler, so it cannot be an open case")
    return str(rule.handler)


def _action_label(code: str | None) -> str:
    """Vietnamese label of a correction action; an unknown action is an error, named."""
    try:
        return CorrectionAction(code).label
    except ValueError:
        raise ValueError(f"review workbook: unknown correction action {code!r} in correction_sets") from None


def _mapped(frame: pl.DataFrame, column: str, mapping) -> pl.Expr:
    """Map a code column through a vocabulary function, looked up once per distinct code."""
    table = {code: mapping(code) for code in frame[column].unique().to_list()}
    return pl.col(column).replace_strict(table, return_dtype=pl.String)


def _decision_columns() -> list[pl.Expr]:
    """The four blank columns people fill in."""
    return [pl.lit(None, dtype=pl.String).alias(header) for header in FILLED_HEADERS]


def review_queue(conn: duckdb.DuckDBPyConnection, code: str, status: MatchStatus = MatchStatus.REVIEW) -> pl.DataFrame:
    """Open review (or machine-unmatched) records of a province, record beside candidate, with Vietnamese headers."""
    status = MatchStatus(status)
    if status == MatchStatus.REVIEW:
        decided_by = [str(DecidedBy.MACHINE), str(DecidedBy.REVIEW)]  # a conflict of decisions is open again
    elif status == MatchStatus.UNMATCHED:
        decided_by = [str(DecidedBy.MACHINE)]  # 'not in registry' decided by people is settled
    else:
        raise ValueError(f"review workbook: status {status!r} is not an open status")
    column = "coalesce(m.decided_by, ?)" if _has_column(conn, "matched_records", "decided_by") else "?"
    sql = _QUEUE_SQL.format(decided_by=column, allowed=", ".join("?" for _ in decided_by))  # values are bound
    rows = read_frame(conn, sql, [code, str(status), str(DecidedBy.MACHINE), *decided_by])
    return rows.select(
        _mapped(rows, "rule", _handler).alias("Đơn vị xử lý"),
        _mapped(rows, "rule", lambda rule: _rule(rule).label).alias("Lý do"),
        pl.col("source_file").alias(DECISION_HEADERS["source_file"]),
        pl.col("source_row").alias(DECISION_HEADERS["source_row"]),
        *_decision_columns(),
        pl.col("full_name").alias("Họ và tên (phiếu tiêm)"),
        pl.col("date_of_birth_raw").alias("Ngày sinh (phiếu tiêm)"),
        pl.col("gender").alias("Giới tính (phiếu tiêm)"),
        pl.col("id_raw").alias("Số CMND/CCCD (phiếu tiêm)"),
        pl.col("phone").alias("Số điện thoại"),
        pl.col("address").alias("Địa chỉ (phiếu tiêm)"),
        pl.col("candidate_name").alias("Họ và tên (CSDL dân cư)"),
        pl.col("candidate_dob").alias("Ngày sinh (CSDL dân cư)"),
        pl.col("candidate_gender").alias("Giới tính (CSDL dân cư)"),
        pl.col("candidate_id").alias("Số định danh (CSDL dân cư)"),
        pl.col("candidate_address").alias("Địa chỉ thường trú (CSDL dân cư)"),
        pl.col("match_score").round(3).alias("Điểm khớp"),
        pl.col("vaccine_code").alias("Vắc xin"),
        pl.col("dose_number").alias("Mũi số"),
        pl.col("vaccination_date").alias("Ngày tiêm"),
        pl.col("facility").alias("Cơ sở tiêm"),
        pl.col("rule").alias("Mã lý do"),
    )


def correction_sheet(conn: duckdb.DuckDBPyConnection, code: str) -> pl.DataFrame:
    """The province's corrections not yet confirmed by people, with Vietnamese headers."""
    rows = read_frame(conn, _CORRECTION_SQL, [code, str(CorrectionAction.CONFIRMED)])
    return rows.select(
        pl.col("source_file").alias(DECISION_HEADERS["source_file"]),
        pl.col("source_row").alias(DECISION_HEADERS["source_row"]),
        *_decision_columns(),
        pl.col("person_id").alias("Số định danh"),
        pl.col("field").replace_strict(FIELD_LABELS, default=pl.col("field")).alias("Trường"),
        pl.col("current_value").alias("Giá trị hiện tại"),
        pl.col("corrected_value").alias("Giá trị đúng (CSDL dân cư)"),
        _mapped(rows, "action", _action_label).alias("Xử lý"),
        pl.col("rule").alias("Mã quy tắc"),
    )


def _cell_text(value: object) -> str:
    """What a cell shows, for column widths and for every non-numeric value."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def _write_sheet(workbook, name: str, frame: pl.DataFrame, formats: dict) -> None:
    """One sheet: bold frozen header, autofilter, capped widths, cells written as what they are, decision drop-down."""
    sheet = workbook.add_worksheet(name)
    headers = frame.columns
    widths = [len(header) for header in headers]
    for col, header in enumerate(headers):
        sheet.write_string(0, col, header, formats["header"])
    text_columns = {headers.index(header) for header in TEXT_HEADERS}
    for row, record in enumerate(frame.iter_rows(), start=1):
        for col, value in enumerate(record):
            if value is None:
                if col in text_columns:
                    sheet.write_blank(row, col, None, formats["text"])
                continue
            if isinstance(value, int | float) and not isinstance(value, bool):
                sheet.write_number(row, col, value)  # typed numbers from DuckDB (row, score, dose), never user text
                text = str(value)
            else:
                text = _cell_text(value)
                sheet.write_string(row, col, text)  # never a formula, URL or number, whatever was typed
            widths[col] = max(widths[col], len(text))
    for col, width in enumerate(widths):
        sheet.set_column(col, col, min(width + 2, MAX_WIDTH), formats["text"] if col in text_columns else None)
    decision = headers.index(DECISION_HEADER)
    sheet.data_validation(
        1,
        decision,
        frame.height + SPARE_ROWS,
        decision,
        {
            "validate": "list",
            "source": [d.label for d in Decision],
            "error_title": DECISION_HEADER,
            "error_message": "Chọn một giá trị trong danh sách.",
        },
    )
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(frame.height, 1), len(headers) - 1)


def write_review_workbook(conn: duckdb.DuckDBPyConnection, code: str, out_dir: Path) -> Path:
    """One workbook per province with only what is still open, fillable and returnable as it is."""
    import xlsxwriter

    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{code}_{province_names()[code]}_ra_soat.xlsx"
    sheets = {
        "Cần xác minh": review_queue(conn, code, MatchStatus.REVIEW),
        "Không tìm thấy": review_queue(conn, code, MatchStatus.UNMATCHED),
        "Đề xuất sửa": correction_sheet(conn, code),
    }
    # mkstemp creates the file 0600 before any byte is written; the rename makes it appear whole
    fd, temp_name = tempfile.mkstemp(prefix=f".{code}_", suffix=".xlsx.tmp", dir=out_dir)
    try:
        os.fchmod(fd, 0o600)
        os.close(fd)
        with xlsxwriter.Workbook(temp_name, WORKBOOK_OPTIONS) as workbook:
            formats = {"header": workbook.add_format({"bold": True}), "text": workbook.add_format({"num_format": "@"})}
            for name, frame in sheets.items():
                _write_sheet(workbook, name, frame, formats)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return path
