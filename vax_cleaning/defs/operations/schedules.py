"""Schedules: the nightly re-clean of every province, so progress is a daily time series."""

from __future__ import annotations

import dagster as dg

from vax_cleaning.defs.operations.jobs import province_job, province_run_request
from vax_cleaning.ingest.exports import provinces_with_exports
from vax_cleaning.resources import LandingFolder


@dg.schedule(
    job=province_job,
    cron_schedule="0 1 * * *",
    execution_timezone="Asia/Ho_Chi_Minh",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Nightly at 01:00 Vietnam time: one clean_province run per province that has exports.",
)
def nightly_provinces(context: dg.ScheduleEvaluationContext, landing: LandingFolder):
    """Re-clean every province nightly so progress is a daily time series even without new files."""
    stamp = context.scheduled_execution_time.strftime("%Y-%m-%d")
    for code in provinces_with_exports(landing.exports_dir):
        yield province_run_request(code, "nightly", run_key=f"nightly:{stamp}:{code}")
