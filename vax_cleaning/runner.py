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
import signal
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import duckdb

from vax_cleaning import settings
from vax_cleaning.ingest.exports import provinces_with_exports, unknown_province_folders
from vax_cleaning.partitions import partition_key
from vax_cleaning.reference import province_names
from vax_cleaning.report import LATEST_PROGRESS_SQL
from vax_cleaning.resources import Warehouse, duckdb_connection_config
from vax_cleaning.vocabulary import MatchStatus, values
from vax_cleaning.warehouse import check_database_location, read_frame, table_exists

log = logging.getLogger(__name__)

QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
"""The terminal shows warnings and the summary; the full event log stays in the Dagster instance."""


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

    def __init__(self, signum: int, runs: list[dg.DagsterRun] | None, terminal_fd: int):
        self.signal_name = signal.Signals(signum).name
        self.exit_code = 128 + signum
        self.terminal_fd = terminal_fd
        stopped = ", ".join(f"{run.run_id} ({_run_label(run)})" for run in runs or [])
        if runs is None:
            what = "no DAGSTER_HOME, its throwaway instance goes with it"
        else:
            what = f"run {stopped} canceled, pool slots freed" if runs else "no run was in flight"
        super().__init__(f"stopped by {self.signal_name}: {what}; rerun to continue")

    def tell(self, line: str) -> None:
        """One line to the terminal's stderr (fd 2 may be redirected into a Dagster compute log right now)."""
        os.write(self.terminal_fd, (line.replace("\n", " ") + "\n").encode())


def _run_label(run: dg.DagsterRun) -> str:
    """`clean_province 79 Thành phố Hồ Chí Minh`: the job and its partition (no personal data)."""
    return " ".join(filter(None, [run.job_name, run.tags.get("dagster/partition")]))


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

    @property
    def succeeded(self) -> bool:
        """Every requested partition (and the registry) materialized."""
        return not self.failed and not self.registry_failed and not self.national_failed


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


def run_provinces(
    provinces: list[str] | None = None,
    instance: dg.DagsterInstance | None = None,
    data_dir: str | None = None,
    duckdb_path: str | None = None,
    run_date: str | None = None,
) -> RunOutcome:
    """Load the registry once, then clean each province partition; one failing province does not stop the others.

    A DuckDB path that cannot be written fails here (WarehouseLocationError), before any run starts; runs left
    behind by a killed `vax-cleaning run` are recovered first (`recover_dead_runs`).
    """
    from vax_cleaning.definitions import defs

    data_dir, duckdb_path = data_dir or settings.data_dir(), duckdb_path or settings.duckdb_path()
    check_database_location(duckdb_path)
    config = run_config(data_dir, duckdb_path, run_date)
    exports_dir = Path(data_dir) / "exports"
    unknown = [code for code in provinces or [] if code not in province_names()]
    if unknown:
        raise UnknownProvinceError(f"not province codes: {unknown}; use the 2-digit GSO codes, e.g. 01 or 79")
    outcome = RunOutcome(
        provinces=provinces or provinces_with_exports(exports_dir),
        unknown_folders=unknown_province_folders(exports_dir),
        duckdb_path=duckdb_path,
    )
    instance = instance or dagster_instance()
    recover_dead_runs(instance)
    tags = process_tags()
    registry = defs.resolve_job_def("load_registry").execute_in_process(
        instance=instance, raise_on_error=False, run_config=config, tags=tags
    )
    if not registry.success:
        outcome.registry_failed = True
        outcome.failed = list(outcome.provinces)
        outcome.reasons["registry"] = failure_reason(registry)
        return outcome
    province_job = defs.resolve_job_def("clean_province")
    for code in outcome.provinces:
        result = province_job.execute_in_process(
            partition_key=partition_key(code), instance=instance, raise_on_error=False, run_config=config, tags=tags
        )
        if not result.success:
            outcome.failed.append(code)
            outcome.reasons[code] = failure_reason(result)
    national = defs.resolve_job_def("national_rollup").execute_in_process(
        instance=instance, raise_on_error=False, run_config=config, tags=tags
    )
    outcome.national_failed = not national.success
    if outcome.national_failed:
        outcome.reasons["national"] = failure_reason(national)
    return outcome


def run_until_signalled(provinces: list[str] | None = None, **kwargs) -> RunOutcome:
    """`run_provinces` in a worker thread; SIGINT/SIGTERM raise RunInterrupted here once the runs are canceled.

    Dagster replaces the signal handlers of the thread that executes a run and only acts on an interrupt at its
    own checkpoints; a step waiting for the writer pool never reaches one, so the run could not be stopped. Here
    the main thread keeps the handlers, cancels this process's runs, frees their slots and raises; the caller
    ends the process (`os._exit`: the worker may be inside DuckDB, which recovers from its write-ahead log as
    after any crash). The signal handlers stay installed after an interrupt, so a second Ctrl-C changes nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        return run_provinces(provinces, **kwargs)
    # the persistent instance is shared with the worker (file-backed storage); an ephemeral one stays in the worker
    instance = kwargs.pop("instance", None) or (dagster_instance() if os.environ.get("DAGSTER_HOME") else None)
    terminal_fd = os.dup(2)
    done: dict[str, object] = {}
    received: list[int] = []

    def work() -> None:
        try:
            if instance is not None:
                done["outcome"] = run_provinces(provinces, instance=instance, **kwargs)
                return
            # an ephemeral instance keeps in-memory SQLite connections: created, used and closed in this thread
            with dg.DagsterInstance.ephemeral() as own:
                done["outcome"] = run_provinces(provinces, instance=own, **kwargs)
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
        runs = stop_own_runs(instance, signal.Signals(received[0]).name) if instance is not None else None
        raise RunInterrupted(received[0], runs, terminal_fd)
    for number, handler in previous.items():
        signal.signal(number, handler)
    os.close(terminal_fd)
    if "error" in done:
        raise done["error"]  # type: ignore[misc]
    return done["outcome"]  # type: ignore[return-value]


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
SUMMARY_HEADERS = {"doses_total": "total", "decided_by_review": "by_review", "doses_reported": "reported"}
"""Short headers where the column name does not fit the table's cells."""


def summary_table(outcome: RunOutcome) -> str:
    """Per-province counts as a plain-text table (no personal data)."""
    lines = []
    if outcome.registry_failed:
        reason = outcome.reasons.get("registry", "see the run's logs (dagster) for the reason")
        lines.append(f"registry snapshot failed to load: {reason}")
    for folder in outcome.unknown_folders:
        lines.append(f"WARNING: exports/{folder}/ is not a province code; its files were not ingested")
    lines.append(
        f"{'province':<28}" + "".join(f"{SUMMARY_HEADERS.get(name, name):>11}" for name in SUMMARY_COLUMNS) + "  run"
    )
    latest = _latest_progress(outcome.duckdb_path)
    for code in outcome.provinces:
        counts = latest.get(code, {})
        cells = "".join(f"{'' if counts.get(c) is None else counts[c]:>11}" for c in SUMMARY_COLUMNS)
        state = "FAILED" if code in outcome.failed else "ok"
        lines.append(f"{code + ' ' + province_names()[code]:<28}{cells}  {state}")
    for key, reason in outcome.reasons.items():
        if key != "registry":
            lines.append(f"{'national rollup' if key == 'national' else key} failed: {reason}")
    return "\n".join(lines)


def _latest_progress(path: str) -> dict[str, dict]:
    """Latest province_progress row per province (none when the warehouse cannot be read: the failure says why)."""
    if not Path(path).exists():
        return {}
    try:
        # the runs' resource and settings: DuckDB refuses a second connection with other settings in one process
        with Warehouse(database=path, connection_config=duckdb_connection_config()).get_connection() as conn:
            if not table_exists(conn, "province_progress"):
                return {}
            rows = read_frame(conn, LATEST_PROGRESS_SQL)
    except (duckdb.Error, dg.Failure):
        return {}
    return {row["province_code"]: row for row in rows.iter_rows(named=True)}
