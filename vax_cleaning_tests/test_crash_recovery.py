"""A killed or stopped `vax-cleaning run` never wedges the Dagster instance.

`kill -9` while a step holds the `duckdb_writer` pool used to leave its slot taken for good: the next run waited
forever ("Step still blocked by limit for pool duckdb_writer"). Now the next run fails the dead run, frees its
slot and completes with the same tables as a clean run; SIGTERM/SIGINT cancel a run at once, even one waiting
for the pool.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from vax_cleaning.generate import generate_landing_folder
from vax_cleaning.runner import (
    HOST_TAG,
    PARENT_RUN_TAG,
    PID_TAG,
    STARTED_TAG,
    process_tags,
    recover_dead_runs,
    run_provinces,
)

ROOT = Path(__file__).resolve().parent.parent
CLI = str(Path(sys.executable).parent / "vax-cleaning")
POOL = "duckdb_writer"
COMPARED = ("matched_records", "correction_sets", "passport_ready")
RERUN_TIMEOUT = 120


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    """A persistent instance with the project's dagster.yaml (writer pool limit 1)."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.event_log_storage.initialize_concurrency_limit_to_default(POOL)
        yield instance


def claimed(instance: dg.DagsterInstance) -> list[tuple[str, str]]:
    """(run id, step key) of every taken slot of the writer pool."""
    return [
        (slot.run_id, slot.step_key) for slot in instance.event_log_storage.get_concurrency_info(POOL).claimed_slots
    ]


def add_started_run(instance: dg.DagsterInstance, tags: dict[str, str], holds_pool: bool = True) -> str:
    """A run in STARTED state, as a process leaves it when it dies, holding a slot of the writer pool."""
    run_id = str(uuid.uuid4())
    instance.add_run(
        dg.DagsterRun(job_name="clean_province", run_id=run_id, status=dg.DagsterRunStatus.STARTED, tags=tags)
    )
    if holds_pool:
        assert instance.event_log_storage.claim_concurrency_slot(POOL, run_id, "match_province").is_claimed
    return run_id


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


# Recovery itself (fast: no pipeline)


def test_the_shipped_instance_has_the_daemon_free_slots_of_dead_runs(instance: dg.DagsterInstance):
    assert instance.run_monitoring_enabled and "MONITORING" in instance.get_required_daemon_types()
    assert 0 < instance.run_monitoring_settings["free_slots_after_run_end_seconds"] <= 60


def test_a_run_whose_process_is_gone_is_failed_and_its_slot_freed(instance: dg.DagsterInstance):
    dead = add_started_run(instance, process_tags(dead_pid()))
    assert recover_dead_runs(instance) == [dead]
    assert instance.get_run_by_id(dead).status == dg.DagsterRunStatus.FAILURE
    assert claimed(instance) == []


def test_a_reused_pid_counts_as_dead(instance: dg.DagsterInstance):
    reused = add_started_run(instance, {**process_tags(), STARTED_TAG: "1"})  # this pid, another start time
    assert recover_dead_runs(instance) == [reused]


def test_live_foreign_and_untagged_runs_are_left_alone(instance: dg.DagsterInstance):
    me = process_tags()
    runs = [
        add_started_run(instance, me, holds_pool=False),  # alive: this very process
        add_started_run(instance, {**process_tags(dead_pid()), HOST_TAG: f"not-{socket.gethostname()}"}, False),
        add_started_run(instance, {**process_tags(dead_pid()), PARENT_RUN_TAG: "x"}, False),  # a UI re-execution
        add_started_run(instance, {}),  # launched by the daemon or the UI: the monitoring daemon's business
    ]
    assert recover_dead_runs(instance) == []
    assert [instance.get_run_by_id(run_id).status for run_id in runs] == [dg.DagsterRunStatus.STARTED] * 4
    assert claimed(instance) == [(runs[3], "match_province")]


def test_slots_of_runs_that_ended_are_freed(instance: dg.DagsterInstance):
    ended = add_started_run(instance, {PID_TAG: str(os.getpid())})
    instance.report_run_failed(instance.get_run_by_id(ended))
    recover_dead_runs(instance)
    assert claimed(instance) == []


# The command, killed and stopped for real


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two provinces of ~9,000 records each: `match_province` holds the pool for a second or two."""
    root = tmp_path_factory.mktemp("crash") / "landing"
    generate_landing_folder(root, persons=20_000, provinces=["01", "79"], seed=5)
    return root


@pytest.fixture(scope="module")
def clean_tables(landing: Path) -> dict[str, list]:
    """The tables of an uninterrupted run: what a run after a crash must produce."""
    database = landing.parent / "clean.duckdb"
    assert run_provinces(data_dir=str(landing), duckdb_path=str(database)).succeeded
    return tables(database)


def tables(database: Path) -> dict[str, list]:
    """The compared tables, every row, sorted; time columns left out."""
    with duckdb.connect(str(database), read_only=True) as conn:
        result = {}
        for table in COMPARED:
            columns = [
                f'"{name}"'
                for name, column_type, *_ in conn.execute(f'DESCRIBE "{table}"').fetchall()
                if not column_type.startswith(("TIMESTAMP", "TIME"))
            ]
            result[table] = conn.execute(f'SELECT {", ".join(columns)} FROM "{table}" ORDER BY ALL').fetchall()
    return result


def command_env(instance: dg.DagsterInstance, landing: Path, database: Path) -> dict[str, str]:
    home = instance.root_directory
    return {**os.environ, "DAGSTER_HOME": home, "VAX_DATA_DIR": str(landing), "VAX_DUCKDB_PATH": str(database)}


def start_run(env: dict[str, str], logs: Path) -> subprocess.Popen:
    """`vax-cleaning run` in its own process, its output to files (a full pipe would stall it)."""
    return subprocess.Popen(
        [CLI, "run"], env=env, cwd=ROOT, stdout=(logs.with_suffix(".out")).open("w"), stderr=logs.open("w")
    )


def wait_for(process: subprocess.Popen, found, what: str, timeout: float = 120):
    """Poll (the instance) every 20 ms until `found()` returns something; the run must still be going."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the run ended (exit {process.returncode}) before {what}"
        if value := found():
            return value
        time.sleep(0.02)
    pytest.fail(f"no {what} within {timeout} s")


def rerun(env: dict[str, str]) -> subprocess.CompletedProcess:
    """The next `vax-cleaning run`: it must finish, within a bound, and succeed."""
    started = time.monotonic()
    done = subprocess.run([CLI, "run"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=RERUN_TIMEOUT)
    print(f"rerun took {time.monotonic() - started:.1f} s")
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.mark.e2e
@pytest.mark.parametrize("attempt", range(1))
def test_a_run_killed_while_holding_the_pool_does_not_block_the_next(
    tmp_path: Path, instance: dg.DagsterInstance, landing: Path, clean_tables: dict, attempt: int
):
    database = tmp_path / "w.duckdb"
    env = command_env(instance, landing, database)
    killed = start_run(env, tmp_path / "killed.log")
    run_id, step = wait_for(
        killed,
        lambda: next((slot for slot in claimed(instance) if slot[1] == "match_province"), None),
        "a province step",
    )
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert claimed(instance) == [(run_id, step)]  # the dead run holds the pool: before the fix, for good

    done = rerun(env)

    assert f"recovered run {run_id}" in done.stderr
    assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.FAILURE
    assert claimed(instance) == []
    assert tables(database) == clean_tables


def stopped_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("vax-cleaning run:")]
    assert len(lines) == 1, stderr[-3000:]
    assert "Traceback" not in stderr
    return lines[0]


@pytest.mark.e2e
def test_sigterm_cancels_a_run_and_the_next_run_works(
    tmp_path: Path, instance: dg.DagsterInstance, landing: Path, clean_tables: dict
):
    database = tmp_path / "w.duckdb"
    env = command_env(instance, landing, database)
    stopped = start_run(env, tmp_path / "stopped.log")
    run_id, _ = wait_for(stopped, lambda: next(iter(claimed(instance)), None), "a step holding the pool")
    stopped.send_signal(signal.SIGTERM)
    assert stopped.wait(timeout=30) == 128 + signal.SIGTERM

    line = stopped_line((tmp_path / "stopped.log").read_text())
    assert line.startswith(f"vax-cleaning run: stopped by SIGTERM: run {run_id} (") and "pool slots freed" in line
    assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.CANCELED
    assert claimed(instance) == []

    rerun(env)
    assert tables(database) == clean_tables


@pytest.mark.e2e
def test_a_run_waiting_for_the_pool_stops_at_once_on_sigterm(
    tmp_path: Path, instance: dg.DagsterInstance, landing: Path
):
    holder = add_started_run(instance, process_tags())  # a live run (this process) holds the pool
    env = command_env(instance, landing, tmp_path / "w.duckdb")
    waiting = start_run(env, tmp_path / "waiting.log")
    storage = instance.event_log_storage
    run_id = wait_for(
        waiting,
        lambda: next((s.run_id for s in storage.get_concurrency_info(POOL).pending_steps if s.run_id != holder), None),
        "a step waiting for the pool",
    )
    time.sleep(1)  # blocked in Dagster's wait loop, where Dagster itself never looks at signals
    signalled = time.monotonic()
    waiting.send_signal(signal.SIGTERM)
    assert waiting.wait(timeout=30) == 128 + signal.SIGTERM
    assert time.monotonic() - signalled < 10

    assert "stopped by SIGTERM" in stopped_line((tmp_path / "waiting.log").read_text())
    assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.CANCELED
    info = storage.get_concurrency_info(POOL)
    assert {step.run_id for step in info.pending_steps} == {holder}  # its claim withdrawn, the live holder untouched
    assert claimed(instance) == [(holder, "match_province")]
