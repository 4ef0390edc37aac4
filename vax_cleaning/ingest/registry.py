"""The national population registry snapshot: found, loaded, validated, and dated."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from vax_cleaning.ingest.fields import birth_date_columns
from vax_cleaning.linkage.normalize import cccd_birth_year, cccd_gender

_SNAPSHOT_FOLDER = re.compile(r"^\d{4}-\d{2}-\d{2}$")

REGISTRY_COLUMNS = ("person_id", "old_id", "full_name", "date_of_birth", "gender", "province_code", "address")
"""Contract 2.2 columns."""


class RegistryError(Exception):
    """The registry in force cannot be used (terminal until a corrected snapshot lands)."""


@dataclass(frozen=True)
class RegistrySnapshot:
    """Valid people, rejected registry rows (with reasons), and the snapshot's date."""

    people: pl.DataFrame
    rejected: pl.DataFrame
    snapshot_date: date
    files: tuple[str, ...]


def snapshot_dates(registry_dir: Path) -> list[date]:
    """Snapshot folders (registry/<YYYY-MM-DD>/ holding data files), oldest first."""
    if not registry_dir.is_dir():
        return []
    return sorted(
        date.fromisoformat(p.name)
        for p in registry_dir.iterdir()
        if p.is_dir() and _SNAPSHOT_FOLDER.match(p.name) and _data_files(p)
    )


def choose_snapshot(registry_dir: Path, configured: str | None = None) -> date:
    """The configured snapshot, else the newest; a clear error when there is none."""
    available = snapshot_dates(registry_dir)
    if configured:
        wanted = date.fromisoformat(configured)
        if wanted not in available:
            raise RegistryError(
                f"registry snapshot {configured} not found under {registry_dir}; available: {[d.isoformat() for d in available]}"
            )
        return wanted
    if not available:
        raise RegistryError(
            f"no registry snapshot under {registry_dir}: land one as registry/<YYYY-MM-DD>/<name>.csv or .parquet"
        )
    return available[-1]


def _data_files(folder: Path) -> list[Path]:
    """CSV and Parquet files of one snapshot folder, in a stable order."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in (".csv", ".parquet"))


def _read_file(path: Path) -> pl.DataFrame:
    """All contract columns as text, so leading zeros of IDs survive."""
    if path.suffix.lower() == ".parquet":
        frame = pl.read_parquet(path)
        frame = frame.cast({c: pl.String for c in frame.columns})
    else:
        frame = pl.read_csv(path, infer_schema=False, encoding="utf8-lossy")
    missing = [c for c in REGISTRY_COLUMNS if c not in frame.columns]
    if missing:
        raise RegistryError(f"registry file {path.name} lacks columns {missing}")
    return frame.select(REGISTRY_COLUMNS)


def load_registry(registry_dir: Path, configured: str | None = None) -> RegistrySnapshot:
    """Load and validate the snapshot in force; invalid or duplicated person_ids are set aside, not guessed."""
    snapshot_date = choose_snapshot(registry_dir, configured)
    paths = _data_files(registry_dir / snapshot_date.isoformat())
    raw = pl.concat([_read_file(p) for p in paths]).with_columns(
        [pl.col(c).str.strip_chars().str.normalize("NFC").replace("", None) for c in REGISTRY_COLUMNS]
    )
    reason = (
        pl.when(~pl.col("person_id").str.contains(r"^\d{12}$").fill_null(False))
        .then(pl.lit("person_id is not 12 digits"))
        .when(pl.col("person_id").is_duplicated())
        .then(pl.lit("person_id appears more than once in the snapshot"))
    )
    checked = raw.with_columns(reason=reason)
    people = (
        checked.filter(pl.col("reason").is_null())
        .select(
            "person_id",
            *birth_date_columns(pl.col("date_of_birth"), snapshot_date.year),
            old_id=pl.when(pl.col("old_id").str.contains(r"^\d{9}$")).then(pl.col("old_id")),
            full_name="full_name",
            gender="gender",
            province_code="province_code",
            address="address",
            snapshot_date=pl.lit(snapshot_date),
        )
        .with_columns(id_layout_agreement())
    )
    rejected = checked.filter(pl.col("reason").is_not_null()).select(
        "person_id", "reason", snapshot_date=pl.lit(snapshot_date)
    )
    return RegistrySnapshot(
        people=people, rejected=rejected, snapshot_date=snapshot_date, files=tuple(p.name for p in paths)
    )


def id_layout_agreement() -> list[pl.Expr]:
    """Does the CCCD's century/gender digit and 2-digit year agree with the recorded birth year and gender?"""
    return [
        (cccd_birth_year(pl.col("person_id")) == pl.col("birth_year")).alias("id_birth_year_agrees"),
        (cccd_gender(pl.col("person_id")) == pl.col("gender")).alias("id_gender_agrees"),
    ]
