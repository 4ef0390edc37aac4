"""Sibling records: a person's other doses vouch for a record that carries no usable ID.

Records of one person across doses and sites share the phone, the name and the birth date as
written (a site that typed the profile wrong repeats the same error on every dose). When a record
without an ID is in review with a best candidate, and a record of the same batch with the same
phone, the same name and the same birth date (as written, up to formatting) was linked to that very
candidate by an exact ID, the ID-linked record vouches for it: it is linked too (`SIBLING_MATCH`,
evidence `sibling_record`). Never across a household's different people: they differ in name or
birth date (twins share the phone and the birth date, never the given name); and never when the
records of one phone, name and birth date point at two people.

A record whose own name carries a recording error (a typo, a missing middle name: errors of one
record, not of the person's profile) has no sibling with the same name as written. It is vouched for
by a record of the same phone and birth date linked by an exact ID to its best candidate, when its
name is within a recording error of that candidate (never `different`), its birth date does not
contradict, its spelling is on no other record of that phone and birth date, and every linked record of
them is that one person: twins share the phone and the birth date, so a household with two linked people,
or a second consistently written name, is vouched for by nobody this way.
"""

from __future__ import annotations

import polars as pl

from vax_cleaning.linkage.classify import LINKED, NAME_STRONG, NAME_WEAK, level_in
from vax_cleaning.linkage.compare import DobLevel
from vax_cleaning.linkage.normalize import squeeze_spaces
from vax_cleaning.vocabulary import CorrectionAction, Evidence, MatchStatus, Rule

VOUCHABLE_RULES = (
    Rule.WEAK_CANDIDATE,
    Rule.MAYBE_UNREGISTERED,
    Rule.LOW_MARGIN,
    Rule.AMBIGUOUS_NAME_DOB,
    Rule.BLOCK_TOO_LARGE,
)
"""Review rules of records without ID evidence that a sibling record may settle (never people's own rules)."""


def sibling_keys(doses: pl.DataFrame) -> pl.DataFrame:
    """Per record (`_rec`): a hash of phone digits + name + birth date as written, and whether it has a usable ID."""
    phone = pl.col("phone").cast(pl.String).str.replace_all(r"\D", "") if "phone" in doses.columns else pl.lit(None)
    written = doses.lazy().select(  # each part once (an eager select would redo the regexes per use)
        _rec=pl.int_range(pl.len(), dtype=pl.UInt32),
        phone=pl.when(phone.str.len_chars() >= 9).then(phone),
        dob=pl.coalesce(pl.col("date_of_birth").cast(pl.String), pl.lit(None, pl.String)),
        name=squeeze_spaces(pl.col("full_name").cast(pl.String).str.to_lowercase()),  # cheap: same person, same hand
        has_id=pl.col("id_number").is_not_null(),
    )
    phone, dob, name = pl.col("phone"), pl.col("dob"), pl.col("name")
    complete = phone.is_not_null() & name.is_not_null() & dob.is_not_null()
    return written.select(
        "_rec",
        sibling_key=pl.when(complete).then(pl.concat_str([phone, name, dob], separator="|").hash()),
        phone_dob_key=pl.when(phone.is_not_null() & dob.is_not_null()).then(
            pl.concat_str([phone, dob], separator="|").hash()
        ),
        name_hash=name.hash(),
        has_id="has_id",
    ).collect()


def vouch(decisions: pl.DataFrame, corrections: pl.DataFrame, keys: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Link ID-less review records their ID-linked siblings vouch for; their proposed corrections become applied."""
    columns = ["_rec", "status", "decision_rule", "p_person_id", "name_level", "dob_level"]
    table = decisions.select(columns).join(keys, on="_rec", how="left")
    vouchable = (
        (pl.col("status") == MatchStatus.REVIEW)
        & ~pl.col("has_id")
        & pl.col("decision_rule").is_in([str(rule) for rule in VOUCHABLE_RULES])
    )
    # only the phones + birth dates of vouchable records matter (a sibling_key is a phone_dob_key plus the name):
    # the batch's millions of ID-linked records of other phones are set aside before any grouping
    phones_in_question = table.filter(vouchable)["phone_dob_key"].drop_nulls().implode()
    table = table.filter(pl.col("phone_dob_key").is_in(phones_in_question))
    by_name = _anchors(table, "sibling_key", pl.col("decision_rule") == Rule.ID_MATCH)
    # the loose key: the whole household of one phone and birth date must be one linked person
    by_phone = _anchors(table, "phone_dob_key", pl.col("status") == LINKED).join(
        table.filter(pl.col("decision_rule") == Rule.ID_MATCH).select("phone_dob_key", anchor="p_person_id").unique(),
        on=["phone_dob_key", "anchor"],
        how="semi",
    )
    within_an_error = level_in("name_level", (*NAME_STRONG, *NAME_WEAK)) & ~level_in(
        "dob_level", (DobLevel.DIFFERENT, DobLevel.NULL)
    )
    # a spelling written once is a recording error; one written on two records of the household may be a twin
    # whose records never carried an ID (Trần Minh Khoa beside his brother Trần Minh Khôi): never vouched for
    written_once = pl.len().over("phone_dob_key", "name_hash") == 1
    vouched = pl.concat(
        [
            table.filter(vouchable).join(by_name, on="sibling_key", how="inner"),
            table.filter(vouchable & within_an_error & written_once).join(by_phone, on="phone_dob_key", how="inner"),
        ],
        how="diagonal_relaxed",
    ).filter(pl.col("p_person_id") == pl.col("anchor"))["_rec"]
    is_vouched = pl.col("_rec").is_in(vouched.implode())
    decisions = decisions.with_columns(
        status=pl.when(is_vouched).then(pl.lit(LINKED)).otherwise("status"),
        decision_rule=pl.when(is_vouched).then(pl.lit(Rule.SIBLING_MATCH.value)).otherwise("decision_rule"),
        evidence=pl.when(is_vouched).then(pl.lit(Evidence.SIBLING_RECORD.value)).otherwise("evidence"),
    )
    corrections = corrections.with_columns(
        action=pl.when(is_vouched & (pl.col("action") == CorrectionAction.REVIEW))
        .then(pl.lit(CorrectionAction.AUTO.value))
        .otherwise("action")
    )
    return decisions, corrections


def _anchors(table: pl.DataFrame, key: str, linked: pl.Expr) -> pl.DataFrame:
    """Per key: the one person its linked records (`linked`) point at; keys pointing at two people vouch for none."""
    return (
        table.filter(linked & pl.col(key).is_not_null())
        .group_by(key)
        .agg(anchor=pl.col("p_person_id").unique())
        .filter(pl.col("anchor").list.len() == 1)
        .with_columns(pl.col("anchor").list.first())
    )
