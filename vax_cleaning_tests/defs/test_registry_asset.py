"""The registry_snapshot asset through real Dagster runs: a bad newest snapshot is refused, the one in force stays."""

from pathlib import Path

import dagster as dg
import duckdb
import pytest

from vax_cleaning.definitions import defs
from vax_cleaning_tests.conftest import check_evaluations

COLUMNS = "person_id,old_id,full_name,date_of_birth,gender,province_code,address"
PEOPLE = [
    "079080001234,,Nguyễn Văn Hùng,1980-05-12,Nam,79,Củ Chi",
    "001195000001,,Trần Thị Mai,1995-01-02,Nữ,01,Ba Đình",
    "048190000002,,Lê Thị Hoa,1990-03-04,Nữ,48,Hải Châu",
    "079085000003,,Phạm Văn Nam,1985-07-08,Nam,79,Quận 1",
]


def land_snapshot(landing: Path, day: str, rows: list[str]) -> None:
    folder = landing / "registry" / day
    folder.mkdir(parents=True)
    (folder / "registry.csv").write_text("\n".join([COLUMNS, *rows]) + "\n", encoding="utf-8")


def load(landing: Path, database: Path, instance: dg.DagsterInstance, registry_date: str | None = None):
    landing_config = {"data_dir": str(landing), **({"registry_date": registry_date} if registry_date else {})}
    config = {
        "loggers": {"console": {"config": {"log_level": "ERROR"}}},
        "resources": {"landing": {"config": landing_config}, "duckdb": {"config": {"database": str(database)}}},
    }
    return defs.resolve_job_def("load_registry").execute_in_process(
        instance=instance, run_config=config, raise_on_error=False
    )


def loaded(database: Path) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as conn:
        return conn.execute("SELECT snapshot_date::VARCHAR, count(*) FROM registry_snapshot GROUP BY 1").fetchall()


def step_failures(result) -> list[str]:
    return [str(event.event_specific_data.error) for event in result.all_events if event.is_step_failure]


@pytest.mark.parametrize(
    ("newest", "expected"),
    [
        ([PEOPLE[0]], "has 1 people, fewer than 50% of the 4 of the snapshot in force (2022-05-01)"),
        ([], "holds nobody (registry/2022-06-15/registry.csv: 0 rows"),
    ],
    ids=["shrunken", "header_only"],
)
def test_a_shrunken_or_empty_newest_snapshot_is_refused_and_the_previous_stays_in_force(
    landing: Path, tmp_path: Path, newest: list[str], expected: str
):
    database, instance = tmp_path / "w.duckdb", dg.DagsterInstance.ephemeral()
    land_snapshot(landing, "2022-05-01", PEOPLE)
    assert load(landing, database, instance).success
    land_snapshot(landing, "2022-06-15", newest)
    result = load(landing, database, instance)
    assert not result.success
    failures = step_failures(result)
    assert len(failures) == 1  # terminal: no retries, the snapshot will not fix itself
    assert expected in failures[0]
    assert "land a complete snapshot or pin the previous one with landing.registry_date" in failures[0]
    assert loaded(database) == [("2022-05-01", 4)]  # the tables were not replaced


def test_a_pinned_smaller_snapshot_loads_the_operators_choice(landing: Path, tmp_path: Path):
    database, instance = tmp_path / "w.duckdb", dg.DagsterInstance.ephemeral()
    land_snapshot(landing, "2022-05-01", PEOPLE)
    land_snapshot(landing, "2022-06-15", [PEOPLE[0]])
    assert load(landing, database, instance, registry_date="2022-05-01").success
    assert load(landing, database, instance, registry_date="2022-06-15").success
    assert loaded(database) == [("2022-06-15", 1)]


def test_malformed_registry_folders_are_named_in_a_warning_check_and_ignored(landing: Path, tmp_path: Path):
    database, instance = tmp_path / "w.duckdb", dg.DagsterInstance.ephemeral()
    land_snapshot(landing, "2022-06-15", PEOPLE)
    land_snapshot(landing, "2022-13-45", PEOPLE)
    land_snapshot(landing, "latest", PEOPLE)
    (landing / "registry" / "registry.parquet").write_bytes(b"")
    result = load(landing, database, instance)
    assert result.success
    assert loaded(database) == [("2022-06-15", 4)]
    failed = [e for e in check_evaluations(instance) if not e.passed]
    assert [(e.check_name, e.severity) for e in failed] == [
        ("registry_folders_well_formed", dg.AssetCheckSeverity.WARN)
    ]
    named = [entry.split(":")[0] for entry in failed[0].metadata["ignored_entries"].value]
    assert named == ["2022-13-45/", "latest/", "registry.parquet"]
    materialization = next(
        m
        for m in result.asset_materializations_for_node("registry_snapshot")
        if m.asset_key.path == ["registry_snapshot"]
    )
    assert any("2022-13-45" in warning for warning in materialization.metadata["warnings"].value)


def test_a_registry_loaded_in_small_batches_equals_one_loaded_whole(landing: Path, tmp_path: Path, monkeypatch):
    # a national snapshot is typed and normalized a few million people at a time: the tables must not show it
    from vax_cleaning.ingest import registry
    from vax_cleaning.linkage import features_store

    folder = landing / "registry" / "2022-06-15"
    folder.mkdir(parents=True)
    duplicated = "079085000003,,Phạm Văn Năm,1985-07-08,Nam,79,Quận 1"  # its person_id again: both set aside
    rows = [*PEOPLE, "7908500,,Võ Văn Bảy,1985-07-08,Nam,79,Quận 1", duplicated, PEOPLE[0].replace("0012", "0013")]
    (folder / "a.csv").write_text("\n".join([COLUMNS, *rows[:4]]) + "\n", encoding="utf-8")
    (folder / "b.csv").write_text("\n".join([COLUMNS, *rows[4:]]) + "\n", encoding="utf-8")
    tables = {}
    for batch in (1_000, 2):
        monkeypatch.setattr(registry, "BATCH_ROWS", batch)
        monkeypatch.setattr(features_store, "FEATURE_BATCH_ROWS", batch)
        database = tmp_path / f"batch{batch}.duckdb"
        assert load(landing, database, dg.DagsterInstance.ephemeral()).success
        with duckdb.connect(str(database), read_only=True) as conn:
            tables[batch] = {
                name: conn.execute(f"SELECT * FROM {name}").fetchall()
                for name in ("registry_snapshot", "registry_rejected_rows", "registry_features")
            }
    assert tables[2] == tables[1_000]
    assert [row[1] for row in tables[2]["registry_rejected_rows"]] == [
        "person_id appears more than once in the snapshot",
        "person_id is not 12 digits",
        "person_id appears more than once in the snapshot",
    ]
    assert [row[0] for row in tables[2]["registry_features"]] == list(range(4))  # registry_row: file order
