"""Which registry people a batch of dose records can reach: a province run fetches only those from the warehouse
(when the registry is much larger than the batch: `worth_reaching`).

The national registry holds ~100 M people; a province's records can meet only the people sharing one of their
blocking keys (block.py) or named by their IDs or by people's review decisions. Those are fetched with one
DuckDB query of semi-joins, in the registry's row order, so the linkage sees exactly the candidates, blocks,
namesake counts and tie-breaks it would see with the whole registry in memory. Each fetch condition is a
superset of blocking rules (all of a name key and birth year's people, all of a birth date and given name's
people), so every block is fetched whole and its size (max_block_size) is the whole registry's: the result equals
linking against the whole registry, up to 64-bit block-hash collisions (which only ever add a candidate pair).

| fetched when the registry person ... | covers |
|---|---|
| has a record's CCCD as person_id, or its CMND as old_id | the exact-ID owner |
| has a record's name key and birth year | name_year_*, name_year_partial_*, namesake counts |
| has a record's name key, birth month and day | name_monthday |
| has a record's birth date and given name | dob_given |
| has a record's birth date, family and middle name | dob_family_middle |
| has a record's ID with one window of digits masked | the near-miss ID windows |
| is named by a review decision of the province | people's links |
"""

from __future__ import annotations

from contextlib import ExitStack

import duckdb
import polars as pl

from vax_cleaning.linkage.block import BLOCKING_RULES, BlockingRule, IdWindow, with_id_integers
from vax_cleaning.linkage.normalize import date_parts, record_ids, with_name_features
from vax_cleaning.warehouse import read_frame, registered

KEY_TABLES: dict[str, tuple[str, ...]] = {
    "_reach_name_year": ("name_key", "birth_year"),
    "_reach_name_monthday": ("name_key", "birth_month", "birth_day"),
    "_reach_dob_given": ("birth_year", "birth_month", "birth_day", "given_key"),
    "_reach_dob_family": ("birth_year", "birth_month", "birth_day", "family_key", "middle_key"),
}
"""Record-side key tables joined on equally named registry_features columns (rows with a NULL part never meet)."""

_WINDOW_RULES: tuple[BlockingRule, ...] = tuple(rule for rule in BLOCKING_RULES if rule.window is not None)


def reach_keys(doses: pl.DataFrame, person_ids: pl.Series | None = None) -> dict[str, pl.DataFrame]:
    """The batch's keys, one small table each: IDs, name keys, birth date + name parts, masked ID windows."""
    written = doses.lazy().select(
        pl.col("full_name").cast(pl.String),
        *date_parts(),
        *(expr.alias(name) for name, expr in record_ids().items()),
    )
    records = with_name_features(written).collect()
    keys = {
        table: records.select(columns).drop_nulls().unique() for table, columns in KEY_TABLES.items()
    }  # fmt: skip
    keys["_reach_ids"] = records.select("id_number", "id_kind").drop_nulls().unique()
    keys["_reach_windows"] = _window_keys(records)
    persons = pl.Series("person_id", [], pl.String) if person_ids is None else person_ids.rename("person_id")
    keys["_reach_persons"] = persons.drop_nulls().unique().to_frame()
    return keys


def _window_keys(records: pl.DataFrame) -> pl.DataFrame:
    """(rule, masked): each written ID with every window of its kind masked, as the window rules key it."""
    ids = with_id_integers(records.select("id_number", "id_kind").drop_nulls().unique())  # a person's doses: one ID
    parts = [
        ids.filter(rule.record_filter).select(
            rule=pl.lit(rule.rule_id, pl.Int32), masked=rule.record_parts[0].cast(pl.Int64)
        )
        for rule in _WINDOW_RULES
    ]
    return pl.concat(parts).collect()  # repeats left in: the semi-join does not mind them


def _masked_sql(window: IdWindow) -> str:
    """IdWindow.masked in SQL, on the registry's column."""
    value = f"TRY_CAST({window.registry_column} AS BIGINT)"
    return f"({value} // {window.high_divisor}) * {window.low_modulus} + {value} % {window.low_modulus}"


def _windows_sql(column: str) -> list[str]:
    """registry_row of people one of whose masked `column` values a record shares, one query per window."""
    return [
        f"SELECT registry_row FROM registry_features WHERE {_masked_sql(rule.window)} IN "
        f"(SELECT masked FROM _reach_windows WHERE rule = {rule.rule_id})"
        for rule in _WINDOW_RULES
        if rule.window.registry_column == column
    ]


REACH_ABOVE = 4
"""Fetch only the reachable people when the registry holds more than this many people per record of the batch (a
province against the national registry); below it nearly everyone is reachable and reading all is faster."""


def worth_reaching(registry_people: int, records: int) -> bool:
    """Whether fetching the reachable people pays: the same linkage either way, only time and memory differ."""
    return registry_people > REACH_ABOVE * records


def reachable_sql() -> str:
    """registry_features rows any record of the registered key tables can reach, in registry order."""
    joins = [
        f"SELECT registry_row FROM registry_features SEMI JOIN {table} USING ({', '.join(columns)})"
        for table, columns in KEY_TABLES.items()
    ]
    reach = "\n        UNION ".join(
        [
            "SELECT registry_row FROM registry_features"
            " WHERE person_id IN (SELECT id_number FROM _reach_ids WHERE id_kind = 'cccd')",
            "SELECT registry_row FROM registry_features"
            " WHERE old_id IN (SELECT id_number FROM _reach_ids WHERE id_kind = 'cmnd')",
            "SELECT registry_row FROM registry_features WHERE person_id IN (SELECT person_id FROM _reach_persons)",
            *joins,
            *_windows_sql("person_id"),
            *_windows_sql("old_id"),
        ]
    )
    return f"""
        WITH reach AS ({reach})
        SELECT * EXCLUDE (source_hash) FROM registry_features SEMI JOIN reach USING (registry_row)
        ORDER BY registry_row"""


def reachable_people(
    conn: duckdb.DuckDBPyConnection, doses: pl.DataFrame, person_ids: pl.Series | None = None
) -> pl.DataFrame:
    """registry_features rows (in registry order) the records of `doses` can reach; `person_ids`: named by reviews."""
    with ExitStack() as stack:
        for name, frame in reach_keys(doses, person_ids).items():
            stack.enter_context(registered(conn, name, frame))
        return read_frame(conn, reachable_sql())
