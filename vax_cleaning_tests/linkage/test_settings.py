"""LinkageSettings: frozen data with a weight for every comparison level, flattened for metadata,
and the few settings an operator may change."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from vax_cleaning.linkage import DEFAULT_SETTINGS, OPERATOR_SETTINGS, LinkageSettings
from vax_cleaning.linkage.compare import LEVEL_COLUMNS, DobLevel, IdLevel, NameLevel
from vax_cleaning_tests.linkage.stories import cccd, dose, doses, link, person, registry, row

HOA_ID = cccd(1990, "Nữ", 456)
HOA = person(HOA_ID, "Trần Thị Hòa", "1990-12-01", "Nữ")

WEIGHT_FIELDS = [f for f in dataclasses.fields(LinkageSettings) if "levels" in f.metadata]


# --- every level has its weight --------------------------------------------------------------


def test_weights_are_looked_up_by_the_level_itself():
    assert DEFAULT_SETTINGS.name_weights[NameLevel.EXACT] == 10.5
    assert DEFAULT_SETTINGS.dob_weights[DobLevel.DAY_MONTH_SWAPPED] == 7.0
    assert DEFAULT_SETTINGS.id_weights[IdLevel.DIFFERENT] == -2.0


def test_every_comparison_of_matched_records_but_the_id_contents_has_weights():
    weighted = {f.metadata["levels"] for f in WEIGHT_FIELDS}
    assert weighted == set(LEVEL_COLUMNS.values()) - {LEVEL_COLUMNS["id_embedded_level"]}
    for f in WEIGHT_FIELDS:
        assert set(getattr(DEFAULT_SETTINGS, f.name)) == set(f.metadata["levels"])


def test_settings_missing_a_weight_fail_when_built_naming_the_level():
    weights = {level: weight for level, weight in DEFAULT_SETTINGS.name_weights.items() if level != NameLevel.TYPO}
    with pytest.raises(ValueError, match=r"name_weights lacks a weight for NameLevel\.TYPO \('typo'\)"):
        LinkageSettings(name_weights=weights)


def test_weights_keyed_by_label_text_fail_when_built():
    by_label = {level.label: weight for level, weight in DEFAULT_SETTINGS.dob_weights.items()}
    with pytest.raises(ValueError, match=r"dob_weights: .* are not DobLevel members"):
        LinkageSettings(dob_weights=by_label)


def test_custom_weights_are_kept_read_only():
    weights = dict(DEFAULT_SETTINGS.name_weights) | {NameLevel.TYPO: 2}
    settings = LinkageSettings(name_weights=weights)
    weights[NameLevel.TYPO] = 99.0  # the caller's dict was copied
    assert settings.name_weights[NameLevel.TYPO] == 2.0
    with pytest.raises(TypeError):
        settings.name_weights[NameLevel.TYPO] = 3.0  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.min_auto_score = 0.5  # type: ignore[misc]


def test_settings_are_hashable_picklable_and_equal_by_value():
    copy = pickle.loads(pickle.dumps(DEFAULT_SETTINGS))
    assert copy == DEFAULT_SETTINGS == LinkageSettings()
    assert hash(copy) == hash(DEFAULT_SETTINGS)
    assert DEFAULT_SETTINGS.with_overrides(min_auto_score=0.95) != DEFAULT_SETTINGS


def test_scalar_settings_are_checked_when_built():
    for wrong, message in [
        ({"chunk_size": 0}, "chunk_size must be an integer >= 1"),
        ({"max_block_size": 2.5}, "max_block_size must be an integer"),
        ({"absent_share": 1.5}, r"absent_share must lie in \[0, 1\]"),
        ({"min_auto_margin": "10"}, "min_auto_margin must be a finite number"),
    ]:
        with pytest.raises(ValueError, match=message):
            LinkageSettings(**wrong)


# --- metadata --------------------------------------------------------------------------------


def test_metadata_flattens_every_setting():
    metadata = DEFAULT_SETTINGS.as_metadata()
    for f in dataclasses.fields(LinkageSettings):
        if f in WEIGHT_FIELDS:
            prefix = f.name.removesuffix("s")
            for level, weight in getattr(DEFAULT_SETTINGS, f.name).items():
                assert metadata[f"{prefix}.{level.label}"] == weight
        else:
            assert metadata[f.name] == getattr(DEFAULT_SETTINGS, f.name)
    scalars = len(dataclasses.fields(LinkageSettings)) - len(WEIGHT_FIELDS)
    assert len(metadata) == scalars + sum(len(f.metadata["levels"]) for f in WEIGHT_FIELDS)
    assert metadata["name_weight.exact"] == 10.5 and metadata["max_block_size"] == 200
    assert all(isinstance(value, (float, int, str)) for value in metadata.values())


# --- operator settings -----------------------------------------------------------------------


def test_operator_settings_are_fields():
    names = {f.name for f in dataclasses.fields(LinkageSettings)}
    assert set(OPERATOR_SETTINGS) <= names
    assert {"max_absent_risk", "min_auto_score", "max_block_size", "chunk_size"} <= set(OPERATOR_SETTINGS)
    assert not any(name.endswith("_weights") for name in OPERATOR_SETTINGS)


def test_overrides_change_only_what_is_named():
    changed = DEFAULT_SETTINGS.with_overrides(max_absent_risk=0.00005, chunk_size=1000)
    assert (changed.max_absent_risk, changed.chunk_size) == (0.00005, 1000)
    assert dataclasses.replace(changed, max_absent_risk=0.001, chunk_size=500_000) == DEFAULT_SETTINGS


def test_overrides_reject_settings_an_operator_may_not_change():
    with pytest.raises(ValueError, match=r"not operator settings: max_absent_rsik, prior_log2_odds; an operator may"):
        DEFAULT_SETTINGS.with_overrides(prior_log2_odds=-10.0, max_absent_rsik=0.1)


def test_overrides_are_checked_like_any_settings():
    with pytest.raises(ValueError, match="search_chunk_size must be an integer >= 1"):
        DEFAULT_SETTINGS.with_overrides(search_chunk_size=0)


def test_a_tiny_absent_risk_sends_name_and_dob_alone_to_review():
    # Chị Hòa got her dose in her own province without her CCCD; she is the only Trần Thị Hòa born
    # in 1990. By default name + DOB link her; an operator who will not risk a namesake of someone
    # missing from the registry (max_absent_risk below 0.3 * 1/365 / 8) sends her to review.
    batch, people = doses(dose("Trần Thị Hòa", "1990-12-01", "Nữ")), registry(HOA)
    linked = row(link(batch, people))
    assert (linked["match_status"], linked["rule"]) == ("corrected", "CANDIDATE_MATCH")  # her CCCD filled in
    assert linked["person_id"] == HOA_ID
    cautious = row(link(batch, people, DEFAULT_SETTINGS.with_overrides(max_absent_risk=0.00005)))
    assert (cautious["match_status"], cautious["rule"]) == ("review", "MAYBE_UNREGISTERED")
    assert cautious["candidate_person_id"] == HOA_ID and cautious["person_id"] is None
