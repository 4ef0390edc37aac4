"""Reference facts the pipeline needs: provinces and vaccines (copied from shared/reference)."""

from __future__ import annotations

from functools import cache
from importlib import resources

import polars as pl

CAMPAIGN_START = "2021-03-08"
"""Vietnam's Covid-19 vaccination campaign began on this day; earlier dates are errors."""


def _read(name: str) -> pl.DataFrame:
    with resources.files(__package__).joinpath(name).open("rb") as handle:
        return pl.read_csv(handle.read(), infer_schema=False)


@cache
def provinces() -> pl.DataFrame:
    """The 63 provinces of 2021-2022: code (2-digit GSO), name, region, population_2022_thousands."""
    return _read("provinces.csv").with_columns(pl.col("population_2022_thousands").cast(pl.Int64))


@cache
def province_names() -> dict[str, str]:
    """Code -> Vietnamese name, for labels."""
    return dict(zip(provinces()["code"], provinces()["name"], strict=True))


@cache
def vaccines() -> pl.DataFrame:
    """Vaccines used in Vietnam: code, name, aliases, primary_series_doses, min_interval_days."""
    return _read("vaccines.csv").with_columns(
        pl.col("primary_series_doses").cast(pl.Int32),
        pl.col("min_interval_days").cast(pl.Int32),
    )


@cache
def vaccine_aliases() -> pl.DataFrame:
    """One row per accepted spelling: alias_key (case-folded, spaces squeezed) -> vaccine code."""
    return (
        vaccines()
        .select("code", alias=pl.concat_str("name", pl.lit("|"), "aliases").str.split("|"))
        .explode("alias")
        .select(alias_key=alias_key(pl.col("alias")), vaccine_code="code")
        .unique()
    )


def alias_key(text: pl.Expr) -> pl.Expr:
    """Spelling-insensitive key for vaccine names: 'Astra  zeneca ' == 'astra zeneca'."""
    return text.str.strip_chars().str.to_lowercase().str.replace_all(r"\s+", " ")
