"""One province's linkage against a registry already loaded (e.g. 100 M people), as match_province links it.

    .venv/bin/python bench/province_linkage.py <landing> <registry.duckdb> [--province 79] [--part-records N]
        [--memory-limit 2GB]

`<registry.duckdb>`: a database holding registry_features and registry_block_keys (`bench/registry_load.py --keep`
leaves one in its work folder); `<landing>`: the landing folder whose registry it loaded. The province's exports are
ingested in this process (the asset reads them from DuckDB), then linked through match_province's own code path: one
fetch of the people the IDs name (with the calibration's sample and u pairs), the fit, the ID phase, and the search in
parts, each part reaching its own people on a connection of its own. Printed: wall seconds and peak RSS (sampled twice a
second) per phase, each part's records and people, records/s of the linkage, and matched records by status.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
from registry_load import RssSampler  # bench/ is the script's own folder

from vax_cleaning.defs.linkage.assets import _LinkRun, _registry_for
from vax_cleaning.ingest.exports import ingest_province
from vax_cleaning.linkage import link, link_doses
from vax_cleaning.linkage.link import DOSE_COLUMNS, OPTIONAL_DOSE_COLUMNS
from vax_cleaning.linkage.settings import DEFAULT_SETTINGS


@contextlib.contextmanager
def phase(name: str) -> Iterator[None]:
    """Print the phase's wall seconds and peak RSS (registry_load's sampler) when it ends."""
    started = time.perf_counter()
    with RssSampler() as rss:
        yield
    print(f"  {name:<44}{time.perf_counter() - started:>8.1f} s   peak RSS {rss.peak_gb:.2f} GB", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("landing", type=Path)
    parser.add_argument("registry", type=Path, help="DuckDB file with registry_features and registry_block_keys")
    parser.add_argument("--province", default="79")
    parser.add_argument("--part-records", type=int, help=f"records per search part (default {link.REACH_PART_RECORDS})")
    parser.add_argument("--memory-limit", default="2GB", help="DuckDB memory_limit, as the pipeline's")
    args = parser.parse_args()
    if args.part_records:
        link.REACH_PART_RECORDS = args.part_records
    config = {"memory_limit": args.memory_limit}

    @contextlib.contextmanager
    def connect() -> Iterator[duckdb.DuckDBPyConnection]:
        conn = duckdb.connect(str(args.registry), read_only=True, config=config)
        try:
            yield conn
        finally:
            conn.close()

    print(f"province {args.province}, registry {args.registry}, parts of {link.REACH_PART_RECORDS} records", flush=True)
    with phase("ingest (the asset reads it from DuckDB instead)"):
        doses = ingest_province(args.landing / "exports", args.province, date(2022, 6, 20)).accepted
        doses = doses.select([c for c in DOSE_COLUMNS + OPTIONAL_DOSE_COLUMNS if c in doses.columns])
    started = time.perf_counter()
    with connect() as conn, phase("fetch: IDs' people, sample's reach, u pairs"):
        size = conn.execute("SELECT count(*) FROM registry_features").fetchall()[0][0]
        run = _LinkRun(args.province, DEFAULT_SETTINGS, None, size, None)
        registry = _registry_for(conn, doses, run, connect, calibrating=True)
    if registry.reach is None:
        raise SystemExit(f"the registry ({size:,} people) is not large enough for this province to reach into it")
    with phase("fit"):
        calibration = registry.fit()
    people, reach = registry.people, registry.reach
    del registry

    def each_part(records: pl.DataFrame):
        reached = reach(records)
        print(f"    part: {records.height:,} records reach {reached[0].height:,} people", flush=True)
        return reached

    with phase("ID phase, then the search part by part"):
        result = link_doses(doses, people, calibration.settings, baseline=DEFAULT_SETTINGS, reach=each_part)
    seconds = time.perf_counter() - started
    print(f"  linkage {seconds:.1f} s for {doses.height:,} records: {doses.height / seconds:,.0f} records/s")
    for status, count in result.matched.group_by("match_status").len().sort("match_status").iter_rows():
        print(f"  {status:<12}{count:>12,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
