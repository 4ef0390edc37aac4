"""Smoke runs of the benchmarks at small N, so they keep working (their numbers are not asserted here)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.bench

ROOT = Path(__file__).resolve().parent.parent


def run_bench(script: str, *args: str, cache: Path) -> str:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "VAX_BENCH_CACHE": str(cache)},
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result.stdout


def test_throughput_benchmark_runs_and_prints_its_table(tmp_path: Path):
    output = run_bench("throughput.py", "--doses", "4000", "--repeat", "1", cache=tmp_path)
    assert "records/s" in output and "ratio pipeline/baseline" in output and "match_province" in output


def test_throughput_benchmark_pads_the_registry(tmp_path: Path):
    output = run_bench(
        "throughput.py", "--doses", "4000", "--repeat", "1", "--registry-persons", "20000", cache=tmp_path
    )
    assert "a registry of 20,000 people" in output and "records/s" in output
    assert (tmp_path / "throughput-4000-s5-r20000" / "registry" / "2022-06-15" / "registry-pad-00001.parquet").exists()


def test_incremental_benchmark_lands_one_file_and_compares_with_linking_whole(tmp_path: Path):
    output = run_bench("incremental.py", "--doses", "4000", "--new-records", "200", cache=tmp_path)
    assert "province run (wall)" in output
    assert "matched_records: 0 rows differ" in output and "correction_sets: 0 rows differ" in output


def test_quality_benchmark_runs_and_prints_its_table(tmp_path: Path):
    output = run_bench("quality.py", "--persons", "1500", "--review-round", cache=tmp_path)
    assert "auto_link_precision" in output and "targets missed" in output
    assert "after one review round" in output and "review_decisions by outcome" in output


def test_registry_load_benchmark_loads_a_first_and_a_next_snapshot(tmp_path: Path):
    from vax_cleaning.generate import generate_landing_folder

    landing = tmp_path / "landing"
    generate_landing_folder(landing, persons=300, provinces=["79"], seed=3, registry_persons=20_000)
    output = run_bench(
        "registry_load.py", str(landing), "--changed", "0.01", "--work", str(tmp_path / "w"), cache=tmp_path
    )
    assert "first load (2022-06-15)" in output and "next snapshot (2022-06-30)" in output
    next_load = output.split("next snapshot (2022-06-30):")[1]
    assert "step registry_snapshot" in next_load and "kept in place" in next_load
    assert re.search(r"people (\d+):", next_load) and int(re.search(r"people (\d+):", next_load)[1]) > 19_000
    assert "features kept 0" not in next_load  # the unchanged people's features were kept
    assert not (tmp_path / "w").exists()  # the work folder is removed


def test_province_linkage_benchmark_links_a_province_in_parts_against_a_loaded_registry(tmp_path: Path):
    from vax_cleaning.generate import generate_landing_folder

    landing = tmp_path / "landing"
    generate_landing_folder(landing, persons=300, provinces=["79"], seed=3, registry_persons=20_000)
    run_bench("registry_load.py", str(landing), "--work", str(tmp_path / "w"), "--keep", cache=tmp_path)
    output = run_bench(
        "province_linkage.py", str(landing), str(tmp_path / "w" / "registry.duckdb"), "--part-records", "20",
        cache=tmp_path,
    )  # fmt: skip
    assert "records/s" in output and "verified" in output
    assert output.count("    part: ") > 1  # the search ran in several parts
