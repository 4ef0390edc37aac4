"""Two province runs at once through a real Dagster instance, with a reader polling DuckDB: both succeed, same tables as one after the other."""

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from vax_cleaning.generate import generate_landing_folder
from vax_cleaning.partitions import partition_key
from vax_cleaning.runner import run_provinces

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
DAGSTER = str(Path(sys.executable).parent / "dagster")
PROVINCE_ASSETS = (
    "raw_dose_exports,rejected_rows,export_files,review_decisions,matched_records,correction_sets,linkage_state,"
    "province_progress"
)
TABLES = {
    "matched_records": "SELECT * EXCLUDE (registry_snapshot_date) FROM matched_records ORDER BY source_file, source_row",
    "correction_sets": "SELECT * FROM correction_sets ORDER BY ALL",
    "rejected_rows": "SELECT * FROM rejected_rows ORDER BY ALL",
}


def materialize(env: dict, select: str, partition: str | None = None) -> subprocess.Popen:
    """`dagster asset materialize` in its own process, as a second operator or the daemon would launch it."""
    command = [DAGSTER, "asset", "materialize", "-m", "vax_cleaning.definitions", "--select", select]
    return subprocess.Popen(
        command + (["--partition", partition] if partition else []),
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def snapshot(database: Path) -> dict[str, list]:
    with duckdb.connect(str(database), read_only=True) as conn:
        return {name: conn.execute(sql).fetchall() for name, sql in TABLES.items()}


def poll_reads(database: Path, stop: threading.Event, reads: list[int]) -> None:
    """A data officer's read-only queries while the runs write (retrying while a writer holds the file)."""
    while not stop.is_set():
        try:
            with duckdb.connect(str(database), read_only=True) as conn:
                conn.execute("SELECT count(*) FROM information_schema.tables").fetchall()
            reads.append(1)
        except (duckdb.IOException, duckdb.ConnectionException):
            pass
        time.sleep(0.2)


@pytest.mark.parametrize("attempt", range(1))
def test_two_partition_runs_at_once_match_sequential_results(tmp_path: Path, attempt: int):
    landing = tmp_path / "landing"
    generate_landing_folder(landing, persons=1500, provinces=["01", "79"], seed=11)
    sequential = tmp_path / "sequential.duckdb"
    assert run_provinces(["01", "79"], data_dir=str(landing), duckdb_path=str(sequential)).succeeded

    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    concurrent = tmp_path / "concurrent.duckdb"
    env = {**os.environ, "DAGSTER_HOME": str(home), "VAX_DATA_DIR": str(landing), "VAX_DUCKDB_PATH": str(concurrent)}
    registry = materialize(
        env,
        "registry_snapshot,registry_rejected_rows,registry_changed_rows,registry_features,registry_block_keys,"
        "registry_name_counts,registry_free_rows",
    )
    assert registry.wait(timeout=300) == 0, registry.stdout.read()

    stop, reads = threading.Event(), []
    reader = threading.Thread(target=poll_reads, args=(concurrent, stop, reads))
    reader.start()
    runs = [materialize(env, PROVINCE_ASSETS, partition_key(code)) for code in ("79", "01")]
    outputs = [run.communicate(timeout=600)[0] for run in runs]
    stop.set()
    reader.join()
    for run, output in zip(runs, outputs, strict=True):
        assert run.returncode == 0, output[-3000:]
        assert "Could not set lock" not in output
    assert any("blocked by limit for pool duckdb_writer" in output for output in outputs)
    assert reads, "the reader never got in"
    assert snapshot(concurrent) == snapshot(sequential)


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_province_order_does_not_change_the_tables(tmp_path: Path, seed: int):
    landing = tmp_path / "landing"
    generate_landing_folder(landing, persons=1500, provinces=["01", "79"], seed=seed)
    tables = []
    for order in (["01", "79"], ["79", "01"]):
        database = tmp_path / f"{'-'.join(order)}.duckdb"
        assert run_provinces(order, data_dir=str(landing), duckdb_path=str(database)).succeeded
        tables.append(snapshot(database))
    assert tables[0] == tables[1]
