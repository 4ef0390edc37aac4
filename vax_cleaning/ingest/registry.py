"""The national population registry snapshot: found, loaded, validated, and dated.

The registry is the reference every correction copies from, so a snapshot that cannot be read faithfully is
refused, never guessed at: text that is neither UTF-8 nor Windows-1258 (or has damaged bytes), a ragged or empty
file, a snapshot with nobody in it, or one that lost most of the people of the snapshot in force. Every such error
names the file (and the line, where there is one) and the fix; the snapshot already loaded stays in force.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from vax_cleaning.ingest.fields import with_birth_date
from vax_cleaning.ingest.files import UnreadableFileError, decode
from vax_cleaning.linkage.normalize import cccd_birth_year, cccd_gender
from vax_cleaning.warehouse import read_frame, registered, table_exists

_SNAPSHOT_FOLDER = re.compile(r"^\d{4}-\d{2}-\d{2}$")

REGISTRY_COLUMNS = ("person_id", "old_id", "full_name", "date_of_birth", "gender", "province_code", "address")
"""Contract 2.2 columns."""


MIN_SHARE_OF_LOADED = 0.5
"""The newest snapshot is refused when it holds fewer people than this share of the snapshot loaded (in force): a
registry does not lose half its people between two snapshots, a truncated export or a partial copy does. Pinning the
snapshot with landing.registry_date loads it anyway (the operator's deliberate choice)."""

REGISTRY_FIX = "land a complete snapshot or pin the previous one with landing.registry_date"
"""What the operator does about a snapshot that is refused."""


class RegistryError(Exception):
    """The registry in force cannot be used (terminal until a corrected snapshot lands)."""


@dataclass(frozen=True)
class RegistrySnapshot:
    """Valid people, rejected registry rows (with reasons), and the snapshot's date."""

    people: pl.DataFrame
    rejected: pl.DataFrame
    snapshot_date: date
    files: tuple[str, ...]


def _folder_date(name: str) -> date | None:
    """The date a snapshot folder is named by; None for any other name (`2022-13-45`, `latest`)."""
    if not _SNAPSHOT_FOLDER.match(name):
        return None
    try:
        return date.fromisoformat(name)
    except ValueError:
        return None


def _entries(registry_dir: Path) -> list[Path]:
    """Everything directly under registry/ except hidden entries (`.DS_Store` and the like), in a stable order."""
    if not registry_dir.is_dir():
        return []
    return sorted(p for p in registry_dir.iterdir() if not p.name.startswith("."))


def snapshot_dates(registry_dir: Path) -> list[date]:
    """Snapshot folders (registry/<YYYY-MM-DD>/ holding data files), oldest first; other entries are ignored."""
    return sorted(
        day for p in _entries(registry_dir) if p.is_dir() and (day := _folder_date(p.name)) and _data_files(p)
    )


def ignored_entries(registry_dir: Path) -> list[str]:
    """Entries under registry/ that are not snapshots, each with why: they are ignored, and reported by name."""
    ignored = []
    for entry in _entries(registry_dir):
        if not entry.is_dir():
            ignored.append(f"{entry.name}: a file directly under registry/ (snapshots go in registry/<YYYY-MM-DD>/)")
        elif _folder_date(entry.name) is None:
            ignored.append(f"{entry.name}/: not a snapshot date (registry/<YYYY-MM-DD>/, a real calendar date)")
        elif not _data_files(entry):
            ignored.append(f"{entry.name}/: no .csv or .parquet file in it")
    return ignored


def choose_snapshot(registry_dir: Path, configured: str | None = None) -> date:
    """The configured snapshot, else the newest; a clear error when there is none."""
    available = snapshot_dates(registry_dir)
    if configured:
        wanted = _folder_date(configured)
        if wanted is None:
            raise RegistryError(f"landing.registry_date {configured!r} is not a date: give it as YYYY-MM-DD")
        if wanted not in available:
            raise RegistryError(
                f"registry snapshot {configured} not found under {registry_dir}; available: {[d.isoformat() for d in available]}"
            )
        return wanted
    if not available:
        ignored = ignored_entries(registry_dir)
        raise RegistryError(
            f"no registry snapshot under {registry_dir}: land one as registry/<YYYY-MM-DD>/<name>.csv or .parquet"
            + (f" (ignored: {'; '.join(ignored)})" if ignored else "")
        )
    return available[-1]


def _data_files(folder: Path) -> list[Path]:
    """CSV and Parquet files of one snapshot folder, in a stable order."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in (".csv", ".parquet"))


def landed_name(path: Path) -> str:
    """How errors name a snapshot file: registry/<date>/<file>."""
    return f"registry/{path.parent.name}/{path.name}"


def _read_file(path: Path) -> pl.DataFrame:
    """All contract columns as text, so leading zeros of IDs survive; any problem is a RegistryError naming the file."""
    name = landed_name(path)
    if path.stat().st_size == 0:
        raise RegistryError(f"{name} is empty (0 bytes): {REGISTRY_FIX}")
    try:
        if path.suffix.lower() == ".parquet":
            frame = pl.read_parquet(path)
            frame = frame.cast({c: pl.String for c in frame.columns})
        else:
            frame = _read_csv(path, name)
    except (pl.exceptions.PolarsError, OSError) as error:
        # the error's type only: a parser's message may quote a cell, and cells are names and IDs
        raise RegistryError(f"{name} cannot be read ({type(error).__name__}): {REGISTRY_FIX}") from error
    missing = [c for c in REGISTRY_COLUMNS if c not in frame.columns]
    if missing:
        raise RegistryError(f"{name} lacks columns {missing} (its columns: {frame.columns}): {REGISTRY_FIX}")
    return frame.select(REGISTRY_COLUMNS)


def _read_csv(path: Path, name: str) -> pl.DataFrame:
    """UTF-8 (with or without BOM) straight from the file; otherwise decoded as exports are, never lossily.

    The fast path is polars' own reader, which refuses bytes that are not UTF-8; only then is the file decoded in
    Python (`_decoded`) and read from the decoded text. Either way load_registry normalizes every value to NFC.
    """
    try:
        return pl.read_csv(path, infer_schema=False)
    except pl.exceptions.ComputeError as error:
        if "utf-8" not in str(error).lower() and "utf8" not in str(error).lower():
            raise _csv_error(name, error, lambda: decode(path.read_bytes())[0]) from error
    text = _decoded(path.read_bytes(), name)
    try:
        return pl.read_csv(text.encode(), infer_schema=False)
    except pl.exceptions.ComputeError as error:
        raise _csv_error(name, error, lambda: text) from error


ENCODING_SAMPLE_BYTES = 1 << 16
"""The encoding is told (by `files.decode`, as for exports) from the lines this far around the first byte that is not
UTF-8: a Windows-1258 file and a UTF-8 file with damaged bytes differ there already."""

_UTF8_BOM = b"\xef\xbb\xbf"


def _decoded(data: bytes, name: str) -> str:
    """Text of a registry file that is not plain UTF-8: Windows-1258, or what `files.decode` makes of it.

    Windows-1258 is decoded here directly, without `decode`'s NFC pass over the whole text (30 s on 5 M rows with
    combining tone marks; polars' per-value NFC in load_registry is needed anyway). Text with damaged UTF-8 bytes,
    which `decode` reads as U+FFFD, is refused naming the line: the registry is the reference for every name.
    """
    try:
        data.decode("utf-8")
        first_bad = 0
    except UnicodeDecodeError as error:
        first_bad = error.start
    start = data.rfind(b"\n", 0, max(first_bad - ENCODING_SAMPLE_BYTES, 0)) + 1
    end = data.find(b"\n", first_bad + ENCODING_SAMPLE_BYTES)
    try:
        _, encoding = decode(data[start : end if end >= 0 else len(data)])
        if encoding.startswith("cp1258"):
            return data.removeprefix(_UTF8_BOM).decode("cp1258")
        text, _ = decode(data)
    except (UnreadableFileError, UnicodeDecodeError) as error:
        reason = error.reason if isinstance(error, UnicodeDecodeError) else str(error)
        raise RegistryError(f"{name} is neither UTF-8 nor Windows-1258 text ({reason}): {REGISTRY_FIX}") from None
    if "\ufffd" in text:
        line = text.count("\n", 0, text.index("\ufffd")) + 1
        raise RegistryError(
            f"{name}, line {line}: damaged UTF-8 bytes (names would be garbled): re-export the snapshot, or pin the "
            "previous one with landing.registry_date"
        )
    return text


def _csv_error(name: str, error: Exception, text: Callable[[], str]) -> RegistryError:
    """polars' parse error as a RegistryError naming the file and, for a ragged row, its line (found in Python)."""
    if "more fields" not in str(error):  # the error's type only: a parser's message may quote a cell (personal data)
        return RegistryError(f"{name} is not a readable CSV file ({type(error).__name__}): {REGISTRY_FIX}")
    reader = csv.reader(io.StringIO(text(), newline=""))
    width = len(next(reader, []))
    for record in reader:
        if len(record) > width:
            return RegistryError(
                f"{name}, line {reader.line_num}: {len(record)} fields, the header has {width} (a field holding a "
                f"comma must be quoted): re-export the snapshot, or pin the previous one with landing.registry_date"
            )
    return RegistryError(f"{name}: a row has more fields than the header ({width}): {REGISTRY_FIX}")


BATCH_ROWS = 2_000_000
"""Registry rows typed at a time: a national snapshot (~100 M people) is loaded in bounded memory."""

STAGED = "_registry_staged"
"""Warehouse table a snapshot's rows are typed into, batch by batch, before they come into force (registry_load.py):
all of them on a first load, only the changed and new ones on a next snapshot."""

PEOPLE_COLUMNS = (
    "person_id", "date_of_birth", "birth_year", "birth_month", "birth_day", "old_id", "full_name", "gender",
    "province_code", "address", "snapshot_date", "id_birth_year_agrees", "id_gender_agrees",
)  # fmt: skip
"""A typed person's columns, in order (`load_registry`'s people)."""

SNAPSHOT_COLUMNS = (
    "registry_row", *(c for c in PEOPLE_COLUMNS if c != "snapshot_date"), "raw_hash", "snapshot_date",
)  # fmt: skip
"""registry_snapshot's columns, in order: the slot first, the snapshot's date last (a next snapshot sets it on every
row by replacing that one column: `registry_load.apply_in_place`)."""

DUPLICATED = "person_id appears more than once in the snapshot"

TYPING_VERSION = f"typing-1/polars-{pl.__version__}"
"""Part of every raw row's hash: bump when `_typed` (or a field parser it calls) changes what a raw row becomes, so
no typed row is kept; polars' version is in it too (its Unicode tables and date parsing type the rows)."""

RAW_HASH_PARTS = ("raw_hash_hi", "raw_hash_lo")
"""A raw row's 128-bit hash as two 64-bit halves (polars has no 128-bit unsigned type): `raw_hash_sql`."""


def raw_hash_sql(types: str, snapshot_year: int, source: str = "") -> tuple[str, str]:
    """The two 64-bit halves of a raw row's hash, in DuckDB: its contract columns as text, the file's column types,
    the snapshot's year (two-digit birth years are read against it) and TYPING_VERSION. Two different hashes (the
    second of each value with a separator appended), so a changed row cannot pass for an unchanged one in practice."""
    prefix = f"{source}." if source else ""
    columns = [f"{prefix}{c}::VARCHAR" for c in REGISTRY_COLUMNS]
    salt = "'" + f"{types}|{snapshot_year}|{TYPING_VERSION}".replace("'", "''") + "'"  # types come from the file
    high = f"hash({', '.join(columns)}, {salt})"
    low = f"hash({', '.join(f'{c} || chr(31)' for c in columns)}, {salt})"
    return high, low


@dataclass(frozen=True)
class StagedSnapshot:
    """A snapshot typed into STAGED: its date, files and counts, ready to come into force (registry_load.py)."""

    snapshot_date: date
    files: tuple[str, ...]
    people: int
    rejected: int


def _parquet_types(conn: duckdb.DuckDBPyConnection, path: Path) -> str:
    """The Parquet file's contract columns' types, checked readable first (a RegistryError naming the file)."""
    name = landed_name(path)
    if path.stat().st_size == 0:
        raise RegistryError(f"{name} is empty (0 bytes): {REGISTRY_FIX}")
    try:
        names = pq.ParquetFile(path).schema_arrow.names
    except (pa.ArrowException, OSError) as error:
        # the error's type only: a parser's message may quote a cell, and cells are names and IDs
        raise RegistryError(f"{name} cannot be read ({type(error).__name__}): {REGISTRY_FIX}") from error
    missing = [c for c in REGISTRY_COLUMNS if c not in names]
    if missing:
        raise RegistryError(f"{name} lacks columns {missing} (its columns: {names}): {REGISTRY_FIX}")
    described = _duckdb_read(conn, name, f"DESCRIBE SELECT {', '.join(REGISTRY_COLUMNS)} FROM {parquet_scan(path)}")
    return ",".join(row[1] for row in described)


def parquet_scan(path: Path) -> str:
    """DuckDB's scan of a Parquet file, numbering its rows from 0 (`file_row_number`)."""
    return "read_parquet('" + str(path).replace("'", "''") + "', file_row_number = true)"


def _duckdb_read(conn: duckdb.DuckDBPyConnection, name: str, sql: str, params: list | None = None) -> list[tuple]:
    """A query over a landed file; DuckDB's errors as a RegistryError naming the file (not the message: cells)."""
    try:
        return conn.execute(sql, params).fetchall()
    except duckdb.Error as error:
        raise RegistryError(f"{name} cannot be read ({type(error).__name__}): {REGISTRY_FIX}") from error


def _csv_hashed(conn: duckdb.DuckDBPyConnection, frame: pl.DataFrame, snapshot_year: int) -> pl.DataFrame:
    """A CSV file's rows (text) with their raw hash halves, hashed in DuckDB as a Parquet file's are."""
    high, low = raw_hash_sql(",".join(["VARCHAR"] * len(REGISTRY_COLUMNS)), snapshot_year)
    with registered(conn, "_raw_csv", frame):
        hashes = read_frame(conn, f"SELECT {high} AS raw_hash_hi, {low} AS raw_hash_lo FROM _raw_csv")
    return pl.concat([frame, hashes], how="horizontal")


def _csv_rows(conn: duckdb.DuckDBPyConnection, path: Path, first_row: int, snapshot_year: int) -> pl.DataFrame:
    """A CSV file's rows as text with their raw hash and load_row: the same for hashing and for typing them."""
    return _csv_hashed(conn, _read_file(path), snapshot_year).with_columns(
        load_row=pl.int_range(first_row, first_row + pl.len(), dtype=pl.Int64)
    )


def hash_file(conn: duckdb.DuckDBPyConnection, path: Path, table: str, first_row: int, snapshot_year: int) -> int:
    """Append (load_row, raw_hash) of every row of the file to `table` (hashed in DuckDB, nothing typed); how many."""
    if path.suffix.lower() != ".parquet":
        frame = _csv_rows(conn, path, first_row, snapshot_year)
        with registered(conn, "_raw_csv", frame.select("load_row", *RAW_HASH_PARTS)):
            conn.execute(f"INSERT INTO {table} SELECT load_row, {_joined_hash()} FROM _raw_csv")
        return frame.height
    high, low = raw_hash_sql(_parquet_types(conn, path), snapshot_year)
    sql = f"""INSERT INTO {table} SELECT file_row_number + {first_row},
                     {_joined_hash(f"({high})", f"({low})")} FROM {parquet_scan(path)}"""
    return _duckdb_read(conn, landed_name(path), sql)[0][0]


def _joined_hash(high: str = "raw_hash_hi", low: str = "raw_hash_lo") -> str:
    """The two halves as one UHUGEINT (how registry_snapshot stores a row's raw_hash)."""
    return f"(({high})::UHUGEINT << 64) | ({low})::UHUGEINT"


RAW_HASH_SQL = _joined_hash()
"""A typed row's raw_hash from its two halves (STAGED's columns)."""


def raw_rows(
    conn: duckdb.DuckDBPyConnection, path: Path, first_row: int, snapshot_year: int, only: str | None = None
) -> Iterator[pl.DataFrame]:
    """The file's contract columns as text with each row's load_row (first_row + its position in the file) and raw
    hash, BATCH_ROWS at a time; `only`: a table of the load_rows wanted (a next snapshot's changed rows).

    Parquet is streamed by DuckDB (a cursor of its own, so the caller may write meanwhile); a CSV file is read whole
    by polars (`_read_file`), then sliced."""
    name = landed_name(path)
    if path.suffix.lower() != ".parquet":
        frame = _csv_rows(conn, path, first_row, snapshot_year)
        if only is not None:
            wanted = read_frame(conn, f"SELECT load_row FROM {only} WHERE load_row >= ?", [first_row])
            frame = frame.join(wanted, on="load_row", how="semi")
        yield from (frame.slice(offset, BATCH_ROWS) for offset in range(0, frame.height, BATCH_ROWS))
        return
    high, low = raw_hash_sql(_parquet_types(conn, path), snapshot_year)
    where = (
        ""
        if only is None
        else f"WHERE file_row_number IN (SELECT load_row - {first_row} FROM {only} WHERE load_row >= {first_row})"
    )
    sql = f"""SELECT {", ".join(REGISTRY_COLUMNS)}, {high} AS raw_hash_hi, {low} AS raw_hash_lo,
                     file_row_number + {first_row} AS load_row
              FROM {parquet_scan(path)} {where}"""
    reader = conn.cursor()
    try:
        for batch in _gathered(reader.sql(sql).to_arrow_reader(BATCH_ROWS)):
            frame = pl.from_arrow(batch)
            yield frame.cast({c: pl.String for c in REGISTRY_COLUMNS}).with_columns(pl.col("load_row").cast(pl.Int64))
    except (duckdb.Error, pa.ArrowException, OSError) as error:
        # the error's type only: a parser's message may quote a cell, and cells are names and IDs
        raise RegistryError(f"{name} cannot be read ({type(error).__name__}): {REGISTRY_FIX}") from error
    finally:
        reader.close()


def _gathered(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.Table]:
    """DuckDB's record batches (one row group, ~120,000 rows, each) gathered into BATCH_ROWS-row tables: typing and
    inserting 2 M rows at a time costs ~25 % less than 17 times 120,000."""
    pending, rows = [], 0
    for batch in batches:
        pending.append(batch)
        rows += batch.num_rows
        if rows >= BATCH_ROWS:
            yield pa.Table.from_batches(pending)
            pending, rows = [], 0
    if pending:
        yield pa.Table.from_batches(pending)


def _typed(raw: pl.DataFrame, snapshot_date: date) -> pl.DataFrame:
    """One batch: NFC and trimmed, typed, with its load order, raw hash and the reason a malformed person_id is set
    aside."""
    clean = raw.lazy().with_columns(
        [pl.col(c).str.strip_chars().str.normalize("NFC").replace("", None) for c in REGISTRY_COLUMNS]
    )
    malformed = ~pl.col("person_id").str.contains(r"^\d{12}$").fill_null(False)
    return (
        clean.with_columns(reason=pl.when(malformed).then(pl.lit("person_id is not 12 digits")))
        .pipe(with_birth_date, "date_of_birth", snapshot_date.year)
        .select(
            "load_row",
            "reason",
            "person_id",
            "date_of_birth",
            "birth_year",
            "birth_month",
            "birth_day",
            old_id=pl.when(pl.col("old_id").str.contains(r"^\d{9}$")).then(pl.col("old_id")),
            full_name="full_name",
            gender="gender",
            province_code="province_code",
            address="address",
            snapshot_date=pl.lit(snapshot_date),
        )
        .with_columns(id_layout_agreement())
        .with_columns(raw.select(*RAW_HASH_PARTS))
        .collect()
    )


def type_rows(
    conn: duckdb.DuckDBPyConnection,
    paths: list[Path],
    snapshot_date: date,
    only: str | None = None,
    offsets: list[int] | None = None,
) -> int:
    """Type the snapshot's rows into STAGED in load order: all of them (returns how many), or only the load_rows
    listed in the table `only`, the files' first load_rows being `offsets` (`registry_load.hash_rows`)."""
    conn.execute(f"DROP TABLE IF EXISTS {STAGED}")
    rows = 0
    for index, path in enumerate(paths):
        first = rows if offsets is None else offsets[index]
        for raw in raw_rows(conn, path, first, snapshot_date.year, only):
            with registered(conn, "_batch", _typed(raw, snapshot_date)):
                conn.execute(f"CREATE TABLE IF NOT EXISTS {STAGED} AS SELECT * FROM _batch LIMIT 0")
                conn.execute(f"INSERT INTO {STAGED} SELECT * FROM _batch")
            rows = max(rows, int(raw["load_row"].max()) + 1)
    if not table_exists(conn, STAGED):  # nothing to type: an empty table of the same layout
        with registered(conn, "_batch", _typed(_empty_raw(), snapshot_date)):
            conn.execute(f"CREATE TABLE {STAGED} AS SELECT * FROM _batch")
    return rows


def _empty_raw() -> pl.DataFrame:
    """No raw rows, in raw_rows' layout."""
    return pl.DataFrame(
        schema={
            **dict.fromkeys(REGISTRY_COLUMNS, pl.String),
            **dict.fromkeys(RAW_HASH_PARTS, pl.UInt64),
            "load_row": pl.Int64,
        }
    )


def set_aside_duplicates(conn: duckdb.DuckDBPyConnection) -> None:
    """A person_id on two staged rows is set aside on both: which one is right cannot be told."""
    conn.execute(f"""
        UPDATE {STAGED} SET reason = '{DUPLICATED}' WHERE reason IS NULL AND person_id IN (
            SELECT person_id FROM {STAGED} WHERE reason IS NULL GROUP BY person_id HAVING count(*) > 1)""")


def stage_snapshot(
    conn: duckdb.DuckDBPyConnection, registry_dir: Path, configured: str | None = None
) -> StagedSnapshot:
    """Type the whole snapshot in force into STAGED batch by batch (bounded memory); invalid person_ids get a reason."""
    snapshot_date = choose_snapshot(registry_dir, configured)
    paths = _data_files(registry_dir / snapshot_date.isoformat())
    rows = type_rows(conn, paths, snapshot_date)
    if not rows:
        raise RegistryError(f"registry snapshot {snapshot_date} holds nobody ({named(paths)}: 0 rows): {REGISTRY_FIX}")
    set_aside_duplicates(conn)
    people, rejected = conn.execute(
        f"SELECT count(*) FILTER (WHERE reason IS NULL), count(*) FILTER (WHERE reason IS NOT NULL) FROM {STAGED}"
    ).fetchall()[0]
    refuse_nobody(snapshot_date, paths, rows, people, rejected)
    return StagedSnapshot(snapshot_date, tuple(p.name for p in paths), people, rejected)


def refuse_nobody(snapshot_date: date, paths: list[Path], rows: int, people: int, rejected: int) -> None:
    """A snapshot whose every row was set aside holds nobody: refused."""
    if people == 0:
        raise RegistryError(
            f"registry snapshot {snapshot_date} holds nobody ({named(paths)}: {rows} rows, {rejected} set aside "
            f"for their person_id): {REGISTRY_FIX}"
        )


def snapshot_paths(registry_dir: Path, configured: str | None = None) -> tuple[date, list[Path]]:
    """The snapshot in force's date and data files."""
    snapshot_date = choose_snapshot(registry_dir, configured)
    return snapshot_date, _data_files(registry_dir / snapshot_date.isoformat())


def named(paths: list[Path]) -> str:
    return ", ".join(landed_name(p) for p in paths)


SNAPSHOT_SQL = f"SELECT {', '.join(PEOPLE_COLUMNS)} FROM {STAGED} WHERE reason IS NULL"
"""The staged snapshot's people, in file order (STAGED is written in load_row order and DuckDB keeps a single table's
row order through WHERE and SELECT: docs sql/dialect/order_preservation, so no sort)."""
REJECTED_SQL = f"SELECT person_id, reason, snapshot_date FROM {STAGED} WHERE reason IS NOT NULL"
"""Its rows set aside, with the reason, in file order too."""


def load_registry(registry_dir: Path, configured: str | None = None) -> RegistrySnapshot:
    """Load and validate the snapshot in force in memory (tests, small registries): `stage_snapshot` in a DuckDB of
    its own; invalid or duplicated person_ids are set aside, not guessed."""
    with duckdb.connect() as conn:
        staged = stage_snapshot(conn, registry_dir, configured)
        people, rejected = read_frame(conn, SNAPSHOT_SQL), read_frame(conn, REJECTED_SQL)
    return RegistrySnapshot(people=people, rejected=rejected, snapshot_date=staged.snapshot_date, files=staged.files)


def refuse_shrunken(snapshot: StagedSnapshot, loaded_people: int, loaded_date: date | None) -> None:
    """A snapshot with fewer than MIN_SHARE_OF_LOADED of the people of the snapshot in force is refused (terminal)."""
    if loaded_people and snapshot.people < MIN_SHARE_OF_LOADED * loaded_people:
        raise RegistryError(
            f"registry snapshot {snapshot.snapshot_date} ({', '.join(snapshot.files)}) has {snapshot.people:,} "
            f"people, fewer than {MIN_SHARE_OF_LOADED:.0%} of the {loaded_people:,} of the snapshot in force "
            f"({loaded_date}), which stays in force: {REGISTRY_FIX} (pinning {snapshot.snapshot_date} loads it anyway)"
        )


def id_layout_agreement() -> list[pl.Expr]:
    """Does the CCCD's century/gender digit and 2-digit year agree with the recorded birth year and gender?"""
    return [
        (cccd_birth_year(pl.col("person_id")) == pl.col("birth_year")).alias("id_birth_year_agrees"),
        (cccd_gender(pl.col("person_id")) == pl.col("gender")).alias("id_gender_agrees"),
    ]
