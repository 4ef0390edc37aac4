"""Loading the registry: a first snapshot, then a next one that differs in a small share of people.

    .venv/bin/python bench/registry_load.py <landing folder> [--changed 0.005] [--gone 0.0005] [--born 0.0005]
        [--work /tmp/registry-load] [--memory-limit 2GB]

The newest snapshot of `<landing>/registry/` is linked (symlinks: never modified) into a work folder, together with a
next snapshot 15 days later written there: every file copied with the addresses of a `--changed` share of people
edited and a `--gone` share of people left out, and `--born` new people at the end of the last file. The load_registry
job (registry_snapshot + registry_features) runs on a fresh DuckDB file in the work folder, pinned to the first
snapshot, then on the next one (brought in place). Printed per load: wall seconds per step, peak RSS (sampled), rows
typed, people normalized and kept, the DuckDB file's size. The work folder is removed at the end (--keep keeps it).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import dagster as dg
import polars as pl

from vax_cleaning.definitions import defs
from vax_cleaning.ingest.registry import snapshot_dates


def next_snapshot(source: Path, target: Path, changed: float, gone: float, born: float) -> int:
    """Write the next snapshot of the files in `source` into `target`; returns how many people it holds."""
    target.mkdir(parents=True)
    files = sorted(p for p in source.iterdir() if p.suffix == ".parquet")
    people = 0
    for index, path in enumerate(files):
        frame = pl.read_parquet(path)
        n = pl.int_range(pl.len())
        edited = frame.with_columns(
            address=pl.when(_every(n, changed, 0)).then(pl.col("address") + " (mới)").otherwise("address")
        ).filter(~_every(n, gone, 1))
        if index == len(files) - 1:
            count = round(born * frame.height * len(files))
            newborn = edited.head(count).with_columns(
                person_id=pl.format("0999{}", (pl.int_range(pl.len()) + 10**7).cast(pl.String)),
                date_of_birth=pl.lit("2022-06-20"),
            )
            edited = pl.concat([edited, newborn])
        edited.write_parquet(target / path.name)
        people += edited.height
    return people


def _every(n: pl.Expr, share: float, offset: int) -> pl.Expr:
    """True on a `share` of rows spread evenly over the file (none for share 0)."""
    if share <= 0:
        return pl.lit(False)
    return n % round(1 / share) == offset


class RssSampler:
    """Peak resident memory of this process (DuckDB runs in it) while a load runs, sampled twice a second."""

    def __init__(self) -> None:
        self.peak_gb, self._stop = 0.0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            with open("/proc/self/status") as status:
                kib = next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))
            self.peak_gb = max(self.peak_gb, kib / 1024 / 1024)
            time.sleep(0.5)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def load(landing: Path, database: Path, memory_limit: str, registry_date: str | None) -> dict[str, object]:
    """Run load_registry once; what it took and did."""
    instance = dg.DagsterInstance.ephemeral()
    landing_config = {"data_dir": str(landing), **({"registry_date": registry_date} if registry_date else {})}
    config = {
        "loggers": {"console": {"config": {"log_level": "ERROR"}}},
        "resources": {
            "landing": {"config": landing_config},
            "duckdb": {"config": {"database": str(database), "connection_config": {"memory_limit": memory_limit}}},
        },
    }
    started = time.perf_counter()
    with RssSampler() as rss:
        result = defs.resolve_job_def("load_registry").execute_in_process(
            instance=instance, run_config=config, raise_on_error=False
        )
    wall = time.perf_counter() - started
    if not result.success:
        failures = [str(e.event_specific_data.error) for e in result.all_events if e.is_step_failure]
        raise SystemExit(f"load_registry failed: {failures}")
    steps = {s.step_key: s.end_time - s.start_time for s in instance.get_run_step_stats(result.run_id) if s.end_time}
    metadata = {}
    for node in ("registry_snapshot", "registry_features"):
        for materialization in result.asset_materializations_for_node(node):
            values = {key: value.value for key, value in materialization.metadata.items()}
            if materialization.asset_key.to_user_string() == "registry_snapshot":
                metadata["people"] = values.get("dagster/row_count")
            metadata.update({key: value for key, value in values.items() if key != "dagster/row_count"})
    return {"wall": wall, "steps": steps, "peak_rss_gb": rss.peak_gb, "metadata": metadata}


def report(label: str, outcome: dict[str, object], database: Path) -> None:
    """One load's numbers."""
    metadata, steps = outcome["metadata"], outcome["steps"]
    print(f"{label}: wall {outcome['wall']:.1f} s, peak RSS {outcome['peak_rss_gb']:.2f} GB", flush=True)
    for step, seconds in steps.items():
        print(f"  step {step}: {seconds:.1f} s")
    print(
        f"  people {metadata.get('people', '?')}: rows typed {metadata.get('rows_typed')}, "
        f"kept in place {metadata.get('people_kept_in_place')}, left or changed {metadata.get('people_left_or_changed')}; "
        f"normalized {metadata.get('people_normalized')}, features kept {metadata.get('people_unchanged_kept')}"
    )
    size = sum(p.stat().st_size for p in database.parent.glob(database.name + "*"))
    print(f"  DuckDB file {size / 2**30:.2f} GB", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("landing", type=Path, help="a landing folder with registry/<YYYY-MM-DD>/*.parquet")
    parser.add_argument("--changed", type=float, default=0.005, help="share of people whose address changes")
    parser.add_argument("--gone", type=float, default=0.0005, help="share of people not in the next snapshot")
    parser.add_argument("--born", type=float, default=0.0005, help="share of people added to the next snapshot")
    parser.add_argument("--work", type=Path, help="work folder (default: a new one under the temp directory)")
    parser.add_argument("--memory-limit", default="2GB", help="DuckDB memory_limit, as the pipeline's")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    first = snapshot_dates(args.landing / "registry")[-1]
    work = args.work or Path(tempfile.mkdtemp(prefix="registry-load-"))
    try:
        source = args.landing.resolve() / "registry" / first.isoformat()
        folder = work / "landing" / "registry" / first.isoformat()
        folder.mkdir(parents=True)
        for path in sorted(source.iterdir()):
            (folder / path.name).symlink_to(path.resolve())
        (work / "landing" / "exports").mkdir()
        later = (first + timedelta(days=15)).isoformat()
        started = time.perf_counter()
        people = next_snapshot(source, work / "landing" / "registry" / later, args.changed, args.gone, args.born)
        print(f"next snapshot {later}: {people:,} people written in {time.perf_counter() - started:.1f} s", flush=True)
        database = work / "registry.duckdb"
        report(
            f"first load ({first})", load(work / "landing", database, args.memory_limit, first.isoformat()), database
        )
        report(f"next snapshot ({later})", load(work / "landing", database, args.memory_limit, None), database)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
