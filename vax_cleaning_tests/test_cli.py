"""The command line: clear errors for wrong arguments, exit codes a scheduler can rely on; failures fast, with the real cause."""

import os
import subprocess
import time
from pathlib import Path

import pytest

from vax_cleaning.cli import main
from vax_cleaning_tests.conftest import small_landing


def test_unknown_province_code_is_a_clear_error(capsys, monkeypatch, tmp_path: Path):
    monkeypatch.setenv("VAX_DUCKDB_PATH", str(tmp_path / "w.duckdb"))
    assert main(["run", "--province", "99"]) == 2
    assert "not province codes: ['99']" in capsys.readouterr().err


def test_run_exits_non_zero_when_the_registry_is_missing(capsys, monkeypatch, tmp_path: Path):
    (tmp_path / "exports" / "79").mkdir(parents=True)
    (tmp_path / "exports" / "79" / "a.csv").write_text(
        "Ngày tiêm,Tên vắc xin,Mũi số\n15/08/2021,AZ,1\n", encoding="utf-8"
    )
    monkeypatch.setenv("VAX_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VAX_DUCKDB_PATH", str(tmp_path / "w.duckdb"))
    assert main(["run"]) == 1
    assert "registry snapshot failed to load" in capsys.readouterr().out


def landing_with_data(root: Path) -> Path:
    """A small generated landing folder: enough rows for DuckDB to need more than a tiny memory limit."""
    from vax_cleaning.generate import generate_landing_folder

    generate_landing_folder(root / "landing", persons=3000, provinces=["79"], seed=1)
    return root / "landing"


def run_timed(argv: list[str]) -> tuple[int, float]:
    started = time.monotonic()
    code = main(argv)
    return code, time.monotonic() - started


@pytest.mark.parametrize("where", ["missing directory", "under a file"])
def test_an_unusable_duckdb_path_fails_at_once_naming_it(capsys, monkeypatch, tmp_path: Path, where: str):
    (tmp_path / "a_file").write_text("")
    database = tmp_path / ("missing" if where == "missing directory" else "a_file") / "w.duckdb"
    monkeypatch.setenv("VAX_DATA_DIR", str(small_landing(tmp_path)))
    monkeypatch.setenv("VAX_DUCKDB_PATH", str(database))
    code, seconds = run_timed(["run"])
    err = capsys.readouterr().err
    assert code == 2 and seconds < 15, (code, seconds)  # was 1 after ~390 s of connection back-off and step retries
    assert err.strip().splitlines() == [err.strip()]  # one line
    assert str(database.parent) in err and ("does not exist" in err or "is not a directory" in err)


def test_a_too_small_memory_limit_reports_duckdbs_out_of_memory_error(capsys, monkeypatch, tmp_path: Path):
    monkeypatch.setenv("VAX_DATA_DIR", str(landing_with_data(tmp_path)))
    monkeypatch.setenv("VAX_DUCKDB_PATH", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("VAX_DUCKDB_MEMORY_LIMIT", "1MB")
    code, seconds = run_timed(["run"])
    out, err = capsys.readouterr()
    assert code == 1 and seconds < 60, (code, seconds)  # terminal: no step retries (was 90 s)
    assert "Out of Memory Error" in out and "VAX_DUCKDB_MEMORY_LIMIT" in out
    assert "Current transaction is aborted" not in out + err
    assert "Traceback" not in err


def test_a_full_disk_reports_no_space_left_on_device(capsys, monkeypatch, tmp_path: Path):
    disk = tmp_path / "tiny"
    disk.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(disk)]).returncode:
        pytest.skip("a tiny tmpfs needs root")
    try:
        monkeypatch.setenv("VAX_DATA_DIR", str(landing_with_data(tmp_path)))
        monkeypatch.setenv("VAX_DUCKDB_PATH", str(disk / "w.duckdb"))
        code, seconds = run_timed(["run"])
    finally:
        subprocess.run(["umount", "--lazy", str(disk)], check=True)
    out, err = capsys.readouterr()
    assert code == 1 and seconds < 60, (code, seconds)  # terminal: no step retries (was 90 s)
    assert "No space left on device" in out
    assert "cannot rollback" not in out + err and "Traceback" not in err
