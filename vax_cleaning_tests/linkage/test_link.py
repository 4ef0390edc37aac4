"""link_doses as the pipeline calls it: with the registry features stored once per snapshot."""

from __future__ import annotations

from datetime import date

import polars as pl
from polars.testing import assert_frame_equal

from vax_cleaning.linkage.duplicates import DOSE_KEY
from vax_cleaning.linkage.normalize import registry_features
from vax_cleaning.linkage.settings import LinkageSettings
from vax_cleaning_tests.linkage.stories import cccd, dose, doses, link, person, registry

HUNG_ID = cccd(1985, "Nam", 123)
HOA_ID = cccd(1990, "Nữ", 456)
PEOPLE = registry(
    person(HUNG_ID, "Nguyễn Văn Hùng", "1985-03-04", "Nam", old_id="025123456"),
    person(HOA_ID, "Trần Thị Hoà", "1990-12-01", "Nữ"),
    person(cccd(1990, "Nữ", 457), "Trần Thị Hoa", "1990-12-01", "Nữ"),
)
BATCH = doses(
    dose("Nguyễn Văn Hùng", "1985-03-04", "Nam", HUNG_ID),  # verified by ID
    dose(
        "Nguyen Van Hung", "1985-04-03", "Nam", "025123456", on="2021-09-01", dose_number=2
    ),  # old CMND, no accents, day/month swapped
    dose("Trần Thị Hòa", "1990-12-01", "Nữ", HOA_ID[:9] + HOA_ID[10] + HOA_ID[9] + HOA_ID[11:]),  # ID digits swapped
    dose(
        "Trần Thị Hòa", "1990-12-01", "Nữ", None, on="2021-09-01", dose_number=2
    ),  # no ID: a namesake-like neighbour keeps it in review
    dose("Phạm Văn Đồng", "1906-03-01", "Nam", cccd(1906, "Nam", 1)),  # not in the registry
)


def test_stored_registry_features_link_exactly_like_the_snapshot_rows():
    from_rows = link(BATCH, PEOPLE)
    from_features = link(BATCH, registry_features(PEOPLE).drop("_reg"))
    assert_frame_equal(from_rows.matched, from_features.matched)
    by_row = ["source_file", "source_row", "field"]
    assert_frame_equal(from_rows.corrections.sort(by_row), from_features.corrections.sort(by_row))
    assert from_rows.matched["match_status"].to_list() == ["verified", "corrected", "corrected", "review", "unmatched"]


def test_a_lookup_of_other_provinces_copies_decides_like_the_whole_frame():
    """The warehouse fetches only other provinces' copies of this batch's linked doses; nothing else may matter."""
    other = pl.DataFrame(
        {
            "source_file": ["01/early.csv", "01/early.csv", "80/late.csv"],
            "source_row": [7, 8, 3],
            "person_id": [HUNG_ID, HUNG_ID, HOA_ID],
            "vaccination_date": [
                date(2021, 8, 1),
                date(2021, 10, 1),
                date(2021, 8, 1),
            ],  # Hùng's 10-01 dose is not ours
            "vaccine_code": ["AZ", "AZ", "AZ"],
        },
    )
    asked: list[pl.DataFrame] = []

    def lookup(batch_doses: pl.DataFrame) -> pl.DataFrame:
        asked.append(batch_doses)
        return other.join(batch_doses, on=list(DOSE_KEY), how="semi")

    whole, looked_up = link(BATCH, PEOPLE, other_linked=other), link(BATCH, PEOPLE, other_linked=lookup)
    assert_frame_equal(whole.matched, looked_up.matched)
    assert_frame_equal(whole.superseded, looked_up.superseded)
    assert whole.matched["match_status"].to_list() == ["duplicate", "corrected", "corrected", "review", "unmatched"]
    assert sorted(asked[0]["person_id"].to_list()) == sorted([HUNG_ID, HUNG_ID, HOA_ID])  # linked doses only


def test_slices_and_chunks_do_not_change_any_decision():
    """Large provinces are linked slice by slice (memory); the records' order and grouping must not matter."""
    whole = link(BATCH, PEOPLE)
    sliced = link(BATCH, PEOPLE, LinkageSettings(chunk_size=2, search_chunk_size=1))
    assert_frame_equal(whole.matched, sliced.matched)
    by_row = ["source_file", "source_row", "field"]
    assert_frame_equal(whole.corrections.sort(by_row), sliced.corrections.sort(by_row))
