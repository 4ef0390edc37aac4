"""A province run fetches only the registry people its records can reach, and links exactly as with all of them."""

from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from vax_cleaning.generate import generate_landing_folder
from vax_cleaning.ingest.exports import ingest_province
from vax_cleaning.ingest.registry import load_registry
from vax_cleaning.linkage import link, link_doses, reach
from vax_cleaning.linkage.block import RegistryCounts, key_parts, with_id_integers
from vax_cleaning.linkage.calibrate import RegistryRows, calibrate, calibration_sample
from vax_cleaning.linkage.features_read import features_sql
from vax_cleaning.linkage.features_store import build_registry_features
from vax_cleaning.linkage.normalize import registry_features
from vax_cleaning.linkage.reach import NAME_RULES, reachable_people, worth_reaching
from vax_cleaning.linkage.settings import DEFAULT_SETTINGS
from vax_cleaning_tests.linkage.stories import cccd, dose, doses, person, registry

HUNG = cccd(1985, "Nam", 123456)


def warehouse_of(people: pl.DataFrame) -> duckdb.DuckDBPyConnection:
    """An in-memory warehouse holding registry_snapshot and registry_features as the pipeline writes them."""
    conn = duckdb.connect()
    conn.register("_people", people.with_row_index("registry_row"))  # a first load's slots: file order
    conn.execute("CREATE TABLE registry_snapshot AS SELECT *, 0::UHUGEINT AS raw_hash FROM _people")
    build_registry_features(conn)
    return conn


MAX_BLOCK = DEFAULT_SETTINGS.max_block_size


def reached(
    people: pl.DataFrame, batch: pl.DataFrame, person_ids: list[str] | None = None, max_block_size: int = MAX_BLOCK
) -> set[str]:
    """person_ids of the registry people fetched for the batch."""
    named = None if person_ids is None else pl.Series("person_id", person_ids, pl.String)
    return set(reachable_people(warehouse_of(people), batch, max_block_size, named).people["person_id"])


def test_every_blocking_rule_reaches_its_people_and_nobody_else():
    people = registry(
        person(HUNG, "Trần Thị Lan", "1960-01-01", "Nữ"),  # owns the ID written on the record
        person(cccd(1985, "Nam", 7), "Nguyễn Văn Hùng", "1985-03-20", "Nam"),  # same name, year and month
        person(cccd(1985, "Nam", 9), "Nguyễn Văn Hùng", "1985", "Nam"),  # same name, registry year-only
        person(cccd(1950, "Nam", 1), "Hoàng Văn Nam", "1950-06-06", "Nam"),  # the 01/01 placeholder's name and year
        person(cccd(1986, "Nam", 1), "Nguyễn Văn Hùng", "1986-03-04", "Nam"),  # same name, month and day
        person(cccd(1985, "Nam", 2), "Lê Quốc Hùng", "1985-03-04", "Nam"),  # same birth date and given name
        person(cccd(1985, "Nam", 3), "Nguyễn Văn Hải", "1985-03-04", "Nam"),  # same birth date, family and middle
        person(cccd(1985, "Nam", 123466), "Phạm Minh Tú", "1970-02-02", "Nam"),  # the ID with one digit typed wrong
        person(cccd(1975, "Nữ", 4), "Võ Thị Mai", "1975-05-05", "Nữ", old_id="212345679"),  # CMND one digit off
        person(cccd(1980, "Nữ", 5), "Đỗ Thị Hoa", "1980-08-08", "Nữ"),  # named by a reviewer's link
        person(cccd(1999, "Nữ", 6), "Bùi Thị Xuân", "1999-09-09", "Nữ"),  # nothing in common: not fetched
        person(cccd(1990, "Nam", 8), "Nguyễn Văn Hùng", "1990-07-07", "Nam"),  # a namesake no block meets
        person(cccd(1985, "Nam", 10), "Nguyễn Văn Hùng", "1985-09-09", "Nam"),  # born the same year: counted only
    )
    batch = doses(
        dose("Nguyễn Văn Hùng", "1985-03-04", "Nam", HUNG),
        dose("Hoàng Văn Nam", "1950-01-01", "Nam", "212345678"),
    )
    fetched = reached(people, batch, [cccd(1980, "Nữ", 5)])
    assert fetched == set(people["person_id"]) - {cccd(1999, "Nữ", 6), cccd(1990, "Nam", 8), cccd(1985, "Nam", 10)}


def test_people_come_in_registry_order_whatever_reached_them():
    people = registry(
        person(cccd(1985, "Nam", 1), "Nguyễn Văn Hùng", "1985-03-07", "Nam"),
        person(HUNG, "Trần Thị Lan", "1960-01-01", "Nữ"),
        person(cccd(1985, "Nam", 2), "Nguyễn Văn Hùng", "1985-03-04", "Nam"),
    )
    batch = doses(dose("Nguyễn Văn Hùng", "1985-03-04", "Nam", HUNG))
    fetched = reachable_people(warehouse_of(people), batch, MAX_BLOCK).people
    assert fetched["registry_row"].to_list() == [0, 1, 2]  # ties between candidates break the same way


def test_an_old_cmnd_many_people_share_makes_its_window_block_too_large_as_in_the_whole_registry():
    # CMNDs, unlike person_ids, need not be unique: 101 people with one old CMND make a window block of more than
    # max_block_size, so the record whose CMND is one digit off Mai's must be truncated as with the whole registry
    mai = person(cccd(1975, "Nữ", 4), "Võ Thị Mai", "1975-05-05", "Nữ", old_id="212345679")
    sharing = [
        person(cccd(1960, "Nam", 100 + i), f"Người Thứ {i}", "1960-01-02", "Nam", old_id="212345611")
        for i in range(101)
    ]
    people = registry(mai, *sharing)
    batch = doses(dose("Võ Thị Mai", "1975-05-05", "Nữ", "212345670"))
    settings = DEFAULT_SETTINGS.with_overrides(max_block_size=100)
    expected = link_doses(batch, people, settings)
    conn = warehouse_of(people)

    def reach(records: pl.DataFrame) -> tuple[pl.DataFrame, RegistryCounts]:
        reached = reachable_people(conn, records, 100)
        return reached.people, reached.counts

    owners = reachable_people(conn, batch, 100, blocks=False).people
    got = link_doses(batch, owners, settings, reach=reach)
    assert got.matched.equals(expected.matched)
    assert got.matched["rule"].to_list() == ["BLOCK_TOO_LARGE"]


def test_a_reviewed_person_id_written_in_other_digits_is_reached_as_text():
    # a snapshot and a review may carry a person_id in full-width digits: it has no integer, so it is matched as text
    wide = "０７９１８５０００００７"
    people = registry(
        person(wide, "Nguyễn Văn Hùng", "1985-03-04", "Nam"), person(HUNG, "Trần Thị Lan", "1960-01-01", "Nữ")
    )
    assert reached(people, doses(dose("Bùi Thị Xuân", "1999-09-09", "Nữ", "")), [wide, HUNG]) == {wide, HUNG}


@pytest.fixture(scope="module")
def generated_province(tmp_path_factory: pytest.TempPathFactory) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Doses of one generated province (field error mix) and the whole registry snapshot."""
    landing: Path = tmp_path_factory.mktemp("reach")
    generate_landing_folder(landing, persons=12_000, provinces=["79", "01"], seed=3, mix="field")
    people = load_registry(landing / "registry").people
    batch = ingest_province(landing / "exports", "79", date(2022, 6, 20)).accepted
    return batch, people


def test_a_block_too_large_is_counted_not_fetched():
    namesakes = [person(cccd(1985, "Nam", day), "Nguyễn Văn Hùng", f"1985-03-{day:02d}", "Nam") for day in (4, 5, 6)]
    people = registry(*namesakes, person(cccd(1990, "Nam", 9), "Nguyễn Văn Hùng", "1990-07-07", "Nam"))
    batch = doses(dose("Nguyễn Văn Hùng", "1985-03-04", "Nam", ""))
    whole = reachable_people(warehouse_of(people), batch, max_block_size=3)
    assert set(whole.people["person_id"]) == set(people["person_id"][:3])  # born March 1985: one block of 3
    small = reachable_people(warehouse_of(people), batch, max_block_size=2)
    assert small.people["person_id"].to_list() == [cccd(1985, "Nam", 4)]  # shares smaller blocks with the record
    assert small.counts.oversized.len() == 1  # name + March 1985: known too large, though 2 of its 3 stay home
    assert small.counts.namesakes.select("birth_year", "namesakes").rows() == [(1985, 3)]


@pytest.mark.parametrize("max_block_size", [MAX_BLOCK, 3])
def test_linking_with_the_reachable_people_equals_linking_with_the_whole_registry(
    generated_province, max_block_size, monkeypatch: pytest.MonkeyPatch
):
    batch, people = generated_province
    settings = DEFAULT_SETTINGS.with_overrides(max_block_size=max_block_size)
    conn = warehouse_of(people)
    whole = conn.sql(features_sql()).pl()
    subset = reachable_people(conn, batch, max_block_size, whole_windows=True)  # as the calibration fetches
    assert subset.people.height < whole.height
    assert (subset.counts.oversized.len() > 0) == (max_block_size < MAX_BLOCK)  # blocks of 4+ people exist
    assert not worth_reaching(whole.height, batch.height)  # the pipeline would read all here; the result is the same
    with_all = calibrate(batch, whole, settings)
    with_subset = calibrate(batch, subset.people, settings, RegistryRows.of(whole), subset.counts)
    assert with_subset.settings == with_all.settings and with_all.fitted  # u from the whole registry either way
    expected = link_doses(batch, whole, with_all.settings, baseline=settings)
    got = link_doses(batch, subset.people, with_subset.settings, baseline=settings, counts=subset.counts)
    assert got.matched.equals(expected.matched)
    assert got.corrections.sort(pl.all()).equals(expected.corrections.sort(pl.all()))

    # in two steps, as a province against the national registry: the people the IDs name, then what the records
    # the ID did not settle can reach; the calibration from its sample's reach alone
    def reach(records: pl.DataFrame, whole_windows: bool = False) -> tuple[pl.DataFrame, RegistryCounts]:
        reached = reachable_people(conn, records, max_block_size, whole_windows=whole_windows)
        return reached.people, reached.counts

    owners = reachable_people(conn, batch, max_block_size, blocks=False).people
    assert owners.height < subset.people.height
    sample = calibration_sample(batch)
    sample_people, sample_counts = reach(sample, whole_windows=True)
    assert calibrate(sample, sample_people, settings, RegistryRows.of(whole), sample_counts).settings == (
        with_all.settings
    )
    in_two_steps = link_doses(batch, owners, with_all.settings, baseline=settings, reach=reach)
    assert in_two_steps.matched.equals(expected.matched)
    assert in_two_steps.corrections.sort(pl.all()).equals(expected.corrections.sort(pl.all()))

    # a province too large for its reached people to sit in memory at once: searched part by part
    parts = []
    monkeypatch.setattr(link, "REACH_PART_RECORDS", 40)
    by_parts = link_doses(
        batch, owners, with_all.settings, baseline=settings, reach=lambda rows: parts.append(rows.height) or reach(rows)
    )
    assert len(parts) > 3 and max(parts) == 40
    assert by_parts.matched.equals(expected.matched)
    assert by_parts.corrections.sort(pl.all()).equals(expected.corrections.sort(pl.all()))


def test_every_name_rule_hashes_a_batch_key_as_the_snapshot_stored_it(generated_province):
    # the registry's keys are hashed by DuckDB once per snapshot, the batch's at each reach: a key that differs (its
    # SQL, a type, a filter) misses a block. Each person, taken as a batch of its own keys, must reach itself.
    conn = warehouse_of(generated_province[1])
    features = conn.sql("SELECT * FROM registry_features").pl()
    for rule in NAME_RULES:
        keyed = key_parts(with_id_integers(features), rule, rule.registry_parts, rule.registry_filter).collect()
        batch = keyed.select(_key="registry_row", **{f"k{i}": f"k{i}" for i in range(len(rule.registry_parts))})
        conn.register(f"_reach_rule_{rule.rule_id}", batch)
        hits = conn.sql(reach._hits_sql((rule,), reach._key_types(conn, (rule,)))).pl()
        itself = hits.filter(pl.col("_key") == pl.col("registry_row"))["registry_row"]
        assert itself.sort().to_list() == keyed["registry_row"].sort().to_list(), rule.name
        stored = conn.sql(f"SELECT count({reach.block_column(rule)}) FROM registry_block_keys").fetchall()[0][0]
        assert stored == keyed.height, rule.name  # and nobody else has a key under the rule


@pytest.mark.parametrize("written", ["000000000001", "001195000001", "079085123456", "999999999999"])
def test_every_id_window_block_is_the_ids_its_masked_value_stands_for(written: str):
    # the record side is masked by polars, the registry side joined on the block's IDs unmasked by DuckDB: a window
    # that differs reaches the wrong people
    for rule in reach.WINDOW_RULES:
        value = written if rule.window.width == 12 else written[:9]
        frame = pl.DataFrame({rule.window.record_column: [value]})
        masked = with_id_integers(frame).select(rule.record_parts[0]).collect().item()
        sql = f"SELECT {rule.window.unmasked_sql(str(masked), 'd')} FROM range({rule.window.values}) AS t(d)"
        block = {number for (number,) in duckdb.sql(sql).fetchall()}
        assert int(value) in block and len(block) == 100, rule.name
        ids = pl.DataFrame({rule.window.record_column: [f"{n:0{rule.window.width}d}" for n in block]})
        assert set(with_id_integers(ids).select(rule.record_parts[0]).collect().to_series()) == {masked}, rule.name


def test_the_ids_one_edit_away_are_every_wrong_digit_and_every_swap():
    written = "079085123456"
    ids = pl.DataFrame({"number": [int(written)], "id_kind": ["cccd"]})
    variants = {f"{number:012d}" for number in reach._one_edit_away(ids)["number"]}
    assert written in variants and "079085123465" in variants and "709085123456" in variants  # swaps
    assert "179085123456" in variants and "079085123450" in variants  # one wrong digit, first and last
    expected = 1 + 12 * 9 + sum(written[i] != written[i + 1] for i in range(11))
    assert len(variants) == expected
    assert all(sum(a != b for a, b in zip(v, written, strict=True)) in (0, 1, 2) for v in variants)


def test_the_name_share_counted_in_sql_equals_polars_bit_for_bit(monkeypatch):
    from vax_cleaning.linkage import features_read, normalize

    monkeypatch.setattr(normalize, "MIN_PEOPLE_FOR_NAME_SHARE", 3)
    monkeypatch.setattr(features_read, "MIN_PEOPLE_FOR_NAME_SHARE", 3)
    people = registry(*(person(cccd(1980 + i % 7, "Nam", i), NAMES[i % 3], "1980-01-01", "Nam") for i in range(7)))
    stored = warehouse_of(people).sql(features_read.features_sql()).pl()
    assert stored["name_share"].to_list() == registry_features(people)["name_share"].to_list()
    assert stored["name_share"].null_count() == 0


NAMES = ["Nguyễn Văn Hùng", "Trần Thị Lan", "Lê Văn Tám"]
