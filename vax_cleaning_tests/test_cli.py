"""The command line: clear errors for wrong arguments, exit codes a scheduler can rely on; failures fast, with the real cause."""

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from vax_cleaning.cli import main
from vax_cleaning_tests.conftest import small_landing, write_export


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


# A run that always reports: every command ends with a summary and an exit code, whatever failed


@pytest.fixture(autouse=True)
def temporary_files_in_tmp_path(monkeypatch, tmp_path: Path) -> None:
    """Instances kept after a failed run (and error files) land in the test's folder, not in /tmp."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated landing folder (province 79), shared read-only by the tests below (copy it to change it)."""
    from vax_cleaning.generate import generate_landing_folder

    root = tmp_path_factory.mktemp("generated") / "landing"
    generate_landing_folder(root, persons=300, provinces=["79"], seed=3)
    return root


@pytest.fixture(scope="module")
def cleaned(generated: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database the generated landing folder was cleaned into, with its read-only copy beside it."""
    from vax_cleaning.runner import run_provinces

    database = tmp_path_factory.mktemp("cleaned") / "vax.duckdb"
    assert run_provinces(data_dir=str(generated), duckdb_path=str(database)).succeeded
    return database


def kept_instance(out: str) -> Path:
    """The Dagster instance the summary's `run logs:` line names."""
    line = next(line for line in out.splitlines() if line.startswith("run logs:"))
    return Path(line.split()[2])


def retried_steps(home: Path) -> list[str]:
    """Steps of any run in the instance that were retried (a terminal error must not be)."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home)) as instance:
        return [
            event.step_key
            for run in instance.get_runs()
            for event in instance.all_logs(run.run_id)
            if event.dagster_event and event.dagster_event.event_type_value == "STEP_UP_FOR_RETRY"
        ]


def test_a_successful_run_shows_progress_timings_and_where_everything_is(capsys, monkeypatch, tmp_path, generated):
    monkeypatch.setenv("VAX_DATA_DIR", str(generated))
    monkeypatch.setenv("VAX_DUCKDB_PATH", str(tmp_path / "vax.duckdb"))
    monkeypatch.delenv("VAX_DUCKDB_READ_PATH", raising=False)
    monkeypatch.delenv("VAX_REPORTS_DIR", raising=False)
    assert main(["run"]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    # stdout is not a terminal here: the progress is plain timestamped lines, no spinner escapes
    assert any(line.endswith("registry: started") for line in lines) and "\x1b[" not in out
    assert any("province 1/1 79 Thành phố Hồ Chí Minh: ok (" in line for line in lines)
    assert "registry: ok (" in out and "national rollup: ok (" in out
    row = next(line for line in lines if line.startswith("79 Thành phố Hồ Chí Minh"))
    assert row.rstrip().endswith(" s)") and ": ok (" in row
    counts = lines[lines.index(row) + 1]  # the latest progress point, under the report's Vietnamese headers
    assert counts.startswith("    Số mũi đã tải lên ") and "Đã xác thực " in counts and "Cần xác minh " in counts
    assert f"database:       {tmp_path / 'vax.duckdb'}" in lines
    assert f"read-only copy: {tmp_path / 'vax.read.duckdb'} (for dashboards, export-review and report)" in lines
    assert f"reports:        {tmp_path / 'vax_reports'}" in lines
    assert "run logs:       not kept (set DAGSTER_HOME to keep the run history)" in lines
    assert (tmp_path / "vax.read.duckdb").is_file()
    assert "(UTC+7)" in lines[lines.index(next(x for x in lines if x.startswith("vax-cleaning run, started")))]
    assert "Traceback" not in err


def test_registry_but_no_exports_says_there_is_nothing_to_clean_without_retrying(
    capsys, monkeypatch, tmp_path, generated
):
    landing = tmp_path / "landing"
    shutil.copytree(generated / "registry", landing / "registry")
    monkeypatch.setenv("VAX_DATA_DIR", str(landing))
    monkeypatch.setenv("VAX_DUCKDB_PATH", str(tmp_path / "vax.duckdb"))
    code, seconds = run_timed(["run"])
    out, err = capsys.readouterr()
    assert code == 1 and seconds < 40, (code, seconds)  # was ~60 s of passport_ready retries, then a crash
    assert "registry: ok (" in out
    assert f"nothing to clean: no province has exports under {landing / 'exports'}" in out
    assert "national rollup: skipped: not run: nothing to clean" in out
    assert "Traceback" not in err and "does not exist!" not in out + err
    assert kept_instance(out).is_dir()  # the run did not succeed: its Dagster instance is kept and named


@pytest.mark.parametrize("landing", ["missing", "empty"])
def test_a_missing_or_empty_landing_folder_is_one_line_before_any_run(capsys, monkeypatch, tmp_path, landing):
    root = tmp_path / "landing"
    if landing == "empty":
        (root / "exports").mkdir(parents=True)
        (root / "registry").mkdir()
    monkeypatch.setenv("VAX_DATA_DIR", str(root))
    monkeypatch.setenv("VAX_DUCKDB_PATH", str(tmp_path / "vax.duckdb"))
    code, seconds = run_timed(["run"])
    err = capsys.readouterr().err
    assert code == 2 and seconds < 15, (code, seconds)
    assert err.strip().splitlines() == [err.strip()]  # one line, no traceback
    expected = "does not exist" if landing == "missing" else "has no exports/ nor registry/ files"
    assert f"landing folder {root} {expected}: set VAX_DATA_DIR to the landing root" in err
    assert not (tmp_path / "vax.duckdb").exists()


def test_no_registry_fails_fast_names_the_provinces_not_run_and_keeps_the_logs(capsys, monkeypatch, tmp_path):
    write_export(tmp_path, "79", "a.csv", ["Ngày tiêm,Tên vắc xin,Mũi số", "15/08/2021,AZ,1"])
    monkeypatch.setenv("VAX_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VAX_DUCKDB_PATH", str(tmp_path / "w.duckdb"))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    code, seconds = run_timed(["run"])
    out, err = capsys.readouterr()
    assert code == 1 and seconds < 40, (code, seconds)
    assert "registry snapshot failed to load: registry_snapshot: " in out
    assert "not run: the registry snapshot did not load" in out
    home = kept_instance(out)
    assert f"DAGSTER_HOME={home} dagster dev" in out and home.is_dir()
    assert retried_steps(home) == []
    assert "Traceback" not in err


def test_bad_tallies_fail_the_province_and_skip_the_report_at_once(capsys, monkeypatch, tmp_path, generated):
    landing = tmp_path / "landing"
    shutil.copytree(generated, landing)
    (landing / "reported" / "tallies.csv").write_text("tinh,so\n79,12\n", encoding="utf-8")
    monkeypatch.setenv("VAX_DATA_DIR", str(landing))
    monkeypatch.setenv("VAX_DUCKDB_PATH", str(tmp_path / "vax.duckdb"))
    code, seconds = run_timed(["run"])
    out, err = capsys.readouterr()
    assert code == 1 and seconds < 60, (code, seconds)
    row = next(line for line in out.splitlines() if line.startswith("79 Thành phố Hồ Chí Minh"))
    assert row.endswith("failed: province_progress: reported/tallies.csv needs the columns province_code, "
                        "doses_reported (its header: ['tinh', 'so'])")  # fmt: skip
    assert "national rollup: ok (" in out  # passport readiness still computed
    assert "progress report: skipped: no province has progress yet (fix the provinces above, then rerun)" in out
    assert retried_steps(kept_instance(out)) == []  # was ~60 s of retries on "province_progress is empty"
    assert "Traceback" not in err


def test_export_review_and_report_read_the_published_copy(capsys, monkeypatch, tmp_path, cleaned):
    monkeypatch.setenv("VAX_DUCKDB_PATH", str(cleaned))
    monkeypatch.delenv("VAX_DUCKDB_READ_PATH", raising=False)
    monkeypatch.delenv("VAX_REPORTS_DIR", raising=False)
    assert main(["export-review", "--out", str(tmp_path / "review")]) == 0
    out, err = capsys.readouterr()
    assert f"reading the read-only copy {cleaned.with_name('vax.read.duckdb')}, published " in err
    assert (tmp_path / "review" / "79_Thành phố Hồ Chí Minh_ra_soat.xlsx").is_file()
    assert f"1 review workbook(s) in {tmp_path / 'review'}" in out
    assert main(["report"]) == 0  # default --out: the database's own reports folder
    assert (cleaned.parent / "vax_reports" / "progress.html").is_file()
    assert "may be behind" not in capsys.readouterr().err


def test_a_copy_older_than_the_database_is_read_with_a_warning(capsys, monkeypatch, cleaned):
    import os

    monkeypatch.setenv("VAX_DUCKDB_PATH", str(cleaned))
    monkeypatch.delenv("VAX_DUCKDB_READ_PATH", raising=False)
    copy = cleaned.with_name("vax.read.duckdb")
    os.utime(copy, (copy.stat().st_mtime - 3600, copy.stat().st_mtime - 3600))  # published before a later run
    try:
        assert main(["report"]) == 0
        assert "these results may be behind" in capsys.readouterr().err
    finally:
        os.utime(copy, (cleaned.stat().st_mtime + 1, cleaned.stat().st_mtime + 1))


def test_reading_commands_fall_back_to_the_database_and_say_so(capsys, monkeypatch, tmp_path, cleaned):
    monkeypatch.setenv("VAX_DUCKDB_PATH", str(cleaned))
    monkeypatch.setenv("VAX_DUCKDB_READ_PATH", str(tmp_path / "not_published.duckdb"))
    assert main(["report", "--out", str(tmp_path / "r")]) == 0
    err = capsys.readouterr().err
    assert f"no read-only copy at {tmp_path / 'not_published.duckdb'} yet, reading {cleaned} itself" in err
    assert (tmp_path / "r" / "progress.png").is_file()


@pytest.mark.parametrize("command", ["export-review", "report"])
def test_reading_commands_without_a_database_say_how_to_make_one(capsys, monkeypatch, tmp_path, command):
    monkeypatch.setenv("VAX_DUCKDB_PATH", str(tmp_path / "none.duckdb"))
    monkeypatch.delenv("VAX_DUCKDB_READ_PATH", raising=False)
    assert main([command, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        f"vax-cleaning {command}: no database at {tmp_path / 'none.duckdb'}: run `vax-cleaning run` first, "
        "or set VAX_DUCKDB_PATH to the database file"
    )


def test_export_review_of_an_unknown_or_uncleaned_province(capsys, monkeypatch, tmp_path, cleaned):
    monkeypatch.setenv("VAX_DUCKDB_PATH", str(cleaned))
    assert main(["export-review", "--province", "99", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        "vax-cleaning export-review: not province codes: ['99']; use the 2-digit GSO codes, e.g. 01 or 79"
    )
    assert main(["export-review", "--province", "01", "79", "--out", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert "01 Hà Nội has no matched records yet: run `vax-cleaning run --province 01` first" in err
    assert "Traceback" not in err and f"1 review workbook(s) in {tmp_path}" in out


@pytest.mark.parametrize("command", ["run", "generate", "export-review", "report", "play-reviewers"])
def test_every_command_help_lists_the_environment_and_an_example(capsys, command):
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    for variable in ("VAX_DATA_DIR", "VAX_DUCKDB_PATH", "VAX_DUCKDB_READ_PATH", "VAX_DUCKDB_MEMORY_LIMIT",
                     "VAX_REPORTS_DIR", "DAGSTER_HOME"):  # fmt: skip
        assert f"\n  {variable} " in out, variable
    example = out.split("example:\n", 1)[1].splitlines()[0]
    assert f"vax-cleaning {command}" in example, example


def test_generate_prints_sentences_not_a_repr(capsys, tmp_path):
    assert main(["generate", "--persons", "50", "--provinces", "79", "--seed", "2", "--out", str(tmp_path / "g")]) == 0
    out = capsys.readouterr().out
    assert "GenerationSummary(" not in out
    assert out.startswith(f"Synthetic landing folder written to {tmp_path / 'g'} (provinces 79, seed 2, standard mix):")
    assert "  people: 50 vaccinated, " in out and "  dose records: " in out
    assert out.rstrip().endswith(f"Next: VAX_DATA_DIR={tmp_path / 'g'} vax-cleaning run")


def test_an_unexpected_error_is_one_line_with_the_traceback_kept_in_a_file(capsys, monkeypatch, tmp_path):
    import vax_cleaning.runner

    def broken(*_args, **_kwargs):
        raise RuntimeError("could not convert 'Nguyễn Văn Hùng'\nsecond line")  # a message quoting a cell

    monkeypatch.setattr(vax_cleaning.runner, "run_until_signalled", broken)
    assert main(["run"]) == 1
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [err.strip()] and err.startswith(
        "vax-cleaning run: unexpected error RuntimeError at test_cli.py:"
    )
    assert "Hùng" not in err  # the message stays in the file: it may hold personal data
    details = Path(err.split("(details in ", 1)[1].split(";", 1)[0])
    assert details.parent == tmp_path and "Traceback" in details.read_text()
