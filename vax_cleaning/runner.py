"""Runs the Dagster jobs in-process for a set of provinces: what `vax-cleaning run` and the benchmarks call."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from vax_cleaning import settings
from vax_cleaning.ingest.exports import provinces_with_exports, unknown_province_folders
from vax_cleaning.partitions import partition_key
from vax_cleaning.reference import province_names
from vax_cleaning.report import LATEST_PROGRESS_SQL
from vax_cleaning.resources import duckdb_connection_config
from vax_cleaning.vocabulary import MatchStatus, values
from vax_cleaning.warehouse import read_frame, table_exists

QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
"""The terminal shows warnings and the summary; the full event log stays in the Dagster instance."""


class UnknownProvinceError(ValueError):
    """A --province code that is not one of the 63 GSO codes (terminal: fix the command)."""


@dataclass
class RunOutcome:
    """Which partitions succeeded, for the exit code and the summary."""

    provinces: list[str]
    failed: list[str] = field(default_factory=list)
    registry_failed: bool = False
    unknown_folders: list[str] = field(default_factory=list)
    duckdb_path: str = ""
    national_failed: bool = False

    @property
    def succeeded(self) -> bool:
        """Every requested partition (and the registry) materialized."""
        return not self.failed and not self.registry_failed and not self.national_failed


def dagster_instance() -> dg.DagsterInstance:
    """The persistent instance when DAGSTER_HOME is set (runs then show in the UI), else a throwaway one."""
    return dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()


def run_config(data_dir: str, duckdb_path: str, run_date: str | None = None) -> dict:
    """Resource config for one run: the same knobs a user sets in the UI's launchpad."""
    landing = {"data_dir": data_dir, **({"run_date": run_date} if run_date else {})}
    return {
        **QUIET_CONSOLE,
        "resources": {
            "landing": {"config": landing},
            # run config replaces the resource's whole config: the memory limit must be restated here
            "duckdb": {"config": {"database": duckdb_path, "connection_config": duckdb_connection_config()}},
        },
    }


def run_provinces(
    provinces: list[str] | None = None,
    instance: dg.DagsterInstance | None = None,
    data_dir: str | None = None,
    duckdb_path: str | None = None,
    run_date: str | None = None,
) -> RunOutcome:
    """Load the registry once, then clean each province partition; one failing province does not stop the others."""
    from vax_cleaning.definitions import defs

    data_dir, duckdb_path = data_dir or settings.data_dir(), duckdb_path or settings.duckdb_path()
    config = run_config(data_dir, duckdb_path, run_date)
    exports_dir = Path(data_dir) / "exports"
    unknown = [code for code in provinces or [] if code not in province_names()]
    if unknown:
        raise UnknownProvinceError(f"not province codes: {unknown}; use the 2-digit GSO codes, e.g. 01 or 79")
    outcome = RunOutcome(
        provinces=provinces or provinces_with_exports(exports_dir),
        unknown_folders=unknown_province_folders(exports_dir),
        duckdb_path=duckdb_path,
    )
    instance = instance or dagster_instance()
    registry = defs.resolve_job_def("load_registry").execute_in_process(
        instance=instance, raise_on_error=False, run_config=config
    )
    if not registry.success:
        outcome.registry_failed = True
        outcome.failed = list(outcome.provinces)
        return outcome
    province_job = defs.resolve_job_def("clean_province")
    for code in outcome.provinces:
        result = province_job.execute_in_process(
            partition_key=partition_key(code), instance=instance, raise_on_error=False, run_config=config
        )
        if not result.success:
            outcome.failed.append(code)
    national = defs.resolve_job_def("national_rollup").execute_in_process(
        instance=instance, raise_on_error=False, run_config=config
    )
    outcome.national_failed = not national.success
    return outcome


SUMMARY_COLUMNS = ("doses_total", *values(MatchStatus), "rejected", "decided_by_review", "doses_reported")
"""The per-province summary: the latest province_progress point (the same numbers the UI and report show)."""
SUMMARY_HEADERS = {"doses_total": "total", "decided_by_review": "by_review", "doses_reported": "reported"}
"""Short headers where the column name does not fit the table's cells."""


def summary_table(outcome: RunOutcome) -> str:
    """Per-province counts as a plain-text table (no personal data)."""
    lines = []
    if outcome.registry_failed:
        lines.append("registry snapshot failed to load: see the run's logs (dagster) for the reason")
    for folder in outcome.unknown_folders:
        lines.append(f"WARNING: exports/{folder}/ is not a province code; its files were not ingested")
    lines.append(
        f"{'province':<28}" + "".join(f"{SUMMARY_HEADERS.get(name, name):>11}" for name in SUMMARY_COLUMNS) + "  run"
    )
    latest = _latest_progress(outcome.duckdb_path)
    for code in outcome.provinces:
        counts = latest.get(code, {})
        cells = "".join(f"{'' if counts.get(c) is None else counts[c]:>11}" for c in SUMMARY_COLUMNS)
        state = "FAILED" if code in outcome.failed else "ok"
        lines.append(f"{code + ' ' + province_names()[code]:<28}{cells}  {state}")
    return "\n".join(lines)


def _latest_progress(path: str) -> dict[str, dict]:
    """Latest province_progress row per province."""
    if not Path(path).exists():
        return {}
    with DuckDBResource(database=path).get_connection() as conn:  # same settings as the runs' connections
        if not table_exists(conn, "province_progress"):
            return {}
        rows = read_frame(conn, LATEST_PROGRESS_SQL)
    return {row["province_code"]: row for row in rows.iter_rows(named=True)}
