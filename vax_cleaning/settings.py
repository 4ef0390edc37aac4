"""Where the landing folder and the DuckDB file are: chosen in this one place."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> str:
    """Landing root: $VAX_DATA_DIR, else data/ of the checkout."""
    return os.environ.get("VAX_DATA_DIR") or str(PROJECT_ROOT / "data")


def duckdb_path() -> str:
    """DuckDB file the assets write: $VAX_DUCKDB_PATH, else data/vax_cleaning.duckdb (gitignored)."""
    return os.environ.get("VAX_DUCKDB_PATH") or str(PROJECT_ROOT / "data" / "vax_cleaning.duckdb")


def duckdb_memory_limit() -> str:
    """DuckDB's memory cap per connection: $VAX_DUCKDB_MEMORY_LIMIT, else 2GB (the rest is polars' working space)."""
    return os.environ.get("VAX_DUCKDB_MEMORY_LIMIT") or "2GB"


def read_copy_path(database: str | None = None) -> str:
    """Read-only copy dashboards and officers read, so they never wait on a writer: $VAX_DUCKDB_READ_PATH, else
    `<stem>.read.duckdb` beside the DuckDB file."""
    if os.environ.get("VAX_DUCKDB_READ_PATH"):
        return os.environ["VAX_DUCKDB_READ_PATH"]
    path = Path(database or duckdb_path())
    return str(path.with_name(f"{path.stem}.read.duckdb"))


def reports_dir(database: str | None = None) -> str:
    """Progress reports of one database, kept apart from other databases': $VAX_REPORTS_DIR, else
    `<stem>_reports/` beside the DuckDB file."""
    if os.environ.get("VAX_REPORTS_DIR"):
        return os.environ["VAX_REPORTS_DIR"]
    path = Path(database or duckdb_path())
    return str(path.with_name(f"{path.stem}_reports"))


ENVIRONMENT_HELP = """\
environment variables:
  VAX_DATA_DIR             landing root: exports/<PP>/, registry/<YYYY-MM-DD>/, reported/, reviews/
                           (default: data/ of the checkout)
  VAX_DUCKDB_PATH          DuckDB file the pipeline writes (default: data/vax_cleaning.duckdb)
  VAX_DUCKDB_READ_PATH     read-only copy published after each run, read by export-review, report and
                           dashboards (default: <stem>.read.duckdb beside VAX_DUCKDB_PATH)
  VAX_REPORTS_DIR          where progress reports go (default: <stem>_reports/ beside VAX_DUCKDB_PATH)
  VAX_DUCKDB_MEMORY_LIMIT  DuckDB memory cap per connection (default: 2GB)
  DAGSTER_HOME             Dagster instance keeping run history and logs (default: a temporary one,
                           kept and named when a step fails)"""
"""The `--help` epilog of every command: the variables that decide what a command reads and writes."""
