"""Duplicate doses: the same dose of the same person recorded by more than one row.

A dose is identified by (person_id, vaccination_date, vaccine_code). Of the linked copies of one
dose, the *keeper* is the copy with the smallest (source_file, source_row) -- byte order of the
NFC path, then row number -- across this batch and the already-linked records of other
provinces; every other copy is `duplicate` of the keeper. The choice is deterministic and does
not depend on the order in which provinces are processed.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

DOSE_KEY = ("person_id", "vaccination_date", "vaccine_code")
"""Columns identifying one dose of one person."""
ROW_KEY = ("source_file", "source_row")
"""Columns identifying one dose record."""
OTHER_LINKED_COLUMNS = (*ROW_KEY, *DOSE_KEY)
"""Columns expected in the frame of already-linked records of other provinces."""


@dataclass(frozen=True)
class Duplicates:
    """Duplicate copies found for a batch."""

    in_batch: pl.DataFrame
    """Batch records that are duplicates: source_file, source_row, duplicate_of_file, duplicate_of_row."""
    superseded: pl.DataFrame
    """Other-province records whose keeper is now a record of this batch (same columns)."""


def find_duplicates(linked: pl.DataFrame, other_linked: pl.DataFrame | None = None) -> Duplicates:
    """Keeper = smallest (source_file, source_row) per dose; every other linked copy is a duplicate of it."""
    batch = linked.select(OTHER_LINKED_COLUMNS).with_columns(in_batch=pl.lit(True))
    frames = [batch]
    if other_linked is not None and other_linked.height:
        other = (
            other_linked.select(OTHER_LINKED_COLUMNS)
            .cast({"source_row": batch.schema["source_row"], "vaccination_date": batch.schema["vaccination_date"]})
            .join(batch.select(ROW_KEY), on=list(ROW_KEY), how="anti")
            .with_columns(in_batch=pl.lit(False))
        )
        frames.append(other)
    dose = pl.struct(DOSE_KEY)
    copies = (  # doses recorded once need no ranking; a 64-bit hash finds the few candidates cheaply, then exactly
        pl.concat([frame.lazy() for frame in frames])
        .filter(pl.all_horizontal([pl.col(c).is_not_null() for c in DOSE_KEY]))
        .filter(dose.hash().is_duplicated())
        .filter(dose.is_duplicated())
        .collect()
    )
    ranked = copies.sort([*DOSE_KEY, *ROW_KEY]).with_columns(
        duplicate_of_file=pl.col("source_file").first().over(DOSE_KEY),
        duplicate_of_row=pl.col("source_row").first().over(DOSE_KEY),
        keeper_in_batch=pl.col("in_batch").first().over(DOSE_KEY),
    )
    not_keeper = (pl.col("source_file") != pl.col("duplicate_of_file")) | (
        pl.col("source_row") != pl.col("duplicate_of_row")
    )
    columns = [*ROW_KEY, "duplicate_of_file", "duplicate_of_row"]
    return Duplicates(
        in_batch=ranked.filter(not_keeper & pl.col("in_batch")).select(columns),
        superseded=ranked.filter(not_keeper & ~pl.col("in_batch") & pl.col("keeper_in_batch")).select(columns),
    )
