"""The Dagster code location: everything under `defs/` (one folder per domain), the shared policy, the resources."""

from pathlib import Path

import dagster as dg

from vax_cleaning.defs.policies import with_policy
from vax_cleaning.resources import default_resources


def _load() -> dg.Definitions:
    """Assets, checks, jobs, schedules and sensors found under defs/; every asset spec gets the shared policy."""
    found = dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
    return dg.Definitions(
        assets=dg.map_asset_specs(with_policy, found.assets or []),
        asset_checks=found.asset_checks,
        jobs=found.jobs,
        schedules=found.schedules,
        sensors=found.sensors,
        resources=default_resources(),
    )


defs = _load()
