"""Province partitions: one static partition per province, keyed '<code> <name>' so the UI reads well."""

from __future__ import annotations

import dagster as dg

from vax_cleaning.reference import province_names


def partition_key(province_code: str) -> str:
    """'79' -> '79 Hồ Chí Minh'; the code leads so keys sort by GSO code."""
    return f"{province_code} {province_names()[province_code]}"


def province_code(partition_key_: str) -> str:
    """'79 Hồ Chí Minh' -> '79'."""
    return partition_key_.split(" ", 1)[0]


province_partitions = dg.StaticPartitionsDefinition([partition_key(code) for code in province_names()])
