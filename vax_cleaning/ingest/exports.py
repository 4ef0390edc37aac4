"""A province's dose exports: every landed file read, typed, and split into accepted and rejected records.

Every entry under exports/<PP>/ is accounted for in the inventory (`export_files`) with a status: `ingested`,
`rejected` (meant to be read but refused or unreadable: one rejected_rows entry with source_row 0 says why) or
`skipped` (not an export: Office lock files, hidden files, unsupported types, nested folders, dangling links).
One file's failure, whatever it is, never stops the province's other files.
"""

from __future__ import annotations

import hashlib
import logging
import os
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl

from vax_cleaning.ingest import fields
from vax_cleaning.ingest.files import SUPPORTED_SUFFIXES, RawRecords, UnreadableFileError, read_export
from vax_cleaning.ingest.headers import EXPORT_COLUMNS, REQUIRED_COLUMNS
from vax_cleaning.reference import CAMPAIGN_START, alias_key, province_names, vaccine_aliases

ACCEPTED_SCHEMA: dict[str, pl.DataType] = {
    "source_file": pl.String(),
    "source_row": pl.Int32(),
    "province_code": pl.String(),
    "full_name": pl.String(),
    "date_of_birth": pl.String(),
    "birth_year": pl.Int32(),
    "birth_month": pl.Int32(),
    "birth_day": pl.Int32(),
    "date_of_birth_raw": pl.String(),
    "gender": pl.String(),
    "id_number": pl.String(),
    "id_kind": pl.String(),
    "id_issue": pl.String(),
    "id_raw": pl.String(),
    "phone": pl.String(),
    "address": pl.String(),
    "vaccine_code": pl.String(),
    "vaccine_raw": pl.String(),
    "dose_number": pl.Int32(),
    "vaccination_date": pl.Date(),
    "lot_number": pl.String(),
    "facility": pl.String(),
}
"""Columns of `raw_dose_exports` (docs/internal-tables.md)."""

REJECTED_SCHEMA: dict[str, pl.DataType] = {
    "source_file": pl.String(),
    "source_row": pl.Int32(),
    "province_code": pl.String(),
    "reason_code": pl.String(),
    "reason": pl.String(),
}
"""Columns of `rejected_rows`: the contract's three plus the province and a stable reason code."""

FILE_SCHEMA: dict[str, pl.DataType] = {
    "source_file": pl.String(),
    "file": pl.String(),
    "province_code": pl.String(),
    "format": pl.String(),
    "status": pl.String(),
    "records": pl.Int64(),
    "accepted": pl.Int64(),
    "rejected": pl.Int64(),
    "problem": pl.String(),
    "size_bytes": pl.Int64(),
    "sha256": pl.String(),
}
"""Per-file inventory (one row per data sheet of a workbook with several), so a data officer can see what each
landed file contributed, and why a file was not read (docs/internal-tables.md)."""

INGESTED, REJECTED, SKIPPED = "ingested", "rejected", "skipped"
"""`export_files.status` values."""

DATA_SUFFIXES = (".csv", ".xlsx", ".xls", ".xlsm", ".xlsb", ".ods", ".tsv", ".txt")
"""Files that look like exports: one of these not ingested fails the `every_landed_file_ingested` check."""

LOCK_FILE_PREFIX = "~$"
"""Office's lock file beside a workbook someone has open (`~$site1.xlsx`): never an export."""

_log = logging.getLogger(__name__)

READER_THREADS = min(8, 2 * (os.cpu_count() or 1))
"""Files read at once: one file's Python decoding overlaps others' polars work (measured best at 2 per core)."""


@dataclass(frozen=True)
class ProvinceExports:
    """Result of ingesting one province: accepted records, rejected records, and a per-file inventory."""

    accepted: pl.DataFrame
    rejected: pl.DataFrame
    files: pl.DataFrame
    not_ingested: list[str] = field(default_factory=list)
    """Data-looking files (or workbook sheets) not ingested, each with why: the check names them."""


@dataclass(frozen=True)
class LandedFile:
    """One entry under exports/<PP>/: to be read (`status` None) or already settled as skipped/rejected."""

    path: Path
    name: str
    """Path relative to exports/ as landed ('/' separators; bytes that are not UTF-8 shown as \\xNN)."""
    source_file: str
    """The contract's identity: `name` in NFC."""
    status: str | None = None
    reason: str | None = None

    @property
    def looks_like_data(self) -> bool:
        """An export that was meant to be read: a data suffix (not a lock file), or one refused by name."""
        base = self.name.rsplit("/", 1)[-1]
        return self.status == REJECTED or (
            Path(base).suffix.lower() in DATA_SUFFIXES and not base.startswith(LOCK_FILE_PREFIX)
        )


def printable(text: str) -> str:
    """A file name as text: bytes that are not UTF-8 (kept by the OS as surrogates) become \\xNN escapes."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def source_file_name(path: Path, exports_dir: Path) -> str:
    """Contract identity: path relative to exports/, '/' separators, NFC."""
    return unicodedata.normalize("NFC", printable(path.relative_to(exports_dir).as_posix()))


def landed_files(exports_dir: Path, province_code: str) -> list[LandedFile]:
    """Every entry under exports/<PP>/ (files of nested folders included), in a stable (byte) order of names."""
    folder = exports_dir / province_code
    if not folder.is_dir():
        return []
    roots = (exports_dir.resolve().parent, exports_dir.resolve(), exports_dir.absolute().parent)
    landed: list[LandedFile] = []
    for path in sorted(folder.iterdir(), key=lambda p: os.fsencode(p.name)):
        landed.extend(_classify(path, exports_dir, roots))
    return _refuse_name_collisions(landed)


def _landed(path: Path, exports_dir: Path, status: str | None = None, reason: str | None = None) -> LandedFile:
    name = printable(path.relative_to(exports_dir).as_posix())
    return LandedFile(path, name, unicodedata.normalize("NFC", name), status, reason)


def _classify(path: Path, exports_dir: Path, roots: tuple[Path, ...]) -> list[LandedFile]:
    """Settle what can be settled from the name and the file system alone; the rest is to be read."""
    name, suffix = path.name, path.suffix.lower()
    if path.is_symlink():
        try:
            target = path.resolve()
        except (OSError, RuntimeError):
            return [_landed(path, exports_dir, REJECTED, "symbolic link that loops: not followed")]
        if not any(target.is_relative_to(root) for root in roots):
            return [_landed(path, exports_dir, REJECTED, "symbolic link pointing outside the landing folder: refused")]
        if not target.exists():
            return [_landed(path, exports_dir, SKIPPED, "symbolic link to a missing file: nothing to read")]
        if target.is_dir():
            return [_landed(path, exports_dir, SKIPPED, "symbolic link to a folder: not followed")]
    if name.startswith(LOCK_FILE_PREFIX):
        return [_landed(path, exports_dir, SKIPPED, "Office lock file of a workbook open somewhere: not an export")]
    if name.startswith("."):
        return [_landed(path, exports_dir, SKIPPED, "hidden file (name starts with '.'): not ingested")]
    if path.is_dir():
        return _nested_folder(path, exports_dir)
    if not path.is_file():
        return [_landed(path, exports_dir, SKIPPED, "not a regular file (pipe, socket or device): not read")]
    if suffix == ".xls":
        return [_landed(path, exports_dir, SKIPPED, "old Excel format .xls: not read; save it as .xlsx or .csv")]
    if suffix not in SUPPORTED_SUFFIXES:
        kind = suffix or "(no suffix)"
        return [_landed(path, exports_dir, SKIPPED, f"unsupported file type {kind}: exports are .csv or .xlsx")]
    return [_landed(path, exports_dir)]


def _nested_folder(folder: Path, exports_dir: Path) -> list[LandedFile]:
    """Files inside a folder under exports/<PP>/ are not ingested; each is named (an empty folder once)."""
    top = folder.relative_to(exports_dir).as_posix().split("/", 1)[0]
    reason = f"inside a nested folder: not ingested; exports belong directly under exports/{top}/"
    inside = []
    for directory, folders, files in os.walk(folder, followlinks=False):
        links = [f for f in folders if (Path(directory) / f).is_symlink()]
        inside.extend(_landed(Path(directory) / f, exports_dir, SKIPPED, reason) for f in [*files, *links])
    inside.sort(key=lambda landed: landed.name.encode())
    return inside or [_landed(folder, exports_dir, SKIPPED, "empty nested folder: nothing to read")]


def _refuse_name_collisions(landed: list[LandedFile]) -> list[LandedFile]:
    """Two names equal after NFC (one written NFC, one NFD) would share one identity: the later one is refused."""
    first: dict[str, str] = {}
    kept = []
    for entry in landed:
        if entry.status is None and entry.source_file in first:
            reason = f"same name as {first[entry.source_file]!r} after Unicode normalization: rename it and land again"
            entry = LandedFile(entry.path, entry.name, entry.source_file, REJECTED, reason)
        elif entry.status is None:
            first[entry.source_file] = entry.name
        kept.append(entry)
    return kept


def export_files(exports_dir: Path, province_code: str) -> tuple[list[Path], list[Path]]:
    """(files to read, every other entry) under exports/<PP>/, in a stable order."""
    landed = landed_files(exports_dir, province_code)
    return [f.path for f in landed if f.status is None], [f.path for f in landed if f.status is not None]


def files_outside_province_folders(exports_dir: Path) -> list[str]:
    """Entries directly under exports/ that are not folders (their files belong to no province: not ingested)."""
    if not exports_dir.is_dir():
        return []
    return sorted(printable(p.name) for p in exports_dir.iterdir() if not p.is_dir())


def unknown_province_folders(exports_dir: Path) -> list[str]:
    """Folders under exports/ that are not one of the 63 province codes (their files belong to no province)."""
    if not exports_dir.is_dir():
        return []
    return sorted(p.name for p in exports_dir.iterdir() if p.is_dir() and p.name not in province_names())


def provinces_with_exports(exports_dir: Path) -> list[str]:
    """Province codes whose folder holds anything: a province whose only file cannot be read still runs (and names it)."""
    return [code for code in province_names() if (exports_dir / code).is_dir() and any((exports_dir / code).iterdir())]


@dataclass(frozen=True)
class _FileResult:
    """What one landed entry contributed: records, inventory rows, and what of it was not ingested."""

    accepted: pl.DataFrame
    rejected: pl.DataFrame
    inventory: pl.DataFrame
    labels: tuple[str, ...] = ()
    not_ingested: tuple[str, ...] = ()


@dataclass(frozen=True)
class IngestPlan:
    """What a province run reads, given what earlier runs ingested (export_files): only what is new."""

    to_read: list[LandedFile]
    """New files, copies completed since they were first read, and entries settled by name (re-settled each run)."""
    replaced: list[str]
    """`export_files.file` names whose stored rows this run's rows replace."""
    kept_labels: frozenset[str]
    """source_file identities of the files kept as ingested: a new file may not take one of them."""
    changed: list[str]
    """Files whose content changed, or that disappeared, after they were ingested: each with what happened."""


def plan_ingestion(landed: list[LandedFile], stored: pl.DataFrame) -> IngestPlan:
    """Landed files are immutable: one ingested before with the same size and SHA-256 is not read again.

    `stored`: the province's export_files rows (file, source_file, size_bytes, sha256). A file that grew from
    what was read (the copy was still under way) is read again whole; any other change is named, not ingested.
    """
    ingested = {row["file"]: row for row in stored.unique("file").iter_rows(named=True)}
    to_read, replaced, changed = [], [], []
    for entry in landed:
        before = ingested.get(entry.name)
        if entry.status is not None or before is None or before["sha256"] is None:  # settled by name, or new
            to_read.append(entry)
            replaced.extend([entry.name] if before is not None else [])
            continue
        size, digest = _content_identity(entry.path)
        if (size, digest) == (before["size_bytes"], before["sha256"]):
            continue
        if (
            size is not None
            and size > before["size_bytes"]
            and _prefix_digest(entry.path, before["size_bytes"]) == (before["sha256"])
        ):
            to_read.append(entry)  # the rest of a half-copied file arrived
            replaced.append(entry.name)
        else:
            changed.append(
                f"{entry.name}: content changed since it was ingested ({before['size_bytes']} -> {size} bytes)"
            )
    vanished = sorted(set(ingested) - {entry.name for entry in landed})
    changed += [f"{name}: removed after it was ingested" for name in vanished if ingested[name]["sha256"] is not None]
    replaced += [name for name in vanished if ingested[name]["sha256"] is None]  # a lock file gone: its row goes
    gone = set(replaced) | {entry.name for entry in to_read}
    kept = stored.filter(~pl.col("file").is_in(list(gone)))["source_file"]
    return IngestPlan(to_read, replaced, frozenset(kept.to_list()), changed)


def _prefix_digest(path: Path, size: int) -> str | None:
    """SHA-256 of the file's first `size` bytes."""
    try:
        with path.open("rb") as handle:
            digest = hashlib.sha256()
            while size > 0:
                chunk = handle.read(min(size, 1 << 20))
                if not chunk:
                    return None
                digest.update(chunk)
                size -= len(chunk)
            return digest.hexdigest()
    except OSError:
        return None


def ingest_province(
    exports_dir: Path, province_code: str, today: date, plan: IngestPlan | None = None
) -> ProvinceExports:
    """Read the province's export files (all, or those of `plan`); one file's failure never loses the others."""
    landed = landed_files(exports_dir, province_code) if plan is None else plan.to_read
    with ThreadPoolExecutor(max_workers=READER_THREADS) as pool:  # decoding holds the GIL, polars work does not
        per_file = list(pool.map(lambda entry: _ingest_entry(entry, province_code, today), landed))
    per_file = _refuse_label_collisions(landed, per_file, province_code, set() if plan is None else plan.kept_labels)
    return ProvinceExports(
        accepted=pl.concat([pl.DataFrame(schema=ACCEPTED_SCHEMA), *(result.accepted for result in per_file)]),
        rejected=pl.concat([pl.DataFrame(schema=REJECTED_SCHEMA), *(result.rejected for result in per_file)]),
        files=pl.concat([pl.DataFrame(schema=FILE_SCHEMA), *(result.inventory for result in per_file)]),
        not_ingested=[item for result in per_file for item in result.not_ingested],
    )


def _ingest_entry(entry: LandedFile, province_code: str, today: date) -> _FileResult:
    """Read one entry, or account for it as skipped/rejected; never raises."""
    if entry.status == SKIPPED:
        row = _inventory_row(entry, province_code, entry.path.suffix, SKIPPED, 0, 0, 0, entry.reason)
        return _FileResult(_no_records(), _no_rejections(), row, (), _unread(entry, entry.reason))
    if entry.status == REJECTED:
        return _refused(entry, province_code, entry.reason or "refused")
    identity = _content_identity(entry.path)
    try:
        export = read_export(entry.path)
        parts = [
            (entry.source_file + label, raw, *classify_records(raw, entry.source_file + label, province_code, today))
            for label, raw in export.parts
        ]
    except UnreadableFileError as error:
        return _refused(entry, province_code, f"file could not be read ({error})")
    except Exception as error:  # one odd file never sinks the province: it is named instead
        _log.warning("export %s could not be read", entry.source_file, exc_info=True)
        problem = f"file could not be read ({type(error).__name__} while reading it)"
        return _refused(entry, province_code, problem)
    rows = [
        _inventory_row(
            entry,
            province_code,
            raw.encoding,
            INGESTED,
            raw.frame.height,
            accepted.height,
            rejected.height,
            "; ".join(export.notes) if index == 0 and export.notes else None,
            source_file=label,
        )
        for index, (label, raw, accepted, rejected) in enumerate(parts)
    ]
    inventory = pl.concat(rows)
    if _content_identity(entry.path) != identity:  # still being written while read: no identity, read again next run
        inventory = inventory.with_columns(sha256=pl.lit(None, pl.String))
    return _FileResult(
        pl.concat([accepted for _, _, accepted, _ in parts]),
        pl.concat([rejected for _, _, _, rejected in parts]),
        inventory,
        tuple(label for label, *_ in parts),
        tuple(f"{entry.name}: {note}" for note in export.unread),
    )


def _refused(entry: LandedFile, province_code: str, problem: str) -> _FileResult:
    """A file meant to be read but refused or unreadable: one inventory row and one rejection (source_row 0)."""
    return _FileResult(
        _no_records(),
        _whole_file_rejection(entry.source_file, province_code, problem),
        _inventory_row(entry, province_code, entry.path.suffix, REJECTED, 0, 0, 1, problem),
        (),
        _unread(entry, problem),
    )


def _unread(entry: LandedFile, reason: str | None) -> tuple[str, ...]:
    """The entry's line in the check's list of data-looking files not ingested (nothing for lock files and the like)."""
    return (f"{entry.name}: {reason}",) if entry.looks_like_data else ()


def _refuse_label_collisions(
    landed: list[LandedFile], results: list[_FileResult], province_code: str, taken: set[str] | frozenset[str]
) -> list[_FileResult]:
    """A file whose record identity (`source_file`, with its sheet) another file already has is refused by name."""
    seen: set[str] = set(taken)
    kept = []
    for entry, result in zip(landed, results, strict=True):
        if seen.intersection(result.labels):
            problem = "its name (with the sheet) equals another file's after Unicode normalization: rename it"
            result = _refused(entry, province_code, problem)
        seen.update(result.labels)
        kept.append(result)
    return kept


def _no_records() -> pl.DataFrame:
    return pl.DataFrame(schema=ACCEPTED_SCHEMA)


def _no_rejections() -> pl.DataFrame:
    return pl.DataFrame(schema=REJECTED_SCHEMA)


def classify_records(
    raw: RawRecords, source_file: str, province_code: str, today: date
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Type every record, then split: a record is rejected for the first contract reason that applies."""
    missing = [c for c in EXPORT_COLUMNS if c not in raw.columns]
    typed = (  # lazy: the parsers share sub-expressions (an ID's digits, a date's groups) computed once
        raw.frame.lazy()
        .rename({"row_number": "source_row"})
        .with_columns([pl.lit(None, pl.String).alias(c) for c in missing])
        .with_columns(
            source_file=pl.lit(source_file),
            province_code=pl.lit(province_code),
            parsed_vaccination_date=fields.calendar_date(pl.col("vaccination_date")),
            parsed_dose_number=fields.dose_number(pl.col("dose_number")),
            alias_key=alias_key(pl.col("vaccine")),
        )
        .join(vaccine_aliases().lazy(), on="alias_key", how="left", maintain_order="left")
        .with_columns(_rejection(missing, today))
        .collect()
    )
    parsed = (
        typed.lazy()
        .filter(pl.col("reason_code").is_null())
        .rename({"date_of_birth": "date_of_birth_raw", "id_number": "id_raw"})
        .pipe(fields.with_birth_date, "date_of_birth_raw", today.year)
        .pipe(fields.with_id, "id_raw")
    )
    rejected = typed.filter(pl.col("reason_code").is_not_null()).select(list(REJECTED_SCHEMA))
    accepted = parsed.select(
        "source_file",
        "source_row",
        "province_code",
        "full_name",
        "date_of_birth",
        "birth_year",
        "birth_month",
        "birth_day",
        "id_number",
        "id_kind",
        "id_issue",
        "date_of_birth_raw",
        "id_raw",
        gender=fields.gender(pl.col("gender")),
        phone="phone",
        address="address",
        vaccine_code="vaccine_code",
        vaccine_raw="vaccine",
        dose_number="parsed_dose_number",
        vaccination_date="parsed_vaccination_date",
        lot_number="lot_number",
        facility="facility",
    )
    return accepted.select(list(ACCEPTED_SCHEMA)).collect().cast(ACCEPTED_SCHEMA), rejected.sort("source_row").cast(
        REJECTED_SCHEMA
    )


def _rejection(missing_columns: list[str], today: date) -> list[pl.Expr]:
    """reason_code and a human-readable reason (no personal data: only non-identifying fields are quoted)."""
    missing_required = [c for c in REQUIRED_COLUMNS if c in missing_columns]
    vaccination = pl.col("parsed_vaccination_date")
    rules: list[tuple[pl.Expr, str, pl.Expr]] = [
        (pl.col("is_blank"), "blank", pl.lit("blank record")),
        (
            pl.col("n_fields") != pl.col("header_width"),
            "field_count",
            pl.format("row has {} fields, header has {}", "n_fields", "header_width"),
        ),
        (
            pl.lit(bool(missing_required)),
            "missing_column",
            pl.lit(f"file header has no {', '.join(missing_required)} column"),
        ),
        (vaccination.is_null(), "vaccination_date_unparseable", pl.lit("vaccination date missing or not a date")),
        (
            vaccination < date.fromisoformat(CAMPAIGN_START),
            "vaccination_date_out_of_range",
            pl.lit(f"vaccination date before the campaign began ({CAMPAIGN_START})"),
        ),
        (vaccination > today, "vaccination_date_out_of_range", pl.lit("vaccination date after the day of the run")),
        (
            pl.col("vaccine_code").is_null(),
            "unknown_vaccine",
            pl.format("vaccine '{}' matches no name or alias", pl.col("vaccine").fill_null("")),
        ),
        (
            ~pl.col("parsed_dose_number").is_between(1, 6).fill_null(False),
            "dose_number_out_of_range",
            pl.format("dose number '{}' is not 1..6", pl.col("dose_number").fill_null("")),
        ),
    ]
    code, reason = pl.when(rules[0][0]).then(pl.lit(rules[0][1])), pl.when(rules[0][0]).then(rules[0][2])
    for condition, rule_code, text in rules[1:]:
        code, reason = code.when(condition).then(pl.lit(rule_code)), reason.when(condition).then(text)
    return [code.otherwise(None).alias("reason_code"), reason.otherwise(None).alias("reason")]


def _whole_file_rejection(source_file: str, province_code: str, problem: str) -> pl.DataFrame:
    """An unreadable file is one rejected entry (source_row 0 = the whole file) telling the site to re-export."""
    return pl.DataFrame(
        {
            "source_file": [source_file],
            "source_row": [0],
            "province_code": [province_code],
            "reason_code": ["unreadable_file"],
            "reason": [f"{problem}; ask the site to re-export it"],
        },
        schema=REJECTED_SCHEMA,
    )


def _inventory_row(
    entry: LandedFile,
    province_code: str,
    file_format: str,
    status: str,
    records: int,
    accepted: int,
    rejected: int,
    problem: str | None,
    source_file: str | None = None,
) -> pl.DataFrame:
    """One line of the per-file inventory (`source_file` names the sheet when a workbook has several)."""
    size_bytes, sha256 = (
        _content_identity(entry.path)
        if status == INGESTED or (status == REJECTED and not entry.path.is_symlink())
        else (None, None)
    )
    return pl.DataFrame(
        {
            "source_file": [source_file or entry.source_file],
            "file": [entry.name],
            "province_code": [province_code],
            "format": [file_format],
            "status": [status],
            "records": [records],
            "accepted": [accepted],
            "rejected": [rejected],
            "problem": [problem],
            "size_bytes": [size_bytes],
            "sha256": [sha256],
        },
        schema=FILE_SCHEMA,
    )


def _content_identity(path: Path) -> tuple[int | None, str | None]:
    """(size, SHA-256) of a landed file as ingested, so a later change to it can be named (files are immutable)."""
    try:
        with path.open("rb") as handle:
            return os.fstat(handle.fileno()).st_size, hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:
        return None, None
