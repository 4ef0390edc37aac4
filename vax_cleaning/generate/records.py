"""Dose records as sites wrote them: one row per record, with its ground truth alongside."""

from __future__ import annotations

import numpy as np
import polars as pl

from vax_cleaning.reference import vaccines

BLANK_GENDER_SHARE = 0.02
BLANK_PHONE_SHARE = 0.10
BLANK_ADDRESS_SHARE = 0.05
ALIAS_CASE_NOISE_SHARE = 0.04


def vaccine_spellings() -> dict[str, list[str]]:
    """Vaccine code -> the name and aliases seen in exports (name first)."""
    table = vaccines()
    return {
        code: list(dict.fromkeys([name, *aliases.split("|")]))
        for code, name, aliases in zip(table["code"], table["name"], table["aliases"], strict=True)
    }


def write_vaccine_names(rng: np.random.Generator, codes: pl.Series, avoid: pl.Series | None = None) -> pl.Series:
    """How each record spells its vaccine: mostly the name or first alias, sometimes other aliases or cases."""
    codes_np = codes.to_numpy()
    out = np.empty(len(codes), dtype=object)
    avoid_np = avoid.to_numpy() if avoid is not None else None
    for code, spellings in vaccine_spellings().items():
        rows = np.flatnonzero(codes_np == code)
        weights = np.array([4.0, 3.0] + [3.0 / max(1, len(spellings) - 2)] * (len(spellings) - 2))[: len(spellings)]
        choice = rng.choice(len(spellings), len(rows), p=weights / weights.sum())
        if avoid_np is not None and len(spellings) > 1:  # a re-upload spelled differently
            same = np.array(spellings, dtype=object)[choice] == avoid_np[rows]
            choice[same] = (choice[same] + 1) % len(spellings)
        out[rows] = np.array(spellings, dtype=object)[choice]
    names = pl.Series("vaccine_text", out, dtype=pl.String)
    noise = pl.Series(
        rng.choice(
            3, len(codes), p=[1 - ALIAS_CASE_NOISE_SHARE, ALIAS_CASE_NOISE_SHARE / 2, ALIAS_CASE_NOISE_SHARE / 2]
        )
    )
    frame = pl.DataFrame({"v": names, "n": noise})
    return frame.select(
        vaccine_text=pl.when(pl.col("n") == 1)
        .then(pl.col("v").str.to_uppercase())
        .when(pl.col("n") == 2)
        .then(pl.col("v").str.to_lowercase())
        .otherwise("v")
    )["vaccine_text"]


def blank_some(rng: np.random.Generator, n: int, share: float) -> pl.Expr:
    """A mask of rows where a site left an optional field empty."""
    return pl.lit(pl.Series(rng.random(n) < share))


def build_records(
    rng: np.random.Generator,
    people: pl.DataFrame,
    doses: pl.DataFrame,
    file_of_dose: np.ndarray,
    files: pl.DataFrame,
) -> pl.DataFrame:
    """One clean written record per dose (errors come later), with the truth alongside."""
    n = len(doses)
    person = people.select(
        "person_key",
        "person_id",
        "in_registry",
        "family",
        "middle",
        "given",
        "gender",
        "birth_year",
        "birth_month",
        "birth_day",
        "card_id",
        "old_id",
        "relative_person_id",
        "phone",
        "address",
        "absent_blank_id",
    )[doses["person_row"].to_numpy()]
    records = (
        pl.concat([doses.drop("person_row"), person], how="horizontal")
        .with_columns(
            rec_id=pl.int_range(pl.len(), dtype=pl.Int64),
            file_id=pl.Series(file_of_dose, dtype=pl.Int32),
            true_person_id=pl.col("person_id"),
            id_text=pl.when(~pl.col("absent_blank_id")).then("card_id"),
            gender=pl.when(~blank_some(rng, n, BLANK_GENDER_SHARE)).then("gender"),
            phone=pl.when(~blank_some(rng, n, BLANK_PHONE_SHARE)).then("phone"),
            address=pl.when(~blank_some(rng, n, BLANK_ADDRESS_SHARE)).then("address"),
            vaccine_text=write_vaccine_names(rng, doses["vaccine_code"]),
            dose_written=pl.col("dose_number"),
            vdate_written=pl.col("vaccination_date"),
            sort_day=pl.col("vaccination_date"),  # where the row sits in its file (garbage keeps its template's)
            vdate_text=pl.lit(None, pl.String),
            expected_rejection=pl.lit(None, pl.String),
            duplicate_of=pl.lit(None, pl.Int64),
            field_delta=pl.lit(0, pl.Int8),
        )
        .drop("person_id", "absent_blank_id")
    )
    return records.join(
        files.select("file_id", "fmt", "ids_as_numbers"), on="file_id", how="left", maintain_order="left"
    )


TRUTH_COLUMNS = ("person_key", "true_person_id", "in_registry", "vaccine_code", "dose_number", "vaccination_date")
"""Columns that describe the real dose, not what was written."""


def order_in_files(rng: np.random.Generator, records: pl.DataFrame) -> pl.DataFrame:
    """Sort each file's rows by vaccination day (ties at random) and number them 1..n (source_row)."""
    records = records.with_columns(_tie=pl.lit(pl.Series(rng.random(len(records)))))
    records = records.sort("file_id", "sort_day", "_tie").drop("_tie")
    records = move_blank_rows_off_the_end(records)
    return records.with_columns(source_row=pl.int_range(1, pl.len() + 1, dtype=pl.Int32).over("file_id"))


def move_blank_rows_off_the_end(records: pl.DataFrame) -> pl.DataFrame:
    """A blank line cannot end a file (the final newline makes no record), so swap it upwards."""
    blank = (records["expected_rejection"] == "blank").fill_null(False).to_numpy()
    file_id = records["file_id"].to_numpy()
    last = np.flatnonzero(np.append(file_id[1:] != file_id[:-1], True))
    order = np.arange(len(records))
    for end in last[blank[last]]:
        candidates = np.flatnonzero((file_id == file_id[end]) & ~blank)
        if len(candidates):
            swap = candidates[-1]
            order[end], order[swap] = order[swap], order[end]
    return records[order]
