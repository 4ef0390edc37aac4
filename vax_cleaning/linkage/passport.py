"""Vaccine-passport eligibility, decided in this one place."""

from __future__ import annotations

import polars as pl

from vax_cleaning.reference import vaccines
from vax_cleaning.vocabulary import LINKED_STATUSES, values


def passport_ready(linked: pl.DataFrame) -> pl.DataFrame:
    """One row per linked person: person_id, doses_linked, eligible.

    `linked` needs person_id, match_status, vaccination_date, dose_number, vaccine_code (any
    number of provinces). `eligible`: the linked doses fall on at least N distinct vaccination
    dates, N = primary_series_doses of the vaccine of the person's earliest linked dose (earliest
    vaccination_date, then lower dose_number, then vaccine_code alphabetically). Mixed schedules
    count: the doses after the first need not be of the same vaccine.
    """
    doses = linked.filter(pl.col("match_status").is_in(values(LINKED_STATUSES)) & pl.col("person_id").is_not_null())
    series = vaccines().select(pl.col("code").alias("first_vaccine"), pl.col("primary_series_doses"))
    return (
        doses.group_by("person_id")
        .agg(
            doses_linked=pl.len().cast(pl.Int64),
            distinct_dates=pl.col("vaccination_date").n_unique(),
            first_vaccine=pl.col("vaccine_code").sort_by("vaccination_date", "dose_number", "vaccine_code").first(),
        )
        .join(series, on="first_vaccine", how="left")
        .select(
            "person_id",
            "doses_linked",
            eligible=(pl.col("distinct_dates") >= pl.col("primary_series_doses")).fill_null(False),
        )
        .sort("person_id")
    )
