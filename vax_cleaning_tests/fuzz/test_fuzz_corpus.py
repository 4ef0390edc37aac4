"""The hostile corpus (make_corpus.py): each case alone through ingest_province, then all of them in one Dagster run.

Run with `-rP` (or `-s`) to see the corpus size and the per-case results.
"""

from __future__ import annotations

import os
import shutil
import unicodedata
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from vax_cleaning.ingest.exports import (
    ProvinceExports,
    files_outside_province_folders,
    ingest_province,
    unknown_province_folders,
)
from vax_cleaning.runner import run_provinces
from vax_cleaning.settings import PROJECT_ROOT
from vax_cleaning_tests.conftest import check_evaluations
from vax_cleaning_tests.fuzz.make_corpus import CASES, Case, build_corpus

RUN_DATE = "2022-06-20"
SAMPLE = PROJECT_ROOT / "data"


def on_disk(exports_dir: Path, province: str) -> set[str]:
    """Every file, link and empty folder under exports/<PP>/, listed independently of the reader."""
    found = set()
    root = os.fsencode(exports_dir)
    for directory, folders, files in os.walk(os.path.join(root, province.encode()), followlinks=False):
        links = [f for f in folders if os.path.islink(os.path.join(directory, f))]
        empty = [] if files or folders or directory == os.path.join(root, province.encode()) else [b""]
        for name in [*files, *links, *empty]:
            path = os.path.relpath(os.path.join(directory, name), root) if name else os.path.relpath(directory, root)
            found.add(path.decode("utf-8", "backslashreplace"))
    return found


def records_by_source(exports: ProvinceExports) -> dict[str, int]:
    """Accepted plus rejected records (source_row > 0) per source_file."""
    rows = pl.concat(
        [
            exports.accepted.select("source_file", "source_row"),
            exports.rejected.filter(pl.col("source_row") > 0).select("source_file", "source_row"),
        ]
    )
    assert rows.n_unique() == rows.height, "a record stored twice"
    return dict(rows.group_by("source_file").len().iter_rows())


def check_case(case: Case, landing: Path, exports: dict[str, ProvinceExports]) -> list[str]:
    """Assert every expectation of the case; returns one result line per landed entry."""
    results = []
    for name, expect in case.expect.items():
        province = name.split("/", 1)[0]
        files = exports[province].files.filter(pl.col("file") == name)
        assert files.height >= 1, f"{name} is not in export_files"
        assert set(files["status"]) == {expect.status}, (name, files.to_dicts())
        assert files["records"].sum() == expect.records, (name, files.to_dicts())
        stored, inventory = records_by_source(exports[province]), exports[province].files
        for source_file in files["source_file"]:  # two NFC-equal names share one identity: the refused one has none
            records = inventory.filter(pl.col("source_file") == source_file)["records"].sum()
            assert stored.get(source_file, 0) == records, f"conservation broken for {source_file}"
        if expect.parts:
            assert dict(files.select(pl.col("source_file").str.slice(len(name)), "records").iter_rows()) == expect.parts
        else:
            assert files.height == 1 and files["source_file"][0] == unicodedata.normalize("NFC", name)
        accepted = exports[province].accepted.filter(
            pl.col("source_file").is_in(files["source_file"].to_list()) & pl.lit(expect.status == "ingested")
        )
        if expect.accepted is not None:
            assert accepted.height == expect.accepted, (name, files.to_dicts())
        if expect.full_names:
            assert accepted["full_name"].null_count() == 0 and accepted.height > 0
        if expect.status == "rejected":
            refused = exports[province].rejected.filter(pl.col("source_file") == files["source_file"][0])
            assert refused.select("source_row", "reason_code").rows() == [(0, "unreadable_file")]
        unread = [line for line in exports[province].not_ingested if line.startswith(f"{name}: ")]
        assert bool(unread) == expect.unread, (name, exports[province].not_ingested)
        results.append(
            f"{case.name:30} {name:28.28} {expect.status:8} records={expect.records:<4} "
            f"accepted={accepted.height:<4} {files['problem'][0] or ''}"
        )
    return results


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_each_case_alone(case: Case, tmp_path: Path):
    landing = tmp_path / "landing"
    build_corpus(landing, [case])
    exports_dir = landing / "exports"
    exports = {code: ingest_province(exports_dir, code, date.fromisoformat(RUN_DATE)) for code in case.provinces}
    for code, province in exports.items():  # nothing unaccounted for, nothing invented
        assert set(province.files["file"]) == on_disk(exports_dir, code)
        assert set(province.files["file"]) == {name for name in case.expect if name.startswith(f"{code}/")}
    assert files_outside_province_folders(exports_dir) == list(case.loose_files)
    assert unknown_province_folders(exports_dir) == list(case.unknown_folders)
    print("\n".join(check_case(case, landing, exports)))


def sample_landing(landing: Path) -> dict[str, int]:
    """The bundled sample data (exports, registry, tallies); returns its records per source_file (ground truth)."""
    for part in ("exports", "registry", "reported"):
        shutil.copytree(SAMPLE / part, landing / part, dirs_exist_ok=True)
    truth = pl.read_parquet(SAMPLE / "ground_truth" / "doses.parquet")
    return dict(truth.group_by("source_file").len().iter_rows())


def read(database: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as conn:
        return conn.execute(sql).fetchall()


@pytest.mark.e2e  # the whole pipeline, about 15 s
def test_one_dagster_run_over_the_whole_corpus_and_the_sample_data(tmp_path: Path):
    landing, database = tmp_path / "landing", tmp_path / "warehouse.duckdb"
    sample = sample_landing(landing)
    build_corpus(landing)
    instance = dg.DagsterInstance.ephemeral()
    outcome = run_provinces(instance=instance, data_dir=str(landing), duckdb_path=str(database), run_date=RUN_DATE)
    assert sorted(outcome.provinces) == ["01", "48", "79", "92"]
    assert outcome.succeeded, outcome

    expected = {f: (status, records) for f, status, records in _expected_files(sample)}
    inventory = read(database, "SELECT file, source_file, status, records FROM export_files")
    assert {file for file, *_ in inventory} == set(expected), "a file unaccounted for, or one invented"
    for province in outcome.provinces:  # the inventory is the folder, independently listed
        assert {f for f, *_ in inventory if f.startswith(f"{province}/")} == on_disk(landing / "exports", province)
    by_file: dict[str, int] = {}
    for file, _, status, records in inventory:
        assert status == expected[file][0], file
        by_file[file] = by_file.get(file, 0) + records
    assert by_file == {file: records for file, (_, records) in expected.items()}
    stored = dict(
        read(
            database,
            """SELECT source_file, count(*) FROM (SELECT source_file FROM raw_dose_exports UNION ALL
               SELECT source_file FROM rejected_rows WHERE source_row > 0) GROUP BY 1""",
        )
    )
    per_source: dict[str, int] = {}
    for _, source_file, _, records in inventory:
        per_source[source_file] = per_source.get(source_file, 0) + records
    assert stored == {source: records for source, records in per_source.items() if records}  # per file and sheet

    evaluations = check_evaluations(instance)
    failed = sorted({e.check_name for e in evaluations if not e.passed})
    assert failed == ["every_landed_file_ingested", "known_province_folders"], failed
    assert all(e.passed for e in evaluations if e.check_name == "conservation")
    layout = next(e for e in evaluations if e.check_name == "known_province_folders")
    assert layout.metadata["files_outside_province_folders"].value == ["stray.csv"]
    assert layout.metadata["unknown_folders"].value == ["HCM"]
    named = [
        line
        for e in evaluations
        if e.check_name == "every_landed_file_ingested"
        for line in e.metadata["not_ingested"].value
    ]
    unread = {name for case in CASES for name, expect in case.expect.items() if expect.unread}
    assert {line.split(": ", 1)[0] for line in named} == unread

    total = sum(records for _, (_, records) in expected.items())
    print(
        f"\ncorpus: {len(CASES)} cases, {sum(len(c.expect) for c in CASES)} landed entries (+ {len(sample)} sample "
        f"files); {len(inventory)} export_files rows, {total} records, provinces {outcome.provinces}; "
        f"checks failed as expected: {failed}"
    )


def _expected_files(sample: dict[str, int]) -> list[tuple[str, str, int]]:
    """(file, status, records) of every landed entry: the sample's ground truth and the corpus's own counts."""
    files = [(source_file, "ingested", records) for source_file, records in sample.items()]
    return files + [(name, expect.status, expect.records) for case in CASES for name, expect in case.expect.items()]
