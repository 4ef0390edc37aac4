"""Sensors: new landed files run their province, a new registry snapshot is loaded and re-matched, national results refresh."""

from __future__ import annotations

import hashlib

import dagster as dg

from vax_cleaning.defs.operations.jobs import province_job, province_run_request, registry_job
from vax_cleaning.ingest.exports import export_files, provinces_with_exports
from vax_cleaning.ingest.registry import snapshot_dates
from vax_cleaning.ingest.reviews import review_files
from vax_cleaning.resources import LandingFolder


def landed_fingerprint(landing: LandingFolder, code: str) -> str:
    """Digest of a province's landed export and review-decision files: path, size and modification time of each.

    A new file changes it, and so does a file that was still being copied when first seen (its size and st_mtime_ns
    change once the copy completes), so the province runs again; a folder left as it was keeps its run key.
    """
    to_read, others = export_files(landing.exports_dir, code)
    entries = [(f"exports/{p.relative_to(landing.exports_dir).as_posix()}", p) for p in sorted(to_read + others)]
    entries += [(f"reviews/{code}/{p.name}", p) for p in review_files(landing.reviews_dir, code)]
    lines = []
    for name, path in entries:
        try:
            stat = path.stat()
        except OSError:  # gone since it was listed, or a link to nothing
            lines.append(name)
            continue
        lines.append(f"{name}\t{stat.st_size}\t{stat.st_mtime_ns}")
    return hashlib.sha256("\n".join(lines).encode("utf-8", "surrogateescape")).hexdigest()[:16]


@dg.sensor(
    job=province_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="A new export file under exports/<PP>/ or a returned decision file under reviews/<PP>/ (or one "
    "still being copied when last seen, now complete) launches one clean_province run for that province only.",
)
def new_export_files(context: dg.SensorEvaluationContext, landing: LandingFolder):
    """The run key is the province's files as they are (names, sizes, times): each new state is processed once."""
    if context.instance.get_latest_materialization_event(dg.AssetKey("registry_snapshot")) is None:
        return dg.SkipReason("waiting for the first registry snapshot load (sensor new_registry_snapshot)")
    exports_dir = landing.exports_dir
    requests = [
        province_run_request(code, "new landed file", run_key=f"exports:{code}:{landed_fingerprint(landing, code)}")
        for code in provinces_with_exports(exports_dir)
    ]
    return requests or dg.SkipReason(f"no export files under {exports_dir}")


@dg.sensor(
    job=registry_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="A new registry/<YYYY-MM-DD>/ snapshot folder launches a registry load (and then re-matching).",
)
def new_registry_snapshot(context: dg.SensorEvaluationContext, landing: LandingFolder):
    """Keyed by snapshot date: each snapshot is loaded once."""
    dates = snapshot_dates(landing.registry_dir)
    if not dates:
        return dg.SkipReason("no registry snapshot landed yet")
    return dg.RunRequest(run_key=f"registry:{dates[-1].isoformat()}", tags={"vax/trigger": "new registry snapshot"})


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[registry_job],
    request_job=province_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="After a registry load succeeds, re-match every province that has exports against it.",
)
def rematch_after_registry(context: dg.RunStatusSensorContext, landing: LandingFolder):
    """Re-matching follows the load (never races it), one run per province."""
    run_id = context.dagster_run.run_id
    return [
        province_run_request(code, "registry reloaded", run_key=f"rematch:{run_id}:{code}")
        for code in provinces_with_exports(landing.exports_dir)
    ]


national_results = dg.AutomationConditionSensorDefinition(
    "national_results",
    target=dg.AssetSelection.assets(
        "passport_ready", "latest_province_progress", "national_progress", "progress_report"
    ),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Refreshes passport readiness and the progress report after province runs (their automation conditions).",
)
