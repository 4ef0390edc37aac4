"""Sensors: new landed files run their province, a new registry snapshot is loaded and re-matched, national results refresh."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import dagster as dg

from vax_cleaning.defs.operations.jobs import LANDED_TAG, PROVINCE_TAG, province_job, province_run_request, registry_job
from vax_cleaning.ingest.exports import (
    export_files,
    files_outside_province_folders,
    landed_files,
    provinces_with_exports,
    unknown_province_folders,
)
from vax_cleaning.ingest.registry import snapshot_dates
from vax_cleaning.ingest.reviews import review_files
from vax_cleaning.partitions import partition_key
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


IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]
"""A run that has not ended yet."""

ACTIVE_STATUSES = [
    status
    for status in dg.DagsterRunStatus
    if status not in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELING, dg.DagsterRunStatus.CANCELED)
]
"""Runs that did or will do their work: a failed or canceled run does not count as the province being cleaned."""


def registry_wait_reason(instance: dg.DagsterInstance) -> str | None:
    """Why province runs must wait, or None once a registry load has finished (its features are what a run matches).

    Waiting for the whole load_registry run, not only its first step, means the re-match that follows a load
    (`rematch_after_registry`) and this sensor see the same finished load: they never both schedule a province.
    """
    loading = instance.get_run_records(dg.RunsFilter(job_name=registry_job.name, statuses=IN_FLIGHT), limit=1)
    if loading:  # a new snapshot is being loaded: the re-match after it will schedule every province
        return f"waiting for the registry load (run {loading[0].dagster_run.run_id[:8]}) to finish"
    event = instance.get_latest_materialization_event(dg.AssetKey("registry_features"))
    if event is None:
        return "waiting for the first registry load (sensor new_registry_snapshot, job load_registry)"
    run = instance.get_run_by_id(event.run_id) if event.run_id else None
    if run is not None and not run.is_finished:
        return f"waiting for the registry load (run {event.run_id[:8]}) to finish"
    return None  # a load that failed after writing the features leaves them in force: provinces go on


def province_already_requested(
    instance: dg.DagsterInstance, code: str, landed: str, created_after: datetime | None = None
) -> bool:
    """A clean_province run of this province for exactly these landed files exists (queued, running or done)."""
    runs = instance.get_run_records(
        dg.RunsFilter(
            job_name=province_job.name,
            tags={PROVINCE_TAG: code, LANDED_TAG: landed},
            statuses=ACTIVE_STATUSES,
            created_after=created_after,
        ),
        limit=1,
    )
    return bool(runs)


OUTSIDE = ""
"""Key of landing_problems for what lies under exports/ but in no province folder."""


def landing_problems(landing: LandingFolder) -> dict[str, list[str]]:
    """What under exports/ will not be ingested, by province code (OUTSIDE: in no province); file names only."""
    exports_dir = landing.exports_dir
    problems: dict[str, list[str]] = {}
    outside = [f"exports/{name}/: not a province folder (one of the 63 codes), not ingested" for name in
               unknown_province_folders(exports_dir)]  # fmt: skip
    outside += [
        f"exports/{name}: in no province folder, not ingested" for name in files_outside_province_folders(exports_dir)
    ]
    if outside:
        problems[OUTSIDE] = outside
    for code in provinces_with_exports(exports_dir):
        refused = [
            f"exports/{f.name}: {f.reason}" for f in landed_files(exports_dir, code) if f.status and f.looks_like_data
        ]
        if refused:
            problems[code] = refused
    return problems


def problem_events(problems: dict[str, list[str]], before: dict[str, list[str]]) -> list[dg.AssetCheckEvaluation]:
    """The landing checks as they stand now, for what changed since the last evaluation (shown on raw_dose_exports)."""
    events = []
    if problems.get(OUTSIDE) != before.get(OUTSIDE):
        outside = problems.get(OUTSIDE, [])
        events.append(
            dg.AssetCheckEvaluation(
                asset_key=dg.AssetKey("raw_dose_exports"),
                check_name="known_province_folders",
                passed=not outside,
                description=f"not ingested: {'; '.join(outside)}" if outside else None,
                metadata={"not_ingested": outside, "seen_by": "sensor new_export_files"},
            )
        )
    for code, names in sorted(problems.items()):
        if code != OUTSIDE and names != before.get(code):
            events.append(
                dg.AssetCheckEvaluation(
                    asset_key=dg.AssetKey("raw_dose_exports"),
                    check_name="every_landed_file_ingested",
                    passed=False,
                    partition=partition_key(code),
                    description=f"landed but will not be ingested: {'; '.join(names)}",
                    metadata={"not_ingested": names, "seen_by": "sensor new_export_files"},
                )
            )
    return events


NAMED_IN_TICK = 5
"""Entries not ingested that a tick's one-line reason names; all of them are in the sensor's log and the checks."""


@dg.sensor(
    job=province_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="A new export file under exports/<PP>/ or a returned decision file under reviews/<PP>/ (or one "
    "still being copied when last seen, now complete) launches one clean_province run for that province only. "
    "A folder under exports/ that is no province, a file in no province folder, or an unsupported file (.xls) "
    "is named as soon as it lands (this sensor's log and the raw_dose_exports checks).",
)
def new_export_files(context: dg.SensorEvaluationContext, landing: LandingFolder) -> dg.SensorResult:
    """The run key is the province's files as they are (names, sizes, times): each new state is processed once."""
    problems = landing_problems(landing)
    before = json.loads(context.cursor) if context.cursor else {}
    events = problem_events(problems, before)
    for names in problems.values() if events else ():
        for name in names:
            context.log.warning(name)
    cursor = json.dumps(problems, sort_keys=True)
    not_ingested = [name for names in problems.values() for name in names]
    more = (
        f"; and {len(not_ingested) - NAMED_IN_TICK} more (the sensor's log)"
        if len(not_ingested) > NAMED_IN_TICK
        else ""
    )
    noted = f"; not ingested: {'; '.join(not_ingested[:NAMED_IN_TICK])}{more}" if not_ingested else ""
    waiting = registry_wait_reason(context.instance)
    if waiting:
        return dg.SensorResult(skip_reason=waiting + noted, cursor=cursor, asset_events=events)
    requests = []
    for code in provinces_with_exports(landing.exports_dir):
        landed = landed_fingerprint(landing, code)
        if not province_already_requested(context.instance, code, landed):
            requests.append(province_run_request(code, "new landed file", f"exports:{code}:{landed}", landed))
    skip = None if requests else f"no new export or decision files under {landing.data_dir}{noted}"
    return dg.SensorResult(run_requests=requests, skip_reason=skip, cursor=cursor, asset_events=events)


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
    description="After a registry load succeeds, re-match every province that has exports against it (a province "
    "the landing sensor already scheduled after this load is not scheduled twice).",
)
def rematch_after_registry(context: dg.RunStatusSensorContext, landing: LandingFolder):
    """Re-matching follows the load (never races it), one run per province."""
    run_id = context.dagster_run.run_id
    record = context.instance.get_run_record_by_id(run_id)
    loaded_at = datetime.fromtimestamp(record.end_time, UTC) if record and record.end_time else None
    requests = []
    for code in provinces_with_exports(landing.exports_dir):
        landed = landed_fingerprint(landing, code)
        # a run created after the load finished matches against it already (the landing sensor got there first)
        if loaded_at and province_already_requested(context.instance, code, landed, created_after=loaded_at):
            continue
        requests.append(province_run_request(code, "registry reloaded", f"rematch:{run_id}:{code}", landed))
    return requests or dg.SkipReason("every province with exports is already scheduled after this registry load")


national_results = dg.AutomationConditionSensorDefinition(
    "national_results",
    target=dg.AssetSelection.assets(
        "passport_ready", "latest_province_progress", "national_progress", "progress_report"
    ),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Refreshes passport readiness and the progress report after province runs (their automation conditions).",
)
