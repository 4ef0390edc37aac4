"""Review workbooks for the people who decide doubtful cases: site staff and commune police.

Per province, one .xlsx with Vietnamese headers: the review queue (record and registry
candidate side by side, with who should handle it), the unmatched records, and the
correction set. Plain functions over DuckDB; no Dagster.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from vax_cleaning.reference import province_names
from vax_cleaning.warehouse import read_frame

HANDLER_BY_RULE = {
    "ID_OWNER_MISMATCH": "Công an xã",   # the ID belongs to another real person: identity papers needed
    "ID_CONFLICT": "Công an xã",         # the ID says one person, name and birth date another
    "AMBIGUOUS_NAME_DOB": "Công an xã",  # twins or namesakes: only identity papers tell them apart
    "MAYBE_UNREGISTERED": "Công an xã",  # common name, no ID: the person may be missing from the registry
    "BLOCK_TOO_LARGE": "Cơ sở tiêm",     # very common name with no usable ID: the site asks for the ID
    "LOW_MARGIN": "Cơ sở tiêm",          # two candidates nearly tie: the site re-checks the record
    "WEAK_CANDIDATE": "Cơ sở tiêm",      # a candidate exists but differs in several fields
}
"""Who resolves a review case, by the rule that sent it there (README: 'Review queues')."""

RULE_LABELS = {
    "ID_OWNER_MISMATCH": "Số định danh thuộc về người khác",
    "ID_CONFLICT": "Số định danh và họ tên/ngày sinh chỉ tới hai người khác nhau",
    "AMBIGUOUS_NAME_DOB": "Nhiều người trùng họ tên và ngày sinh",
    "MAYBE_UNREGISTERED": "Có thể chưa có trong CSDL dân cư (trùng tên người khác)",
    "BLOCK_TOO_LARGE": "Họ tên quá phổ biến, thiếu số định danh",
    "LOW_MARGIN": "Hai người gần giống nhau",
    "WEAK_CANDIDATE": "Thông tin khớp một phần",
    "NO_CANDIDATE": "Không tìm thấy trong CSDL dân cư",
    "NO_PLAUSIBLE_CANDIDATE": "Không có người phù hợp trong CSDL dân cư",
}
"""Vietnamese label of each review/unmatched rule, for the workbook."""

FIELD_LABELS = {"full_name": "Họ và tên", "date_of_birth": "Ngày sinh", "gender": "Giới tính", "id_number": "Số CMND/CCCD"}

_QUEUE_SQL = """
    SELECT m.match_status, m.rule, m.match_score, m.name_level, m.dob_level, m.id_level,
           d.source_file, d.source_row, d.full_name, d.date_of_birth_raw, d.gender, d.id_raw, d.phone, d.address,
           d.vaccine_code, d.dose_number, d.vaccination_date, d.facility,
           p.person_id AS candidate_id, p.full_name AS candidate_name, p.date_of_birth AS candidate_dob,
           p.gender AS candidate_gender, p.province_code AS candidate_province, p.address AS candidate_address
    FROM matched_records m
    JOIN raw_dose_exports d USING (source_file, source_row)
    LEFT JOIN registry_snapshot p ON p.person_id = m.candidate_person_id
    WHERE m.province_code = ? AND m.match_status = ?
    ORDER BY d.source_file, d.source_row
"""


def review_queue(conn: duckdb.DuckDBPyConnection, code: str, status: str = "review") -> pl.DataFrame:
    """Review (or unmatched) records of a province, record beside candidate, with Vietnamese headers."""
    rows = read_frame(conn, _QUEUE_SQL, [code, status])
    return rows.select(
        pl.col("rule").replace_strict(HANDLER_BY_RULE, default="Công an xã").alias("Đơn vị xử lý"),
        pl.col("rule").replace_strict(RULE_LABELS, default=pl.col("rule")).alias("Lý do"),
        pl.col("source_file").alias("Tệp nguồn"),
        pl.col("source_row").alias("Dòng"),
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
    """The province's correction set with Vietnamese headers."""
    rows = read_frame(conn, "SELECT * FROM correction_sets WHERE province_code = ? ORDER BY source_file, source_row, field", [code])
    return rows.select(
        pl.col("source_file").alias("Tệp nguồn"),
        pl.col("source_row").alias("Dòng"),
        pl.col("person_id").alias("Số định danh"),
        pl.col("field").replace_strict(FIELD_LABELS, default=pl.col("field")).alias("Trường"),
        pl.col("current_value").alias("Giá trị hiện tại"),
        pl.col("corrected_value").alias("Giá trị đúng (CSDL dân cư)"),
        pl.col("action").replace_strict({"auto": "Đã sửa tự động", "review": "Cần xác nhận"}, default=pl.col("action")).alias("Xử lý"),
        pl.col("rule").alias("Mã quy tắc"),
    )


def write_review_workbook(conn: duckdb.DuckDBPyConnection, code: str, out_dir: Path) -> Path:
    """One workbook per province: review queue, unmatched records, correction set."""
    import xlsxwriter

    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{code}_{province_names()[code]}_ra_soat.xlsx"
    sheets = {
        "Cần xác minh": review_queue(conn, code, "review"),
        "Không tìm thấy": review_queue(conn, code, "unmatched"),
        "Đề xuất sửa": correction_sheet(conn, code),
    }
    with xlsxwriter.Workbook(path) as workbook:
        for name, frame in sheets.items():
            frame.write_excel(workbook, worksheet=name, autofit=True, autofilter=True, header_format={"bold": True})
    return path
