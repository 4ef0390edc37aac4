"""`link_doses`: dose records + registry snapshot -> matched records, corrections, superseded duplicates."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import polars as pl

from vax_cleaning.linkage.block import (
    BlockIndex,
    RegistryCounts,
    blocked_pairs,
    build_block_index,
    exact_id_pairs,
    gather_pairs,
    namesakes,
    record_block_keys,
)
from vax_cleaning.linkage.classify import (
    CORRECTION_COLUMNS,
    LINKED,
    corrections,
    decide,
    never_bolder,
    score_pairs,
    settles_by_id,
    weigh,
)
from vax_cleaning.linkage.compare import (
    LEVEL_COLUMNS,
    AddressLevel,
    id_comparand,
    id_distances,
    id_embedded_level,
    level_labels,
)
from vax_cleaning.linkage.decisions import ReviewInstructions, honour_reviews, review_instructions
from vax_cleaning.linkage.duplicates import DOSE_KEY, find_duplicates
from vax_cleaning.linkage.normalize import as_registry_features, record_features, record_ids
from vax_cleaning.linkage.settings import DEFAULT_SETTINGS, LinkageSettings
from vax_cleaning.linkage.siblings import sibling_keys, vouch
from vax_cleaning.vocabulary import (
    APPLIED_ACTIONS,
    DECIDED_BY_REVIEW_RULES,
    LINKED_STATUSES,
    CorrectionAction,
    DecidedBy,
    Evidence,
    MatchStatus,
    Rule,
    values,
)

DOSE_COLUMNS = (
    "source_file", "source_row", "province_code", "full_name", "date_of_birth", "birth_year", "birth_month",
    "birth_day", "gender", "id_number", "vaccine_code", "dose_number", "vaccination_date",
)  # fmt: skip
"""Columns of raw_dose_exports the linkage needs ..."""
OPTIONAL_DOSE_COLUMNS = ("id_issue", "id_raw", "date_of_birth_raw", "phone", "address")
"""... and those it uses when present (what a reviewer sees of the ID and DOB as written; the phone ties a
person's records together: linkage/siblings.py)."""

REGISTRY_COLUMNS = ("person_id", "full_name", "date_of_birth", "birth_year", "birth_month", "birth_day", "gender")
"""Columns of registry_snapshot the linkage needs (old_id optional)."""

MATCHED_COLUMNS = (
    "source_file", "source_row", "province_code", "match_status", "person_id", "match_score",
    "name_level", "dob_level", "gender_level", "residence_level", "address_level", "id_level", "id_embedded_level", "rule",
    "candidate_person_id", "candidate_count", "duplicate_of_file", "duplicate_of_row", "decided_by", "evidence",
)  # fmt: skip
"""matched columns: the contract's seven, then explanations for reviewers and charts."""

SUPERSEDED_COLUMNS = ("source_file", "source_row", "duplicate_of_file", "duplicate_of_row")
"""superseded columns."""


_KEPT_DOSE_COLUMNS = ("source_file", "source_row", "province_code", "vaccination_date", "vaccine_code")
"""What link_doses still reads from `doses` once the record features are built."""

OtherLinkedLookup = Callable[[pl.DataFrame], pl.DataFrame | None]
"""Given a batch's linked doses (DOSE_KEY columns), the other provinces' linked copies of them (None: none yet)."""

_CHOSEN_COLUMNS = (
    "_rec", "_reg", "score", "name_level", "dob_level", "gender_level", "residence_level", "address_level", "id_level",
    "r_name_key", "p_name_key", "p_name_canon", "r_birth_month", "p_birth_year", "r_gender", "p_gender",
    "r_id_number", "p_person_id",
)  # fmt: skip


@dataclass(frozen=True)
class LinkageResult:
    """Everything one linkage call decides."""

    matched: pl.DataFrame
    """One row per input dose record (MATCHED_COLUMNS)."""
    corrections: pl.DataFrame
    """correction_sets rows (contract columns exactly)."""
    superseded: pl.DataFrame
    """Other-province records that became duplicates of a record of this batch (SUPERSEDED_COLUMNS)."""


def _require(frame: pl.DataFrame, columns: tuple[str, ...], what: str) -> None:
    """Fail early, naming the missing columns, rather than deep inside a join."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} lacks columns {missing}")


def _of_chunk(id_pairs: pl.DataFrame, chunk: pl.DataFrame) -> pl.DataFrame:
    """The exact-ID pairs (found once for the whole batch) of the records in `chunk`."""
    return id_pairs.join(chunk.select("_rec"), on="_rec", how="semi")


def _settle_by_id(
    chunk: pl.DataFrame, id_pairs: pl.DataFrame, records: pl.DataFrame, people: pl.DataFrame, settings: LinkageSettings
) -> pl.DataFrame:
    """Scored exact-ID pairs that need no candidate search (one owner, name and full DOB agree)."""
    pairs = _of_chunk(id_pairs, chunk).filter(pl.col("_rec").is_unique())  # an ID with two owners never settles
    return score_pairs(gather_pairs(pairs, records, people), settings, one_per_record=True).filter(settles_by_id())


def _search(
    chunk: pl.DataFrame,
    id_pairs: pl.DataFrame,
    records: pl.DataFrame,
    people: pl.DataFrame,
    index: BlockIndex,
    settings: LinkageSettings,
    reviews: ReviewInstructions,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Scored pairs (ID owners, blocked candidates, people's links; never an excluded person) and truncated records."""
    owners = _of_chunk(id_pairs, chunk).with_columns(only_id_window=pl.lit(False))
    linked_by_people = _of_chunk(reviews.forced_pairs, chunk).with_columns(only_id_window=pl.lit(False))
    candidates = blocked_pairs(chunk, index)
    pairs = (
        pl.concat([owners, linked_by_people, candidates.pairs], how="vertical_relaxed")
        .join(reviews.excluded_pairs, on=["_rec", "_reg"], how="anti")
        .group_by("_rec", "_reg")
        .agg(pl.col("only_id_window").all())
    )
    scored = score_pairs(gather_pairs(_without_far_ids(pairs, records, people), records, people), settings)
    return scored, candidates.truncated


def _without_far_ids(pairs: pl.DataFrame, records: pl.DataFrame, people: pl.DataFrame) -> pl.DataFrame:
    """Pairs found only through an ID window are kept only when the IDs are equal or one edit apart (IdLevel at least
    NEAR_MISS, all the search ever kept of them): the others (~a quarter of a search's pairs) are dropped before any
    scoring. They never weighed in another pair's score: the per-record aggregates look at exact-ID pairs only."""
    window_only = pairs.filter("only_id_window")
    ids = pl.concat(
        [
            records.select(r_id_number="id_number", r_id_kind="id_kind")[window_only["_rec"]],
            people.select(p_person_id="person_id", p_old_id="old_id")[window_only["_reg"]],
        ],
        how="horizontal",
    )
    equal = (ids["r_id_number"] == ids.select(id_comparand()).to_series()).fill_null(False)
    near_miss = (id_distances(ids) == 1).fill_null(False)
    return pl.concat([pairs.filter(~pl.col("only_id_window")), window_only.filter(near_miss | equal)])


def _decide_chunk(
    scored: pl.DataFrame,
    rec_ids: pl.DataFrame,
    truncated: pl.DataFrame,
    records: pl.DataFrame,
    people: pl.DataFrame,
    settings: LinkageSettings,
    reviews: ReviewInstructions | None = None,
    baseline: LinkageSettings | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Decisions (with the chosen pair's levels and score) and correction rows for the records `rec_ids`."""
    decisions = decide(scored, rec_ids, truncated, settings)
    if baseline is not None and baseline != settings:  # only what the calibrated weights link needs a second look
        linked = decisions.filter(pl.col("status") == LINKED).select("_rec")
        again = scored.join(linked, on="_rec", how="semi")
        cautious = decide(weigh(again, baseline), rec_ids.join(linked, on="_rec", how="semi"), truncated, baseline)
        decisions = never_bolder(decisions, cautious)
    if reviews is not None:
        decisions = honour_reviews(decisions, reviews.per_record)
    chosen = decisions.filter(pl.col("chosen_reg").is_not_null()).join(
        scored.select(_CHOSEN_COLUMNS), left_on=["_rec", "chosen_reg"], right_on=["_rec", "_reg"], how="inner"
    )
    record_side = records.select("source_file", "source_row", "full_name", "dob_text", "id_issue", "id_raw")[
        chosen["_rec"]
    ]
    person_side = people.select(p_full_name="full_name", p_dob_text="dob_text")[chosen["chosen_reg"]]
    chosen = pl.concat([chosen, record_side, person_side], how="horizontal").with_columns(
        action=pl.when(pl.col("decision_rule") == Rule.REVIEW_LINK)
        .then(pl.lit(CorrectionAction.CONFIRMED.value))
        .when(pl.col("status") == LINKED)
        .then(pl.lit(CorrectionAction.AUTO.value))
        .otherwise(pl.lit(CorrectionAction.REVIEW.value))
    )
    decided = decisions.join(
        chosen.select(
            "_rec",
            "score",
            "name_level",
            "dob_level",
            "gender_level",
            "residence_level",
            "address_level",
            "id_level",
            "p_person_id",
        ),
        on="_rec",
        how="left",
    )
    return decided, corrections(chosen)


def _chunks(frame: pl.DataFrame, size: int) -> list[tuple[int, pl.DataFrame]]:
    """(offset, consecutive slice of at most `size` rows); one empty slice for an empty frame."""
    return [(start, frame.slice(start, size)) for start in range(0, max(frame.height, 1), size)]


def link_doses(
    doses: pl.DataFrame,
    registry: pl.DataFrame,
    settings: LinkageSettings | None = None,
    other_linked: pl.DataFrame | OtherLinkedLookup | None = None,
    reviews: pl.DataFrame | None = None,
    baseline: LinkageSettings | None = None,
    counts: RegistryCounts | None = None,
    reach: RegistryReach | None = None,
) -> LinkageResult:
    """Link every dose record to a registry person, or say why not (see classify.py for the cascade).

    `doses`: raw_dose_exports rows of one batch (a province); `registry`: registry_snapshot rows,
    or their features as stored once per snapshot (normalize.registry_features, the registry_features table);
    `settings`: thresholds, weights and chunk sizes (settings.LinkageSettings; None: DEFAULT_SETTINGS);
    `other_linked`: already-linked records of other provinces (source_file, source_row,
    person_id, vaccination_date, vaccine_code), so cross-province duplicates are found -- or a
    lookup returning only those sharing a dose with this batch, so a warehouse need not load them all;
    `reviews`: people's decisions the linkage must honour (decisions.linkage_instructions): applied
    links, not-in-registry and not-this-person decisions, and same-day conflicts;
    `baseline`: the hand-set settings that calibrated `settings` may never be bolder than (a record links only
    where both would link it to the same person; calibrate.py);
    `counts`: namesakes and oversized blocks of the whole registry when `registry` is only the part of it the
    batch can reach (reach.py); None: `registry` is whole;
    `reach`: when `registry` holds only the people the batch's IDs and reviews name (stored features, with
    registry_row), fetches for the records the ID did not settle the people they can reach, with `counts`
    (at most `settings.search_chunk_size` and REACH_PART_RECORDS records at a time).
    Memory: pass `doses` and `registry` as temporaries, and only their indexed forms stay alive.
    """
    settings = DEFAULT_SETTINGS if settings is None else settings
    _require(doses, DOSE_COLUMNS, "doses")
    if "name_key" not in registry.columns:  # snapshot rows, not precomputed features
        _require(registry, REGISTRY_COLUMNS, "registry")
    people = as_registry_features(registry)
    counts = RegistryCounts.of(people) if counts is None else counts
    del registry  # a chunked input frame would otherwise live beside its contiguous copy
    if doses.select(pl.struct("source_file", "source_row").is_duplicated().any()).item():
        raise ValueError("doses has repeated (source_file, source_row)")
    held = _records_with_reviews(doses, reviews)
    siblings = sibling_keys(doses)
    decided, fixes, embedded, rest, owners = _settle_slices(doses, people, settings, held)
    unsettled = doses[rest["_rec"]] if reach is not None else None  # what a reach is asked about
    doses = doses.select(_KEPT_DOSE_COLUMNS)  # names, IDs and birth dates are no longer needed
    for part, part_people, part_counts, part_owners in _search_parts(
        rest, people, counts, owners, reach, unsettled, min(settings.search_chunk_size, REACH_PART_RECORDS)
    ):
        search_decided, search_fixes = _search_all(
            part, part_owners, part_people, part_counts, settings, reviews, baseline
        )
        decided.append(_own_strings(search_decided))
        fixes.append(_own_strings(search_fixes))
        del part, part_people, part_counts, part_owners  # a part's people go before the next part's arrive
    del people, rest, unsettled  # millions of persons: freed before the duplicate search
    decisions = pl.concat(decided, how="diagonal_relaxed")
    correction_rows = pl.concat(fixes, how="vertical_relaxed")
    decisions, correction_rows = vouch(decisions, correction_rows, siblings)
    del siblings
    matched = _assemble(doses, embedded, decisions, correction_rows)
    linked = matched.select("source_file", "source_row", "person_id", "match_status").with_columns(
        doses["vaccination_date"], doses["vaccine_code"]
    )  # matched is in input order: columns line up without a join
    linked = linked.filter(pl.col("match_status").is_in(values(LINKED_STATUSES))).drop("match_status")
    if callable(other_linked):
        other_linked = other_linked(linked.select(DOSE_KEY).unique())
    duplicates = find_duplicates(linked, other_linked)
    matched = _mark_duplicates(matched, duplicates.in_batch)
    duplicate_recs = matched.filter(pl.col("match_status") == MatchStatus.DUPLICATE)["_rec"]
    correction_rows = correction_rows.filter(~pl.col("_rec").is_in(duplicate_recs.implode()))
    if matched.height != doses.height or matched["_rec"].n_unique() != doses.height:
        raise AssertionError("every dose record must appear exactly once in matched")
    decided_by = pl.when(pl.col("rule").is_in(values(DECIDED_BY_REVIEW_RULES))).then(pl.lit(DecidedBy.REVIEW.value))
    return LinkageResult(
        matched=matched.with_columns(decided_by=decided_by.otherwise(pl.lit(DecidedBy.MACHINE.value))).select(
            MATCHED_COLUMNS
        ),
        corrections=correction_rows.select(CORRECTION_COLUMNS),
        superseded=duplicates.superseded.select(SUPERSEDED_COLUMNS),
    )


REACH_PART_RECORDS = 20_000
"""Unsettled records whose reached people are fetched and searched at once: at 100 M people a record reaches ~120,
so a part holds ~2.4 M people. Measured on a 4.86 M-record province at 100 M: peak RSS 9.4 GB in parts of 20,000
(605 s), 12.4 GB in parts of 35,000 (535 s, with a part's people still alive through the next fetch); each part costs
a fetch (~14 s at 100 M), so parts are no smaller than memory needs."""

RegistryReach = Callable[[pl.DataFrame], tuple[pl.DataFrame, RegistryCounts]]
"""Dose records -> (registry_features rows they can reach, in registry order; the whole registry's counts)."""


def _search_parts(
    rest: pl.DataFrame,
    people: pl.DataFrame,
    counts: RegistryCounts,
    owners: pl.DataFrame,
    reach: RegistryReach | None,
    unsettled: pl.DataFrame | None,
    size: int,
) -> Iterator[tuple[pl.DataFrame, pl.DataFrame, RegistryCounts, pl.DataFrame]]:
    """(records, people, counts, ID owners) of each candidate search: all the unsettled records at once against the
    registry held, or, with a reach, `size` records at a time against the people they reach (fetched part by part,
    so a national registry's blocks never sit in memory for a whole province; decisions are per record)."""
    if not rest.height:
        return
    if reach is None:
        yield rest, people, counts, owners
        return
    for offset, part in _chunks(rest, size):
        found = _reached(people, owners, *reach(unsettled.slice(offset, part.height)))
        named = owners.join(part.select("_rec"), on="_rec", how="semi").height
        if found[2].join(part.select("_rec"), on="_rec", how="semi").height != named:
            raise AssertionError("a reach did not fetch every person the IDs of its records name")
        yield part, *found
        del found  # else this part's people would live on through the next part's fetch


def _own_strings(frame: pl.DataFrame) -> pl.DataFrame:
    """String columns copied into buffers of their own: values gathered from a part's people (names, person_ids)
    would otherwise keep that part's whole string buffers alive (~100 MB per 2 M people) after the part is done."""
    return frame.with_columns(
        pl.concat_str(pl.col(name), pl.lit("")).alias(name) for name in frame.columns if frame.schema[name] == pl.String
    )


def _reached(
    people: pl.DataFrame, owners: pl.DataFrame, reached: pl.DataFrame, counts: RegistryCounts
) -> tuple[pl.DataFrame, RegistryCounts, pl.DataFrame]:
    """The reached people indexed, and the ID owners' positions moved to theirs (by registry_row)."""
    reached = as_registry_features(reached)
    moved = (
        owners.join(people.select("_reg", "registry_row"), on="_reg")
        .join(reached.select(_new="_reg", registry_row="registry_row"), on="registry_row")
        .select("_rec", _reg="_new")
    )
    return reached, counts, moved


def _records_with_reviews(doses: pl.DataFrame, reviews: pl.DataFrame | None) -> pl.Series:
    """Batch positions of records people decided on: never settled by the ID phase alone."""
    if reviews is None or reviews.is_empty():
        return pl.Series("_rec", [], pl.UInt32)
    positions = doses.select("source_file", "source_row").with_row_index("_rec")
    return positions.join(reviews.select("source_file", "source_row").unique(), on=["source_file", "source_row"])[
        "_rec"
    ].cast(pl.UInt32)


def _settle_slices(
    doses: pl.DataFrame, people: pl.DataFrame, settings: LinkageSettings, held: pl.Series
) -> tuple[list[pl.DataFrame], list[pl.DataFrame], pl.Series, pl.DataFrame, pl.DataFrame]:
    """Phase 1, slice by slice: for most records the ID settles it (owner found, name and full DOB agree).

    Returns decisions, correction rows, every record's id_embedded_level, the features of the
    unsettled records (batch-wide `_rec`): only those outlive their slice, and the batch's ID owners.
    """
    decided, fixes, embedded, unsettled = [], [], [], []
    owners = batch_id_owners(doses, people)  # one join over the registry, not one per slice
    for offset, dose_slice in _chunks(doses, settings.chunk_size):
        records = record_features(dose_slice)
        slice_owners = owners.filter(pl.col("_rec").is_between(offset, offset + dose_slice.height - 1))
        settled = _settle_by_id(records, _shifted(slice_owners, -offset), records, people, settings)
        settled = settled.filter(~(pl.col("_rec") + offset).is_in(held.implode()))
        slice_decided, slice_fixes = _decide_chunk(
            settled, settled.select("_rec"), pl.DataFrame(schema={"_rec": pl.UInt32}), records, people, settings
        )
        decided.append(_shifted(slice_decided, offset))
        fixes.append(_shifted(slice_fixes, offset))
        embedded.append(records.select(id_embedded_level()).to_series())
        unsettled.append(_shifted(records.join(settled.select("_rec"), on="_rec", how="anti"), offset))
    return decided, fixes, pl.concat(embedded), pl.concat(unsettled), owners


def batch_id_owners(doses: pl.DataFrame, people: pl.DataFrame) -> pl.DataFrame:
    """(_rec, _reg) of every record whose CCCD is a person_id or whose CMND is an old_id (batch positions)."""
    ids = doses.lazy().select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("_rec"), **record_ids()).collect()
    return exact_id_pairs(ids, people)


def _shifted(frame: pl.DataFrame, offset: int) -> pl.DataFrame:
    """Slice-local `_rec` positions -> positions in the whole batch."""
    return frame.with_columns((pl.col("_rec") + offset).cast(pl.UInt32))


def _search_all(
    rest: pl.DataFrame,
    owners: pl.DataFrame,
    people: pl.DataFrame,
    counts: RegistryCounts,
    settings: LinkageSettings,
    reviews: pl.DataFrame | None,
    baseline: LinkageSettings | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Phase 2 for the records the ID did not settle (`rest`, with the batch's ID `owners`): candidate search against an
    index of only their blocks."""
    positions = rest["_rec"]
    records = rest.with_columns(_rec=pl.int_range(pl.len(), dtype=pl.UInt32))  # pair gathers index by position
    instructions = review_instructions(reviews, records, people)
    id_pairs = owners.join(rest.select("_rec", _new=records["_rec"]), on="_rec").select(_rec="_new", _reg="_reg")
    index = build_block_index(people, settings.max_block_size, record_block_keys(records), counts.oversized)
    name_counts = namesakes(records, counts.namesakes)
    decided, fixes = [], []
    for _, chunk in _chunks(records, settings.search_chunk_size):
        scored, truncated = _search(chunk, id_pairs, records, people, index, settings, instructions)
        rec_ids = chunk.select("_rec").join(name_counts, on="_rec", how="left")
        chunk_decided, chunk_fixes = _decide_chunk(
            scored, rec_ids, truncated, records, people, settings, instructions, baseline
        )
        decided.append(chunk_decided)
        fixes.append(chunk_fixes)
    decisions, correction_rows = pl.concat(decided, how="diagonal_relaxed"), pl.concat(fixes, how="vertical_relaxed")
    return (
        decisions.with_columns(_rec=positions.gather(decisions["_rec"])),
        correction_rows.with_columns(_rec=positions.gather(correction_rows["_rec"])),
    )


def _assemble(
    doses: pl.DataFrame, id_embedded: pl.Series, decisions: pl.DataFrame, correction_rows: pl.DataFrame
) -> pl.DataFrame:
    """matched rows before duplicate detection: status from decision + whether an auto correction exists."""
    applied = correction_rows.filter(pl.col("action").is_in(values(APPLIED_ACTIONS)))["_rec"].unique()
    linked = pl.col("status") == LINKED
    base = doses.select("source_file", "source_row", "province_code").with_columns(
        _rec=pl.int_range(pl.len(), dtype=pl.UInt32),
        id_embedded_level=id_embedded,
    )
    return (
        base.join(decisions, on="_rec", how="left")
        .with_columns(has_correction=pl.col("_rec").is_in(applied.implode()))
        .with_columns(
            match_status=pl.when(linked & pl.col("has_correction"))
            .then(pl.lit(MatchStatus.CORRECTED.value))
            .when(linked)
            .then(pl.lit(MatchStatus.VERIFIED.value))
            .otherwise(pl.col("status")),
            person_id=pl.when(linked).then(pl.col("p_person_id")),
            candidate_person_id=pl.when(pl.col("status") == MatchStatus.REVIEW).then(pl.col("p_person_id")),
            match_score=pl.col("score").cast(pl.Float64),
            **{column: level_labels(column) for column in LEVEL_COLUMNS},
            rule=pl.col("decision_rule"),
            duplicate_of_file=pl.lit(None, pl.String),
            duplicate_of_row=pl.lit(None, doses.schema["source_row"]),
            evidence=_evidence(),
        )
        .sort("_rec")
    )


def _evidence() -> pl.Expr:
    """What beyond name, birth date and ID carried a candidate-search link: the address, a sibling record."""
    same_commune = pl.col("address_level") == AddressLevel.SAME_COMMUNE
    by_search = pl.col("decision_rule") == Rule.CANDIDATE_MATCH
    if_address = pl.when(by_search & same_commune).then(pl.lit(Evidence.ADDRESS.value))
    return pl.when(pl.col("evidence").is_not_null()).then(pl.col("evidence")).otherwise(if_address)


def _mark_duplicates(matched: pl.DataFrame, in_batch: pl.DataFrame) -> pl.DataFrame:
    """Turn the non-keeper copies of a dose into `duplicate` (person_id kept, pointer to the keeper)."""
    flagged = matched.drop("duplicate_of_file", "duplicate_of_row").join(
        in_batch.cast({"duplicate_of_row": matched.schema["source_row"]}),
        on=["source_file", "source_row"],
        how="left",
        maintain_order="left",
    )
    is_duplicate = pl.col("duplicate_of_file").is_not_null()
    return flagged.with_columns(
        match_status=pl.when(is_duplicate).then(pl.lit(MatchStatus.DUPLICATE.value)).otherwise(pl.col("match_status")),
        rule=pl.when(is_duplicate).then(pl.lit(Rule.DUPLICATE.value)).otherwise(pl.col("rule")),
    )
