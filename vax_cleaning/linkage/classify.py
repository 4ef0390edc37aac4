"""The linkage cascade: score candidate pairs, pick a person or send the record to review.

Scoring is Fellegi-Sunter style: every comparison level carries a log2 Bayes factor (a
*weight*; weights and every threshold named below live in `settings.LinkageSettings`); a pair's
match weight is `prior_log2_odds` plus the weights of its levels (name, DOB, gender, residence,
ID), and `match_score = 1 / (1 + 2 ** -weight)`. Weights rank candidates and measure the margin between
them; the *gates* below say which disagreements may ever be corrected automatically.

Cascade for one record (pairs: the ID owner(s) and every blocked candidate):

1. **ID decides** -- exactly one registry person owns the record's ID (CCCD = person_id,
   CMND = old_id), the pair passes the gate -- or, failing it, the combined evidence
   (`id_evidence_gate`: name not contradicted, DOB not contradicted unless the record's own CCCD
   explains it, whole weight >= `min_id_evidence_weight` and `min_auto_margin` ahead of every other
   candidate; evidence `cccd_birth_year` or `combined_weight`) -- and no other candidate agrees
   better on name, DOB, gender, residence and address (weights without the ID, by
   `id_conflict_margin`) -> linked to the owner (`ID_MATCH`). With an ID that exactly matches one
   of two look-alikes (twins, common names), that ID decides. If another candidate agrees clearly
   better -> `review` (`ID_CONFLICT`).
2. **Candidate search** (no ID, ID unknown/malformed, or its owner fails the gate: a relative's
   ID or a typo hitting another real person -- never corrected to the owner) -> the best
   candidate is linked (`CANDIDATE_MATCH`) only if it passes the gate, its score is at least
   `min_auto_score`, it leads the runner-up by `min_auto_margin` weight, at most one registry
   person fits name + DOB exactly (unless a near-miss ID tells them apart), and none of the
   record's blocks was truncated.
   Without ID evidence (an exact or near-miss ID, or a housemate's ID), the name must also be
   rare enough that a namesake of someone missing from the registry is unlikely to share the
   birth date (`max_absent_risk`).
3. Otherwise `review` with `candidate_person_id` when the best candidate scores at least
   `min_review_score` (rule says why: `ID_CONFLICT`, `AMBIGUOUS_NAME_DOB`, `BLOCK_TOO_LARGE`,
   `ID_OWNER_MISMATCH`, `LOW_MARGIN`, `MAYBE_UNREGISTERED`, `WEAK_CANDIDATE`), else `unmatched`
   (`NO_CANDIDATE`, `NO_PLAUSIBLE_CANDIDATE`).

Gate ("disagreement explained by recording errors in name OR birth date, not both"): neither
name nor DOB is `different`; at most one of {name, DOB, gender} is at a weak level (name typo or
middle name missing; DOB swapped/one digit/year off by one/year wrong with day and month right/
01-01 placeholder; gender disagrees) -- two (name and DOB) when the record carries the candidate's
own 12-digit CCCD exactly and the gender agrees;
a missing name or DOB is accepted only with an exact ID and the other field exact.
"""

from __future__ import annotations

import polars as pl

from vax_cleaning.linkage.compare import AddressLevel, DobLevel, GenderLevel, IdLevel, NameLevel, compare_pairs
from vax_cleaning.linkage.settings import LevelWeights, LinkageSettings
from vax_cleaning.vocabulary import CorrectionRule, Evidence, MatchStatus, Rule

NAME_STRONG = (NameLevel.EXACT, NameLevel.EXACT_WITHOUT_DIACRITICS)
NAME_WEAK = (NameLevel.TYPO, NameLevel.MIDDLE_NAME_MISSING)
DOB_STRONG = (DobLevel.EXACT, DobLevel.YEAR_ONLY_AGREES)
DOB_WEAK = (
    DobLevel.DAY_MONTH_SWAPPED,
    DobLevel.ONE_DIGIT_OFF,
    DobLevel.YEAR_OFF_BY_ONE,
    DobLevel.YEAR_DIFFERS,
    DobLevel.PLACEHOLDER_0101,
)
ID_EXACT = (IdLevel.EXACT_CCCD, IdLevel.EXACT_CMND)

LINKED = "linked"
"""`decide`'s internal status of a linked record (link.py turns it into verified or corrected)."""


def _weight(column: str, weights: LevelWeights) -> pl.Expr:
    """Level column -> its configured weight (`LevelWeights` has one for every level)."""
    mapping = {int(level): weight for level, weight in weights.items()}
    return pl.col(column).replace_strict(mapping, return_dtype=pl.Float64)


def level_in(column: str, levels: tuple[int, ...]) -> pl.Expr:
    """Level column is one of `levels`."""
    return pl.col(column).is_in([int(level) for level in levels])


def gate() -> pl.Expr:
    """May this pair's disagreements be corrected automatically? (see module docstring)."""
    name, dob, gender = pl.col("name_level"), pl.col("dob_level"), pl.col("gender_level")
    weak = (
        level_in("name_level", NAME_WEAK).cast(pl.Int8)
        + level_in("dob_level", DOB_WEAK).cast(pl.Int8)
        + (gender == GenderLevel.DISAGREE).cast(pl.Int8)
    )
    no_contradiction = (name != NameLevel.DIFFERENT) & (dob != DobLevel.DIFFERENT)
    id_exact = level_in("id_level", ID_EXACT)
    gender_ok = gender != GenderLevel.DISAGREE
    # The record's own 12-digit CCCD, exactly the candidate's: a recording error in the name AND one in the
    # birth date (no diacritics and the year off by one; a missing middle name and a 01/01 placeholder) may
    # both be corrected, as long as neither contradicts and the gender agrees.
    own_cccd = (pl.col("id_level") == IdLevel.EXACT_CCCD) & gender_ok
    complete = (name != NameLevel.NULL) & (dob != DobLevel.NULL) & ((weak <= 1) | (own_cccd & (weak <= 2)))
    name_missing = id_exact & (name == NameLevel.NULL) & (dob == DobLevel.EXACT) & gender_ok
    dob_missing = id_exact & (dob == DobLevel.NULL) & level_in("name_level", NAME_STRONG) & gender_ok
    return no_contradiction & (complete | name_missing | dob_missing)


def dob_explained_by_cccd(max_year_gap: int) -> pl.Expr:
    """The written DOB contradicts the candidate, but the record's own CCCD, exactly the candidate's, encodes the
    candidate's birth year and gender and not the written year, at most `max_year_gap` years away: the ID is right
    and the DOB was typed wrong. A generation apart, it is a relative's ID (a son named after his father)."""
    gap = (pl.col("r_id_birth_year") - pl.col("r_birth_year")).abs()
    return (
        (pl.col("id_level") == IdLevel.EXACT_CCCD)
        & ((gap > 0) & (gap <= max_year_gap)).fill_null(False)
        & (pl.col("r_id_birth_year") == pl.col("p_birth_year")).fill_null(False)
        & level_in("name_level", NAME_STRONG)
        & (pl.col("gender_level") == GenderLevel.AGREE)
    )


def id_evidence_gate(settings: LinkageSettings) -> pl.Expr:
    """Combined evidence for an exact ID's owner the one-weak-field gate refuses: the name is not contradicted, the
    DOB is not contradicted (or the contradiction is explained by the CCCD), and the whole weight -- ID, name, DOB,
    gender, residence and address together -- reaches `min_id_evidence_weight`."""
    name_ok = level_in("name_level", (*NAME_STRONG, *NAME_WEAK))
    dob_ok = ~level_in("dob_level", (DobLevel.DIFFERENT, DobLevel.NULL)) | (
        (pl.col("dob_level") == DobLevel.DIFFERENT) & dob_explained_by_cccd(settings.max_explained_year_gap)
    )
    return level_in("id_level", ID_EXACT) & name_ok & dob_ok & (pl.col("weight") >= settings.min_id_evidence_weight)


def name_weight(settings: LinkageSettings) -> pl.Expr:
    """Name weight, with an exact agreement weighed by how rare the name is in the registry (term frequency):
    the hand-set weight holds for a name shared by `name_reference_share` of the people, a rarer one gains
    log2(reference / share) up to `name_frequency_max_shift` bits, a commoner one loses as much."""
    shift = (
        (pl.lit(settings.name_reference_share) / pl.col("p_name_share"))
        .log(2)
        .clip(-settings.name_frequency_max_shift, settings.name_frequency_max_shift)
        .fill_null(0.0)
    )
    # A written two-word name is most often a full name with its middle name left out: its rarity in the
    # registry says nothing about a chance agreement, so it never gains (Nguyễn Hằng for Nguyễn Ánh Hằng).
    shift = pl.when(pl.col("r_name_token_count") < 3).then(shift.clip(upper_bound=0.0)).otherwise(shift)
    exact = level_in("name_level", NAME_STRONG)
    return _weight("name_level", settings.name_weights) + pl.when(exact).then(shift).otherwise(0.0)


def score_pairs(pairs: pl.DataFrame, settings: LinkageSettings, one_per_record: bool = False) -> pl.DataFrame:
    """Compare gathered pairs and add weights, score and the flags the cascade uses."""
    compared = compare_pairs(pairs, settings.typo_max_edits, settings.typo_min_similarity)
    return weigh(compared, settings, one_per_record)


def weigh(compared: pl.DataFrame, settings: LinkageSettings, one_per_record: bool = False) -> pl.DataFrame:
    """Weights, score and the cascade's flags of compared pairs (again, with other weights, on scored ones).

    `one_per_record`: every record has exactly one pair (the ID phase's one-owner records), so the per-record
    aggregates are the pair's own values: the same result without a window over millions of pairs."""
    # `exact` (nothing to correct) is weaker evidence for a year-only or a 01/01 record.
    exact = pl.col("dob_level") == DobLevel.EXACT
    dob_weight = (
        pl.when(exact & pl.col("r_birth_month").is_null())
        .then(pl.lit(settings.dob_exact_year_only_weight))
        .when(exact & (pl.col("r_birth_month") == 1) & (pl.col("r_birth_day") == 1))
        .then(pl.lit(settings.dob_exact_0101_weight))
        .otherwise(_weight("dob_level", settings.dob_weights))
    )
    content = name_weight(settings) + dob_weight + _weight("gender_level", settings.gender_weights)
    residence = _weight("residence_level", settings.residence_weights) + _weight(
        "address_level", settings.address_weights
    )
    # A near miss is evidence only when the ID is nobody's exact ID: an ID that exactly belongs to
    # one twin says nothing in favour of the other twin whose ID happens to differ by one digit.
    owner = level_in("id_level", ID_EXACT)
    id_owned = owner if one_per_record else owner.any().over("_rec")
    own_cccd = (
        (pl.col("r_id_kind") == "cccd")
        & (pl.col("r_id_birth_year") == pl.col("r_birth_year")).fill_null(False)
        & (pl.col("r_id_gender") == pl.col("r_gender")).fill_null(True)
    )
    owner_household = (
        pl.when(owner).then("p_household_key")
        if one_per_record
        else pl.col("p_household_key").filter(owner).first().over("_rec")
    )
    same_household = (pl.col("p_household_key") == owner_household).fill_null(False)
    housemate = (pl.col("id_level") == IdLevel.DIFFERENT) & same_household
    id_weight = (
        pl.when((pl.col("id_level") == IdLevel.NEAR_MISS) & id_owned)
        .then(pl.lit(settings.id_weights[IdLevel.DIFFERENT]))
        .when(housemate)
        .then(pl.lit(settings.id_housemate_weight))
        .when((pl.col("id_level") == IdLevel.DIFFERENT) & ~id_owned & own_cccd)
        .then(pl.lit(settings.id_unknown_consistent_weight))
        .otherwise(_weight("id_level", settings.id_weights))
    )
    return (
        compared.with_columns(content_weight=content, evidence_weight=content + residence)
        .with_columns(weight=settings.prior_log2_odds + pl.col("evidence_weight") + id_weight)
        .with_columns(
            score=1.0 / (1.0 + pl.lit(2.0).pow(-pl.col("weight"))),
            id_exact=level_in("id_level", ID_EXACT),
            id_housemate=housemate,
            fit=level_in("name_level", NAME_STRONG) & (pl.col("dob_level") == DobLevel.EXACT),
            gate=gate(),
            id_evidence=id_evidence_gate(settings) & ~gate(),
            dob_explained=dob_explained_by_cccd(settings.max_explained_year_gap)
            & (pl.col("dob_level") == DobLevel.DIFFERENT),
        )
    )


def settles_by_id() -> pl.Expr:
    """The only exact-ID pair of its record (the ID has one owner: `link._settle_by_id` keeps those) and it agrees on
    name and full DOB: no other candidate can beat it, skip blocking."""
    return pl.col("id_exact") & pl.col("fit") & (pl.col("gender_level") != GenderLevel.DISAGREE)


def candidate_stats(scored: pl.DataFrame) -> pl.DataFrame:
    """Per record: its candidates, ID owners and fitting ones, the owner's and the best pair's evidence."""
    grouped = (
        scored.lazy()
        .group_by("_rec")
        .agg(
            candidate_count=pl.len().cast(pl.Int32),
            n_owners=pl.col("id_exact").sum(),
            n_fit=pl.col("fit").sum(),
            owner_reg=pl.col("_reg").filter("id_exact").first(),
            owner_gate=(pl.col("gate") | pl.col("id_evidence")).filter("id_exact").first(),
            owner_by_evidence=pl.col("id_evidence").filter("id_exact").first(),
            owner_evidence=pl.col("evidence_weight").filter("id_exact").first(),
            owner_weight=pl.col("weight").filter("id_exact").first(),
            other_weight=pl.col("weight").filter(~pl.col("id_exact")).max(),
            owner_explained=pl.col("dob_explained").filter("id_exact").first(),
            other_evidence=pl.col("evidence_weight").filter(~pl.col("id_exact")).max(),
            best_reg=pl.col("_reg").sort_by("weight", "_reg", descending=[True, False]).first(),
            best_weight=pl.col("weight").max(),
            second_weight=pl.col("weight").sort(descending=True).slice(1, 1).first(),
        )
    )
    if scored["_rec"].n_unique() < scored.height:
        return grouped.collect()
    # one pair per record (the ID phase's settled records, ~90 % of a batch): the same values without grouping
    owner, other = pl.col("id_exact"), ~pl.col("id_exact")
    return scored.select(
        "_rec",
        candidate_count=pl.lit(1, pl.Int32),
        n_owners=owner,
        n_fit="fit",
        owner_reg=pl.when(owner).then("_reg"),
        owner_gate=pl.when(owner).then(pl.col("gate") | pl.col("id_evidence")),
        owner_by_evidence=pl.when(owner).then("id_evidence"),
        owner_evidence=pl.when(owner).then("evidence_weight"),
        owner_weight=pl.when(owner).then("weight"),
        other_weight=pl.when(other).then("weight"),
        owner_explained=pl.when(owner).then("dob_explained"),
        other_evidence=pl.when(other).then("evidence_weight"),
        best_reg="_reg",
        best_weight="weight",
        second_weight=pl.lit(None, scored.schema["weight"]),
    ).cast(grouped.collect_schema())


def decide(
    scored: pl.DataFrame, records: pl.DataFrame, truncated: pl.DataFrame, settings: LinkageSettings
) -> pl.DataFrame:
    """One decision per record of `records` (_rec): status, chosen/candidate `_reg`, rule, candidate_count."""
    stats = candidate_stats(scored)
    best = scored.select(
        "_rec",
        best_reg="_reg",
        best_gate="gate",
        best_score="score",
        best_id_exact="id_exact",
        best_id_evidence=(pl.col("id_level") >= IdLevel.NEAR_MISS) | pl.col("id_housemate"),
        best_same_commune=pl.col("address_level") == AddressLevel.SAME_COMMUNE,
        best_residence_weight=_weight("residence_level", settings.residence_weights)
        + _weight("address_level", settings.address_weights),
    )
    if "namesakes" not in records.columns:
        records = records.with_columns(namesakes=pl.lit(0, pl.UInt32))
    table = (
        records.select("_rec", "namesakes")
        .join(stats, on="_rec", how="left")
        .join(best, on=["_rec", "best_reg"], how="left")
        .with_columns(truncated=pl.col("_rec").is_in(truncated["_rec"].implode()))
        .with_columns(pl.col("candidate_count").fill_null(0), pl.col("n_owners").fill_null(0))
    )
    one_owner = pl.col("n_owners") == 1
    link_owner = (
        one_owner
        & pl.col("owner_gate")
        & (
            pl.col("other_evidence").is_null()
            | (pl.col("other_evidence") < pl.col("owner_evidence") + settings.id_conflict_margin)
        )
        & (
            ~pl.col("owner_by_evidence")
            | pl.col("other_weight").is_null()
            | (pl.col("owner_weight") >= pl.col("other_weight") + settings.min_auto_margin)
        )
    )
    id_conflict = one_owner & pl.col("owner_gate") & ~link_owner
    margin = (pl.col("best_weight") - pl.col("second_weight")).fill_null(float("inf"))
    strong_best = pl.col("best_gate") & (pl.col("best_score") >= settings.min_auto_score)
    # A namesake who merely shares the birth date also lives in the vaccination province only
    # with odds 2^-residence_weight: the residence evidence counts for the alternative too.
    absent_risk = (
        settings.absent_share
        * pl.col("namesakes").fill_null(0)
        / 365.0
        * pl.lit(2.0).pow(-pl.col("best_residence_weight").fill_null(0.0))
    )
    maybe_unregistered = ~pl.col("best_id_evidence") & (absent_risk > settings.max_absent_risk)
    search_link = (
        ~id_conflict
        & ~pl.col("truncated")
        & strong_best
        & ((pl.col("n_fit") <= 1) | pl.col("best_id_evidence") | pl.col("best_same_commune"))
        & (margin >= settings.min_auto_margin)
        & ~maybe_unregistered
    )
    has_candidate = (pl.col("candidate_count") > 0) & (pl.col("best_score") >= settings.min_review_score)
    review_rule = (
        pl.when(id_conflict)
        .then(pl.lit(Rule.ID_CONFLICT.value))
        .when(pl.col("truncated"))
        .then(pl.lit(Rule.BLOCK_TOO_LARGE.value))
        .when((pl.col("n_fit") > 1) & ~pl.col("best_id_evidence") & ~pl.col("best_same_commune"))
        .then(pl.lit(Rule.AMBIGUOUS_NAME_DOB.value))
        .when(pl.col("best_id_exact"))
        .then(pl.lit(Rule.ID_OWNER_MISMATCH.value))
        .when(strong_best & (margin < settings.min_auto_margin))
        .then(pl.lit(Rule.LOW_MARGIN.value))
        .when(strong_best & maybe_unregistered)
        .then(pl.lit(Rule.MAYBE_UNREGISTERED.value))
        .otherwise(pl.lit(Rule.WEAK_CANDIDATE.value))
    )
    return table.select(
        "_rec",
        "candidate_count",
        "n_owners",
        status=pl.when(link_owner | search_link.fill_null(False))
        .then(pl.lit(LINKED))
        .when(has_candidate | pl.col("truncated"))
        .then(pl.lit(MatchStatus.REVIEW.value))
        .otherwise(pl.lit(MatchStatus.UNMATCHED.value)),
        chosen_reg=pl.when(link_owner)
        .then(pl.col("owner_reg"))
        .when(search_link.fill_null(False) | has_candidate)
        .then(pl.col("best_reg")),
        decision_rule=pl.when(link_owner)
        .then(pl.lit(Rule.ID_MATCH.value))
        .when(search_link.fill_null(False))
        .then(pl.lit(Rule.CANDIDATE_MATCH.value))
        .when(has_candidate | pl.col("truncated"))
        .then(review_rule)
        .when(pl.col("candidate_count") == 0)
        .then(pl.lit(Rule.NO_CANDIDATE.value))
        .otherwise(pl.lit(Rule.NO_PLAUSIBLE_CANDIDATE.value)),
        evidence=pl.when(link_owner & pl.col("owner_by_evidence") & pl.col("owner_explained"))
        .then(pl.lit(Evidence.CCCD_BIRTH_YEAR.value))
        .when(link_owner & pl.col("owner_by_evidence"))
        .then(pl.lit(Evidence.COMBINED_WEIGHT.value)),
    ).with_columns(pl.col("n_owners").cast(pl.Int32))


CORRECTION_COLUMNS = (
    "source_file", "source_row", "person_id", "field", "current_value", "corrected_value", "rule", "action",
)  # fmt: skip
"""correction_sets columns, in contract order."""


def name_rule() -> pl.Expr:
    """Correction rule for the name, NULL when the names agree up to formatting."""
    level = pl.col("name_level")
    return (
        pl.when(level == NameLevel.EXACT_WITHOUT_DIACRITICS)
        .then(pl.lit(CorrectionRule.NAME_NO_DIACRITICS.value))
        .when((level == NameLevel.TYPO) & (pl.col("r_name_key") == pl.col("p_name_key")))
        .then(pl.lit(CorrectionRule.NAME_DIACRITICS.value))
        .when(level == NameLevel.TYPO)
        .then(pl.lit(CorrectionRule.NAME_TYPO.value))
        .when(level == NameLevel.MIDDLE_NAME_MISSING)
        .then(pl.lit(CorrectionRule.NAME_MIDDLE_NAME.value))
        .when((level == NameLevel.NULL) & pl.col("p_name_canon").is_not_null())
        .then(pl.lit(CorrectionRule.NAME_MISSING.value))
        .when(level == NameLevel.DIFFERENT)
        .then(pl.lit(CorrectionRule.NAME_DIFFERENT.value))
    )


def dob_rule() -> pl.Expr:
    """Correction rule for the date of birth, NULL when the dates agree."""
    level = pl.col("dob_level")
    return (
        pl.when((level == DobLevel.YEAR_ONLY_AGREES) & pl.col("r_birth_month").is_null())
        .then(pl.lit(CorrectionRule.DOB_YEAR_ONLY.value))
        .when(level == DobLevel.YEAR_ONLY_AGREES)
        .then(pl.lit(CorrectionRule.DOB_REGISTRY_YEAR_ONLY.value))
        .when(level == DobLevel.DAY_MONTH_SWAPPED)
        .then(pl.lit(CorrectionRule.DOB_DAY_MONTH_SWAP.value))
        .when(level == DobLevel.ONE_DIGIT_OFF)
        .then(pl.lit(CorrectionRule.DOB_ONE_DIGIT.value))
        .when(level == DobLevel.YEAR_OFF_BY_ONE)
        .then(pl.lit(CorrectionRule.DOB_YEAR_OFF_BY_ONE.value))
        .when(level == DobLevel.YEAR_DIFFERS)
        .then(pl.lit(CorrectionRule.DOB_YEAR_WRONG.value))
        .when(level == DobLevel.PLACEHOLDER_0101)
        .then(pl.lit(CorrectionRule.DOB_PLACEHOLDER_0101.value))
        .when((level == DobLevel.NULL) & pl.col("p_birth_year").is_not_null())
        .then(pl.lit(CorrectionRule.DOB_MISSING.value))
        .when(level == DobLevel.DIFFERENT)
        .then(pl.lit(CorrectionRule.DOB_DIFFERENT.value))
    )


def id_rule() -> pl.Expr:
    """Correction rule for the ID number, NULL when the record already carries the person_id."""
    level = pl.col("id_level")
    issue = pl.col("id_issue")
    return (
        pl.when(pl.col("r_id_number") == pl.col("p_person_id"))
        .then(None)
        .when(level == IdLevel.EXACT_CMND)
        .then(pl.lit(CorrectionRule.ID_CMND_TO_CCCD.value))
        .when(level == IdLevel.NEAR_MISS)
        .then(pl.lit(CorrectionRule.ID_NEAR_MISS.value))
        .when(pl.col("r_id_number").is_null() & (issue == "scientific_notation"))
        .then(pl.lit(CorrectionRule.ID_UNRECOVERABLE.value))
        .when(pl.col("r_id_number").is_null() & (issue == "malformed"))
        .then(pl.lit(CorrectionRule.ID_MALFORMED.value))
        .when(pl.col("r_id_number").is_null() & pl.col("id_raw").fill_null("").str.contains(r"\S"))
        .then(pl.lit(CorrectionRule.ID_MALFORMED.value))
        .when(pl.col("r_id_number").is_null())
        .then(pl.lit(CorrectionRule.ID_MISSING.value))
        .when(pl.col("n_owners") > 0)
        .then(pl.lit(CorrectionRule.ID_OTHER_PERSON.value))
        .otherwise(pl.lit(CorrectionRule.ID_NOT_IN_REGISTRY.value))
    )


def corrections(chosen: pl.DataFrame) -> pl.DataFrame:
    """Long correction rows for chosen pairs (needs the scored pair columns plus `action`, record
    `full_name`, `dob_text`, `id_issue`, `id_raw`, person `p_full_name`, `p_dob_text`, and
    `source_file`, `source_row`, `n_owners`)."""
    key = [pl.col("source_file"), pl.col("source_row"), pl.col("p_person_id").alias("person_id")]
    fields = [
        ("full_name", name_rule(), pl.col("full_name"), pl.col("p_full_name")),
        ("date_of_birth", dob_rule(), pl.col("dob_text"), pl.col("p_dob_text")),
        (
            "gender",
            pl.when(pl.col("gender_level") == GenderLevel.DISAGREE).then(pl.lit(CorrectionRule.GENDER_DIFFERENT.value)),
            pl.col("r_gender"),
            pl.col("p_gender"),
        ),
        ("id_number", id_rule(), pl.coalesce(pl.col("r_id_number"), pl.col("id_raw")), pl.col("p_person_id")),
    ]
    carry = [pl.col("_rec")] if "_rec" in chosen.columns else []
    parts = [
        chosen.select(
            *key,
            *carry,
            field=pl.lit(field),
            current_value=current.cast(pl.String),
            corrected_value=corrected.cast(pl.String),
            rule=rule,
            action=pl.col("action"),
        ).filter(pl.col("rule").is_not_null())
        for field, rule, current, corrected in fields
    ]
    carried = ["_rec"] if "_rec" in chosen.columns else []
    return pl.concat(parts).select(*CORRECTION_COLUMNS, *carried)


def never_bolder(decisions: pl.DataFrame, cautious: pl.DataFrame) -> pl.DataFrame:
    """A link stands only where the cautious decision (hand-set weights) links the same person too; elsewhere the
    cautious decision holds: calibrated weights may make the linkage more careful, never bolder."""
    both = decisions.join(cautious.select("_rec", c_status="status", c_reg="chosen_reg"), on="_rec", how="left")
    agreed = (pl.col("c_status") == LINKED) & (pl.col("c_reg") == pl.col("chosen_reg"))
    keep = (pl.col("status") != LINKED) | agreed.fill_null(False)
    overruled = both.filter(~keep).select("_rec")
    kept = both.filter(keep).drop("c_status", "c_reg")
    return pl.concat([kept, cautious.join(overruled, on="_rec", how="semi")], how="diagonal_relaxed").sort("_rec")
