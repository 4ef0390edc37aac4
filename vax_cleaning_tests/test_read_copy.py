"""Readers never locked out, writer never starved: readers open the read-only copy a run publishes, never the file it writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from vax_cleaning import settings
from vax_cleaning.generate import generate_landing_folder
from vax_cleaning.runner import run_provinces
from vax_cleaning.warehouse import publish_read_copy

READER = """
import json, sys, time, pathlib, duckdb
path, stop = sys.argv[1], pathlib.Path(sys.argv[2])
opens, errors, rows, messages = 0, 0, 0, []
while not stop.exists():
    try:
        with duckdb.connect(path, read_only=True) as conn:
            rows = conn.execute("SELECT count(*) FROM matched_records").fetchall()[0][0]
        opens += 1
    except duckdb.Error as error:
        errors += 1
        messages.append(str(error).splitlines()[0])
    time.sleep(0.05)
print(json.dumps({"opens": opens, "errors": errors, "rows": rows, "messages": messages[:3]}))
"""
"""A dashboard in its own process: opens the copy read-only every 50 ms and counts what failed."""


def test_settings_put_the_copy_and_the_reports_beside_the_database(monkeypatch):
    monkeypatch.delenv("VAX_DUCKDB_READ_PATH", raising=False)
    monkeypatch.delenv("VAX_REPORTS_DIR", raising=False)
    monkeypatch.setenv("VAX_DUCKDB_PATH", "/srv/vax/nation.duckdb")
    assert settings.read_copy_path() == "/srv/vax/nation.read.duckdb"
    assert settings.reports_dir() == "/srv/vax/nation_reports"
    assert settings.reports_dir("/srv/other/test.duckdb") == "/srv/other/test_reports"
    monkeypatch.setenv("VAX_DUCKDB_READ_PATH", "/srv/dash/copy.duckdb")
    monkeypatch.setenv("VAX_REPORTS_DIR", "/srv/www/reports")
    assert settings.read_copy_path() == "/srv/dash/copy.duckdb"
    assert settings.reports_dir() == "/srv/www/reports"


def test_the_copy_holds_every_commit_and_opens_while_the_writer_stays_connected(tmp_path: Path):
    database, copy = tmp_path / "w.duckdb", tmp_path / "w.read.duckdb"
    with duckdb.connect(str(database)) as conn:
        conn.execute("CREATE TABLE matched_records AS SELECT range AS source_row FROM range(1000)")
        conn.execute("INSERT INTO matched_records VALUES (1000)")  # still in the write-ahead log until CHECKPOINT
        os.chmod(database, 0o600)
        publish_read_copy(conn, str(database), str(copy))
        conn.execute("INSERT INTO matched_records VALUES (1001)")  # after the copy: not in it
        # another process opens the copy read-only while this one still holds the database for writing
        reader = subprocess.run(
            [sys.executable, "-c", f"import duckdb; c = duckdb.connect({str(copy)!r}, read_only=True); "
             "print(c.execute('SELECT count(*) FROM matched_records').fetchall()[0][0])"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert reader.returncode == 0, reader.stderr
    assert reader.stdout.strip() == "1001"
    assert oct(copy.stat().st_mode & 0o777) == oct(0o600)  # personal data: no wider access than the database
    assert not copy.with_name(copy.name + ".tmp").exists()


@pytest.mark.e2e
def test_a_reader_polling_the_copy_every_50ms_is_never_locked_out_and_does_not_slow_the_run(tmp_path: Path):
    landing = tmp_path / "landing"
    generate_landing_folder(landing, persons=1500, provinces=["01", "79"], seed=5)
    database = tmp_path / "vax.duckdb"
    copy = Path(settings.read_copy_path(str(database)))

    def timed_run() -> float:
        started = time.monotonic()
        outcome = run_provinces(["01", "79"], data_dir=str(landing), duckdb_path=str(database), read_copy=str(copy))
        assert outcome.succeeded, outcome.reasons
        assert outcome.read_copy == str(copy)
        return time.monotonic() - started

    timed_run()  # creates the tables and publishes the first copy
    alone = timed_run()
    stop = tmp_path / "stop"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(copy), str(stop)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    time.sleep(1.0)  # the reader is polling before the run starts writing
    with_reader = timed_run()
    stop.touch()
    out, err = reader.communicate(timeout=60)
    assert reader.returncode == 0, err
    polled = json.loads(out)
    print(f"read copy under load: {polled}, run alone {alone:.1f} s, with reader {with_reader:.1f} s")
    assert polled["errors"] == 0, polled["messages"]
    assert polled["opens"] >= with_reader * 2  # ~7-20 opens/s on 2 shared cores: none waited on the writer
    assert polled["rows"] > 0
    assert with_reader < 3 * alone, (alone, with_reader)


def test_a_national_refresh_launched_outside_the_cli_publishes_the_copy_too(landing: Path, tmp_path: Path):
    import dagster as dg

    from vax_cleaning.definitions import defs
    from vax_cleaning.runner import PASSPORT_ONLY, run_config
    from vax_cleaning_tests.conftest import small_landing

    database = tmp_path / "vax.duckdb"
    assert run_provinces(data_dir=str(small_landing(landing)), duckdb_path=str(database)).succeeded
    copy = Path(settings.read_copy_path(str(database)))
    copy.unlink()
    # what the daemon's automation launches after a province run: passport_ready, as its own run
    result = defs.resolve_job_def("national_rollup").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        run_config=run_config(str(landing), str(database)),
        asset_selection=PASSPORT_ONLY,
    )
    assert result.success
    with duckdb.connect(str(copy), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM passport_ready").fetchall() == [(1,)]
