"""What every asset shares: owner, DuckDB writer pool, retries for transient failures, terminal errors."""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

OWNERS = ["team:vax-cleaning"]

DUCKDB_POOL = "duckdb_writer"
"""DuckDB allows one writing process per file: steps that write hold this pool (limit 1 in dagster.yaml)."""

TRANSIENT_RETRY = dg.RetryPolicy(max_retries=2, delay=15, backoff=dg.Backoff.EXPONENTIAL)
"""A locked DuckDB file or a file still being copied in clears up by itself; bad data does not (see terminal_errors)."""


DUCKDB_ASSET = {"owners": OWNERS, "pool": DUCKDB_POOL, "retry_policy": TRANSIENT_RETRY}
"""Keyword arguments every asset here takes: owner, writer pool, transient-failure retries."""


NATIONAL_REFRESH = (
    dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing()).with_label("eager_allow_missing")
)
"""National results refresh after any province run; most of the 63 province partitions never exist, so missing ones must not block."""


@contextmanager
def terminal_errors(*errors: type[Exception]) -> Iterator[None]:
    """Errors that retrying cannot fix fail the step at once, with the message that tells the user the fix."""
    try:
        yield
    except errors as error:
        raise dg.Failure(description=str(error), allow_retries=False) from error
