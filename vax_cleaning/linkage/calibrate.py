"""Calibration of the comparison weights on each run's data, bounded by the hand-set model.

Splink's approach, in small. u (how often a level occurs between two *different* people) is estimated
from random pairs of registry people; m (how often it occurs for the *same* person) by expectation-
maximisation over the comparison patterns of a deterministic sample of the run's candidate pairs (the
ID owners and the blocked candidates of ~20,000 records). The fitted weight log2(m/u) of a level is
applied only between `hand-set - calibration_max_tighten` and the hand-set weight; and since a lower
weight on one level can still widen a margin over a runner-up, a record links only where the hand-set
weights link it to the same person too (`link_doses(..., baseline=...)`, `classify.never_bolder`): a
batch of unusual or bad data can make the linkage more cautious, never bolder. Name (exact levels also weighed by the
name's frequency, classify.name_weight), birth date and gender are calibrated; residence, address and
ID weights stay as set. Small runs (tests, a pilot commune) keep the hand-set weights.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from vax_cleaning.linkage.block import (
    RegistryCounts,
    blocked_pairs,
    build_block_index,
    exact_id_pairs,
    gather_pairs,
    record_block_keys,
)
from vax_cleaning.linkage.compare import DobLevel, GenderLevel, Level, NameLevel, compare_pairs
from vax_cleaning.linkage.normalize import as_registry_features, record_features
from vax_cleaning.linkage.settings import LevelWeights, LinkageSettings

CALIBRATED: dict[str, tuple[str, type[Level]]] = {
    "name_level": ("name_weights", NameLevel),
    "dob_level": ("dob_weights", DobLevel),
    "gender_level": ("gender_weights", GenderLevel),
}
"""Level column -> (settings field, levels) of the comparisons EM calibrates."""

SAMPLE_RECORDS = 10_000
"""Records whose candidate pairs EM fits on (~13,000 pairs): enough for every level that matters, well under a
second whatever the batch size."""
MIN_PAIRS = 10_000
"""Fewer candidate pairs than this (or a registry smaller than MIN_PEOPLE): the hand-set weights, unchanged."""
MIN_PEOPLE = 10_000
U_PAIRS = 400_000
"""Random registry pairs for the u estimate (an exact birth date, u ~1/25,000, is seen ~16 times: fewer pairs make
its u noisy, and a noisy u only ever tightens the applied weight)."""
EM_ITERATIONS = 30


@dataclass(frozen=True)
class RegistryRows:
    """The whole registry, row by position: u needs random pairs of all of it, while a province run holds only the
    people its records can reach (reach.py)."""

    size: int
    at: Callable[[np.ndarray], pl.DataFrame]
    """Registry features of the given (sorted, distinct) positions, in that order."""

    @classmethod
    def of(cls, people: pl.DataFrame) -> RegistryRows:
        """A registry held whole in memory."""
        return cls(people.height, lambda positions: people[positions])


@dataclass(frozen=True)
class Calibration:
    """The settings a run links with, and what EM found (for the materialization's metadata)."""

    settings: LinkageSettings
    fitted: dict[str, float]
    """log2(m/u) as fitted, per `name_weight.exact` etc. (empty when the run was too small)."""
    pairs: int
    match_share: float | None
    """EM's share of candidate pairs that are the same person."""

    def as_metadata(self) -> dict[str, float | int | str]:
        """Fitted and applied weight per level, side by side with the hand-set one."""
        if not self.fitted:
            return {
                "calibrated": "no: too few candidate pairs or registry people; hand-set weights",
                "pairs": self.pairs,
            }
        applied = self.settings.as_metadata()
        rows = {
            f"{key} (fitted / applied)": f"{value:+.1f} / {applied[key]:+.1f}" for key, value in self.fitted.items()
        }
        return {"calibrated": "yes", "pairs": self.pairs, "match_share": round(self.match_share or 0.0, 4), **rows}


def calibrate(
    doses: pl.DataFrame,
    registry: pl.DataFrame,
    settings: LinkageSettings,
    whole: RegistryRows | None = None,
    counts: RegistryCounts | None = None,
) -> Calibration:
    """Fit m by EM on a sample of this batch's candidate pairs and u on random registry pairs; bounded weights.

    `registry`: the people the batch can reach (or the whole registry); `whole` and `counts`: the whole registry's
    rows and oversized blocks, when `registry` is not all of it."""
    if {"name_key", "name_share"} <= set(registry.columns):  # stored features: index them, copy nothing
        people = registry.with_columns(_reg=pl.int_range(pl.len(), dtype=pl.UInt32))
    else:
        people = as_registry_features(registry)
    whole = RegistryRows.of(people) if whole is None else whole
    oversized = None if counts is None else counts.oversized
    levels = _sample_levels(doses, people, settings, oversized)
    if levels.height < MIN_PAIRS or whole.size < MIN_PEOPLE:
        return Calibration(settings, {}, levels.height, None)
    u = estimate_u(whole, settings)
    m, match_share = fit_m(levels, u, settings)
    fitted, replaced = {}, {}
    for column, (field, enum) in CALIBRATED.items():
        hand: LevelWeights = getattr(settings, field)
        weights = dict(hand)
        for level in enum:
            if level.name == "NULL" or m[column].get(int(level), 0.0) <= 0 or u[column].get(int(level), 0.0) <= 0:
                continue
            fit = round(math.log2(m[column][int(level)] / u[column][int(level)]), 2)  # a rerun links the same
            fitted[f"{field.removesuffix('s')}.{level.label}"] = fit
            weights[level] = min(hand[level], max(fit, hand[level] - settings.calibration_max_tighten))
        replaced[field] = weights
    return Calibration(dataclasses.replace(settings, **replaced), fitted, levels.height, match_share)


def calibration_sample(doses: pl.DataFrame) -> pl.DataFrame:
    """The records the calibration fits on: the same on every rerun of the batch, and a sample's sample is itself
    (so a province run may fetch the registry people of the sample alone: reach.py)."""
    order = pl.struct("source_file", "source_row").hash(seed=7)
    # ~2x the sample by hash range first (no sort of millions of rows), then the lowest hashes of those
    bound = (2**64 - 1) * min(1.0, 2 * SAMPLE_RECORDS / max(doses.height, 1))
    candidates = doses.with_columns(_order=order).filter(pl.col("_order") <= bound)
    return candidates.sort("_order").head(SAMPLE_RECORDS).drop("_order")


def _sample_levels(
    doses: pl.DataFrame, people: pl.DataFrame, settings: LinkageSettings, oversized: pl.Series | None
) -> pl.DataFrame:
    """Comparison levels of the ID owners and blocked candidates of a deterministic sample of records."""
    if doses.is_empty():
        return pl.DataFrame(schema={column: pl.Int8 for column in CALIBRATED})
    records = record_features(calibration_sample(doses))
    index = build_block_index(people, settings.max_block_size, record_block_keys(records), oversized)
    pairs = pl.concat([exact_id_pairs(records, people), blocked_pairs(records, index).pairs.select("_rec", "_reg")])
    compared = compare_pairs(
        gather_pairs(pairs.unique(), records, people), settings.typo_max_edits, settings.typo_min_similarity
    )
    return compared.select(list(CALIBRATED))


def estimate_u(
    whole: RegistryRows | pl.DataFrame, settings: LinkageSettings, pairs: int = U_PAIRS, seed: int = 0
) -> dict[str, dict[int, float]]:
    """P(level | two different people) from random registry pairs, each person written as a record would be."""
    whole = RegistryRows.of(whole) if isinstance(whole, pl.DataFrame) else whole
    left, right = _u_pairs(whole.size, pairs, seed)
    # only the sampled people are fetched (the registry may hold 100 M): the left ones written as records
    positions = u_positions(whole.size, pairs, seed)
    people = whole.at(positions).with_columns(_reg=pl.int_range(pl.len(), dtype=pl.UInt32))
    as_records = people[np.searchsorted(positions, left)].with_columns(
        id_number=pl.col("person_id"),
        id_kind=pl.lit("cccd"),
        id_birth_year=pl.lit(None, pl.Int32),
        id_gender=pl.lit(None, pl.String),
    )
    frame = pl.DataFrame(
        {"_rec": np.arange(len(left), dtype=np.uint32), "_reg": np.searchsorted(positions, right).astype(np.uint32)}
    )
    compared = compare_pairs(
        gather_pairs(frame, as_records, people), settings.typo_max_edits, settings.typo_min_similarity
    )
    return {column: _shares(compared, column, enum) for column, (_, enum) in CALIBRATED.items()}


def _u_pairs(size: int, pairs: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the random pairs of different people u is estimated from."""
    rng = np.random.default_rng(seed)
    left, right = rng.integers(0, size, pairs), rng.integers(0, size, pairs)
    keep = left != right
    return left[keep], right[keep]


def u_positions(size: int, pairs: int = U_PAIRS, seed: int = 0) -> np.ndarray:
    """The registry positions estimate_u reads (sorted, distinct): known before any fetch, so a province run can
    read them with the other people it needs in one pass over the registry."""
    return np.unique(np.concatenate(_u_pairs(size, pairs, seed)))


def _shares(compared: pl.DataFrame, column: str, enum: type[Level]) -> dict[int, float]:
    """Share of each non-null level (add-one smoothed: a level never seen in the sample is rare, not impossible)."""
    counts = dict(compared.filter(pl.col(column) != -1)[column].value_counts().iter_rows())
    levels = [int(level) for level in enum if level.name != "NULL"]
    total = sum(counts.get(level, 0) for level in levels) + len(levels)
    return {level: (counts.get(level, 0) + 1) / total for level in levels}


def fit_m(
    levels: pl.DataFrame, u: dict[str, dict[int, float]], settings: LinkageSettings
) -> tuple[dict[str, dict[int, float]], float]:
    """EM over the comparison patterns (u fixed): m per level and the share of pairs that match."""
    patterns = levels.group_by(list(CALIBRATED)).len().sort(list(CALIBRATED))  # fixed order: the same sums
    counts = patterns["len"].to_numpy().astype(np.float64)
    columns = {column: patterns[column].to_numpy() for column in CALIBRATED}
    m = {column: _start_m(getattr(settings, field), u[column]) for column, (field, _) in CALIBRATED.items()}
    match_share = 0.1
    for _ in range(EM_ITERATIONS):
        like_m = np.full(len(counts), match_share)
        like_u = np.full(len(counts), 1.0 - match_share)
        for column, values in columns.items():  # a NULL level (-1) is no evidence either way
            like_m *= _lookup(m[column], values)
            like_u *= _lookup(u[column], values)
        posterior = counts * like_m / (like_m + like_u)
        match_share = float(posterior.sum() / counts.sum())
        for column, values in columns.items():
            known = values != -1
            total = posterior[known].sum()
            m[column] = {
                level: (posterior[known & (values == level)].sum() + 1e-6) / (total + 1e-6 * len(u[column]))
                for level in u[column]
            }
    return m, match_share


def _lookup(probabilities: dict[int, float], levels: np.ndarray) -> np.ndarray:
    """Per pattern, the probability of its level (1.0 for NULL: no evidence)."""
    table = np.ones(max(probabilities) + 2)
    for level, probability in probabilities.items():
        table[level + 1] = probability
    return table[levels.astype(np.int64) + 1]


def _start_m(weights: LevelWeights, u: dict[int, float]) -> dict[int, float]:
    """Starting m from the hand-set weights (m = u * 2^weight), normalized."""
    raw = {level: u[level] * 2.0 ** weights[weights.levels(level)] for level in u}
    total = sum(raw.values())
    return {level: value / total for level, value in raw.items()}
