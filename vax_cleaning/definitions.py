"""The Dagster code location: assets by stage, jobs, and resources from the environment."""

import dagster as dg

from vax_cleaning.assets import ingest, linkage, progress, reviews
from vax_cleaning.automation import SCHEDULES, SENSORS
from vax_cleaning.jobs import national_job, province_job, registry_job
from vax_cleaning.resources import default_resources

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([ingest, reviews, linkage, progress]),
    jobs=[registry_job, province_job, national_job],
    schedules=SCHEDULES,
    sensors=SENSORS,
    resources=default_resources(),
)
