"""Runs the Dagster jobs in-process for a set of provinces: what `vax-cleaning run` and the benchmarks call.

Crash safety (the CLI has no daemon watching its runs): every run carries the pid, host and process start time
of the process executing it (`vax/pid`, `vax/host`, `vax/pid_started`). Before launching, `recover_dead_runs`
marks failed this host's runs whose process is gone (killed, crashed, machine rebooted) and frees the
concurrency slots they held, so a `kill -9` never leaves the `duckdb_writer` pool taken. `run_until_signalled`
runs the jobs in a worker thread so that SIGINT/SIGTERM always reach the main thread, which cancels the
process's own runs and frees their slots (Dagster defers interrupts to its own checkpoints, and a step waiting
for the pool never reaches one).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb

from vax_cleaning import settings
from vax_cleaning.console import vietnam_time
from vax_cleaning.ingest.exports import provinces_with_exports, unknown_province_folders
from vax_cleaning.partitions import partition_key
from vax_cleaning.reference import province_names
from vax_cleaning.report import LATEST_PROGRESS_SQL
from vax_cleaning.resources import Warehouse, duckdb_connection_config
from vax_cleaning.vocabulary import MatchStatus, values
from vax_cleaning.warehouse import WarehouseLocationError, check_database_location, read_frame, table_exists

log = logging.getLogger(__name__)

QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
"""The terminal shows the progress and the summary (each failure in one line with its fix), not Dagster's stack
traces; the full event log stays in the Dagster instance, whose path the summary prints."""


class UnknownProvinceError(ValueError):
    """A --province code that is not one of the 63 GSO codes (terminal: fix the command)."""


PID_TAG, HOST_TAG, STARTED_TAG = "vax/pid", "vax/host", "vax/pid_started"
"""Run tags naming the process that executes the run: how a later `vax-cleaning run` tells a dead run from a live one."""
PARENT_RUN_TAG = "dagster/parent_run_id"
"""Re-executions (launched from the UI) copy their parent's tags, pid included: they are not this CLI's runs."""
IN_FLIGHT = [
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""Ctrl-C and `kill` (or a scheduler's stop): both cancel the CLI's runs cleanly."""


def _process_stat(pid: int) -> list[str]:
    """Fields 3.. of /proc/<pid>/stat (state first, start time at index 19); empty where /proc is not there."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return []
    return stat.rpartition(")")[2].split()


def process_tags(pid: int | None = None) -> dict[str, str]:
    """The tags that name this process (or `pid`) on this host; the start time tells a reused pid apart."""
    pid = pid or os.getpid()
    stat = _process_stat(pid)
    return {PID_TAG: str(pid), HOST_TAG: socket.gethostname(), STARTED_TAG: stat[19] if len(stat) > 19 else ""}


def process_alive(pid: int, started: str = "") -> bool:
    """Whether process `pid` of this host still runs and is the one that started at `started` (if known)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    stat = _process_stat(pid)
    if stat and stat[0] == "Z":
        return False  # killed, waiting for its parent to reap it
    return not (started and len(stat) > 19 and stat[19] != started)


def free_slots_of_ended_runs(instance: dg.DagsterInstance) -> list[str]:
    """Free the concurrency slots (and pending claims) of runs that have ended or were deleted; their run ids."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    freed = []
    for run_id in sorted(storage.get_concurrency_run_ids()):
        run = instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            storage.free_concurrency_slots_for_run(run_id)
            freed.append(run_id)
    return freed


def recover_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark failed this host's CLI runs whose process is gone, then free every ended run's slots; the recovered ids.

    A run is this CLI's when it carries `vax/pid` and `vax/host` of this host (and is no re-execution); it is dead
    when that process no longer exists, is a zombie, or is another process that reused the pid.
    """
    recovered = []
    host = socket.gethostname()
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=IN_FLIGHT, tags={HOST_TAG: host})):
        pid = run.tags.get(PID_TAG, "")
        if not pid.isdigit() or PARENT_RUN_TAG in run.tags or process_alive(int(pid), run.tags.get(STARTED_TAG, "")):
            continue
        instance.report_run_failed(
            run,
            message=f"The process running this run (pid {pid} on {host}) is gone: killed or crashed. "
            "Marked failed by the next `vax-cleaning run`, which freed the run's concurrency slots.",
        )
        recovered.append(run.run_id)
        log.warning(
            "vax-cleaning run: recovered run %s (its process is gone): marked failed, pool slots freed", run.run_id
        )
    free_slots_of_ended_runs(instance)
    return recovered


def stop_own_runs(instance: dg.DagsterInstance, reason: str) -> list[dg.DagsterRun]:
    """Cancel the runs this process is executing and free their concurrency slots (on SIGINT/SIGTERM)."""
    me = process_tags()
    runs = instance.get_runs(
        filters=dg.RunsFilter(statuses=IN_FLIGHT, tags={PID_TAG: me[PID_TAG], HOST_TAG: me[HOST_TAG]})
    )
    for run in runs:
        instance.report_run_canceled(run, message=f"vax-cleaning run stopped by {reason}")
    free_slots_of_ended_runs(instance)
    return list(runs)


class RunInterrupted(Exception):
    """SIGINT or SIGTERM stopped `vax-cleaning run`; its runs are canceled and their slots freed."""

    def __init__(self, signum: int, runs: list[dg.DagsterRun], terminal_fd: int, instance_dir: str = ""):
        self.signal_name = signal.Signals(signum).name
        self.exit_code = 128 + signum
        self.terminal_fd = terminal_fd
        stopped = ", ".join(f"{run.run_id} ({_run_label(run)})" for run in runs)
        what = f"run {stopped} canceled, pool slots freed" if runs else "no run was in flight"
        logs = f"; run logs in {instance_dir}" if instance_dir else ""
        super().__init__(f"stopped by {self.signal_name}: {what}{logs}; rerun to continue")

    def tell(self, line: str) -> None:
        """One line to the terminal's stderr (fd 2 may be redirected into a Dagster compute log right now)."""
        os.write(self.terminal_fd, (line.replace("\n", " ") + "\n").encode())


def _run_label(run: dg.DagsterRun) -> str:
    """`clean_province 79 Thành phố Hồ Chí Minh`: the job and its partition (no personal data)."""
    return " ".join(filter(None, [run.job_name, run.tags.get("dagster/partition")]))


Progress = Callable[[str, str, str], None]
"""`progress(stage, state, detail)`: state is "start", "ok", "failed" or "skipped"; stage is a label without
personal data ("registry", "79 Thành phố Hồ Chí Minh", "national rollup", "read-only copy")."""


def _no_progress(_stage: str, _state: str, _detail: str) -> None:
    """Benchmarks and tests that call `run_provinces` directly need no display."""


class LandingFolderError(ValueError):
    """VAX_DATA_DIR is missing or holds neither exports/ nor registry/ (terminal: point it at the landing root)."""


def check_landing_folder(data_dir: str) -> None:
    """Fail at once, naming the fix, when the landing root is missing or empty: nothing could be cleaned."""
    root = Path(data_dir)
    fix = "set VAX_DATA_DIR to the landing root holding exports/<PP>/ and registry/<YYYY-MM-DD>/"
    if not root.is_dir():
        raise LandingFolderError(f"landing folder {root} does not exist: {fix}")
    if not any(_has_files(root / part) for part in ("exports", "registry")):
        raise LandingFolderError(f"landing folder {root} has no exports/ nor registry/ files: {fix}")


def _has_files(folder: Path) -> bool:
    """Whether anything is below `folder` (a landing root with empty exports/ and registry/ folders is empty)."""
    return folder.is_dir() and any(path.is_file() for path in folder.rglob("*"))


@dataclass
class RunOutcome:
    """Which partitions succeeded, for the exit code and the summary."""

    provinces: list[str]
    failed: list[str] = field(default_factory=list)
    registry_failed: bool = False
    unknown_folders: list[str] = field(default_factory=list)
    duckdb_path: str = ""
    national_failed: bool = False
    reasons: dict[str, str] = field(default_factory=dict)
    """Why a run failed, keyed by "registry", a province code or "national": the failed step and its first error line."""
    skipped: dict[str, str] = field(default_factory=dict)
    """Steps not run and why (same keys, plus "progress_report"): they could only fail on what failed before."""
    seconds: dict[str, float] = field(default_factory=dict)
    """Wall time per stage (same keys, plus "read_copy" and "total")."""
    nothing_to_clean: str = ""
    """Set (to the reason and fix) when no province has exports: the run cleaned nothing."""
    read_copy: str = ""
    """The read-only copy published after the run ("" when none was published)."""
    read_copy_error: str = ""
    """Why the copy could not be published, with the fix (readers keep the previous copy)."""
    instance_dir: str = ""
    """Where the runs' full Dagster logs are: DAGSTER_HOME, or the temporary instance kept because a step failed."""
    instance_kept: bool = False
    started: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def succeeded(self) -> bool:
        """Every requested partition (and the registry) materialized, and there was something to clean."""
        return (
            not self.failed
            and not self.registry_failed
            and not self.national_failed
            and not self.nothing_to_clean
            and not self.read_copy_error
        )


def dagster_instance() -> dg.DagsterInstance:
    """The persistent instance when DAGSTER_HOME is set (runs then show in the UI), else a throwaway one."""
    return dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()


def run_config(data_dir: str, duckdb_path: str, run_date: str | None = None) -> dict:
    """Resource config for one run: the same knobs a user sets in the UI's launchpad."""
    landing = {"data_dir": data_dir, **({"run_date": run_date} if run_date else {})}
    return {
        **QUIET_CONSOLE,
        "resources": {
            "landing": {"config": landing},
            # run config replaces the resource's whole config: the memory limit must be restated here
            "duckdb": {"config": {"database": duckdb_path, "connection_config": duckdb_connection_config()}},
        },
    }


PASSPORT_ONLY = [dg.AssetKey("passport_ready")]
"""The national rollup without the progress views and report, when no province has progress to show yet."""


def run_provinces(
    provinces: list[str] | None = None,
    instance: dg.DagsterInstance | None = None,
    data_dir: str | None = None,
    duckdb_path: str | None = None,
    run_date: str | None = None,
    progress: Progress | None = None,
    read_copy: str | None = None,
) -> RunOutcome:
    """Load the registry once, clean each province partition, roll up, publish the read-only copy; one failing
    province does not stop the others.

    An unusable DuckDB path (WarehouseLocationError), a missing or empty landing folder (LandingFolderError) or an
    unknown province (UnknownProvinceError) fail here, before any run starts; runs left behind by a killed
    `vax-cleaning run` are recovered first (`recover_dead_runs`). National steps that could only fail on a table
    no province wrote are skipped, with the reason, instead of failing after retries.
    """
    from vax_cleaning.definitions import defs

    data_dir, duckdb_path = data_dir or settings.data_dir(), duckdb_path or settings.duckdb_path()
    progress = progress or _no_progress
    unknown = [code for code in provinces or [] if code not in province_names()]
    if unknown:
        raise UnknownProvinceError(f"not province codes: {unknown}; use the 2-digit GSO codes, e.g. 01 or 79")
    check_database_location(duckdb_path)
    check_landing_folder(data_dir)
    config = run_config(data_dir, duckdb_path, run_date)
    exports_dir = Path(data_dir) / "exports"
    outcome = RunOutcome(
        provinces=provinces or provinces_with_exports(exports_dir),
        unknown_folders=unknown_province_folders(exports_dir),
        duckdb_path=duckdb_path,
    )
    if not outcome.provinces:
        outcome.nothing_to_clean = (
            f"no province has exports under {exports_dir}: land the sites' files in exports/<PP>/ "
            "(or set VAX_DATA_DIR to the landing root), then rerun"
        )
    instance = instance or dagster_instance()
    recover_dead_runs(instance)
    tags = process_tags()

    def execute(key: str, label: str, job: str, **kwargs) -> bool:
        """One job run, timed and shown; its failure recorded under `key` with the step's one-line reason."""
        progress(label, "start", "")
        started = time.monotonic()
        result = defs.resolve_job_def(job).execute_in_process(
            instance=instance, raise_on_error=False, run_config=config, tags=tags, **kwargs
        )
        outcome.seconds[key] = time.monotonic() - started
        if not result.success:
            outcome.reasons[key] = failure_reason(result)
        progress(label, "ok" if result.success else "failed", outcome.reasons.get(key, _seconds(outcome.seconds[key])))
        return result.success

    if not execute("registry", "registry", "load_registry"):
        outcome.registry_failed = True
        outcome.failed = list(outcome.provinces)
        for code in outcome.provinces:
            outcome.skipped[code] = "not run: the registry snapshot did not load (fix it first, see above)"
        outcome.skipped["national"] = "not run: the registry snapshot did not load"
    else:
        for index, code in enumerate(outcome.provinces, 1):
            label = f"province {index}/{len(outcome.provinces)} {_province_label(code)}"
            if not execute(code, label, "clean_province", partition_key=partition_key(code)):
                outcome.failed.append(code)
        _national(outcome, execute, progress)
    _publish(outcome, progress, read_copy)
    outcome.seconds["total"] = (datetime.now(UTC) - outcome.started).total_seconds()
    return outcome


def _national(outcome: RunOutcome, execute: Callable[..., bool], progress: Progress) -> None:
    """The national rollup, without the steps that need a table no province has written yet."""
    tables = _national_inputs(outcome.duckdb_path)
    if not tables["matched_records"]:
        if outcome.provinces:
            outcome.skipped["national"] = (
                "not run: no province has been cleaned yet (fix the provinces above, then rerun)"
            )
        else:
            outcome.skipped["national"] = "not run: nothing to clean"
        progress("national rollup", "skipped", outcome.skipped["national"])
        return
    selection = {}
    if not tables["province_progress"]:
        outcome.skipped["progress_report"] = "no province has progress yet (fix the provinces above, then rerun)"
        selection = {"asset_selection": PASSPORT_ONLY}
    outcome.national_failed = not execute("national", "national rollup", "national_rollup", **selection)


def _national_inputs(path: str) -> dict[str, bool]:
    """Whether matched_records exists and province_progress has rows (both False when the file cannot be read)."""
    found = {"matched_records": False, "province_progress": False}
    if not Path(path).exists():
        return found
    try:
        with _warehouse(path).get_connection() as conn:
            found["matched_records"] = table_exists(conn, "matched_records")
            if table_exists(conn, "province_progress"):
                found["province_progress"] = bool(
                    conn.execute("SELECT count(*) FROM province_progress").fetchall()[0][0]
                )
    except (duckdb.Error, dg.Failure):
        # the national run then reports the real cause
        return {"matched_records": True, "province_progress": True}
    return found


def _warehouse(path: str) -> Warehouse:
    """The runs' resource and settings: DuckDB refuses a second connection with other settings in one process."""
    return Warehouse(database=path, connection_config=duckdb_connection_config())


def _publish(outcome: RunOutcome, progress: Progress, target: str | None) -> None:
    """Publish the read-only copy for readers once the runs wrote what they could (each step commits whole)."""
    if not Path(outcome.duckdb_path).exists() or outcome.registry_failed:
        return
    target = target or settings.read_copy_path(outcome.duckdb_path)
    copy, written = Path(target), [Path(outcome.duckdb_path), Path(outcome.duckdb_path + ".wal")]
    changed = max([path.stat().st_mtime for path in written if path.exists()] + [outcome.started.timestamp()])
    if copy.exists() and copy.stat().st_mtime >= changed:
        outcome.read_copy = target  # passport_ready published it at the end of the national run: not twice
        return
    progress("read-only copy", "start", "")
    started = time.monotonic()
    try:
        outcome.read_copy = str(_warehouse(outcome.duckdb_path).publish_read_copy(target))
    except (OSError, duckdb.Error, dg.Failure) as error:
        outcome.read_copy_error = (
            f"read-only copy {target} not published: {_first_line(error)} "
            "(readers keep the previous copy; free disk space or fix the path in VAX_DUCKDB_READ_PATH, then rerun)"
        )
    outcome.seconds["read_copy"] = time.monotonic() - started
    progress(
        "read-only copy",
        "failed" if outcome.read_copy_error else "ok",
        outcome.read_copy_error or _seconds(outcome.seconds["read_copy"]),
    )


def _first_line(error: BaseException) -> str:
    """An error's first line, for a one-line summary."""
    text = (getattr(error, "description", None) or str(error)).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _seconds(value: float) -> str:
    """`12.3 s`."""
    return f"{value:.1f} s"


def _province_label(code: str) -> str:
    """`79 Thành phố Hồ Chí Minh`."""
    return f"{code} {province_names()[code]}"


def open_instance() -> tuple[dg.DagsterInstance, str]:
    """DAGSTER_HOME's instance, else a temporary one in a fresh folder (its path second: kept when a step fails)."""
    if os.environ.get("DAGSTER_HOME"):
        return dg.DagsterInstance.get(), ""
    folder = tempfile.mkdtemp(prefix="vax-cleaning-run-")
    return dg.DagsterInstance.local_temp(folder), folder


USER_ERRORS = (UnknownProvinceError, LandingFolderError, WarehouseLocationError)
"""Refusals before any run starts: one line to the user, nothing worth keeping in an instance."""


def run_until_signalled(provinces: list[str] | None = None, **kwargs) -> RunOutcome:
    """`run_provinces` in a worker thread; SIGINT/SIGTERM raise RunInterrupted here once the runs are canceled.

    Dagster replaces the signal handlers of the thread that executes a run and only acts on an interrupt at its
    own checkpoints; a step waiting for the writer pool never reaches one, so the run could not be stopped. Here
    the main thread keeps the handlers, cancels this process's runs, frees their slots and raises; the caller
    ends the process (`os._exit`: the worker may be inside DuckDB, which recovers from its write-ahead log as
    after any crash). The signal handlers stay installed after an interrupt, so a second Ctrl-C changes nothing.

    Without DAGSTER_HOME the runs go to a temporary instance, deleted when every step succeeded and kept (named in
    `RunOutcome.instance_dir`, or an unexpected error's `instance_dir`) when one failed: that is where the details are.
    """
    if threading.current_thread() is not threading.main_thread():
        return run_provinces(provinces, **kwargs)
    instance = kwargs.pop("instance", None)
    temporary = ""
    if instance is None:
        instance, temporary = open_instance()
    terminal_fd = os.dup(2)
    done: dict[str, object] = {}
    received: list[int] = []

    def work() -> None:
        try:
            done["outcome"] = run_provinces(provinces, instance=instance, **kwargs)
        except BaseException as error:
            done["error"] = error

    previous = {
        number: signal.signal(number, lambda signum, _frame: received.append(signum)) for number in STOP_SIGNALS
    }
    worker = threading.Thread(target=work, name="vax-cleaning-run", daemon=True)
    worker.start()
    while worker.is_alive() and not received:
        worker.join(0.2)
    if received:
        runs = stop_own_runs(instance, signal.Signals(received[0]).name)
        raise RunInterrupted(received[0], runs, terminal_fd, temporary)
    for number, handler in previous.items():
        signal.signal(number, handler)
    os.close(terminal_fd)
    error = done.get("error")
    outcome = done.get("outcome")
    keep = not isinstance(error, USER_ERRORS) and not (isinstance(outcome, RunOutcome) and outcome.succeeded)
    if temporary:
        instance.dispose()
        if not keep:
            shutil.rmtree(temporary, ignore_errors=True)
    where = os.environ.get("DAGSTER_HOME", "") or (temporary if keep else "")
    if isinstance(error, BaseException):
        error.instance_dir = where  # type: ignore[attr-defined]
        raise error
    assert isinstance(outcome, RunOutcome)
    outcome.instance_dir, outcome.instance_kept = where, bool(temporary and keep)
    return outcome


def failure_reason(result: dg.ExecuteInProcessResult) -> str:
    """The failed step and the first line of its error (a terminal failure's description, else the root cause)."""
    for event in result.get_step_failure_events():
        data = event.step_failure_data
        message = data.user_failure_data.description if data.user_failure_data else None
        error = data.error
        while not message and error is not None:
            if error.cause is None:
                message = error.message
            error = error.cause
        first_line = (message or "").strip().splitlines()[0] if (message or "").strip() else "unknown error"
        return f"{event.step_key}: {first_line[:300]}"
    return "see the run's logs (dagster)"


SUMMARY_COLUMNS = ("doses_total", *values(MatchStatus), "rejected", "decided_by_review", "doses_reported")
"""The per-province summary: the latest province_progress point (the same numbers the UI and report show)."""


def _summary_counts(counts: dict) -> str:
    """`Số mũi đã tải lên 443 · Đã xác thực 396 · …`: the province's latest point under the report's Vietnamese
    headers, counts written as officers read them (49.128)."""
    from vax_cleaning.report import TABLE_HEADERS

    shown = [(TABLE_HEADERS[c], counts.get(c)) for c in SUMMARY_COLUMNS]
    return " · ".join(f"{label} {'–' if n is None else f'{n:,}'.replace(',', '.')}" for label, n in shown)


def summary_table(outcome: RunOutcome) -> str:
    """What happened, province by province, with timings, each failure's reason and fix, and where results are."""
    total = outcome.seconds.get("total")
    lines = [f"vax-cleaning run, started {vietnam_time(outcome.started)}" + (f", {_seconds(total)}" if total else "")]
    for folder in outcome.unknown_folders:
        lines.append(f"WARNING: exports/{folder}/ is not a province code; its files were not ingested")
    if outcome.registry_failed:
        reason = outcome.reasons.get("registry", "see the run's logs (below)")
        lines.append(f"registry snapshot failed to load: {reason}")
    else:
        lines.append(f"registry: {_state(outcome, 'registry')}")
    if outcome.nothing_to_clean:
        lines.append(f"nothing to clean: {outcome.nothing_to_clean}")
    latest, unreadable = _latest_progress(outcome.duckdb_path)
    for code in outcome.provinces:
        lines.append(f"{_province_label(code)}: {_state(outcome, code)}")
        if code in latest:
            lines.append(f"    {_summary_counts(latest[code])}")
    if unreadable:
        lines.append(f"(counts not shown: {unreadable})")
    lines.append(f"national rollup: {_state(outcome, 'national')}")
    if "progress_report" in outcome.skipped:
        lines.append(f"progress report: skipped: {outcome.skipped['progress_report']}")
    lines.append(f"database:       {outcome.duckdb_path}")
    if outcome.read_copy_error:
        lines.append(f"read-only copy: {outcome.read_copy_error}")
    elif outcome.read_copy:
        lines.append(f"read-only copy: {outcome.read_copy} (for dashboards, export-review and report)")
    else:
        lines.append("read-only copy: not published (nothing was written)")
    lines.append(f"reports:        {settings.reports_dir(outcome.duckdb_path)}")
    lines.append(f"run logs:       {_logs_line(outcome)}")
    return "\n".join(lines)


def _state(outcome: RunOutcome, key: str) -> str:
    """`ok (12.3 s)`, `failed: <step>: <reason and fix>`, or `skipped: <why>`."""
    if key in outcome.reasons:
        return f"failed: {outcome.reasons[key]}"
    if key in outcome.skipped:
        return f"skipped: {outcome.skipped[key]}"
    return f"ok ({_seconds(outcome.seconds[key])})" if key in outcome.seconds else "ok"


def _logs_line(outcome: RunOutcome) -> str:
    """Where the full Dagster event log of the runs is, and how to read it."""
    if not outcome.instance_dir:
        return "not kept (set DAGSTER_HOME to keep the run history)"
    read = f"read them with: DAGSTER_HOME={outcome.instance_dir} dagster dev -w workspace.yaml"
    if outcome.instance_kept:
        return f"{outcome.instance_dir} (temporary instance kept because the run did not succeed; {read})"
    return f"{outcome.instance_dir} (DAGSTER_HOME; {read})"


def _latest_progress(path: str) -> tuple[dict[str, dict], str]:
    """Latest province_progress row per province, and why none could be read ("" when fine or not there yet)."""
    if not Path(path).exists():
        return {}, ""
    try:
        with _warehouse(path).get_connection() as conn:
            if not table_exists(conn, "province_progress"):
                return {}, ""
            rows = read_frame(conn, LATEST_PROGRESS_SQL)
    except Exception as error:  # the summary is printed whatever the warehouse says
        return {}, _first_line(error)
    return {row["province_code"]: row for row in rows.iter_rows(named=True)}, ""
