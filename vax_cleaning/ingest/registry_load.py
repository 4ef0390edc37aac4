"""How a snapshot comes into force in the warehouse: whole on a first load, in place on a next one.

A first load (or a warehouse written before slots) types every row (`registry.stage_snapshot`) and writes
registry_snapshot whole, its people numbered 0, 1, ... in file order (`registry_row`). A next snapshot hashes every
raw row in DuckDB (`registry.hash_file`: 128 bits of its contract columns as written, the file's column types, the
snapshot's year and the typing version) and matches the hashes with those stored with the snapshot in force: only
the rows matching none are typed (new and changed people, and the rows set aside before), and the people whose row
matches none leave. In one transaction (`apply`) the leaving rows are deleted and the typed ones inserted, a changed
person keeping their slot and a new one taking a slot after the largest (people gone leave gaps); unchanged people
keep their typed row where it is, and only the snapshot_date column is replaced. The slots touched are added to
CHANGED for registry_features (linkage/features_store.py), which then does only their work too.

Duplicated person_ids are set aside on every row as on a first load: people kept in place have person_ids unique
among themselves (they were valid), so a duplicate involves a typed row, and the kept people sharing a typed row's
person_id (`_clashes`) leave and are set aside too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from vax_cleaning.ingest import registry
from vax_cleaning.ingest.registry import DUPLICATED, RAW_HASH_SQL, SNAPSHOT_COLUMNS, STAGED, StagedSnapshot
from vax_cleaning.warehouse import table_exists

CHANGED = "registry_changed_rows"
"""registry_row of every slot whose snapshot row was deleted or written since registry_features was last built; no
table at all: registry_snapshot was written whole since (registry_features is rebuilt whole)."""

RAW, DIFF, CLASH, ARRIVALS = "_registry_raw", "_registry_diff", "_registry_clash", "_registry_arrivals"
TODO = "_registry_todo"
_WORK_TABLES = (STAGED, RAW, DIFF, CLASH, ARRIVALS, TODO)


@dataclass(frozen=True)
class StagedLoad:
    """A staged snapshot and how it comes into force: `in_place`, with how many rows were typed, people kept and
    people leaving (changed or gone)."""

    snapshot: StagedSnapshot
    in_place: bool
    typed: int
    kept: int
    leaving: int


def stage(conn: duckdb.DuckDBPyConnection, registry_dir: Path, configured: str | None = None) -> StagedLoad:
    """Stage the snapshot in force: only its changed rows when a snapshot with slots is loaded, else all of it."""
    drop_work_tables(conn)
    if not _has_slots(conn):
        staged = registry.stage_snapshot(conn, registry_dir, configured)
        return StagedLoad(staged, False, staged.people + staged.rejected, 0, 0)
    snapshot_date, paths = registry.snapshot_paths(registry_dir, configured)
    conn.execute(f"CREATE TABLE {RAW} (load_row BIGINT, raw_hash UHUGEINT)")
    offsets, rows = [], 0
    for path in paths:
        offsets.append(rows)
        rows += registry.hash_file(conn, path, RAW, rows, snapshot_date.year)
    if not rows:
        raise registry.RegistryError(
            f"registry snapshot {snapshot_date} holds nobody ({registry.named(paths)}: 0 rows): {registry.REGISTRY_FIX}"
        )
    _diff(conn)
    conn.execute(f"CREATE TABLE {TODO} AS SELECT load_row FROM {DIFF} WHERE load_row IS NOT NULL")
    registry.type_rows(conn, paths, snapshot_date, TODO, offsets)
    registry.set_aside_duplicates(conn)
    _clashes(conn)
    before, leaving, clashing, typed, valid = conn.execute(f"""
        SELECT (SELECT count(*) FROM registry_snapshot),
               (SELECT count(*) FROM {DIFF} WHERE registry_row IS NOT NULL),
               (SELECT count(*) FROM {CLASH}),
               (SELECT count(*) FROM {STAGED}),
               (SELECT count(*) FROM {STAGED} WHERE reason IS NULL)""").fetchall()[0]
    people, rejected = before - leaving - clashing + valid, typed - valid + clashing
    registry.refuse_nobody(snapshot_date, paths, rows, people, rejected)
    snapshot = StagedSnapshot(snapshot_date, tuple(p.name for p in paths), people, rejected)
    return StagedLoad(snapshot, True, typed, before - leaving - clashing, leaving + clashing)


def _has_slots(conn: duckdb.DuckDBPyConnection) -> bool:
    """Is registry_snapshot there with its slots and raw hashes (written by this version)? Else loaded whole."""
    if not table_exists(conn, "registry_snapshot"):
        return False
    columns = tuple(row[0] for row in conn.execute("DESCRIBE registry_snapshot").fetchall())
    return columns == SNAPSHOT_COLUMNS


def _diff(conn: duckdb.DuckDBPyConnection) -> None:
    """DIFF: the new rows whose hash matches no person in force (load_row) and the people in force whose hash matches
    no new row (registry_row). A raw row repeated in the new snapshot (a person_id twice: both set aside) is typed
    again, and the person it matched leaves."""
    conn.execute(f"""
        CREATE TABLE {DIFF} AS
        SELECT n.load_row, o.registry_row FROM {RAW} n
        FULL JOIN (SELECT registry_row, raw_hash FROM registry_snapshot) o ON n.raw_hash = o.raw_hash
        WHERE n.load_row IS NULL OR o.registry_row IS NULL""")
    new_rows, old_rows, new_unmatched, old_unmatched = conn.execute(f"""
        SELECT (SELECT count(*) FROM {RAW}), (SELECT count(*) FROM registry_snapshot),
               count(load_row), count(registry_row) FROM {DIFF}""").fetchall()[0]
    if new_rows - new_unmatched == old_rows - old_unmatched:  # each match one to one: no raw row repeated
        return
    conn.execute(f"""
        CREATE OR REPLACE TEMP TABLE _registry_repeated AS
        SELECT raw_hash FROM {RAW} GROUP BY raw_hash HAVING count(*) > 1
        INTERSECT SELECT raw_hash FROM registry_snapshot""")
    conn.execute(f"""
        INSERT INTO {DIFF}
        SELECT load_row, NULL FROM {RAW} SEMI JOIN _registry_repeated USING (raw_hash)
        UNION ALL SELECT NULL, registry_row FROM registry_snapshot SEMI JOIN _registry_repeated USING (raw_hash)""")
    conn.execute("DROP TABLE _registry_repeated")


def _clashes(conn: duckdb.DuckDBPyConnection) -> None:
    """CLASH: people kept in place whose person_id a typed row has too; both are set aside as duplicated."""
    conn.execute(f"""
        CREATE TABLE {CLASH} AS
        SELECT s.registry_row, s.person_id, r.load_row FROM registry_snapshot s JOIN {RAW} r USING (raw_hash)
        WHERE s.person_id IN (SELECT person_id FROM {STAGED} WHERE reason IS NULL OR reason = '{DUPLICATED}')
          AND s.registry_row NOT IN (SELECT registry_row FROM {DIFF} WHERE registry_row IS NOT NULL)""")
    conn.execute(f"""
        UPDATE {STAGED} SET reason = '{DUPLICATED}'
        WHERE reason IS NULL AND person_id IN (SELECT person_id FROM {CLASH})""")


def apply(conn: duckdb.DuckDBPyConnection, staged: StagedLoad) -> None:
    """Bring the staged snapshot into force (inside the caller's transaction): whole, or in place."""
    if staged.in_place:
        _apply_in_place(conn, staged.snapshot)
        return
    conn.execute(f"CREATE OR REPLACE TABLE registry_snapshot AS {_whole_sql(staged.snapshot)}")
    conn.execute(f"CREATE OR REPLACE TABLE registry_rejected_rows AS {registry.REJECTED_SQL}")
    conn.execute(f"DROP TABLE IF EXISTS {CHANGED}")  # registry_features is rebuilt whole


def _whole_sql(snapshot: StagedSnapshot) -> str:
    """registry_snapshot from STAGED (every row typed), people numbered 0, 1, ... in file order, without a sort: the
    load_row itself when no row was set aside, else positionally (both keep STAGED's load order)."""
    columns = ", ".join(c for c in SNAPSHOT_COLUMNS[1:] if c != "raw_hash").replace(
        "snapshot_date", f"{RAW_HASH_SQL} AS raw_hash, snapshot_date"
    )
    if not snapshot.rejected:
        return f"SELECT load_row::UINTEGER AS registry_row, {columns} FROM {STAGED}"
    people = f"SELECT {columns} FROM {STAGED} WHERE reason IS NULL"
    slots = f"SELECT range::UINTEGER AS registry_row FROM range({snapshot.people})"
    return f"SELECT {', '.join(SNAPSHOT_COLUMNS)} FROM ({people}) POSITIONAL JOIN ({slots})"


def _apply_in_place(conn: duckdb.DuckDBPyConnection, snapshot: StagedSnapshot) -> None:
    """Delete the people leaving, insert the typed ones in their slots, date every row, list the slots touched."""
    next_slot = conn.execute("SELECT coalesce(max(registry_row) + 1, 0) FROM registry_snapshot").fetchall()[0][0]
    conn.execute(f"""
        CREATE TABLE {ARRIVALS} AS
        WITH leaving AS (
            SELECT registry_row, person_id FROM registry_snapshot
            WHERE registry_row IN (SELECT registry_row FROM {DIFF} WHERE registry_row IS NOT NULL)),
        arriving AS (
            SELECT s.load_row, l.registry_row FROM {STAGED} s LEFT JOIN leaving l USING (person_id)
            WHERE s.reason IS NULL)
        SELECT load_row, coalesce(registry_row, {next_slot}
                   + row_number() OVER (ORDER BY registry_row IS NOT NULL, load_row) - 1)::UINTEGER AS registry_row
        FROM arriving""")
    left = f"""SELECT registry_row FROM {DIFF} WHERE registry_row IS NOT NULL
               UNION ALL SELECT registry_row FROM {CLASH}"""
    conn.execute(f"DELETE FROM registry_snapshot WHERE registry_row IN ({left})")
    columns = ", ".join(f"s.{c}" for c in SNAPSHOT_COLUMNS[1:] if c != "raw_hash").replace(
        "s.snapshot_date", f"{RAW_HASH_SQL} AS raw_hash, s.snapshot_date"
    )
    conn.execute(f"""
        INSERT INTO registry_snapshot
        SELECT a.registry_row, {columns} FROM {STAGED} s JOIN {ARRIVALS} a USING (load_row) ORDER BY a.registry_row""")
    # every row's date: one column replaced (not 100 M rows updated); it stays the table's last column
    conn.execute("ALTER TABLE registry_snapshot DROP COLUMN snapshot_date")
    conn.execute(f"ALTER TABLE registry_snapshot ADD COLUMN snapshot_date DATE DEFAULT DATE '{snapshot.snapshot_date}'")
    conn.execute(
        f"""CREATE OR REPLACE TABLE registry_rejected_rows AS
            SELECT person_id, reason, ?::DATE AS snapshot_date FROM (
                SELECT load_row, person_id, reason FROM {STAGED} WHERE reason IS NOT NULL
                UNION ALL SELECT load_row, person_id, '{DUPLICATED}' FROM {CLASH})
            ORDER BY load_row""",
        [snapshot.snapshot_date],
    )
    if table_exists(conn, CHANGED):  # else registry_features is rebuilt whole anyway
        conn.execute(f"INSERT INTO {CHANGED} {left} UNION ALL SELECT registry_row FROM {ARRIVALS}")


def arrived_person_ids_sql() -> str:
    """The person_ids written by the last in-place apply (their uniqueness is what a next snapshot can break)."""
    return f"SELECT s.person_id FROM {STAGED} s SEMI JOIN {ARRIVALS} a USING (load_row)"


def drop_work_tables(conn: duckdb.DuckDBPyConnection) -> None:
    """The staging tables of a load, whether it came into force or failed."""
    for table in _WORK_TABLES:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
