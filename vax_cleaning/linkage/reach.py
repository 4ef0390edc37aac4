"""Which registry people a batch of dose records can reach: a province run fetches only those from the warehouse
(when the registry is much larger than the batch: `worth_reaching`).

The national registry holds ~100 M people; a province's records can meet only the people sharing one of their
blocks (block.py) or named by their IDs or by people's review decisions. For every blocking rule, the batch's keys
are joined in DuckDB with the same key computed on registry_features (`BlockingRule.registry_sql`); each block's
size is counted there, and only the people of blocks small enough to expand (max_block_size) are fetched, in the
registry's row order. The blocks too large are handed to the block index as known to be too large, and the
namesake counts (name key + birth year) come as a count table, so the linkage sees exactly the candidates, blocks,
counts and tie-breaks it would see with the whole registry in memory (up to 64-bit block-hash collisions, which
only ever add a candidate pair).

| fetched when the registry person ... | covers |
|---|---|
| has a record's CCCD as person_id, or its CMND as old_id | the exact-ID owner |
| shares a block of at most max_block_size people with a record | every blocking rule, the ID windows included |
| is named by a review decision of the province | people's links |

Counted, not fetched: people with a record's name key and birth year (namesakes), and the blocks larger than
max_block_size (a common name with a year-only birth date: its records are `truncated`, as with the whole registry).
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass

import duckdb
import polars as pl

from vax_cleaning.linkage.block import (
    BLOCKING_RULES,
    BlockingRule,
    RegistryCounts,
    block_hash,
    key_parts,
    with_id_integers,
)
from vax_cleaning.linkage.normalize import date_parts, record_ids, with_name_features
from vax_cleaning.warehouse import read_frame, registered


def _table(rule: BlockingRule) -> str:
    return f"_reach_rule_{rule.rule_id}"


def reach_keys(
    doses: pl.DataFrame, person_ids: pl.Series | None = None, rules: tuple[BlockingRule, ...] = BLOCKING_RULES
) -> dict[str, pl.DataFrame]:
    """The batch's keys, one small table each: IDs, reviewed person_ids, name key + birth year, and per blocking rule
    its distinct key values (k0, k1, ...) numbered by `_key`."""
    written = doses.lazy().select(
        pl.col("full_name").cast(pl.String),
        *date_parts(),
        *(expr.alias(name) for name, expr in record_ids().items()),
    )
    records = with_id_integers(with_name_features(written).collect())
    keys = {
        _table(rule): key_parts(records, rule, rule.record_parts, rule.record_filter)
        .select(f"k{i}" for i in range(len(rule.record_parts)))
        .unique()
        .collect()
        .with_row_index("_key")
        for rule in rules
    }
    keys["_reach_ids"] = records.select("id_number", "id_kind").drop_nulls().unique().collect()
    keys["_reach_name_year"] = records.select("name_key", "birth_year").drop_nulls().unique().collect()
    persons = pl.Series("person_id", [], pl.String) if person_ids is None else person_ids.rename("person_id")
    keys["_reach_persons"] = persons.drop_nulls().unique().to_frame()
    return keys


def registry_keys_sql(rule: BlockingRule, source: str = "registry_features") -> str:
    """(registry_row, k0, k1, ...) of every registry person under `rule`, as the block index keys them in polars."""
    parts = ", ".join(f"{sql} AS k{i}" for i, sql in enumerate(rule.registry_sql))
    where = "" if rule.registry_filter_sql is None else f" WHERE {rule.registry_filter_sql}"
    return f"SELECT registry_row, {parts} FROM {source}{where}"


_INTEGER_IDS = """_reach_integer_ids AS MATERIALIZED (
    SELECT registry_row, TRY_CAST(person_id AS BIGINT) AS person_id, TRY_CAST(old_id AS BIGINT) AS old_id
    FROM registry_features)"""
"""The IDs as integers, parsed once for the ~20 window rules (their casts to BIGINT are then no-ops)."""


def _hits_sql(rules: tuple[BlockingRule, ...]) -> str:
    """(rule, _key, registry_row) of the registry people sharing one of the batch's keys under each rule."""
    selects = []
    for rule in rules:
        source = "_reach_integer_ids" if rule.window is not None else "registry_features"
        columns = ", ".join(f"k{i}" for i in range(len(rule.registry_sql)))
        selects.append(
            f"SELECT {rule.rule_id} AS rule, _key, registry_row FROM ({registry_keys_sql(rule, source)}) "
            f"JOIN {_table(rule)} USING ({columns})"
        )
    windows = any(rule.window is not None for rule in rules)
    return ("WITH " + _INTEGER_IDS + "\n" if windows else "") + "\nUNION ALL ".join(selects)


REACH_ABOVE = 4
"""Fetch only the reachable people when the registry holds more than this many people per record of the batch (a
province against the national registry); below it nearly everyone is reachable and reading all is faster."""


def worth_reaching(registry_people: int, records: int) -> bool:
    """Whether fetching the reachable people pays: the same linkage either way, only time and memory differ."""
    return registry_people > REACH_ABOVE * records


def reachable_sql() -> str:
    """registry_features rows reached through an ID, a review or a block hit (`_reach_hits`) not listed in
    `_reach_oversized`, in registry order."""
    return """
        WITH reach AS (
            SELECT registry_row FROM registry_features
            WHERE person_id IN (SELECT id_number FROM _reach_ids WHERE id_kind = 'cccd')
            UNION SELECT registry_row FROM registry_features
            WHERE old_id IN (SELECT id_number FROM _reach_ids WHERE id_kind = 'cmnd')
            UNION SELECT registry_row FROM registry_features WHERE person_id IN (SELECT person_id FROM _reach_persons)
            UNION SELECT registry_row FROM _reach_hits ANTI JOIN _reach_oversized USING (rule, _key))
        SELECT * EXCLUDE (source_hash) FROM registry_features SEMI JOIN reach USING (registry_row)
        ORDER BY registry_row"""


NAMESAKES_SQL = """
    SELECT name_key, birth_year, count(*) AS namesakes
    FROM registry_features SEMI JOIN _reach_name_year USING (name_key, birth_year)
    GROUP BY ALL"""


@dataclass(frozen=True)
class ReachedRegistry:
    """The part of the registry a batch can reach, and what the linkage needs to know of the rest."""

    people: pl.DataFrame
    """registry_features rows, in registry order."""
    counts: RegistryCounts
    """Namesakes and oversized blocks, counted over the whole registry."""


def reachable_people(
    conn: duckdb.DuckDBPyConnection,
    doses: pl.DataFrame,
    max_block_size: int,
    person_ids: pl.Series | None = None,
    blocks: bool = True,
) -> ReachedRegistry:
    """The registry people the records of `doses` can reach; `person_ids`: named by reviews; `blocks`: False for only
    the people the records' IDs and the reviews name (what settles most records: link.py's ID phase)."""
    rules = BLOCKING_RULES if blocks else ()
    keys = reach_keys(doses, person_ids, rules)
    with ExitStack() as stack:
        for name, frame in keys.items():
            stack.enter_context(registered(conn, name, frame))
        searched = tuple(rule for rule in rules if keys[_table(rule)].height)  # a join with no keys is still a scan
        hits = (
            _hits_sql(searched)
            if searched
            else "SELECT 0 AS rule, 0::UINTEGER AS _key, 0::UINTEGER AS registry_row LIMIT 0"
        )
        conn.execute(f"CREATE OR REPLACE TEMP TABLE _reach_hits AS {hits}")  # the registry scanned once per rule
        stack.callback(conn.execute, "DROP TABLE IF EXISTS _reach_hits")
        oversized = read_frame(
            conn,
            "SELECT rule::INTEGER AS rule, _key FROM _reach_hits GROUP BY rule, _key HAVING count(*) > ?",
            [max_block_size],
        ).cast({"rule": pl.Int32, "_key": pl.UInt32})
        stack.enter_context(registered(conn, "_reach_oversized", oversized))
        people = read_frame(conn, reachable_sql())
        namesakes = read_frame(conn, NAMESAKES_SQL)
    counts = RegistryCounts(
        namesakes=namesakes.with_columns(
            pl.col("birth_year").cast(keys["_reach_name_year"].schema["birth_year"]),
            pl.col("namesakes").cast(pl.UInt32),
        ),
        oversized=_oversized_hashes(keys, oversized, rules),
    )
    return ReachedRegistry(people, counts)


def _oversized_hashes(
    keys: dict[str, pl.DataFrame], oversized: pl.DataFrame, rules: tuple[BlockingRule, ...]
) -> pl.Series:
    """block_hash of the oversized blocks, hashed from the batch's own key values (the types the index hashes)."""
    hashes = [
        keys[_table(rule)]
        .join(oversized.filter(pl.col("rule") == rule.rule_id), on="_key", how="semi")
        .select(block_hash(rule).alias("block_hash"))
        for rule in rules
    ]
    return pl.concat([pl.DataFrame(schema={"block_hash": pl.UInt64}), *hashes])["block_hash"]
