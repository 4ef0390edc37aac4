"""The shared asset policy, in one place: owner, kinds, tags, DuckDB writer pool, retries, terminal errors.

Spec-level policy (owners, kinds, tags) is applied to every asset spec by `with_policy`, and the nightly freshness
expectation to the province assets by `with_freshness`, both mapped over the whole code location by `definitions.py`.
Op-level policy (the writer pool and the retry policy, which Dagster attaches to the step, not the spec) comes with
`warehouse_asset` and `warehouse_multi_asset`, the two decorators every asset here is declared with.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import dagster as dg

from vax_cleaning.warehouse import WarehouseExhaustedError, WarehouseLocationError

OWNERS = ["team:vax-cleaning"]

PERSONAL_DATA_ASSETS = frozenset({
    "raw_dose_exports", "registry_snapshot", "registry_features", "registry_block_keys", "registry_rejected_rows",
    "registry_name_counts",
    "review_decisions",
    "matched_records", "correction_sets", "passport_ready",
})  # fmt: skip
"""Tables holding names, IDs or birth dates: tagged so the UI and catalog show who may read them."""

DUCKDB_POOL = "duckdb_writer"
"""DuckDB allows one writing process per file: steps that write hold this pool (limit 1 in dagster.yaml)."""

TRANSIENT_RETRY = dg.RetryPolicy(max_retries=2, delay=15, backoff=dg.Backoff.EXPONENTIAL)
"""A locked DuckDB file or a file still being copied in clears up by itself; bad data does not (see terminal_errors)."""

WAREHOUSE_TERMINAL_ERRORS = (WarehouseLocationError, WarehouseExhaustedError)
"""A DuckDB directory that is missing or read-only, a full disk, a memory limit too small: the same step fails the
same way again, so the warehouse resource (`resources.Warehouse`) fails it at once with the real cause."""

NATIONAL_REFRESH = (
    dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing()).with_label("eager_allow_missing")
)
"""National results refresh after any province run; most of the 63 province partitions never exist, so missing ones must not block."""


def with_policy(spec: dg.AssetSpec) -> dg.AssetSpec:
    """Owner, the DuckDB kind and the personal-data tag on every asset spec of the code location."""
    tags = {**spec.tags, "vax/personal_data": str(spec.key.to_user_string() in PERSONAL_DATA_ASSETS).lower()}
    return spec.replace_attributes(owners=OWNERS, kinds={*spec.kinds, "duckdb"}, tags=tags)


PROVINCE_FRESHNESS = dg.FreshnessPolicy.cron(
    deadline_cron="0 6 * * *", lower_bound_delta=timedelta(hours=5), timezone="Asia/Ho_Chi_Minh"
)
"""Province results are re-cleaned nightly from 01:00 (schedule nightly_provinces): by 06:00 Vietnam time the latest
materialization should be from after 01:00 that day, else the UI shows the asset as not fresh (the schedule is off, or
the night's runs failed). Evaluated per asset, not per partition: one province cleaned that night makes it fresh.
Shown in the UI once `freshness: enabled: true` is in dagster.yaml (it is in dagster_home/)."""


def with_freshness(spec: dg.AssetSpec) -> dg.AssetSpec:
    """The nightly freshness expectation on the province-partitioned assets; national ones refresh after them."""
    if spec.partitions_def is None:
        return spec
    return dg.apply_freshness_policy(spec, PROVINCE_FRESHNESS)


def warehouse_asset(**kwargs: Any) -> Callable:
    """`dg.asset` for a step that writes the warehouse: holds the writer pool, retries transient failures."""
    return dg.asset(pool=DUCKDB_POOL, retry_policy=TRANSIENT_RETRY, **kwargs)


def warehouse_multi_asset(**kwargs: Any) -> Callable:
    """`dg.multi_asset` for a step that writes several warehouse tables, with the same pool and retries."""
    return dg.multi_asset(pool=DUCKDB_POOL, retry_policy=TRANSIENT_RETRY, **kwargs)


@contextmanager
def terminal_errors(*errors: type[Exception]) -> Iterator[None]:
    """Errors that retrying cannot fix fail the step at once, with the message that tells the user the fix."""
    try:
        yield
    except errors as error:
        raise dg.Failure(description=str(error), allow_retries=False) from error
