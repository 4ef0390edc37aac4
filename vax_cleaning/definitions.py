"""The Dagster code location: assets by stage, jobs, and resources from the environment."""

import dagster as dg

from vax_cleaning.assets import ingest
from vax_cleaning.jobs import province_job, registry_job
from vax_cleaning.resources import default_resources

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([ingest]),
    jobs=[registry_job, province_job],
    resources=default_resources(),
)
