"""What people read on an asset's page: Vietnamese labels for statuses and rules, every column explained, a link
to the code, the personal-data tag and the nightly freshness expectation; never a name, ID or birth date."""

from pathlib import Path

import dagster as dg
import pytest

from vax_cleaning.definitions import defs
from vax_cleaning.partitions import partition_key
from vax_cleaning.vocabulary import CorrectionAction, MatchStatus, Rule
from vax_cleaning_tests.conftest import small_landing

PERSONAL = ("Nguyễn Văn Hùng", "079080001234", "1980-05-12", "12/05/1980")
"""Hùng's name, ID and birth date (conftest.small_landing): must appear in no metadata."""


@pytest.fixture(scope="module")
def materialized(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dg.AssetMaterialization]:
    """The latest materialization of every asset after a registry load, both provinces and the national roll-up."""
    root = tmp_path_factory.mktemp("metadata")
    landing = root / "landing"
    (landing / "exports").mkdir(parents=True)
    (landing / "registry").mkdir()
    small_landing(landing)
    instance = dg.DagsterInstance.ephemeral()
    config = {
        "loggers": {"console": {"config": {"log_level": "ERROR"}}},
        "resources": {
            "landing": {"config": {"data_dir": str(landing), "run_date": "2022-06-20"}},
            "duckdb": {"config": {"database": str(root / "w.duckdb")}},
        },
    }
    assert defs.resolve_job_def("load_registry").execute_in_process(instance=instance, run_config=config).success
    for code in ("01", "79"):
        result = defs.resolve_job_def("clean_province").execute_in_process(
            partition_key=partition_key(code), instance=instance, run_config=config
        )
        assert result.success
    assert defs.resolve_job_def("national_rollup").execute_in_process(instance=instance, run_config=config).success
    latest = {}
    for key in defs.resolve_asset_graph().get_all_asset_keys():
        event = instance.get_latest_materialization_event(key)
        assert event is not None, key
        latest[key.to_user_string()] = event.asset_materialization
    return latest


def test_statuses_and_rules_are_tables_of_vietnamese_labels(materialized: dict[str, dg.AssetMaterialization]):
    metadata = materialized["matched_records"].metadata
    by_status = metadata["by_status"]
    assert isinstance(by_status, dg.MarkdownMetadataValue)
    for status in MatchStatus:  # every status, in the vocabulary's order, with its label beside its code
        assert f"| {status.label} | `{status}` |" in by_status.md_str
    assert f"| {MatchStatus.VERIFIED.label} | `verified` | 1 |" in by_status.md_str  # Hùng's dose in province 79
    assert f"| {Rule.ID_MATCH.label} | `ID_MATCH` |" in metadata["by_rule"].md_str
    assert metadata["verified"].value == 1 and metadata["review"].value == 0  # plain integers stay (UI plots)
    actions = materialized["correction_sets"].metadata["by_action"].md_str
    assert all(action.label in actions for action in CorrectionAction)


def test_every_column_of_every_table_says_what_it_means(materialized: dict[str, dg.AssetMaterialization]):
    tables = 0
    for name, materialization in materialized.items():
        schema = materialization.metadata.get("dagster/column_schema")
        if schema is None:  # views and the report: no table of their own
            continue
        tables += 1
        undescribed = [column.name for column in schema.schema.columns if not column.description]
        assert not undescribed, f"{name}: columns without a description: {undescribed}"
    assert tables >= 11


def test_no_personal_data_in_any_metadata(materialized: dict[str, dg.AssetMaterialization]):
    for name, materialization in materialized.items():
        text = repr(materialization.metadata) + (materialization.description or "")
        leaked = [value for value in PERSONAL if value in text]
        assert not leaked, f"{name} metadata shows personal data: {leaked}"


def test_assets_link_to_their_code_are_tagged_and_expect_a_nightly_clean():
    root = Path(__file__).resolve().parents[2]
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        (reference,) = node.metadata["dagster/code_references"].code_references
        source = Path(reference.file_path)
        assert source.is_relative_to(root / "vax_cleaning" / "defs"), (key, source)
        defining_line = source.read_text().splitlines()[reference.line_number - 1]
        assert "def " in defining_line or "dg.AssetSpec" in defining_line or "@" in defining_line, (key, defining_line)
        province = node.partitions_def is not None
        assert (node.freshness_policy is not None) == province, key
    assert graph.get(dg.AssetKey("matched_records")).tags["vax/personal_data"] == "true"
    assert graph.get(dg.AssetKey("province_progress")).tags["vax/personal_data"] == "false"
