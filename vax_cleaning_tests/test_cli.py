"""The command line: clear errors for wrong arguments, exit codes a scheduler can rely on."""

from pathlib import Path

from vax_cleaning.cli import main


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
