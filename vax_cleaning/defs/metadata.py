"""Materialization metadata helpers: counts and schemas only, never personal data.

What a data officer reads in the UI is in Vietnamese where the contract has a label (`vocabulary.py`): counts by
status, rule, correction action and decision are Markdown tables of labels beside the codes; every table's columns
carry their meaning (`COLUMN_DESCRIPTIONS`, the one place in code; docs/internal-tables.md and the contract say the same).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum

import dagster as dg
import polars as pl

from vax_cleaning.linkage.reach import NAME_RULES, block_column
from vax_cleaning.vocabulary import (
    PERSON_STATUSES,
    CorrectionAction,
    DecidedBy,
    Decision,
    Evidence,
    MatchStatus,
    Outcome,
    Rule,
)


def _listed(words) -> str:
    """`a, b or c`: vocabulary words rendered from their enums, never spelled again here."""
    words = [str(word) for word in words]
    return ", ".join(words[:-1]) + " or " + words[-1] if len(words) > 1 else "".join(words)


_RECORD = {
    "source_file": "File the record came from: path relative to exports/, '/' separators, NFC (79/2022-06-01_site3.csv); "
    "a workbook with several data sheets adds '#' and the sheet (79/site.xlsx#Sheet2)",
    "source_row": "1-based data-record index in the file or sheet (header excluded, blank lines count)",
}
_PERSON_PARTS = {
    "birth_year": "Year of date_of_birth",
    "birth_month": "Month of date_of_birth; NULL when only the year is known",
    "birth_day": "Day of date_of_birth; NULL when only the year is known",
}
_STATUS_COUNTS = {
    str(status): f"Records with match_status {status} ({status.label})" for status in MatchStatus
}  # fmt: skip

COLUMN_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "raw_dose_exports": {
        **_RECORD,
        "province_code": "2-digit GSO code of the export folder exports/<PP>/",
        "full_name": "Full name as written (NFC, outer spaces trimmed); NULL when blank",
        "date_of_birth": "yyyy-mm-dd, or yyyy when only the year is written; NULL when blank or unparseable",
        **_PERSON_PARTS,
        "date_of_birth_raw": "Birth date cell as written (for reviewers)",
        "gender": "Nam / Nữ / NULL",
        "id_number": "ID digits only: 12 (CCCD, a dropped leading zero restored) or 9 (CMND); NULL when missing or unusable",
        "id_kind": "cccd, cmnd or NULL",
        "id_issue": "NULL when clean; leading_zero_restored, scientific_notation (unrecoverable), malformed, missing",
        "id_raw": "ID cell as written",
        "phone": "As written (NFC, trimmed)",
        "address": "As written (NFC, trimmed)",
        "lot_number": "As written (NFC, trimmed)",
        "facility": "Vaccination site, as written (NFC, trimmed)",
        "vaccine_code": "Vaccine code from reference/vaccines.csv (AZ, PF, ...)",
        "vaccine_raw": "Vaccine cell as written",
        "dose_number": "Dose number, 1..6",
        "vaccination_date": "Date of the dose",
    },
    "rejected_rows": {
        **_RECORD,
        "province_code": "2-digit code of the export folder",
        "reason_code": "Stable code of the reason (unreadable_file for a whole file, at source_row 0)",
        "reason": "Why the record could not be accepted (short, human-readable; no personal data)",
    },
    "export_files": {
        "source_file": "The records' source_file (NFC); file#sheet for each data sheet of a workbook that has several",
        "file": "The entry as landed, relative to exports/ (not normalized; non-UTF-8 bytes as \\xNN)",
        "province_code": "2-digit code of the folder",
        "format": "utf-8, utf-8-bom, cp1258, cp1258-bom, utf-16, utf-32, utf-16-le/-be, xlsx; the suffix when not read",
        "status": "ingested; rejected (meant to be read but unreadable, or refused); skipped (not an export: lock "
        "file, hidden file, .xls or other type, nested folder, dangling link)",
        "records": "Records of the file or sheet",
        "accepted": "Of them, in raw_dose_exports",
        "rejected": "Of them, in rejected_rows (a rejected file: 1)",
        "problem": "Why the file was rejected or skipped, or what the officer should know; NULL otherwise",
        "size_bytes": "Size of the file as read (check landed_files_unchanged)",
        "sha256": "SHA-256 of the file as read (check landed_files_unchanged)",
    },
    "registry_snapshot": {
        "registry_row": "The person's slot: file order on a first load; kept by an unchanged person (and a changed "
        "one with the same person_id) through next snapshots, new people after the largest, gaps where people went",
        "person_id": "12-digit personal identification number (mã định danh cá nhân), unique",
        "old_id": "9-digit old ID (CMND) or NULL",
        "full_name": "Full name, NFC",
        "date_of_birth": "yyyy-mm-dd, or yyyy when only the year is recorded",
        **_PERSON_PARTS,
        "gender": "Nam / Nữ",
        "province_code": "2-digit GSO code of permanent residence",
        "address": "Commune, district of permanent residence",
        "id_birth_year_agrees": "The CCCD's embedded century and year equal birth_year",
        "id_gender_agrees": "The CCCD's gender digit agrees with gender",
        "raw_hash": "128-bit hash of the raw row as landed (with the file's column types, the snapshot's year and the "
        "typing version): a next snapshot types again only the rows whose hash is new",
        "snapshot_date": "The registry/<YYYY-MM-DD>/ snapshot in force (the same on every row)",
    },
    "registry_rejected_rows": {
        "person_id": "The person_id as it stood in the snapshot (missing, malformed or duplicated)",
        "reason": "Why the row was set aside",
        "snapshot_date": "The registry/<YYYY-MM-DD>/ folder the row came from",
    },
    "registry_features": {
        "registry_row": "As in registry_snapshot (the person's slot): province runs fetch the people they can reach by it",
        "person_id": "As in registry_snapshot",
        "old_id": "As in registry_snapshot (trimmed, blank -> NULL)",
        "province_code": "As in registry_snapshot",
        "full_name": "As in registry_snapshot",
        "gender": "As in registry_snapshot",
        "household_key": "Hash of province + normalized address (people of one household share it)",
        **_PERSON_PARTS,
        "dob_text": "date_of_birth as text",
        "name_canon": "Name in NFC, lowercase, squeezed spaces, traditional tone placement",
        "name_key": "Diacritic-free ASCII key of the name (blocking and typo distance)",
        "name_has_diacritics": "The registry name carries diacritics",
        "family_key": "First token of name_key",
        "middle_key": "Middle tokens of name_key ('' when none)",
        "given_key": "Last token of name_key",
        "name_token_count": "Tokens in the name",
        "commune_key": "Hash of the address's commune and district (case, diacritics, 'Xã'/'Huyện' ignored); "
        "NULL without both",
        "district_key": "Hash of the address's district; NULL without one",
        "source_hash": "Hash of the snapshot row the features come from: a next snapshot keeps the features of "
        "people whose row is unchanged",
    },
    "registry_block_keys": {
        "registry_row": "As in registry_features",
        **{
            block_column(rule): f"Hash of the person's key under the blocking rule {rule.name}; NULL without one"
            for rule in NAME_RULES
        },
        "person_number": "person_id as an integer (exact IDs and IDs one edit away are joined on it)",
        "old_number": "old_id as an integer",
    },
    "registry_name_counts": {
        "name_key": "As in registry_features (NULL counted too)",
        "people": "People of registry_features with this name_key: name_share = people x 1/(registry's people), "
        "computed when registry_features is read (NULL below 10,000 people)",
    },
    "registry_free_rows": {"registry_row": "A slot no person holds (left by someone gone from the registry)"},
    "registry_changed_rows": {
        "registry_row": "A slot registry_snapshot deleted or wrote since registry_features was last brought to it",
    },
    "review_decisions": {
        "review_file": "Decision file, relative to reviews/ (file#sheet when the workbook has several sheets)",
        "review_row": "1-based data row within its sheet",
        **_RECORD,
        "decision": _listed(f"{d} ({d.label})" for d in Decision) + "; NULL when the written value was none of these",
        "person_id": "The 12-digit registry person the decision names",
        "reviewer": "Who decided (unit or officer)",
        "decided_on": "Date of the decision",
        "outcome": _listed(Outcome),
        "reason": "Why the decision was not applied",
        "reason_code": "Stable code of the reason; NULL when applied",
        "province_code": "The reviews/<PP>/ folder the file came from",
    },
    "matched_records": {
        **_RECORD,
        "province_code": "The export's province",
        "match_status": _listed(MatchStatus) + " (contract section 3)",
        "person_id": "Registry person the dose is linked to; set for " + _listed(PERSON_STATUSES),
        "match_score": "Confidence in [0, 1] of the link or best candidate; NULL when there is no candidate",
        "decided_by": f"{DecidedBy.MACHINE}, or {DecidedBy.REVIEW} where an applied review decision set the status",
        "name_level": "How the name compares with the registry person's (exact ... different; linkage/compare.py)",
        "dob_level": "How the birth date compares (exact, year only agrees, day/month swapped, ...)",
        "gender_level": "How the gender compares (agree, disagree)",
        "id_level": "How the ID compares (exact CCCD, exact CMND, near miss, different)",
        "id_embedded_level": "Whether the CCCD's embedded birth year and gender agree with the record",
        "residence_level": "Whether the registry person lives in the export's province",
        "address_level": "How the written address compares with the registry's (same commune, same district, different)",
        "evidence": "What beyond name, birth date and ID carried the link: "
        + ", ".join(str(evidence) for evidence in Evidence)
        + "; NULL when none was needed",
        "rule": "Code of the rule that decided the status (README rule table, vocabulary.Rule)",
        "candidate_person_id": "Best registry candidate of a record sent to review",
        "candidate_count": "Registry candidates considered",
        "duplicate_of_file": "source_file of the kept copy of a duplicate",
        "duplicate_of_row": "source_row of the kept copy of a duplicate",
        "registry_snapshot_date": "Date of the registry snapshot the record was matched against",
    },
    "correction_sets": {
        **_RECORD,
        "person_id": "The registry person",
        "field": "full_name, date_of_birth, gender or id_number",
        "current_value": "As in the export (dates as yyyy-mm-dd, or yyyy)",
        "corrected_value": "From the registry snapshot",
        "rule": "Code of the correction rule that proposed it (vocabulary.CorrectionRule)",
        "action": f"{CorrectionAction.AUTO} (applied), {CorrectionAction.CONFIRMED} (applied after people linked the "
        f"record) or {CorrectionAction.REVIEW} (proposed)",
        "province_code": "The export's province",
    },
    "province_progress": {
        "province_code": "2-digit GSO code",
        "as_of": "Time (UTC) of the run that counted",
        "doses_total": "Every record of the province's exports: the six counts summed",
        **_STATUS_COUNTS,
        "rejected": "Records that could not be accepted (rejected_rows)",
        "decided_by_review": "Records whose status an applied review decision set",
        "doses_reported": "Doses the sites reported (reported/*.csv); NULL without a usable tally",
    },
    "passport_ready": {
        "person_id": "The linked registry person",
        "doses_linked": "Linked (verified or corrected) records of the person, duplicates excluded",
        "eligible": "The linked doses complete the primary series of the person's first vaccine",
    },
}
"""Meaning of every column of every table the assets write, shown in the UI's column schema of each asset."""


def column_schema(frame: pl.DataFrame, table: str | None = None) -> dg.TableSchema:
    """dagster/column_schema from a frame's dtypes, each column with its meaning when the table is known."""
    meanings = COLUMN_DESCRIPTIONS.get(table or "", {})
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name, str(dtype), description=meanings.get(name)) for name, dtype in frame.schema.items()
        ]
    )


def counts_by(frame: pl.DataFrame, column: str) -> dict[str, int]:
    """{value: rows}, e.g. rejection reasons or match statuses, for metadata and summaries."""
    if frame.is_empty():
        return {}
    counted = frame.group_by(column).len().sort(column, nulls_last=True)
    return {str(value): int(n) for value, n in counted.iter_rows()}


def labelled_counts(
    counts: Mapping[str, int],
    members: Iterable[StrEnum],
    heading: str,
    *,
    counted: str = "số bản ghi",
    every_member: bool = False,
) -> dg.MarkdownMetadataValue:
    """Counts as a Markdown table in the vocabulary's order, each code beside its Vietnamese label (an officer reads it).

    A rule also shows who handles it. Values outside the vocabulary (never expected) are listed, not hidden.
    """
    members = list(members)
    handled = any(getattr(member, "handler", None) for member in members)
    lines = [f"| {heading} | mã |{' đơn vị xử lý |' if handled else ''} {counted} |"]
    lines.append(f"|---|---|{'---|' if handled else ''}---:|")
    for member in members:
        count = counts.get(str(member), 0)
        if count or every_member:
            handler = f" {getattr(member, 'handler', None) or ''} |" if handled else ""
            lines.append(f"| {member.label} | `{member}` |{handler} {count} |")
    for code in sorted(set(counts) - {str(member) for member in members}):
        shown = "NULL" if code == "None" else code  # counts_by's key for an empty cell
        lines.append(f"| | `{shown}` |{' |' if handled else ''} {counts[code]} |")
    lines.append(f"| **Tổng** | |{' |' if handled else ''} **{sum(counts.values())}** |")
    return dg.MetadataValue.md("\n".join(lines))


def status_metadata(frame: pl.DataFrame) -> dict[str, object]:
    """Records by match status and by rule: Markdown tables with the labels, and one plain integer per status.

    The integers (`verified`, `review`, ...) are what the UI plots across materializations and what scripts read.
    """
    statuses = counts_by(frame, "match_status")
    return {
        "by_status": labelled_counts(statuses, MatchStatus, "trạng thái", every_member=True),
        "by_rule": labelled_counts(counts_by(frame, "rule"), Rule, "quy tắc"),
        **{str(status): statuses.get(str(status), 0) for status in MatchStatus},
    }


def action_counts(frame: pl.DataFrame) -> dg.MarkdownMetadataValue:
    """Corrections by action, with the labels the review workbook uses."""
    return labelled_counts(
        counts_by(frame, "action"), CorrectionAction, "hiệu chỉnh", counted="số hiệu chỉnh", every_member=True
    )


def decision_counts(frame: pl.DataFrame) -> dg.MarkdownMetadataValue:
    """Decision rows by decision, with the values people write in the workbook."""
    return labelled_counts(
        counts_by(frame, "decision"), Decision, "quyết định", counted="số dòng quyết định", every_member=True
    )


def table_metadata(frame: pl.DataFrame, table: str, rows: int | None = None) -> dict[str, object]:
    """The standard trio every materialization reports (`rows`: when `frame` holds only the table's columns)."""
    return {
        "dagster/row_count": frame.height if rows is None else rows,
        "dagster/column_schema": column_schema(frame, table),
        "dagster/table_name": table,
    }


def column_lineage(sources: dict[str, list[tuple[str, str]]]) -> dg.TableColumnLineage:
    """dagster/column_lineage from {column: [(upstream asset, upstream column), ...]}."""
    return dg.TableColumnLineage(
        deps_by_column={
            column: [dg.TableColumnDep(asset_key=dg.AssetKey(asset), column_name=name) for asset, name in deps]
            for column, deps in sources.items()
        }
    )
