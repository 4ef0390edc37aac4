"""Review decisions judged against the contract's rules (data contract 2.4): what applies, and why not.

`settle_decisions` gives every non-blank decision row one `outcome` and, unless applied, a
`reason`. Order of judgement:

1. **rejected** -- the row itself is unusable: the row's field count differs from its header, an
   unknown decision value, no record key, a record of another province or one that does not
   exist, no or a malformed person ID where the decision needs one, no reviewer, no or an
   unparseable or future decision date, or a `link` to a person missing from the registry
   snapshot in force when the decision is not older than that snapshot.
2. Per record, among the usable rows, the latest `decided_on` wins:
   - earlier rows are **superseded** -- except `not_this_person`, which holds for good (unless
     the winning decision links that very person);
   - rows of the latest day that say different things (decision or person) are a **conflict**
     and none of them applies; several `not_this_person` of one day do not conflict.
3. A winning decision is **stale** when a newer registry snapshot took its ground away: a `link`
   to a person the snapshot in force no longer has, or `not_in_registry` once a snapshot newer
   than the decision is in force (the person may have been registered since). The machine
   decides again.
4. Everything else is **applied**.

Plain polars over small frames (decision rows number in the thousands); no Dagster.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date

import polars as pl

from vax_cleaning.ingest import fields
from vax_cleaning.linkage.classify import LINKED
from vax_cleaning.vocabulary import DECISIONS_NEEDING_PERSON, Decision, MatchStatus, Outcome, Rule, values

REVIEW_DECISION_SCHEMA: dict[str, pl.DataType] = {
    "review_file": pl.String(), "review_row": pl.Int32(), "source_file": pl.String(), "source_row": pl.Int32(),
    "decision": pl.String(), "person_id": pl.String(), "reviewer": pl.String(), "decided_on": pl.Date(),
    "outcome": pl.String(), "reason": pl.String(), "reason_code": pl.String(), "province_code": pl.String(),
}  # fmt: skip
"""`review_decisions` columns: the contract's ten, then a stable reason code and the folder's province."""

_DECISION_SPELLINGS = {
    unicodedata.normalize("NFC", spelling).casefold(): decision.value
    for decision in Decision
    for spelling in (decision.value, decision.label)
}
"""Canonical values and the Vietnamese ones, case-folded."""


def _decision_key(cell: pl.Expr) -> pl.Expr:
    """Decision cell -> canonical decision, NULL when it is none of the accepted spellings."""
    key = cell.str.normalize("NFC").str.strip_chars().str.to_lowercase()
    return key.replace_strict(_DECISION_SPELLINGS, default=None, return_dtype=pl.String)


def parse_decision_rows(rows: pl.DataFrame) -> pl.DataFrame:
    """Raw decision rows (ingest.reviews) -> typed columns, keeping what was written for the reasons."""
    person = fields.with_id(rows.select("person_id"), "person_id")
    return rows.with_columns(
        decision_raw=pl.col("decision"),
        decision=_decision_key(pl.col("decision")),
        source_file=pl.col("source_file").str.normalize("NFC").str.replace_all("\\", "/", literal=True),
        source_row=pl.col("source_row").str.extract(r"^(\d{1,9})(?:\.0+)?$", 1).cast(pl.Int32),
        person_written=pl.col("person_id").is_not_null(),
        person_id=pl.when(person["id_kind"] == "cccd").then(person["id_number"]),
        decided_on=fields.calendar_date(pl.col("decided_on")),
        decided_on_written=pl.col("decided_on").is_not_null(),
    )


def settle_decisions(
    rows: pl.DataFrame,
    province_code: str,
    records: pl.DataFrame,
    registry_people: pl.DataFrame,
    snapshot_date: date,
    today: date,
) -> pl.DataFrame:
    """One outcome per decision row (module docstring).

    `rows`: raw decision rows of reviews/<province_code>/; `records`: (source_file, source_row) of
    the province's accepted dose records; `registry_people`: person_id of the snapshot in force
    (at least those the rows name).
    """
    parsed = parse_decision_rows(rows).with_columns(
        record_exists=pl.struct("source_file", "source_row").is_in(
            records.select(pl.struct("source_file", "source_row")).to_series().implode()
        ),
        person_known=pl.col("person_id").is_in(registry_people["person_id"].implode()).fill_null(False),
        record_province=pl.col("source_file").str.extract(r"^(\d{2})/", 1),
    )
    judged = parsed.with_columns(_rejection(province_code, snapshot_date, today))
    usable = judged.filter(pl.col("reason_code").is_null())
    settled = pl.concat(
        [
            judged.filter(pl.col("reason_code").is_not_null()).with_columns(outcome=pl.lit(Outcome.REJECTED.value)),
            _precedence(usable, snapshot_date),
        ],
        how="diagonal_relaxed",
    )
    return (
        settled.with_columns(province_code=pl.lit(province_code))
        .select(list(REVIEW_DECISION_SCHEMA))
        .cast(REVIEW_DECISION_SCHEMA)
        .sort("review_file", "review_row")
    )


def _rejection(province_code: str, snapshot_date: date, today: date) -> list[pl.Expr]:
    """reason_code and reason of the first rule a row breaks (no personal data in the text)."""
    needs_person = pl.col("decision").is_in(values(DECISIONS_NEEDING_PERSON))
    spellings = "; ".join(f"{d.value} / {d.label}" for d in Decision)
    rules: list[tuple[pl.Expr, str, pl.Expr]] = [
        (pl.col("field_count_problem").is_not_null(), "field_count", pl.col("field_count_problem")),
        (pl.col("decision").is_null(), "unknown_decision",
         pl.format("decision '{}' is none of: {}", pl.col("decision_raw"), pl.lit(spellings))),
        (pl.col("source_file").is_null() | pl.col("source_row").is_null(), "record_not_named",
         pl.lit("Tệp nguồn or Dòng is blank or not a row number")),
        (pl.col("record_province").fill_null("") != province_code, "wrong_province",
         pl.format("record of province {} returned under reviews/{}/: return it under its own province's folder",
                   pl.col("record_province").fill_null("?"), pl.lit(province_code))),
        (~pl.col("record_exists"), "unknown_record",
         pl.lit(f"no accepted dose record of province {province_code} has this Tệp nguồn and Dòng")),
        (needs_person & ~pl.col("person_written"), "person_missing",
         pl.lit("Số định danh xác minh is required for this decision")),
        (needs_person & pl.col("person_id").is_null(), "person_malformed",
         pl.lit("Số định danh xác minh is not a 12-digit personal identification number")),
        (pl.col("reviewer").is_null(), "reviewer_missing", pl.lit("Người xác minh (who decided) is blank")),
        (~pl.col("decided_on_written"), "date_missing", pl.lit("Ngày xác minh (date of the decision) is blank")),
        (pl.col("decided_on").is_null(), "date_unparseable", pl.lit("Ngày xác minh is not a date (e.g. 25/06/2022)")),
        (pl.col("decided_on") > today, "date_in_future", pl.lit("Ngày xác minh is after the day of the run")),
        ((pl.col("decision") == Decision.LINK) & ~pl.col("person_known") & (pl.col("decided_on") >= snapshot_date),
         "unknown_person", pl.lit(f"the person is not in the registry snapshot in force ({snapshot_date})")),
    ]  # fmt: skip
    code, reason = pl.when(rules[0][0]).then(pl.lit(rules[0][1])), pl.when(rules[0][0]).then(rules[0][2])
    for condition, rule_code, text in rules[1:]:
        code, reason = code.when(condition).then(pl.lit(rule_code)), reason.when(condition).then(text)
    return [code.otherwise(None).alias("reason_code"), reason.otherwise(None).alias("reason")]


def _precedence(usable: pl.DataFrame, snapshot_date: date) -> pl.DataFrame:
    """Latest day wins, same-day disagreement conflicts, `not_this_person` holds for good, stale links lapse."""
    record = ["source_file", "source_row"]
    exclusion = pl.col("decision") == Decision.NOT_THIS_PERSON
    latest = pl.col("decided_on") == pl.col("decided_on").max().over(record)
    verdict = pl.format("{}|{}", "decision", pl.col("person_id").fill_null(""))
    day_conflict = (verdict.filter(latest).n_unique().over(record) > 1) & ~exclusion.filter(latest).all().over(record)
    linked_later = (
        pl.col("person_id")
        .is_in(pl.col("person_id").filter(latest & (pl.col("decision") == Decision.LINK)).implode())
        .over(record)
        .fill_null(False)
    )
    stale_link = (pl.col("decision") == Decision.LINK) & ~pl.col("person_known")
    stale_absence = (pl.col("decision") == Decision.NOT_IN_REGISTRY) & (pl.col("decided_on") < snapshot_date)
    outcome, reason_code, reason = _cases(
        (latest & day_conflict, Outcome.CONFLICT, "same_day_conflict",
         "another decision of the same day for this record says otherwise: neither applies, the record stays in review"),
        (latest & stale_link, Outcome.STALE, "person_left_registry",
         f"the person is not in the registry snapshot in force ({snapshot_date}), newer than the decision: "
         "the machine decides again"),
        (latest & stale_absence, Outcome.STALE, "newer_snapshot",
         f"registry snapshot {snapshot_date} is newer than the decision: the person may be registered now, "
         "the machine decides again"),
        (latest, Outcome.APPLIED, None, None),
        (exclusion & ~linked_later, Outcome.APPLIED, None, None),
        (pl.lit(True), Outcome.SUPERSEDED, "later_decision",
         "a later decision for this record takes precedence"),
    )  # fmt: skip
    return usable.with_columns(outcome=outcome, reason_code=reason_code, reason=reason)


def _cases(*cases: tuple[pl.Expr, Outcome, str | None, str | None]) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """First matching case -> (outcome, reason_code, reason) expressions."""
    outcome = reason_code = reason = pl
    for condition, value, code, text in cases:
        outcome = outcome.when(condition).then(pl.lit(value.value))
        reason_code = reason_code.when(condition).then(pl.lit(code, pl.String))
        reason = reason.when(condition).then(pl.lit(text, pl.String))
    return outcome, reason_code, reason


def linkage_instructions(settled: pl.DataFrame) -> pl.DataFrame:
    """What the linkage must honour: applied decisions and same-day conflicts (source_file, source_row, decision, person_id, outcome)."""
    return settled.filter(pl.col("outcome").is_in([Outcome.APPLIED.value, Outcome.CONFLICT.value])).select(
        "source_file", "source_row", "decision", "person_id", "outcome"
    )


@dataclass(frozen=True)
class ReviewInstructions:
    """People's decisions in the linkage's terms: record (`_rec`) and person (`_reg`) positions."""

    forced_pairs: pl.DataFrame
    """(_rec, _reg) of applied links: scored like any candidate, then chosen whatever the machine thinks."""
    excluded_pairs: pl.DataFrame
    """(_rec, _reg) of applied not_this_person decisions: never a candidate again."""
    per_record: pl.DataFrame
    """_rec, forced_reg, absent (not_in_registry applied), conflict, excluded (someone was ruled out)."""


_PAIR_SCHEMA = {"_rec": pl.UInt32, "_reg": pl.UInt32}


def review_instructions(
    reviews: pl.DataFrame | None, records: pl.DataFrame, people: pl.DataFrame
) -> ReviewInstructions:
    """Map decisions (linkage_instructions rows) onto the positions of `records` and `people`."""
    if reviews is None:
        reviews = pl.DataFrame(schema={"source_file": pl.String, "source_row": pl.Int32, "decision": pl.String,
                                       "person_id": pl.String, "outcome": pl.String})  # fmt: skip
    located = (
        records.select("_rec", "source_file", "source_row")
        .join(reviews.cast({"source_row": records.schema["source_row"]}), on=["source_file", "source_row"])
        .join(people.select("person_id", "_reg"), on="person_id", how="left")
    )
    applied = pl.col("outcome") == Outcome.APPLIED

    def pairs(decision: Decision) -> pl.DataFrame:
        chosen = located.filter(applied & (pl.col("decision") == decision) & pl.col("_reg").is_not_null())
        return chosen.select("_rec", "_reg").cast(_PAIR_SCHEMA)

    per_record = located.group_by("_rec").agg(
        forced_reg=pl.col("_reg").filter(applied & (pl.col("decision") == Decision.LINK)).first().cast(pl.UInt32),
        absent=(applied & (pl.col("decision") == Decision.NOT_IN_REGISTRY)).any(),
        conflict=(pl.col("outcome") == Outcome.CONFLICT).any(),
        excluded=(applied & (pl.col("decision") == Decision.NOT_THIS_PERSON)).any(),
    )
    return ReviewInstructions(
        forced_pairs=pairs(Decision.LINK), excluded_pairs=pairs(Decision.NOT_THIS_PERSON), per_record=per_record
    )


def honour_reviews(decided: pl.DataFrame, per_record: pl.DataFrame) -> pl.DataFrame:
    """People outrank the machine: their link or not-in-registry stands; a conflict or a ruled-out person caps at review."""
    forced = pl.col("forced_reg").is_not_null()
    absent = pl.col("absent").fill_null(False) & ~forced
    capped = (pl.col("conflict").fill_null(False) | pl.col("excluded").fill_null(False)) & ~forced & ~absent
    machine_linked = pl.col("status") == LINKED
    return (
        decided.join(per_record, on="_rec", how="left")
        .with_columns(
            status=pl.when(forced)
            .then(pl.lit(LINKED))
            .when(absent)
            .then(pl.lit(MatchStatus.UNMATCHED.value))
            .when(capped & (machine_linked | pl.col("conflict").fill_null(False)))
            .then(pl.lit(MatchStatus.REVIEW.value))
            .otherwise(pl.col("status")),
            chosen_reg=pl.when(forced)
            .then(pl.col("forced_reg"))
            .when(absent)
            .then(None)
            .otherwise(pl.col("chosen_reg")),
            decision_rule=pl.when(forced)
            .then(pl.lit(Rule.REVIEW_LINK.value))
            .when(absent)
            .then(pl.lit(Rule.REVIEW_NOT_IN_REGISTRY.value))
            .when(capped & pl.col("conflict").fill_null(False))
            .then(pl.lit(Rule.REVIEW_CONFLICT.value))
            .when(capped & machine_linked)
            .then(pl.lit(Rule.REVIEW_EXCLUDED.value))
            .otherwise(pl.col("decision_rule")),
        )
        .drop("forced_reg", "absent", "conflict", "excluded")
    )
