"""Duplicate records: the same dose uploaded twice, in the same file, another file, or another province."""

from __future__ import annotations

import numpy as np
import polars as pl

from vax_cleaning.generate.errors import pick, stochastic_round
from vax_cleaning.generate.files import FileSpec
from vax_cleaning.generate.records import write_vaccine_names

DUPLICATE_RATE = 0.015
"""Duplicate records per accepted original record."""

DUPLICATE_PLACEMENT: dict[str, float] = {"same_file": 0.40, "same_province": 0.45, "other_province": 0.15}
"""Where the second upload lands."""

DUPLICATE_VARIANTS: dict[str, float] = {"exact": 0.65, "name_upper": 0.20, "vaccine_alias": 0.15}
"""How the second upload differs: not at all, name re-typed in capitals, vaccine spelled differently."""


def target_files(rng: np.random.Generator, source: np.ndarray, specs: list[FileSpec]) -> np.ndarray:
    """File of each duplicate: same file, another file of the province, or another province's file."""
    province_of = np.array([s.province_code for s in specs], dtype=object)
    by_province = {
        code: np.array([s.file_id for s in specs if s.province_code == code])
        for code in dict.fromkeys(province_of.tolist())
    }
    codes = list(by_province)
    placement = rng.choice(3, len(source), p=list(DUPLICATE_PLACEMENT.values()))
    source_province = province_of[source]
    target = source.copy()
    other_province = source_province.copy()
    if len(codes) > 1:
        shift = rng.integers(1, len(codes), len(source))
        index = np.array([codes.index(c) for c in source_province]) if len(source) else np.zeros(0, int)
        other_province = np.array(codes, dtype=object)[(index + shift) % len(codes)]
    chosen_province = np.where(placement == 2, other_province, source_province)
    for code, files in by_province.items():
        rows = np.flatnonzero((placement > 0) & (chosen_province == code))
        target[rows] = files[rng.integers(0, len(files), len(rows))]
    return target


def make_duplicates(
    rng: np.random.Generator, records: pl.DataFrame, specs: list[FileSpec], rate: float = DUPLICATE_RATE
) -> pl.DataFrame:
    """Second uploads of some accepted records, pointing back to them through `duplicate_of`."""
    n = len(records)
    chosen = np.sort(pick(rng, np.arange(n), stochastic_round(rng, rate * n)))
    dups = records[chosen]
    k = len(dups)
    file_id = target_files(rng, dups["file_id"].to_numpy(), specs)
    variant = pl.lit(pl.Series(rng.choice(3, k, p=list(DUPLICATE_VARIANTS.values()))))
    province_of = np.array([s.province_code for s in specs], dtype=object)  # file_id indexes specs
    upper = (variant == 1) & (pl.col("full_name").str.to_uppercase() != pl.col("full_name"))
    return dups.with_columns(
        rec_id=pl.int_range(pl.len(), dtype=pl.Int64) + records["rec_id"].max() + 1,
        duplicate_of=pl.col("rec_id"),
        file_id=pl.Series(file_id, dtype=pl.Int32),
        province_code=pl.Series(province_of[file_id], dtype=pl.String),
        full_name=pl.when(upper).then(pl.col("full_name").str.to_uppercase()).otherwise("full_name"),
        vaccine_text=pl.when(variant == 2)
        .then(pl.lit(write_vaccine_names(rng, dups["vaccine_code"], avoid=dups["vaccine_text"])))
        .otherwise("vaccine_text"),
        error_kinds=pl.when(upper & ~pl.col("error_kinds").list.contains("case_spacing"))
        .then(pl.col("error_kinds").list.concat(pl.lit(["case_spacing"])))
        .otherwise("error_kinds"),
    )
