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
