"""Synthetic landing folder generator: messy dose exports, the national registry, and the ground truth.

Entry point: `generate_landing_folder`. Deterministic for a given seed; vectorized (numpy/polars).
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from vax_cleaning.generate.doses import assign_sites, build_doses, lot_numbers
from vax_cleaning.generate.duplicates import DUPLICATE_RATE, make_duplicates
from vax_cleaning.generate.errors import IDENTITY_ERROR_RATES, inject_identity_errors
from vax_cleaning.generate.field_mix import (
    FIELD_COMBINED_SHARE,
    FIELD_POPULATION,
    FIELD_RATES,
    MIXES,
    absent_relative_ids,
    other_person_ids,
    repeat_profile_errors,
    vary_addresses,
    with_extra_kinds,
)
from vax_cleaning.generate.files import files_frame, plan_files
from vax_cleaning.generate.garbage import GARBAGE_RATE, make_garbage
from vax_cleaning.generate.people import (
    PopulationParams,
    UsedIds,
    build_population,
    persons_truth,
    registry_frame,
    registry_people,
)
from vax_cleaning.generate.records import build_records, order_in_files
from vax_cleaning.generate.writers import check_registry_format, write_export, write_registry
from vax_cleaning.reference import province_names

__all__ = ["IDENTITY_ERROR_RATES", "GenerationSummary", "generate_landing_folder"]

OUTPUT_FOLDERS = ("exports", "registry", "reported", "ground_truth")
"""The sub-folders of the landing root this generator writes (and, with overwrite, replaces)."""

UNREPORTED_SHARE = (0.03, 0.08)
"""Range of the share of doses administered but never uploaded, per province (tallies)."""

PADDING_STAGE = 11
"""Random stage of the registry padding; each chunk draws from its own child stream of it."""

PADDING_CHUNK = 4_000_000
"""People generated and written per padding file: bounds memory whatever the registry size (100 M people: 4 GB peak,
of which 8 bytes per ID number already given, kept to keep them unique)."""

DOSE_TRUTH_SCHEMA: dict[str, pl.DataType] = {
    "source_file": pl.String(),
    "source_row": pl.Int32(),
    "province_code": pl.String(),
    "true_person_id": pl.String(),
    "true_person_key": pl.String(),
    "in_registry": pl.Boolean(),
    "error_kinds": pl.List(pl.String()),
    "expected_rejection": pl.String(),
    "duplicate_of_file": pl.String(),
    "duplicate_of_row": pl.Int32(),
    "vaccine_code": pl.String(),
    "dose_number": pl.Int32(),
    "vaccination_date": pl.Date(),
}
"""ground_truth/doses.parquet: one row per data record of every export file."""


@dataclass(frozen=True)
class GenerationSummary:
    """Counts of what was generated (nothing personal)."""

    persons: int  # vaccinated persons
    registry_persons: int
    dose_records: int  # data records in all export files
    accepted_records: int  # records the contract accepts (originals + duplicates)
    duplicate_records: int
    garbage_records: int  # records the contract rejects
    files: int
    records_with_identity_errors: int  # accepted originals with at least one error kind
    identity_errors: Mapping[str, int] = field(default_factory=dict)  # kind -> accepted originals
    rejections: Mapping[str, int] = field(default_factory=dict)  # expected_rejection -> records
    file_encodings: Mapping[str, int] = field(default_factory=dict)  # encoding (or 'xlsx') -> files


def stage_rng(seed: int, stage: int) -> np.random.Generator:
    """An independent random stream per stage, so changing one stage leaves the others alone."""
    return np.random.default_rng([seed, stage])


def check_provinces(codes: list[str]) -> list[str]:
    """Requested province codes, validated against the reference, duplicates dropped."""
    known = province_names()
    unknown = [c for c in codes if c not in known]
    if unknown or not codes:
        raise ValueError(f"unknown or missing province codes: {unknown}")
    return list(dict.fromkeys(codes))


def generate_landing_folder(
    out_dir: Path,
    persons: int,
    provinces: list[str],
    seed: int = 0,
    snapshot_date: date = date(2022, 6, 15),
    today: date = date(2022, 6, 20),
    registry_format: str = "parquet",
    error_rates: Mapping[str, float] | None = None,
    duplicate_rate: float = DUPLICATE_RATE,
    garbage_rate: float = GARBAGE_RATE,
    overwrite: bool = False,
    mix: str = "standard",
    registry_persons: int | None = None,
) -> GenerationSummary:
    """Write exports/, registry/<snapshot_date>/, reported/ and ground_truth/ under out_dir.

    `mix`: "standard" (the project's original error model) or "field" (generate/field_mix.py: harder).
    `registry_persons`: pad the registry snapshot with people who have no dose records, written in chunks
    (registry-pad-00001.parquet, ... beside registry.parquet; .csv with registry_format="csv") until it holds
    exactly this many people (a national registry: 100 M). None, or not above the population's: no padding.
    """
    out_dir = Path(out_dir)
    codes = check_provinces(provinces)
    if mix not in MIXES:
        raise ValueError(f"unknown mix {mix!r}: use one of {', '.join(MIXES)}")
    field_mix = mix == "field"
    check_registry_format(registry_format)
    prepare_out_dir(out_dir, overwrite)
    rates = {**(FIELD_RATES if field_mix else IDENTITY_ERROR_RATES), **(error_rates or {})}
    population = {k: v for k, v in FIELD_POPULATION.items() if k != "absent_relative_id_share"} if field_mix else {}
    params = PopulationParams(absent_share=rates["not_in_registry"], **population)
    people = build_population(stage_rng(seed, 1), persons, codes, snapshot_date, params)
    registry_dir = out_dir / "registry" / snapshot_date.isoformat()
    padding = (registry_persons or 0) - int(people["in_registry"].sum())
    padded = pad_registry(
        stage_rng(seed, PADDING_STAGE), people, padding, snapshot_date, params, registry_dir, registry_format
    )
    doses = generate_doses(stage_rng(seed, 2), people, today)
    specs, file_of_dose = plan_files(stage_rng(seed, 3), doses)
    files = files_frame(specs)
    records = build_records(stage_rng(seed, 4), people, doses, file_of_dose, files)
    if field_mix:
        originals = field_errors(stage_rng(seed, 10), records, rates)
    else:
        originals = inject_identity_errors(stage_rng(seed, 5), records, rates)
    duplicates = make_duplicates(stage_rng(seed, 6), originals, specs, duplicate_rate)
    garbage = make_garbage(stage_rng(seed, 7), originals, today, garbage_rate)
    records = assemble(stage_rng(seed, 8), originals, duplicates, garbage, files)
    encodings = write_exports(out_dir / "exports", specs, records)
    registry = registry_frame(people)
    write_registry(registry, registry_dir, registry_format)
    write_tallies(stage_rng(seed, 9), originals, codes, out_dir / "reported")
    write_ground_truth(records, people, out_dir / "ground_truth")
    return summarize(people, registry, records, encodings, padded)


def pad_registry(
    rng: np.random.Generator,
    people: pl.DataFrame,
    n: int,
    snapshot_date: date,
    params: PopulationParams,
    folder: Path,
    fmt: str,
) -> int:
    """Write n more registry people with no dose records, one file per chunk, so memory stays bounded; returns n.

    Only the sorted ID numbers given so far are kept (UsedIds), so CCCD and CMND stay unique over the snapshot.
    """
    if n <= 0:
        return 0
    used = UsedIds.of(people)
    parts = -(-n // PADDING_CHUNK)
    chunks = [n // parts + (i < n % parts) for i in range(parts)]  # even sizes, at most PADDING_CHUNK each
    with ThreadPoolExecutor(max_workers=1) as writer:  # writes a chunk while the next one is drawn
        writing = None
        for number, (size, chunk_rng) in enumerate(zip(chunks, rng.spawn(len(chunks)), strict=True), start=1):
            rows = registry_people(chunk_rng, size, snapshot_date, params, used)
            if writing is not None:
                writing.result()  # at most two chunks in memory; a failed write stops here
            writing = writer.submit(write_registry, rows, folder, fmt, f"registry-pad-{number:05d}")
        writing.result()
    return n


def field_errors(rng: np.random.Generator, records: pl.DataFrame, rates: Mapping[str, float]) -> pl.DataFrame:
    """The field mix: repeated profile errors first, then per-record errors (two at once more often), then IDs."""
    records, profile_kind = repeat_profile_errors(rng, vary_addresses(rng, records))
    records = inject_identity_errors(rng, records, rates, FIELD_COMBINED_SHARE)
    records, other_id = other_person_ids(rng, records)
    records, relative_id = absent_relative_ids(rng, records, FIELD_POPULATION["absent_relative_id_share"])
    extra = {"profile_error": profile_kind != "", "id_other_person": other_id, "absent_relative_id": relative_id}
    extra |= {kind: profile_kind == kind for kind in set(profile_kind) - {""}}
    return with_extra_kinds(records, extra)


def prepare_out_dir(out_dir: Path, overwrite: bool) -> None:
    """Refuse to mix two generations (stale files would contradict the ground truth) unless told to replace."""
    existing = [out_dir / name for name in OUTPUT_FOLDERS if (out_dir / name).exists()]
    if existing and not overwrite:
        raise FileExistsError(
            f"{out_dir} already holds generated data ({', '.join(p.name for p in existing)}); "
            "pass overwrite=True to replace it"
        )
    for folder in existing:
        shutil.rmtree(folder)


def generate_doses(rng: np.random.Generator, people: pl.DataFrame, today: date) -> pl.DataFrame:
    """Doses of the vaccinated people, with site, facility and lot number."""
    vaccinated = people.with_row_index("person_row").filter("vaccinated").select("person_row", "dob", "vacc_province")
    doses = assign_sites(rng, build_doses(rng, vaccinated, today))
    return doses.with_columns(lot_numbers(rng, doses))


def assemble(
    rng: np.random.Generator,
    originals: pl.DataFrame,
    duplicates: pl.DataFrame,
    garbage: pl.DataFrame,
    files: pl.DataFrame,
) -> pl.DataFrame:
    """All records placed in their files and numbered; numeric-ID xlsx files lose leading zeros."""
    records = pl.concat([originals, duplicates, garbage.select(originals.columns)]).drop("fmt", "ids_as_numbers")
    records = records.join(files, on="file_id", how="left", maintain_order="left")
    lost_zero = (
        pl.col("ids_as_numbers")
        & pl.col("id_text").str.contains(r"^0\d+$").fill_null(False)
        & pl.col("expected_rejection").is_null()
        & ~pl.col("error_kinds").list.contains("lost_leading_zero")
    )
    records = records.with_columns(
        error_kinds=pl.when(lost_zero)
        .then(pl.col("error_kinds").list.concat(pl.lit(["lost_leading_zero"])))
        .otherwise("error_kinds"),
    )
    return order_in_files(rng, records)


def write_exports(exports_dir: Path, specs: list, records: pl.DataFrame) -> list[str]:
    """Write every export file; returns the encoding used per file."""
    by_file = records.partition_by("file_id", as_dict=True, maintain_order=True)
    return [write_export(exports_dir, spec, by_file[(spec.file_id,)]) for spec in specs]


def write_tallies(rng: np.random.Generator, originals: pl.DataFrame, codes: list[str], folder: Path) -> None:
    """reported/tallies.csv: doses given per province, including some never uploaded."""
    counts = dict(originals.group_by("province_code").len().iter_rows())
    given = np.array([counts.get(code, 0) for code in codes])
    unreported = np.round(given * rng.uniform(*UNREPORTED_SHARE, len(codes))).astype(np.int64)
    folder.mkdir(parents=True, exist_ok=True)
    pl.DataFrame({"province_code": codes, "doses_reported": given + unreported}).write_csv(folder / "tallies.csv")


def dose_truth(records: pl.DataFrame) -> pl.DataFrame:
    """ground_truth/doses: identity of each record, its errors, its expected rejection, its original."""
    originals = records.select(duplicate_of="rec_id", duplicate_of_file="source_file", duplicate_of_row="source_row")
    return (
        records.join(originals, on="duplicate_of", how="left", maintain_order="left")
        .select(
            "source_file",
            "source_row",
            "province_code",
            "true_person_id",
            pl.col("person_key").alias("true_person_key"),
            "in_registry",
            "error_kinds",
            "expected_rejection",
            "duplicate_of_file",
            "duplicate_of_row",
            "vaccine_code",
            "dose_number",
            "vaccination_date",
        )
        .cast(DOSE_TRUTH_SCHEMA)
    )


def write_ground_truth(records: pl.DataFrame, people: pl.DataFrame, folder: Path) -> None:
    """ground_truth/doses.parquet and ground_truth/persons.parquet."""
    folder.mkdir(parents=True, exist_ok=True)
    dose_truth(records).write_parquet(folder / "doses.parquet")
    persons_truth(people).write_parquet(folder / "persons.parquet")


def summarize(
    people: pl.DataFrame, registry: pl.DataFrame, records: pl.DataFrame, encodings: list[str], padded: int = 0
) -> GenerationSummary:
    """Counts for the CLI and the benchmark; `padded`: registry people beyond the population (no dose records)."""
    originals = records.filter(pl.col("duplicate_of").is_null() & pl.col("expected_rejection").is_null())
    kinds = originals["error_kinds"].explode().drop_nulls().value_counts(sort=True)
    rejected = records["expected_rejection"].drop_nulls().value_counts(sort=True)
    accepted = int(records["expected_rejection"].is_null().sum())
    return GenerationSummary(
        persons=int(people["vaccinated"].sum()),
        registry_persons=len(registry) + padded,
        dose_records=len(records),
        accepted_records=accepted,
        duplicate_records=int(records["duplicate_of"].is_not_null().sum()),
        garbage_records=len(records) - accepted,
        files=len(encodings),
        records_with_identity_errors=int((originals["error_kinds"].list.len() > 0).sum()),
        identity_errors=dict(kinds.iter_rows()),
        rejections=dict(rejected.iter_rows()),
        file_encodings=dict(Counter(encodings)),
    )
