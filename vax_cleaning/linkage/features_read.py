"""How registry_features is read: each person's name_share computed at read time, and registry positions (ranks)
mapped to the slots (`registry_row`) people are stored under.

A next snapshot changes registry_features in place (features_store.py): a name's share of the registry (count of its
name key x 1/people) would change on every row whenever the number of people does, so the counts per name key are kept
in NAME_COUNTS (updated by delta) and the share is computed by whoever reads the people, with the same arithmetic as a
whole build always had (so the linkage sees the same bits). People who left leave their slot free (FREE_ROWS): a
position in [0, people) in registry order (what the calibration's u pairs are drawn from) is mapped to its slot
through them; with no gap (a first load) a position is its slot.
"""

from __future__ import annotations

import duckdb
import numpy as np

from vax_cleaning.linkage.normalize import MIN_PEOPLE_FOR_NAME_SHARE
from vax_cleaning.warehouse import MissingTableError, table_exists

NAME_COUNTS = "registry_name_counts"
"""(name_key, people): how many people of registry_features hold each name key (NULL included)."""

FREE_ROWS = "registry_free_rows"
"""registry_row of slots left free by people gone (those at or above the largest slot in use are not gaps)."""

REBUILD = "materialize registry_features (job load_registry), then rerun"


def features_sql(rows: str | None = None) -> str:
    """registry_features (without source_hash) with name_share, in registry order; `rows`: a table of the
    registry_rows wanted. The share is count x (1/people) as DOUBLE, as polars divides (normalize.with_name_share),
    NULL below MIN_PEOPLE_FOR_NAME_SHARE people."""
    source = (
        "registry_features"
        if rows is None
        else f"(SELECT * FROM registry_features SEMI JOIN {rows} USING (registry_row))"
    )
    return f"""
        SELECT f.* EXCLUDE (source_hash),
               CASE WHEN t.people >= {MIN_PEOPLE_FOR_NAME_SHARE}
                    THEN c.people::DOUBLE * (1.0::DOUBLE / t.people) END::DOUBLE AS name_share
        FROM {source} f
        CROSS JOIN (SELECT count(*) AS people FROM registry_features) t
        LEFT JOIN {NAME_COUNTS} c ON c.name_key IS NOT DISTINCT FROM f.name_key
        ORDER BY f.registry_row"""


def require_current(conn: duckdb.DuckDBPyConnection) -> None:
    """Refuse registry_features written before this version (no registry_row, or no name counts), with the fix."""
    columns = {row[0] for row in conn.execute("DESCRIBE registry_features").fetchall()}
    if "registry_row" not in columns or "name_share" in columns or not table_exists(conn, NAME_COUNTS):
        raise MissingTableError(f"registry_features predates this version: {REBUILD}")


def slots_at(conn: duckdb.DuckDBPyConnection, positions: np.ndarray) -> np.ndarray:
    """The registry_row of the people at the given positions in registry order (sorted, in [0, people))."""
    people, slots = conn.execute(
        "SELECT count(*), coalesce(max(registry_row) + 1, 0) FROM registry_features"
    ).fetchall()[0]
    if people == slots:  # no gap: a position is its slot
        return positions.astype(np.uint32)
    gaps = np.sort(
        np.array(
            [
                row[0]
                for row in conn.execute(
                    f"SELECT registry_row FROM {FREE_ROWS} WHERE registry_row < ?", [slots]
                ).fetchall()
            ],
            dtype=np.int64,
        )
    )
    if len(gaps) != slots - people:
        raise MissingTableError(f"{FREE_ROWS} does not list registry_features' free slots: {REBUILD}")
    in_use_before = gaps - np.arange(len(gaps))  # people in slots below each gap
    return (positions + np.searchsorted(in_use_before, positions, side="right")).astype(np.uint32)
