"""Candidate generation: which registry persons a dose record is compared with.

Exact ID lookup first (CCCD = person_id, CMND = old_id). Records the ID does not settle are
blocked: several rules each emit a key per record and per registry person, and a record meets
every person sharing one of its keys. Each rule tolerates one kind of recording error:

| rule | key | still finds the person when the record has ... |
|---|---|---|
| name_year_month | name key, year, month | a wrong day |
| name_year_day | name key, year, day | a wrong month |
| name_year_daymonth | name key, year, {day, month} unordered | day and month swapped |
| name_monthday | name key, month, day | a wrong birth year |
| dob_given | full DOB, given name | a typo or omission in family/middle name |
| dob_family_middle | full DOB, family + middle name | a typo in the given name |
| name_year_partial_record | name key, year (record year-only or 01/01) | a year-only / placeholder DOB |
| name_year_partial_registry | name key, year (registry year-only) | a registry with the year only |
| cccd_window_* / cmnd_window_* | the ID with two adjacent digits masked (every position) | one wrong digit or two adjacent digits swapped |

The ID windows slide one digit at a time, so any wrong digit or adjacent transposition lies
inside one window. They are two digits wide because a CCCD's first six digits are province,
century/gender and birth year: a wider window leaves too few free digits shared, and at a few
million people per province its blocks grow to hundreds of unrelated persons. Keys are
64-bit hashes of the key columns (plus the rule id); a hash collision only adds a pair that the
comparisons then reject. Blocks holding more than `max_block_size` registry persons (very common
names with a year-only DOB) are not expanded: the records that hit them are flagged `truncated`
and the classifier will not auto-link them through candidate search.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

HASH_SEED = 2021
"""Any fixed seed: record and registry keys are hashed in the same process."""


@dataclass(frozen=True)
class BlockingRule:
    """One blocking rule: the key parts on each side and which rows take part."""

    name: str
    """Short name (documentation and debugging)."""
    rule_id: int
    """Mixed into the hash so equal values under different rules never meet."""
    record_parts: tuple[pl.Expr, ...]
    """Key parts computed on record features."""
    registry_parts: tuple[pl.Expr, ...]
    """Key parts computed on registry features (same types, same order)."""
    record_filter: pl.Expr | None = None
    """Extra condition for a record to emit this key (rows with a NULL part never emit)."""
    registry_filter: pl.Expr | None = None
    """Extra condition for a registry person to emit this key."""
    id_window: bool = False
    """True for the near-miss ID rules: their pairs are kept only if the IDs are one edit apart."""
    window: IdWindow | None = None
    """For the ID window rules: which digits of which columns are masked."""
    registry_sql: tuple[str, ...] = ()
    """`registry_parts` in SQL on the registry_features table (not the window rules'): the per-snapshot block keys
    that reach.py fetches a province's blocks by are hashed from them."""
    registry_filter_sql: str | None = None
    """`registry_filter` in SQL."""


@dataclass(frozen=True)
class IdWindow:
    """Digits [start, end) of a `width`-digit ID masked, on the record's `record_column` and the registry's
    `registry_column`."""

    record_column: str
    registry_column: str
    start: int
    end: int
    width: int

    def masked(self, column: str) -> pl.Expr:
        """The ID without the window's digits, as an integer (no string building: ~30 keys per person)."""
        value = pl.col(_as_integer(column))
        return value // self.high_divisor * self.low_modulus + value % self.low_modulus

    def unmasked_sql(self, masked: str, digits: str) -> str:
        """In SQL, the ID whose `masked` value is `masked` with `digits` (0 .. 10**(end - start) - 1) in the window:
        the IDs of a window block, to be joined as integers instead of masking every registry ID."""
        low, masked = self.low_modulus, f"{masked}::BIGINT"
        return f"({masked} // {low}) * {self.high_divisor} + {digits} * {low} + {masked} % {low}"

    @property
    def values(self) -> int:
        """How many IDs one masked value stands for (the block's most people, IDs being unique)."""
        return 10 ** (self.end - self.start)

    @property
    def high_divisor(self) -> int:
        return 10 ** (self.width - self.start)

    @property
    def low_modulus(self) -> int:
        return 10 ** (self.width - self.end)


def _both(*parts: pl.Expr, sql: tuple[str, ...]) -> dict[str, tuple]:
    """Same key parts on both sides; `sql`: the registry's parts in SQL."""
    return {"record_parts": parts, "registry_parts": parts, "registry_sql": sql}


ID_COLUMNS = ("id_number", "person_id", "old_id")
"""ID columns the window rules mask: each is read as an integer once per side (`with_id_integers`), not per window."""


def _as_integer(column: str) -> str:
    return f"_{column}_integer"


def with_id_integers(features: pl.DataFrame) -> pl.LazyFrame:
    """The ID columns as integers, computed once for all ~20 window rules (the other columns are not copied)."""
    present = [column for column in ID_COLUMNS if column in features.columns]
    return features.with_columns(pl.col(c).cast(pl.Int64, strict=False).alias(_as_integer(c)) for c in present).lazy()


def _window_rule(rule_id: int, window: IdWindow, kind: str) -> BlockingRule:
    """A near-miss ID rule: the record's ID of `kind` and the registry's ID, both without the window's digits."""
    return BlockingRule(
        f"{kind}_window_{window.start}_{window.end}",
        rule_id,
        record_parts=(window.masked(window.record_column),),
        registry_parts=(window.masked(window.registry_column),),
        record_filter=pl.col("id_kind") == kind,
        id_window=True,
        window=window,
    )


_NAME = pl.col("name_key")
_YEAR, _MONTH, _DAY = pl.col("birth_year"), pl.col("birth_month"), pl.col("birth_day")
_PARTIAL_DOB = _MONTH.is_null() | ((_MONTH == 1) & (_DAY == 1))

CCCD_WINDOWS = tuple((start, start + 2) for start in range(11))
"""Masked windows of a 12-digit CCCD; every adjacent digit pair lies inside one of them."""
CMND_WINDOWS = tuple((start, start + 2) for start in range(8))
"""Masked windows of a 9-digit CMND, same property."""

BLOCKING_RULES: tuple[BlockingRule, ...] = (
    BlockingRule("name_year_month", 1, **_both(_NAME, _YEAR, _MONTH, sql=("name_key", "birth_year", "birth_month"))),
    BlockingRule("name_year_day", 2, **_both(_NAME, _YEAR, _DAY, sql=("name_key", "birth_year", "birth_day"))),
    BlockingRule(
        "name_year_daymonth",
        3,
        **_both(
            _NAME,
            _YEAR,
            pl.min_horizontal(_DAY, _MONTH),
            pl.max_horizontal(_DAY, _MONTH),
            sql=("name_key", "birth_year", "LEAST(birth_day, birth_month)", "GREATEST(birth_day, birth_month)"),
        ),
    ),
    BlockingRule("name_monthday", 4, **_both(_NAME, _MONTH, _DAY, sql=("name_key", "birth_month", "birth_day"))),
    BlockingRule(
        "dob_given",
        5,
        **_both(_YEAR, _MONTH, _DAY, pl.col("given_key"), sql=("birth_year", "birth_month", "birth_day", "given_key")),
    ),
    BlockingRule(
        "dob_family_middle",
        6,
        **_both(
            _YEAR,
            _MONTH,
            _DAY,
            pl.col("family_key"),
            pl.col("middle_key"),
            sql=("birth_year", "birth_month", "birth_day", "family_key", "middle_key"),
        ),
    ),
    BlockingRule(
        "name_year_partial_record", 7, **_both(_NAME, _YEAR, sql=("name_key", "birth_year")), record_filter=_PARTIAL_DOB
    ),
    BlockingRule(
        "name_year_partial_registry",
        8,
        **_both(_NAME, _YEAR, sql=("name_key", "birth_year")),
        registry_filter=_MONTH.is_null(),
        registry_filter_sql="birth_month IS NULL",
    ),
    *(
        _window_rule(20 + i, IdWindow("id_number", "person_id", start, end, 12), "cccd")
        for i, (start, end) in enumerate(CCCD_WINDOWS)
    ),
    *(
        _window_rule(40 + i, IdWindow("id_number", "old_id", start, end, 9), "cmnd")
        for i, (start, end) in enumerate(CMND_WINDOWS)
    ),
)


def key_parts(
    features: pl.LazyFrame, rule: BlockingRule, parts: tuple[pl.Expr, ...], extra: pl.Expr | None
) -> pl.LazyFrame:
    """The rows taking part in one rule on one side, with the key parts as k0, k1, ... (no part NULL)."""
    named = [part.alias(f"k{i}") for i, part in enumerate(parts)]
    keep = pl.all_horizontal([pl.col(f"k{i}").is_not_null() for i in range(len(parts))])
    if extra is not None:
        keep = keep & extra.fill_null(False)
    return features.with_columns(named).filter(keep)


def block_hash(rule: BlockingRule) -> pl.Expr:
    """The 64-bit block key of k0, k1, ... under `rule` (the same on both sides)."""
    if len(rule.record_parts) == 1:  # one integer part (an ID window, < 10^10): the rule id in its low bits
        return (pl.col("k0") * 128 + rule.rule_id).hash(seed=HASH_SEED)
    rule_id = pl.lit(rule.rule_id, pl.UInt8).alias("rule")
    return pl.struct(rule_id, *[pl.col(f"k{i}") for i in range(len(rule.record_parts))]).hash(seed=HASH_SEED)


def _keys(
    features: pl.LazyFrame, index: str, rule: BlockingRule, parts: tuple[pl.Expr, ...], extra: pl.Expr | None
) -> pl.LazyFrame:
    """(index, rule, block_hash, id_window) rows of one rule for one side."""
    return key_parts(features, rule, parts, extra).select(
        index,
        pl.lit(rule.rule_id, pl.UInt8).alias("rule"),
        block_hash(rule).alias("block_hash"),
        pl.lit(rule.id_window).alias("id_window"),
    )


@dataclass(frozen=True)
class RegistryCounts:
    """What only the whole registry knows, for a linkage holding the part of it its records reach (reach.py)."""

    namesakes: pl.DataFrame
    """name_key, birth_year, namesakes: registry persons with that name key and birth year."""
    oversized: pl.Series
    """block_hash of the records' blocks with more than max_block_size persons in the whole registry."""

    @classmethod
    def of(cls, people: pl.DataFrame) -> RegistryCounts:
        """A registry held whole: the block index finds its oversized blocks itself."""
        return cls(namesake_counts(people), pl.Series("block_hash", [], pl.UInt64))


@dataclass(frozen=True)
class BlockIndex:
    """The registry side of blocking, built once per linkage call."""

    keys: pl.DataFrame
    """block_hash (UInt64), _reg (UInt32): persons of every block small enough to expand."""
    oversized: pl.DataFrame
    """block_hash of blocks with more than max_block_size persons."""


def build_block_index(
    people: pl.DataFrame,
    max_block_size: int,
    wanted: pl.DataFrame | None = None,
    known_oversized: pl.Series | None = None,
) -> BlockIndex:
    """Hash every registry person under every rule; set aside blocks too large to expand.

    With `wanted` (record_block_keys of the records to link), only those blocks are kept: the
    index then holds a few million rows instead of ~30 per registry person. Each rule is
    filtered by its own records' keys: one small hash set per rule, not one set of all keys.
    `known_oversized`: blocks too large in the whole registry when `people` holds only part of it (RegistryCounts).
    """
    lazy = with_id_integers(people)
    known = known_oversized is not None and not known_oversized.is_empty()
    kept, oversized = [], []
    for rule in BLOCKING_RULES:
        keys = _keys(lazy, "_reg", rule, rule.registry_parts, rule.registry_filter).select("block_hash", "_reg")
        if wanted is not None:
            rule_keys = wanted.filter(pl.col("rule") == rule.rule_id)["block_hash"].unique()
            keys = keys.filter(pl.col("block_hash").is_in(rule_keys.implode()))
        too_large = pl.len().over("block_hash") > max_block_size
        if known:
            too_large = too_large | pl.col("block_hash").is_in(known_oversized.implode())
        keys = keys.with_columns(too_large=too_large).collect()
        oversized.append(keys.filter(pl.col("too_large")).select("block_hash").unique())
        kept.append(keys.filter(~pl.col("too_large")).select("block_hash", "_reg"))
    if known:  # also those of which `people` holds nobody
        oversized.append(known_oversized.to_frame("block_hash"))
    return BlockIndex(keys=pl.concat(kept), oversized=pl.concat(oversized).unique())


def record_block_keys(records: pl.DataFrame) -> pl.DataFrame:
    """(_rec, rule, block_hash, id_window) for every rule a record takes part in."""
    lazy = with_id_integers(records)
    keys = [_keys(lazy, "_rec", rule, rule.record_parts, rule.record_filter) for rule in BLOCKING_RULES]
    return pl.concat(keys).collect()


@dataclass(frozen=True)
class Candidates:
    """Blocking output for a set of records."""

    pairs: pl.DataFrame
    """_rec, _reg, only_id_window (True when the pair came from an ID window rule only)."""
    truncated: pl.DataFrame
    """_rec of records that hit an oversized block."""


def blocked_pairs(records: pl.DataFrame, index: BlockIndex) -> Candidates:
    """Candidate pairs of `records` (record features) through every blocking rule."""
    keys = record_block_keys(records)
    pairs = (
        keys.join(index.keys, on="block_hash", how="inner")
        .group_by("_rec", "_reg")
        .agg(only_id_window=pl.col("id_window").all())
    )
    truncated = keys.join(index.oversized, on="block_hash", how="semi").select("_rec").unique()
    return Candidates(pairs=pairs, truncated=truncated)


def namesake_counts(people: pl.DataFrame) -> pl.DataFrame:
    """name_key, birth_year, namesakes: how common each name is in each birth year."""
    return people.group_by("name_key", "birth_year").agg(namesakes=pl.len())


def namesakes(records: pl.DataFrame, counts: pl.DataFrame) -> pl.DataFrame:
    """_rec, namesakes: registry persons with the record's name key and birth year (name frequency)."""
    return (
        records.select("_rec", "name_key", "birth_year")
        .join(counts, on=["name_key", "birth_year"], how="left")
        .select("_rec", pl.col("namesakes").fill_null(0))
    )


def exact_id_pairs(records: pl.DataFrame, people: pl.DataFrame) -> pl.DataFrame:
    """(_rec, _reg) where the record's CCCD is a person_id or its CMND is an old_id."""
    ids = records.select("_rec", "id_number", "id_kind")  # not every record column through the filter
    cccd = ids.filter(pl.col("id_kind") == "cccd").join(
        people.select("_reg", "person_id"), left_on="id_number", right_on="person_id", how="inner"
    )
    cmnd = ids.filter(pl.col("id_kind") == "cmnd").join(
        people.filter(pl.col("old_id").is_not_null()).select("_reg", "old_id"),
        left_on="id_number",
        right_on="old_id",
        how="inner",
    )
    return pl.concat([cccd.select("_rec", "_reg"), cmnd.select("_rec", "_reg")])


RECORD_PAIR_COLUMNS = (
    "name_canon", "name_key", "name_has_diacritics", "family_key", "middle_key", "given_key", "name_token_count",
    "birth_year", "birth_month", "birth_day", "gender", "id_number", "id_kind", "province_code",
    "id_birth_year", "id_gender", "commune_key", "district_key",
)  # fmt: skip
"""Record columns a pair carries (prefixed r_)."""

PERSON_PAIR_COLUMNS = (
    "person_id", "old_id", "name_canon", "name_key", "family_key", "middle_key", "given_key", "name_token_count",
    "birth_year", "birth_month", "birth_day", "gender", "province_code", "household_key", "commune_key", "district_key",
    "name_share",
)  # fmt: skip
"""Registry columns a pair carries (prefixed p_)."""


def gather_pairs(pairs: pl.DataFrame, records: pl.DataFrame, people: pl.DataFrame) -> pl.DataFrame:
    """Pair frame with both sides' features side by side (r_*, p_*), by positional gather (no hash join)."""
    rec_side = records.select(RECORD_PAIR_COLUMNS)[pairs["_rec"]]
    reg_side = people.select(PERSON_PAIR_COLUMNS)[pairs["_reg"]]
    return pl.concat(
        [
            pairs,
            rec_side.rename({c: f"r_{c}" for c in RECORD_PAIR_COLUMNS}),
            reg_side.rename({c: f"p_{c}" for c in PERSON_PAIR_COLUMNS}),
        ],
        how="horizontal",
    )
