"""The review round trip as an officer does it: run, export workbooks, people fill them, drop them back, run again."""

from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from vax_cleaning.generate import generate_landing_folder
from vax_cleaning.generate.evaluate import evaluate
from vax_cleaning.generate.reviewers import play_reviewers
from vax_cleaning.review_export import write_review_workbook
from vax_cleaning.runner import run_provinces

pytestmark = pytest.mark.e2e

RUN_DATE = "2022-06-20"
PROVINCES = ["01", "48", "79"]
CONTRACT_TABLES = ("matched_records", "correction_sets", "review_decisions", "passport_ready")


def read(database: Path, sql: str) -> pl.DataFrame:
    with duckdb.connect(str(database), read_only=True) as conn:
        return conn.sql(sql).pl()


def snapshot(database: Path) -> dict[str, pl.DataFrame]:
    """Every contract table, sorted, to compare runs."""
    return {table: read(database, f"SELECT * FROM {table}").sort(pl.all()) for table in CONTRACT_TABLES}


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory: pytest.TempPathFactory):
    """Run; export the workbooks; reviewers fill every review and unmatched row (with mistakes put right); run again."""
    root = tmp_path_factory.mktemp("round_trip")
    landing, database, exported = root / "landing", root / "warehouse.duckdb", root / "review_exports"
    generate_landing_folder(landing, persons=3000, provinces=PROVINCES, seed=11, mix="field")
    with dg.instance_for_test() as instance:

        def run():
            outcome = run_provinces(
                instance=instance, data_dir=str(landing), duckdb_path=str(database), run_date=RUN_DATE
            )
            assert outcome.succeeded, outcome

        run()
        before = evaluate(landing, database)
        with duckdb.connect(str(database), read_only=True) as conn:
            workbooks = [write_review_workbook(conn, code, exported) for code in PROVINCES]
        reviewed = play_reviewers(workbooks, landing, decided_on=date(2022, 6, 18), seed=5, mistakes=3)
        run()
        after = evaluate(landing, database)
        first = snapshot(database)
        run()
        yield landing, database, before, after, reviewed, first, snapshot(database)


def test_every_decided_record_carries_the_decision(round_trip):
    _, database, _, _, _, _, _ = round_trip
    applied = read(
        database,
        """
        SELECT r.decision, r.person_id AS decided_person, m.match_status, m.person_id, m.decided_by
        FROM review_decisions r JOIN matched_records m USING (source_file, source_row)
        WHERE r.outcome = 'applied'""",
    )
    assert applied.height > 0
    links = applied.filter(pl.col("decision") == "link")
    assert links.filter(pl.col("match_status").is_in(["verified", "corrected", "duplicate"]).not_()).is_empty()
    assert links.filter(pl.col("person_id") != pl.col("decided_person")).is_empty()
    absent = applied.filter(pl.col("decision") == "not_in_registry")
    assert set(absent["match_status"]) == {"unmatched"} and set(absent["decided_by"]) == {"review"}


def test_mistakes_put_right_later_are_superseded_and_nothing_is_rejected(round_trip):
    _, database, _, _, reviewed, _, _ = round_trip
    outcomes = dict(read(database, "SELECT outcome, count(*) FROM review_decisions GROUP BY ALL").iter_rows())
    assert set(outcomes) == {"applied", "superseded"}
    assert outcomes["superseded"] == reviewed.wrong + 2 * reviewed.contradictions
    filled = reviewed.rows_filled + reviewed.contradictions + reviewed.corrections
    assert sum(outcomes.values()) == filled  # every non-blank decision row exactly once


def test_one_review_round_settles_nearly_everything_without_a_wrong_link(round_trip):
    _, _, before, after, _, _, _ = round_trip
    assert after.counts["wrong_auto_links"] == 0
    assert after.metrics["auto_link_recall"] >= 0.999
    assert after.counts["auto_links"] > before.counts["auto_links"]  # the round settled what the machine left open
    assert after.counts["review"] == 0


def test_open_workbooks_after_the_round_list_nothing_settled(round_trip, tmp_path: Path):
    _, database, _, _, _, _, _ = round_trip
    with duckdb.connect(str(database), read_only=True) as conn:
        path = write_review_workbook(conn, "79", tmp_path)
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True)
    assert len(list(book["Cần xác minh"].iter_rows(values_only=True))) == 1  # header only
    assert len(list(book["Không tìm thấy"].iter_rows(values_only=True))) == 1


def test_progress_counts_what_people_settled(round_trip):
    _, database, _, _, _, _, _ = round_trip
    latest = read(database, "SELECT sum(decided_by_review) AS n FROM latest_province_progress")["n"][0]
    assert latest == read(database, "SELECT count(*) AS n FROM matched_records WHERE decided_by = 'review'")["n"][0] > 0


def test_a_rerun_with_the_same_files_changes_nothing(round_trip):
    _, _, _, _, _, first, second = round_trip
    for table in CONTRACT_TABLES:
        assert first[table].equals(second[table]), table
