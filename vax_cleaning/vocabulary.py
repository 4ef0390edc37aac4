"""The data contract's vocabulary, spelled once: statuses, rules, correction actions, review decisions, outcomes.

Everything else renders from here: SQL `IN (...)` lists (`sql_list`), polars literals, the
Vietnamese labels of workbooks and reports, and the README's rule table (`rule_table_markdown`,
kept in sync by a test). Plain Python; no Dagster, no polars.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class MatchStatus(StrEnum):
    """`matched_records.match_status` (contract section 3)."""

    VERIFIED = "verified"
    CORRECTED = "corrected"
    REVIEW = "review"
    UNMATCHED = "unmatched"
    DUPLICATE = "duplicate"

    @property
    def label(self) -> str:
        """Vietnamese label for officers."""
        return _STATUS_LABELS[self]


_STATUS_LABELS = {
    MatchStatus.VERIFIED: "Đã xác thực",
    MatchStatus.CORRECTED: "Đã hiệu chỉnh",
    MatchStatus.REVIEW: "Cần xác minh",
    MatchStatus.UNMATCHED: "Không tìm thấy",
    MatchStatus.DUPLICATE: "Trùng lặp",
}

LINKED_STATUSES = (MatchStatus.VERIFIED, MatchStatus.CORRECTED)
"""Statuses of a linked dose: the ones that count towards a passport."""
PERSON_STATUSES = (*LINKED_STATUSES, MatchStatus.DUPLICATE)
"""Statuses that carry a person_id."""
OPEN_STATUSES = (MatchStatus.REVIEW, MatchStatus.UNMATCHED)
"""Statuses people may settle with a review decision."""


class DecidedBy(StrEnum):
    """`matched_records.decided_by`: who set the status."""

    MACHINE = "machine"
    REVIEW = "review"


class Evidence(StrEnum):
    """`matched_records.evidence`: what beyond name, birth date and ID carried a link."""

    ADDRESS = "address"
    """The written commune is the candidate's registered commune."""
    SIBLING_RECORD = "sibling_record"
    """Another dose of the same phone, name and birth date was linked to the candidate by an exact ID."""
    CCCD_BIRTH_YEAR = "cccd_birth_year"
    """The record's own CCCD encodes the candidate's birth year: the written birth date was the typing error."""
    COMBINED_WEIGHT = "combined_weight"
    """An exact ID with two recording errors, linked on the whole evidence (ID, name, DOB, residence, address)."""

    @property
    def label(self) -> str:
        """Vietnamese label for workbooks and reports."""
        return {
            "address": "Địa chỉ trùng xã/phường",
            "sibling_record": "Mũi tiêm khác của cùng người",
            "cccd_birth_year": "Năm sinh trong số CCCD",
            "combined_weight": "Tổng hợp bằng chứng có số định danh",
        }[self.value]


class CorrectionAction(StrEnum):
    """`correction_sets.action`."""

    AUTO = "auto"
    CONFIRMED = "confirmed"
    REVIEW = "review"

    @property
    def label(self) -> str:
        """Vietnamese label for the workbook."""
        return {"auto": "Đã sửa tự động", "confirmed": "Đã sửa theo xác minh", "review": "Cần xác nhận"}[self.value]


APPLIED_ACTIONS = (CorrectionAction.AUTO, CorrectionAction.CONFIRMED)
"""Corrections that are in force: a linked record with one of these is `corrected`."""


class Handler(StrEnum):
    """Who settles a review case."""

    COMMUNE_POLICE = "Công an xã"
    SITE = "Cơ sở tiêm"


class Rule(StrEnum):
    """`matched_records.rule`: why a record has its status. Each has its status group, label and handler."""

    def __new__(cls, code: str, group: str, label: str, handler: Handler | None = None) -> Rule:
        member = str.__new__(cls, code)
        member._value_ = code
        member.group = group
        member.label = label
        member.handler = handler
        return member

    ID_MATCH = "ID_MATCH", "linked", "Khớp theo số định danh"
    CANDIDATE_MATCH = "CANDIDATE_MATCH", "linked", "Khớp theo họ tên và ngày sinh"
    SIBLING_MATCH = (
        "SIBLING_MATCH",
        "linked",
        "Khớp nhờ mũi tiêm khác của cùng người (cùng SĐT, họ tên, ngày sinh, có số định danh)",
    )  # no usable ID, but the same person's other dose (same phone, name, birth date) was linked by its ID
    REVIEW_LINK = "REVIEW_LINK", "linked", "Người xác minh xác nhận đúng người"
    ID_CONFLICT = (
        "ID_CONFLICT",
        "review",
        "Số định danh và họ tên/ngày sinh chỉ tới hai người khác nhau",
        Handler.COMMUNE_POLICE,
    )  # the ID says one person, name and birth date another
    AMBIGUOUS_NAME_DOB = (
        "AMBIGUOUS_NAME_DOB",
        "review",
        "Nhiều người trùng họ tên và ngày sinh",
        Handler.COMMUNE_POLICE,
    )  # twins or namesakes: only identity papers tell them apart
    ID_OWNER_MISMATCH = (
        "ID_OWNER_MISMATCH",
        "review",
        "Số định danh thuộc về người khác",
        Handler.COMMUNE_POLICE,
    )  # the ID belongs to another real person: identity papers needed
    MAYBE_UNREGISTERED = (
        "MAYBE_UNREGISTERED",
        "review",
        "Có thể chưa có trong CSDL dân cư (trùng tên người khác)",
        Handler.COMMUNE_POLICE,
    )  # common name, no ID: the person may be missing from the registry
    BLOCK_TOO_LARGE = (
        "BLOCK_TOO_LARGE",
        "review",
        "Họ tên quá phổ biến, thiếu số định danh",
        Handler.SITE,
    )  # very common name with no usable ID: the site asks for the ID
    LOW_MARGIN = "LOW_MARGIN", "review", "Hai người gần giống nhau", Handler.SITE  # the site re-checks the record
    WEAK_CANDIDATE = (
        "WEAK_CANDIDATE",
        "review",
        "Thông tin khớp một phần",
        Handler.SITE,
    )  # a candidate exists but differs in several fields
    REVIEW_CONFLICT = (
        "REVIEW_CONFLICT",
        "review",
        "Các quyết định xác minh cùng ngày mâu thuẫn nhau",
        Handler.COMMUNE_POLICE,
    )  # two different decisions of one day: neither applies
    REVIEW_EXCLUDED = (
        "REVIEW_EXCLUDED",
        "review",
        "Người được đề xuất đã bị xác minh là không phải người này",
        Handler.COMMUNE_POLICE,
    )  # a reviewer ruled the machine's choice out: never linked automatically again
    NO_CANDIDATE = "NO_CANDIDATE", "unmatched", "Không tìm thấy trong CSDL dân cư", Handler.COMMUNE_POLICE
    NO_PLAUSIBLE_CANDIDATE = (
        "NO_PLAUSIBLE_CANDIDATE",
        "unmatched",
        "Không có người phù hợp trong CSDL dân cư",
        Handler.COMMUNE_POLICE,
    )
    REVIEW_NOT_IN_REGISTRY = (
        "REVIEW_NOT_IN_REGISTRY",
        "unmatched",
        "Người xác minh xác nhận chưa có trong CSDL dân cư",
    )  # settled by people until a newer registry snapshot is in force
    DUPLICATE = "DUPLICATE", "duplicate", "Bản ghi trùng của cùng một mũi tiêm"


REVIEW_RULES = tuple(rule for rule in Rule if rule.group == "review")
UNMATCHED_RULES = tuple(rule for rule in Rule if rule.group == "unmatched")
DECIDED_BY_REVIEW_RULES = (Rule.REVIEW_LINK, Rule.REVIEW_NOT_IN_REGISTRY)
"""Rules whose status an applied review decision set (`decided_by = 'review'`)."""

_missing_handlers = [
    rule for rule in (*REVIEW_RULES, Rule.NO_CANDIDATE, Rule.NO_PLAUSIBLE_CANDIDATE) if not rule.handler
]
if _missing_handlers:  # routing never falls back silently: a new review rule must name who handles it
    raise ImportError(f"review rules without a handler: {_missing_handlers}")


class CorrectionRule(StrEnum):
    """`correction_sets.rule`: which recording error a correction repairs."""

    NAME_NO_DIACRITICS = "NAME_NO_DIACRITICS"
    NAME_DIACRITICS = "NAME_DIACRITICS"
    NAME_TYPO = "NAME_TYPO"
    NAME_MIDDLE_NAME = "NAME_MIDDLE_NAME"
    NAME_MISSING = "NAME_MISSING"
    NAME_DIFFERENT = "NAME_DIFFERENT"
    DOB_YEAR_ONLY = "DOB_YEAR_ONLY"
    DOB_REGISTRY_YEAR_ONLY = "DOB_REGISTRY_YEAR_ONLY"
    DOB_DAY_MONTH_SWAP = "DOB_DAY_MONTH_SWAP"
    DOB_ONE_DIGIT = "DOB_ONE_DIGIT"
    DOB_YEAR_OFF_BY_ONE = "DOB_YEAR_OFF_BY_ONE"
    DOB_YEAR_WRONG = "DOB_YEAR_WRONG"
    DOB_PLACEHOLDER_0101 = "DOB_PLACEHOLDER_0101"
    DOB_MISSING = "DOB_MISSING"
    DOB_DIFFERENT = "DOB_DIFFERENT"
    GENDER_DIFFERENT = "GENDER_DIFFERENT"
    ID_CMND_TO_CCCD = "ID_CMND_TO_CCCD"
    ID_NEAR_MISS = "ID_NEAR_MISS"
    ID_UNRECOVERABLE = "ID_UNRECOVERABLE"
    ID_MALFORMED = "ID_MALFORMED"
    ID_MISSING = "ID_MISSING"
    ID_OTHER_PERSON = "ID_OTHER_PERSON"
    ID_NOT_IN_REGISTRY = "ID_NOT_IN_REGISTRY"


class Decision(StrEnum):
    """`review_decisions.decision` (contract 2.4), with the Vietnamese value people write."""

    LINK = "link"
    NOT_IN_REGISTRY = "not_in_registry"
    NOT_THIS_PERSON = "not_this_person"

    @property
    def label(self) -> str:
        """The Vietnamese value of the workbook's drop-down."""
        return _DECISION_LABELS[self]


_DECISION_LABELS = {
    Decision.LINK: "Đúng người",
    Decision.NOT_IN_REGISTRY: "Chưa có trong CSDL dân cư",
    Decision.NOT_THIS_PERSON: "Không phải người này",
}

DECISIONS_NEEDING_PERSON = (Decision.LINK, Decision.NOT_THIS_PERSON)
"""Decisions that name a registry person."""


class Outcome(StrEnum):
    """`review_decisions.outcome`: what became of a decision row."""

    APPLIED = "applied"
    SUPERSEDED = "superseded"
    CONFLICT = "conflict"
    STALE = "stale"
    REJECTED = "rejected"


def sql_list(values: Iterable[StrEnum]) -> str:
    """`('a', 'b')` for SQL `IN` from vocabulary members (never from user input)."""
    return "(" + ", ".join(f"'{value}'" for value in values) + ")"


def values(members: Iterable[StrEnum]) -> list[str]:
    """Plain strings, for polars `is_in` and literals."""
    return [str(member) for member in members]


def rule_table_markdown() -> str:
    """The README's rule table."""
    lines = ["| rule | status | meaning (Vietnamese label) | handled by |", "|---|---|---|---|"]
    for rule in Rule:
        lines.append(f"| `{rule}` | {rule.group} | {rule.label} | {rule.handler or ''} |")
    return "\n".join(lines)


def correction_rules_markdown() -> str:
    """The README's one-line list of correction rule codes."""
    return ", ".join(f"`{rule}`" for rule in CorrectionRule)


def status_table_markdown() -> str:
    """docs/interface.md's table of match statuses."""
    meaning = {
        MatchStatus.VERIFIED: "linked; the record agrees with the registry up to formatting",
        MatchStatus.CORRECTED: f"linked; at least one field correction applied (`{CorrectionAction.AUTO}` or `{CorrectionAction.CONFIRMED}`)",
        MatchStatus.REVIEW: "a person must decide (site staff or commune police); no link",
        MatchStatus.UNMATCHED: "nobody in the registry fits",
        MatchStatus.DUPLICATE: "another record holds the same dose of the same person; `person_id` kept",
    }
    lines = ["| `match_status` | Vietnamese label | meaning |", "|---|---|---|"]
    lines += [f"| `{status}` | {status.label} | {meaning[status]} |" for status in MatchStatus]
    return "\n".join(lines)


def decision_table_markdown() -> str:
    """docs/interface.md's table of review decisions and their outcomes."""
    lines = ["| `decision` | written in the workbook as |", "|---|---|"]
    lines += [f"| `{decision}` | {decision.label} |" for decision in Decision]
    lines.append("")
    lines.append("Outcomes (`review_decisions.outcome`): " + ", ".join(f"`{outcome}`" for outcome in Outcome) + ".")
    return "\n".join(lines)
