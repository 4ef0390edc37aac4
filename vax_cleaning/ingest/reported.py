"""Optional tallies of doses the sites reported administering (reported/*.csv: province_code, doses_reported)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

TALLY_SCHEMA = {"province_code": pl.String, "doses_reported": pl.Int64}


class TallyError(Exception):
    """A tallies file that cannot be used (terminal: fix or remove the file)."""


def reported_doses(reported_dir: Path) -> pl.DataFrame:
    """Doses reported per province, summed over every tallies file; empty when none landed."""
    paths = sorted(reported_dir.glob("*.csv")) if reported_dir.is_dir() else []
    frames = []
    for path in paths:
        frame = pl.read_csv(path, infer_schema=False)
        if not {"province_code", "doses_reported"} <= set(frame.columns):
            raise TallyError(f"reported/{path.name} needs the columns province_code, doses_reported")
        typed = frame.select(
            pl.col("province_code").str.strip_chars().str.zfill(2),
            pl.col("doses_reported").str.strip_chars().cast(pl.Int64, strict=False),
        )
        unusable = typed.filter(pl.col("doses_reported").is_null() | pl.col("province_code").is_null()).height
        if unusable:
            raise TallyError(f"reported/{path.name}: {unusable} rows lack a province code or a whole number of doses")
        frames.append(typed)
    if not frames:
        return pl.DataFrame(schema=TALLY_SCHEMA)
    return pl.concat(frames).group_by("province_code").agg(pl.col("doses_reported").sum()).sort("province_code")
