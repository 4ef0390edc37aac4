"""Dagster resources: the landing folder and the DuckDB warehouse, configurable in the UI or by environment."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource
from pydantic import Field

from vax_cleaning import settings
from vax_cleaning.defs.policies import WAREHOUSE_TERMINAL_ERRORS, terminal_errors
from vax_cleaning.warehouse import (
    MissingTableError,
    check_database_location,
    exhaustion_named,
    missing_tables_named,
    publish_read_copy,
)

RESOURCE_TERMINAL_ERRORS = (*WAREHOUSE_TERMINAL_ERRORS, MissingTableError)
"""What fails a step at once inside any warehouse connection: the shared policy's errors, and a table an upstream
step has not written yet (retrying 15 s later finds it missing again)."""


class LandingFolder(dg.ConfigurableResource):
    """The read-only landing root of data contract section 2."""

    data_dir: str = Field(
        description="Landing root holding exports/, registry/, reported/ and reviews/ (VAX_DATA_DIR)."
    )
    registry_date: str | None = Field(
        default=None, description="Registry snapshot folder to use (YYYY-MM-DD); the newest when unset."
    )
    run_date: str | None = Field(
        default=None,
        description="Day of the run (YYYY-MM-DD) for the 'vaccination date after the run' rule; today when unset.",
    )

    @property
    def exports_dir(self) -> Path:
        """exports/<PP>/ files live here."""
        return Path(self.data_dir) / "exports"

    @property
    def registry_dir(self) -> Path:
        """registry/<YYYY-MM-DD>/ snapshot folders live here."""
        return Path(self.data_dir) / "registry"

    @property
    def reviews_dir(self) -> Path:
        """reviews/<PP>/ decision files returned by site staff and commune police."""
        return Path(self.data_dir) / "reviews"

    @property
    def reported_dir(self) -> Path:
        """Optional tallies of doses reported by sites."""
        return Path(self.data_dir) / "reported"

    def today(self) -> date:
        """The run's date, fixed by config in tests and replays."""
        return date.fromisoformat(self.run_date) if self.run_date else date.today()


class Warehouse(DuckDBResource):
    """`DuckDBResource` (connections with back-off on the file lock) that fails fast and with the real cause.

    - the file's directory is checked before connecting: a missing or read-only directory fails at once,
      naming it, instead of ten connection attempts with back-off per step attempt;
    - DuckDB's out-of-memory and disk-full errors raised by the work inside `get_connection` fail the step
      with DuckDB's own message and the fix;
    - DuckDB's "Table with name X does not exist" becomes MissingTableError, naming what to materialize first;
    - all three are terminal (`RESOURCE_TERMINAL_ERRORS`): retrying the step cannot help;
    - the connection is closed even when the work inside fails (a leaked connection keeps the file locked).
    """

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to the warehouse file, as `DuckDBResource.get_connection`."""
        with terminal_errors(*WAREHOUSE_TERMINAL_ERRORS):
            check_database_location(self.database)
        with super().get_connection() as conn:
            try:
                with (
                    terminal_errors(*RESOURCE_TERMINAL_ERRORS),
                    exhaustion_named(self.database, self.connection_config.get("memory_limit")),
                    missing_tables_named(),
                ):
                    yield conn
            finally:
                conn.close()

    def publish_read_copy(self, target: str | None = None) -> Path:
        """Publish the read-only copy readers use (`settings.read_copy_path`); call it while holding the writer pool."""
        with self.get_connection() as conn:
            return publish_read_copy(conn, self.database, target or settings.read_copy_path(self.database))


def default_resources() -> dict[str, dg.ConfigurableResource]:
    """Resources from the environment (contract section 1); each field can be overridden as run config."""
    return {
        "landing": LandingFolder(data_dir=settings.data_dir()),
        "duckdb": Warehouse(database=settings.duckdb_path(), connection_config=duckdb_connection_config()),
    }


def duckdb_connection_config() -> dict[str, str]:
    """DuckDB settings for every connection: capped memory, so DuckDB spills to disk before polars runs short."""
    return {"memory_limit": settings.duckdb_memory_limit()}
