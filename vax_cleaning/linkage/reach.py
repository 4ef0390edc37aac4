"""Which registry people a batch of dose records can reach: a province run fetches only those from the warehouse
(when the registry is much larger than the batch: `worth_reaching`).

The national registry holds ~100 M people; a province's records can meet only the people sharing one of their
blocks (block.py) or named by their IDs or by people's review decisions. Each snapshot stores, beside
registry_features, one narrow row per person in `registry_block_keys` (`block_keys_sql`): the hash of every
name/birth-date rule's key and the IDs as integers. A reach joins the batch's keys with those columns (one scan of
a few integer columns per rule, not of the names); each block's size is counted there, and only the people of blocks
small enough to expand (max_block_size) are fetched, in the registry's row order. The blocks too large are handed
to the block index as known to be too large, and the namesake counts (name key + birth year) come as a count table,
so the linkage sees exactly the candidates, blocks, counts and tie-breaks it would see with the whole registry in
memory (up to 64-bit hash collisions, as likely as the block index's own: ~1 in 10^10 per run at 100 M people).

| fetched when the registry person ... | covers |
|---|---|
| has a record's CCCD as person_id, or its CMND as old_id | the exact-ID owner |
| shares a block of at most max_block_size people with a record | every blocking rule |
| has a CCCD one wrong digit or one swap of adjacent digits from a record's | the CCCD window rules (`near_ids`) |
| is named by a review decision of the province | people's links |

IDs are joined as integers (a reviewed person_id in other digits than 0-9 as text). The ID windows: a window block
holds the IDs equal but for two adjacent digits, and each of the batch's masked IDs stands for the 100 IDs of its
block (`IdWindow.unmasked_sql`), all joined in one scan per ID column. A CCCD window block holds at most 100
people (person_ids are unique in a snapshot) and the linkage keeps a window pair only when the IDs are one edit
apart: so when max_block_size is at least 100 no CCCD window block is ever too large, and the linkage fetches only
the CCCDs one edit away (~120 per record). Old CMNDs need not be unique, so their blocks are always counted whole;
so are the CCCD blocks below 100 and for the calibration, whose EM sees every pair the blocks propose
(`whole_windows`).

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
from vax_cleaning.linkage.features_read import features_sql
from vax_cleaning.linkage.normalize import date_parts, record_ids, with_name_features
from vax_cleaning.warehouse import MissingTableError, read_frame, registered, table_exists

BLOCK_KEYS = "registry_block_keys"
"""One row per registry person: registry_row, each name rule's block hash (`block_<rule>`), person_id and old_id
as integers (`person_number`, `old_number`). Rebuilt with registry_features, in the same transaction."""

NAME_RULES = tuple(rule for rule in BLOCKING_RULES if rule.window is None)
WINDOW_RULES = tuple(rule for rule in BLOCKING_RULES if rule.window is not None)
CCCD_WINDOW_RULES = tuple(rule for rule in WINDOW_RULES if rule.window.registry_column == "person_id")

WINDOW_BLOCK_LIMIT = 100
"""A window block's most people: two masked digits, unique IDs."""

CHECKED_ROWS = 1_000
"""registry_block_keys rows whose hashes are recomputed before a reach: a DuckDB whose hash() differs is caught."""

_ID_COLUMNS = {"person_id": "person_number", "old_id": "old_number"}


def _table(rule: BlockingRule) -> str:
    return f"_reach_rule_{rule.rule_id}"


def block_column(rule: BlockingRule) -> str:
    """registry_block_keys' column holding the rule's key hash."""
    return f"block_{rule.name}"


def _key_hash_sql(rule: BlockingRule, parts: tuple[str, ...], where: str | None = None) -> str:
    """The rule's key hash in DuckDB (the rule id and the parts), NULL where a part is or `where` is not true."""
    present = [f"({part}) IS NOT NULL" for part in parts] + ([] if where is None else [f"({where})"])
    return f"CASE WHEN {' AND '.join(present)} THEN hash({rule.rule_id}, {', '.join(parts)}) END"


def block_keys_sql(source: str = "registry_features") -> str:
    """registry_block_keys' rows from `source` (registry_features' columns)."""
    hashes = ", ".join(
        f"{_key_hash_sql(rule, rule.registry_sql, rule.registry_filter_sql)} AS {block_column(rule)}"
        for rule in NAME_RULES
    )
    numbers = ", ".join(f"TRY_CAST({column} AS BIGINT) AS {number}" for column, number in _ID_COLUMNS.items())
    return f"SELECT registry_row, {hashes}, {numbers} FROM {source}"


def check_block_keys(conn: duckdb.DuckDBPyConnection) -> None:
    """Refuse to reach through block keys this DuckDB would hash differently (or that are missing), with the fix."""
    fix = "materialize registry_features (job load_registry), then rerun"
    if not table_exists(conn, BLOCK_KEYS):
        raise MissingTableError(f"no {BLOCK_KEYS} table (registry_features predates it): {fix}")
    differing = " OR ".join(f"k.{block_column(r)} IS DISTINCT FROM f.{block_column(r)}" for r in NAME_RULES)
    recomputed = block_keys_sql(f"(SELECT * FROM registry_features WHERE registry_row < {CHECKED_ROWS})")
    stale = conn.execute(
        f"SELECT count(*) FROM {BLOCK_KEYS} k JOIN ({recomputed}) f USING (registry_row) WHERE {differing}"
    ).fetchall()[0][0]
    if stale:
        raise MissingTableError(f"{BLOCK_KEYS} was hashed by another DuckDB version: {fix}")


def reach_keys(
    doses: pl.DataFrame,
    person_ids: pl.Series | None = None,
    rules: tuple[BlockingRule, ...] = BLOCKING_RULES,
    near_ids: bool = False,
) -> dict[str, pl.DataFrame]:
    """The batch's keys, one small table each: IDs as integers, reviewed person_ids, name key + birth year, per
    blocking rule its distinct key values (k0, k1, ...) numbered by `_key`; `near_ids`: the CCCDs one edit away too."""
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
    ids = records.select(number=pl.col("_id_number_integer"), id_kind="id_kind").drop_nulls().unique().collect()
    keys["_reach_ids"] = _one_edit_away(ids) if near_ids else ids  # a record's CCCD/CMND is ASCII digits
    keys["_reach_name_year"] = records.select("name_key", "birth_year").drop_nulls().unique().collect()
    persons = pl.Series("person_id", [], pl.String) if person_ids is None else person_ids.rename("person_id")
    keys["_reach_persons"] = (
        persons.drop_nulls()
        .unique()
        .to_frame()
        .with_columns(number=pl.when(pl.col("person_id").str.contains("^[0-9]{12}$")).then(pl.col("person_id")))
        .with_columns(pl.col("number").cast(pl.Int64))
    )
    return keys


def _one_edit_away(ids: pl.DataFrame, kind: str = "cccd", width: int = 12) -> pl.DataFrame:
    """(number, id_kind): each ID, and every CCCD with one digit changed or two adjacent digits swapped."""
    of_kind, number = ids.filter(pl.col("id_kind") == kind).lazy(), pl.col("number")
    digits = pl.LazyFrame({"_new": pl.int_range(10, dtype=pl.Int64, eager=True)})
    variants = [ids]
    for position in range(width):
        place = 10 ** (width - 1 - position)
        digit = number // place % 10
        changed = of_kind.join(digits, how="cross").select(number=number + (pl.col("_new") - digit) * place)
        variants.append(changed.select("number", id_kind=pl.lit(kind)).collect())
        if position + 1 < width:
            lower = 10 ** (width - 2 - position)
            next_digit = number // lower % 10
            swapped = number + (next_digit - digit) * place + (digit - next_digit) * lower
            variants.append(of_kind.select(number=swapped, id_kind=pl.lit(kind)).collect())
    return pl.concat(variants).unique()


def _hits_sql(rules: tuple[BlockingRule, ...], types: dict[int, tuple[str, ...]]) -> str:
    """(rule, _key, registry_row) of the registry people sharing one of the batch's keys under each rule."""
    selects = []
    for rule in (rule for rule in rules if rule.window is None):
        parts = tuple(f"k{i}::{kind}" for i, kind in enumerate(types[rule.rule_id]))
        batch = f"SELECT _key, {_key_hash_sql(rule, parts)} AS block_hash FROM {_table(rule)}"
        selects.append(
            f"SELECT {rule.rule_id} AS rule, b._key, k.registry_row FROM {BLOCK_KEYS} k "
            f"JOIN ({batch}) b ON k.{block_column(rule)} = b.block_hash"
        )
    for column, number in _ID_COLUMNS.items():  # one join per ID column for all its windows
        windows = [rule for rule in rules if rule.window is not None and rule.window.registry_column == column]
        if windows:
            blocks = "\nUNION ALL ".join(
                f"SELECT {rule.rule_id} AS rule, _key, {rule.window.unmasked_sql('k0', 'd')} AS number "
                f"FROM {_table(rule)}, range({rule.window.values}) AS digits(d)"
                for rule in windows
            )
            selects.append(
                f"SELECT w.rule, w._key, k.registry_row FROM {BLOCK_KEYS} k JOIN ({blocks}) w ON k.{number} = w.number"
            )
    return "\nUNION ALL ".join(selects)


def _key_types(conn: duckdb.DuckDBPyConnection, rules: tuple[BlockingRule, ...]) -> dict[int, tuple[str, ...]]:
    """The SQL type of each name rule's key parts in registry_features: the batch's parts are cast to them, so both
    sides hash the same values of the same types."""
    types = {}
    for rule in rules:
        if rule.window is None:
            described = conn.execute(f"DESCRIBE SELECT {', '.join(rule.registry_sql)} FROM registry_features")
            types[rule.rule_id] = tuple(row[1] for row in described.fetchall())
    return types


REACH_ABOVE = 4
"""Fetch only the reachable people when the registry holds more than this many people per record of the batch (a
province against the national registry); below it nearly everyone is reachable and reading all is faster."""


def worth_reaching(registry_people: int, records: int) -> bool:
    """Whether fetching the reachable people pays: the same linkage either way, only time and memory differ."""
    return registry_people > REACH_ABOVE * records


_BY_TEXT = """
            UNION SELECT registry_row FROM registry_features
            WHERE person_id IN (SELECT person_id FROM _reach_persons WHERE number IS NULL)"""
"""Reviewed person_ids not of 12 digits 0-9 (a snapshot's `\\d` takes other digits): matched as text (a scan of
registry_features: only when there are any)."""


def reachable_sql(by_text: bool) -> str:
    """registry_row of the people reached through an ID (or one edit away: `_reach_ids`), a review or a block hit
    (`_reach_hits`) not listed in `_reach_oversized`, ascending; `by_text`: some reviewed person_ids are matched as
    text."""
    return f"""
        WITH reach AS (
            SELECT registry_row FROM {BLOCK_KEYS}
            WHERE person_number IN (SELECT number FROM _reach_ids WHERE id_kind = 'cccd')
               OR person_number IN (SELECT number FROM _reach_persons)
            UNION SELECT registry_row FROM {BLOCK_KEYS}
            WHERE old_number IN (SELECT number FROM _reach_ids WHERE id_kind = 'cmnd'){_BY_TEXT if by_text else ""}
            UNION SELECT registry_row FROM _reach_hits ANTI JOIN _reach_oversized USING (rule, _key))
        SELECT registry_row FROM reach ORDER BY registry_row"""


NAMESAKE_RULE = next(
    rule for rule in NAME_RULES if rule.registry_sql == ("name_key", "birth_year") and rule.registry_filter_sql is None
)
"""Keys every registry person by name key + birth year: the namesakes are counted on its column."""


def namesakes_sql(types: dict[int, tuple[str, ...]]) -> str:
    """(name_key, birth_year, namesakes) of the batch's name keys and birth years (`_reach_name_year`)."""
    parts = tuple(
        f"{column}::{kind}"
        for column, kind in zip(("name_key", "birth_year"), types[NAMESAKE_RULE.rule_id], strict=True)
    )
    return f"""
        SELECT b.name_key, b.birth_year, count(*) AS namesakes
        FROM {BLOCK_KEYS} k
        JOIN (SELECT name_key, birth_year, {_key_hash_sql(NAMESAKE_RULE, parts)} AS block_hash FROM _reach_name_year) b
          ON k.{block_column(NAMESAKE_RULE)} = b.block_hash
        GROUP BY ALL"""


@dataclass(frozen=True)
class ReachedRegistry:
    """The part of the registry a batch can reach, and what the linkage needs to know of the rest."""

    people: pl.DataFrame
    """registry_features rows, in registry order."""
    counts: RegistryCounts
    """As `ReachedRows.counts`."""


@dataclass(frozen=True)
class ReachedRows:
    """Who of the registry a batch can reach, before anyone is fetched."""

    rows: pl.Series
    """registry_row of the reached people, ascending."""
    counts: RegistryCounts
    """Namesakes and oversized blocks, counted over the whole registry (none counted without `blocks`: the ID
    phase needs neither)."""


def reachable_people(
    conn: duckdb.DuckDBPyConnection,
    doses: pl.DataFrame,
    max_block_size: int,
    person_ids: pl.Series | None = None,
    blocks: bool = True,
    whole_windows: bool = False,
) -> ReachedRegistry:
    """The registry people the records of `doses` can reach (`reach_rows`), fetched."""
    reached = reach_rows(conn, doses, max_block_size, person_ids, blocks, whole_windows)
    return ReachedRegistry(fetch_people(conn, reached.rows), reached.counts)


def fetch_people(conn: duckdb.DuckDBPyConnection, rows: pl.Series) -> pl.DataFrame:
    """registry_features of the given registry_rows, in registry order: one pass over the whole table whatever
    their number (they are spread over every row group), so a run fetches what it can in one go."""
    with registered(conn, "_reach_rows", rows.rename("registry_row").to_frame()):
        return read_frame(conn, features_sql("_reach_rows"))


def reach_rows(
    conn: duckdb.DuckDBPyConnection,
    doses: pl.DataFrame,
    max_block_size: int,
    person_ids: pl.Series | None = None,
    blocks: bool = True,
    whole_windows: bool = False,
) -> ReachedRows:
    """The registry people the records of `doses` can reach; `person_ids`: named by reviews; `blocks`: False for only
    the people the records' IDs and the reviews name (what settles most records: link.py's ID phase);
    `whole_windows`: the ID windows' whole blocks, not only the IDs one edit away (the calibration fits on every
    pair the blocks propose, the linkage keeps only those)."""
    check_block_keys(conn)
    near_ids = blocks and not whole_windows and max_block_size >= WINDOW_BLOCK_LIMIT
    rules = tuple(rule for rule in BLOCKING_RULES if not (near_ids and rule in CCCD_WINDOW_RULES)) if blocks else ()
    keys = reach_keys(doses, person_ids, rules, near_ids)
    with ExitStack() as stack:
        for name, frame in keys.items():
            stack.enter_context(registered(conn, name, frame))
        searched = tuple(rule for rule in rules if keys[_table(rule)].height)  # a join with no keys is still a scan
        types = _key_types(conn, (*searched, NAMESAKE_RULE))
        hits = (
            _hits_sql(searched, types)
            if searched
            else "SELECT 0 AS rule, 0::UINTEGER AS _key, 0::UINTEGER AS registry_row LIMIT 0"
        )
        conn.execute(f"CREATE OR REPLACE TEMP TABLE _reach_hits AS {hits}")  # a few integer columns per rule
        stack.callback(conn.execute, "DROP TABLE IF EXISTS _reach_hits")
        oversized = read_frame(
            conn,
            "SELECT rule::INTEGER AS rule, _key FROM _reach_hits GROUP BY rule, _key HAVING count(*) > ?",
            [max_block_size],
        ).cast({"rule": pl.Int32, "_key": pl.UInt32})
        stack.enter_context(registered(conn, "_reach_oversized", oversized))
        by_text = keys["_reach_persons"]["number"].null_count() > 0
        rows = read_frame(conn, reachable_sql(by_text))["registry_row"]
        only_ids = "" if blocks else " LIMIT 0"  # the same columns, and no scan of the registry
        namesakes = read_frame(conn, namesakes_sql(types) + only_ids)
    counts = RegistryCounts(
        namesakes=namesakes.with_columns(
            pl.col("birth_year").cast(keys["_reach_name_year"].schema["birth_year"]),
            pl.col("namesakes").cast(pl.UInt32),
        ),
        oversized=_oversized_hashes(keys, oversized, rules),
    )
    return ReachedRows(rows, counts)


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
