"""Polars expressions that put dose records and registry persons in one comparable form.

Tone-mark convention: the canonical name uses the *traditional* ("old") placement for the
open syllables ending in oa, oe and uy -- the mark goes on the first vowel: ``hòa``, ``hòe``,
``thủy`` (not ``hoà``, ``hoè``, ``thuỷ``). It is the spelling of the registry's province names
(Hòa Bình, Thanh Hóa, Khánh Hòa). Only syllables that *end* with the cluster move their mark
(``hoàng``, ``khuỷu``, ``quý`` are the same in both conventions and are left alone; the ``u`` of
``qu`` is a consonant). Both sides of every comparison go through the same function, so the
choice only has to be consistent.
"""

from __future__ import annotations

import polars as pl

TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"
"""The five Vietnamese tone marks as combining characters (grave, acute, tilde, hook, dot below)."""

# In NFD a new-style "hoà" is h,o,a,U+0300; the old style "hòa" is h,o,U+0300,a.
_OA_OE_NEW_STYLE = rf"o([ae])([{TONE_MARKS}])(\s|$)"
_UY_NEW_STYLE = rf"(^|[^q])uy([{TONE_MARKS}])(\s|$)"

CCCD_LENGTH = 12
CMND_LENGTH = 9


def _blank_to_null(text: pl.Expr) -> pl.Expr:
    """Empty strings carry no information; treat them as missing."""
    return text.replace("", None)


def squeeze_spaces(text: pl.Expr) -> pl.Expr:
    """Spacing is formatting, never identity: collapse runs of whitespace and trim."""
    return text.str.replace_all(r"\s+", " ").str.strip_chars()


def canonical_name(name: pl.Expr) -> pl.Expr:
    """Name up to formatting (NFC, lowercase, squeezed spaces, old tone placement), so equal means 'same spelling'."""
    decomposed = squeeze_spaces(name).str.to_lowercase().str.normalize("NFD")
    old_style = decomposed.str.replace_all(_OA_OE_NEW_STYLE, "o${2}${1}${3}").str.replace_all(
        _UY_NEW_STYLE, "${1}u${2}y${3}"
    )
    return _blank_to_null(old_style.str.normalize("NFC"))


def name_key(canonical: pl.Expr) -> pl.Expr:
    """Diacritic-free ASCII key of a canonical name: blocks and typo scores must not depend on accents.

    ``đ`` is a letter of its own (not d + a combining mark), so it is folded explicitly.
    """
    stripped = canonical.str.normalize("NFD").str.replace_all(r"\p{Mn}", "").str.replace_all("đ", "d")
    return _blank_to_null(squeeze_spaces(stripped.str.replace_all(r"[^a-z0-9 ]", " ")))


def has_diacritics(canonical: pl.Expr) -> pl.Expr:
    """True when the name carries any non-ASCII letter; an all-ASCII record was typed without its accents."""
    return canonical.str.contains(r"[^\x00-\x7F]")


def name_tokens(key: pl.Expr) -> dict[str, pl.Expr]:
    """Family (first token), middle (tokens between, '' when none) and given (last token) of a name key."""
    tokens = key.str.split(" ")
    count = tokens.list.len()
    return {
        "family_key": tokens.list.first(),
        "middle_key": tokens.list.slice(1, pl.max_horizontal(count - 2, pl.lit(0))).list.join(" "),
        "given_key": tokens.list.last(),
        "name_token_count": count.cast(pl.Int32),
    }


def id_kind(id_number: pl.Expr) -> pl.Expr:
    """'cccd' for 12 digits (matched to person_id), 'cmnd' for 9 digits (matched to old_id), else NULL."""
    digits = id_number.str.contains(r"^[0-9]+$")
    length = id_number.str.len_chars()
    return (
        pl.when(digits & (length == CCCD_LENGTH))
        .then(pl.lit("cccd"))
        .when(digits & (length == CMND_LENGTH))
        .then(pl.lit("cmnd"))
        .otherwise(None)
    )


def cccd_birth_year(cccd: pl.Expr) -> pl.Expr:
    """Birth year written into a CCCD (4th digit = century and gender, 5th-6th = year): checks the record's DOB."""
    century_gender = cccd.str.slice(3, 1).cast(pl.Int32, strict=False)
    year = cccd.str.slice(4, 2).cast(pl.Int32, strict=False)
    return 1900 + 100 * (century_gender // 2) + year


def cccd_gender(cccd: pl.Expr) -> pl.Expr:
    """Gender written into a CCCD (even 4th digit = male): checks the record's gender."""
    century_gender = cccd.str.slice(3, 1).cast(pl.Int32, strict=False)
    return pl.when(century_gender % 2 == 0).then(pl.lit("Nam")).otherwise(pl.lit("Nữ"))


def household_key(province_code: pl.Expr, address: pl.Expr) -> pl.Expr:
    """Hash of the place of permanent residence: people sharing it are (usually) one household."""
    place = squeeze_spaces(address.cast(pl.String).str.normalize("NFC").str.to_lowercase())
    return pl.when(place.is_not_null() & (place != "")).then(
        pl.concat_str(province_code.cast(pl.String).fill_null(""), pl.lit("|"), place).hash(seed=7)
    )


_ADMIN_PREFIX = r"\b(?:xa|phuong|thi tran|thi xa|huyen|quan|thanh pho|tp|tt|tx|p|q|x|h)\b\.?"
"""Administrative words before a commune or district name ('Xã', 'Phường', 'Huyện', 'Q.', 'TP'), diacritics folded."""


def address_keys(address: pl.Expr) -> dict[str, pl.Expr]:
    """commune_key (commune + district) and district_key: hashes of the written address's first two parts.

    'Xã Tân Phú, Huyện Củ Chi' = 'xa tan phu, h. cu chi' = 'Tân Phú, Củ Chi': case, diacritics,
    administrative words and spacing do not matter. NULL when the address has no such part.
    """
    folded = (
        canonical_name(address.cast(pl.String))
        .str.normalize("NFD")
        .str.replace_all(r"\p{Mn}", "")
        .str.replace_all("đ", "d")
        .str.replace_all(r"[.;/]", ",")
        .str.replace_all(r"[^a-z0-9, ]", " ")
    )
    parts = (
        folded.str.split(",")
        .list.eval(pl.element().str.replace_all(_ADMIN_PREFIX, " ").str.replace_all(r"\s+", " ").str.strip_chars())
        .list.eval(pl.element().filter(pl.element() != ""))
    )
    commune, district = parts.list.get(0, null_on_oob=True), parts.list.get(1, null_on_oob=True)
    return {
        "commune_key": pl.when(district.is_not_null()).then(
            pl.concat_str([commune, district], separator="|").hash(seed=11)
        ),
        "district_key": pl.when(district.is_not_null()).then(district.hash(seed=11)),
    }


def with_address_keys(frame: pl.LazyFrame) -> pl.LazyFrame:
    """commune_key and district_key in place of `address`, computed once per distinct address (they repeat)."""
    addresses = frame.select(pl.col("address").unique()).with_columns(**address_keys(pl.col("address")))
    return frame.join(addresses, on="address", how="left", nulls_equal=True, maintain_order="left").drop("address")


def date_parts(prefix: str = "") -> list[pl.Expr]:
    """Birth year/month/day as Int32 on both sides, so block hashes and comparisons see the same types."""
    return [pl.col(f"birth_{part}").cast(pl.Int32).alias(f"{prefix}birth_{part}") for part in ("year", "month", "day")]


def with_name_features(frame: pl.LazyFrame, full_name: str = "full_name") -> pl.LazyFrame:
    """Every name column the comparisons and blocks need, from the name as written.

    Built in stages (each from the previous stage's column), once per distinct spelling: names
    repeat (a person's several doses, common names), and the regex work is the expensive part.
    """
    spellings = (
        frame.select(pl.col(full_name).unique())
        .with_columns(canonical_name(pl.col(full_name)).alias("name_canon"))
        .with_columns(
            name_key(pl.col("name_canon")).alias("name_key"),
            has_diacritics(pl.col("name_canon")).alias("name_has_diacritics"),
        )
        .with_columns(**name_tokens(pl.col("name_key")))
    )
    return frame.join(spellings, on=full_name, how="left", nulls_equal=True, maintain_order="left")


def _with_defaults(frame: pl.DataFrame, columns: dict[str, pl.DataType]) -> pl.DataFrame:
    """Optional input columns may be absent in hand-built frames: add them as NULL."""
    missing = [pl.lit(None, dtype).alias(name) for name, dtype in columns.items() if name not in frame.columns]
    return frame.with_columns(missing) if missing else frame


def record_features(doses: pl.DataFrame) -> pl.DataFrame:
    """Dose records in comparable form, indexed by `_rec` (row position in `doses`)."""
    doses = _with_defaults(
        doses,
        {
            "id_issue": pl.String,
            "id_raw": pl.String,
            "date_of_birth_raw": pl.String,
            "id_number": pl.String,
            "address": pl.String,
        },
    )
    base = (
        doses.lazy()
        .select(
            pl.int_range(pl.len(), dtype=pl.UInt32).alias("_rec"),
            "source_file",
            "source_row",
            pl.col("province_code").cast(pl.String),
            pl.col("full_name").cast(pl.String),
            *date_parts(),
            pl.coalesce(pl.col("date_of_birth"), pl.col("date_of_birth_raw")).cast(pl.String).alias("dob_text"),
            _blank_to_null(pl.col("gender").cast(pl.String)).alias("gender"),
            *(expr.alias(name) for name, expr in record_ids().items()),
            pl.col("id_issue").cast(pl.String),
            pl.col("id_raw").cast(pl.String),
            pl.col("address").cast(pl.String),
        )
        .with_columns(  # from the ID as classified above, not classified again
            pl.when(pl.col("id_kind") == "cccd").then(cccd_birth_year(pl.col("id_number"))).alias("id_birth_year"),
            pl.when(pl.col("id_kind") == "cccd").then(cccd_gender(pl.col("id_number"))).alias("id_gender"),
        )
    )
    return with_address_keys(with_name_features(base)).collect().rechunk()  # contiguous: pair gathers 6x faster


def _written_id() -> tuple[pl.Expr, pl.Expr]:
    """The record's ID as written (trimmed, blank = NULL) and its kind."""
    id_number = _blank_to_null(pl.col("id_number").cast(pl.String).str.strip_chars())
    return id_number, id_kind(id_number)


def record_ids() -> dict[str, pl.Expr]:
    """id_number (only when it is a CCCD or CMND) and id_kind: all the exact-ID lookup needs, without the features."""
    id_number, kind = _written_id()
    return {"id_number": pl.when(kind.is_not_null()).then(id_number), "id_kind": kind}


def registry_features(registry: pl.DataFrame) -> pl.DataFrame:
    """Registry persons in comparable form, indexed by `_reg` (row position in `registry`)."""
    return with_name_share(person_features(registry)).rechunk()  # contiguous: pair gathers 6x faster


def person_features(registry: pl.DataFrame) -> pl.DataFrame:
    """`registry_features` but the name's share of the registry: each person's own, so a registry can be
    normalized in batches (the share is then counted over all of them)."""
    registry = _with_defaults(registry, {"old_id": pl.String, "province_code": pl.String, "address": pl.String})
    base = registry.lazy().select(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias("_reg"),
        pl.col("person_id").cast(pl.String),
        _blank_to_null(pl.col("old_id").cast(pl.String).str.strip_chars()).alias("old_id"),
        pl.col("province_code").cast(pl.String),
        pl.col("full_name").cast(pl.String),
        household_key(pl.col("province_code"), pl.col("address")).alias("household_key"),
        pl.col("address").cast(pl.String),
        *date_parts(),
        pl.col("date_of_birth").cast(pl.String).alias("dob_text"),
        _blank_to_null(pl.col("gender").cast(pl.String)).alias("gender"),
    )
    return with_address_keys(with_name_features(base)).collect()


MIN_PEOPLE_FOR_NAME_SHARE = 10_000
"""Below this many people (tests, a pilot commune) a name's share of the registry says nothing: NULL, hand-set u."""


def with_name_share(people: pl.DataFrame) -> pl.DataFrame:
    """`name_share`: the share of the registry holding the person's name key, the u of an exact name agreement
    (Splink's term frequency): a rare full name agreeing means more than Nguyễn Văn Hùng."""
    share = pl.len().over("name_key") / pl.len()
    enough = people.height >= MIN_PEOPLE_FOR_NAME_SHARE
    return people.with_columns(name_share=share.cast(pl.Float64) if enough else pl.lit(None, pl.Float64))


def as_registry_features(registry: pl.DataFrame) -> pl.DataFrame:
    """Precomputed features (stored once per snapshot) are indexed as they are; snapshot rows are normalized here."""
    if "name_key" in registry.columns:
        people = registry.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("_reg"), pl.exclude("_reg"))
        return (people if "name_share" in people.columns else with_name_share(people)).rechunk()
    return registry_features(registry)
