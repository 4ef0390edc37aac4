"""EM fits m on a run's candidate pairs; the fitted weights may make the linkage more cautious, never bolder."""

import numpy as np
import polars as pl

from vax_cleaning.linkage.calibrate import Calibration, calibrate, fit_m
from vax_cleaning.linkage.compare import DobLevel, GenderLevel, NameLevel
from vax_cleaning.linkage.settings import DEFAULT_SETTINGS
from vax_cleaning_tests.linkage.stories import cccd, dose, doses, person, registry

U = {
    "name_level": {int(NameLevel.EXACT): 0.001, int(NameLevel.TYPO): 0.01, int(NameLevel.DIFFERENT): 0.989},
    "dob_level": {int(DobLevel.EXACT): 0.0001, int(DobLevel.YEAR_OFF_BY_ONE): 0.001, int(DobLevel.DIFFERENT): 0.9989},
    "gender_level": {int(GenderLevel.AGREE): 0.5, int(GenderLevel.DISAGREE): 0.5},
}
M = {
    "name_level": {int(NameLevel.EXACT): 0.8, int(NameLevel.TYPO): 0.15, int(NameLevel.DIFFERENT): 0.05},
    "dob_level": {int(DobLevel.EXACT): 0.958, int(DobLevel.YEAR_OFF_BY_ONE): 0.002, int(DobLevel.DIFFERENT): 0.04},
    "gender_level": {int(GenderLevel.AGREE): 0.97, int(GenderLevel.DISAGREE): 0.03},
}


def candidate_pairs(matches: int, non_matches: int, seed: int = 1) -> pl.DataFrame:
    """Comparison levels drawn from known m (same person) and u (different people) distributions."""
    rng = np.random.default_rng(seed)

    def draw(probabilities: dict[int, float], n: int) -> np.ndarray:
        return rng.choice(list(probabilities), size=n, p=list(probabilities.values())).astype(np.int8)

    return pl.DataFrame(
        {column: np.concatenate([draw(M[column], matches), draw(U[column], non_matches)]) for column in M}
    )


def test_em_recovers_the_same_person_probabilities_it_was_drawn_from():
    m, match_share = fit_m(candidate_pairs(30_000, 70_000), U, DEFAULT_SETTINGS)
    assert abs(match_share - 0.3) < 0.01
    assert abs(m["name_level"][int(NameLevel.TYPO)] - 0.15) < 0.01
    assert abs(m["dob_level"][int(DobLevel.DIFFERENT)] - 0.04) < 0.01


def test_a_small_run_keeps_the_hand_set_weights():
    people = registry(person(cccd(1985, "Nam", 1), "Nguyễn Văn Hùng", "1985-03-04", "Nam"))
    calibration = calibrate(doses(dose("Nguyễn Văn Hùng", "1985-03-04", "Nam")), people, DEFAULT_SETTINGS)
    assert calibration.settings == DEFAULT_SETTINGS and calibration.fitted == {}
    assert calibration.as_metadata()["calibrated"].startswith("no")


def test_fitted_weights_are_bounded_by_the_hand_set_ones(monkeypatch):
    # A batch whose typos look like strong evidence (fit far above the hand-set weight) and whose year-off-by-one
    # looks like none (fit far below): the first is capped at the hand-set weight, the second floored 2 bits under.
    from vax_cleaning.linkage import calibrate as module

    monkeypatch.setattr(module, "_sample_levels", lambda *_: candidate_pairs(30_000, 70_000))
    monkeypatch.setattr(module, "MIN_PEOPLE", 0)
    monkeypatch.setattr(module, "estimate_u", lambda *_: U)
    calibration: Calibration = calibrate(pl.DataFrame(), pl.DataFrame({"name_key": []}), DEFAULT_SETTINGS)
    hand, applied = DEFAULT_SETTINGS, calibration.settings
    assert calibration.fitted["name_weight.typo"] > hand.name_weights[NameLevel.TYPO]
    assert applied.name_weights[NameLevel.TYPO] == hand.name_weights[NameLevel.TYPO]
    assert calibration.fitted["dob_weight.year_off_by_one"] < hand.dob_weights[DobLevel.YEAR_OFF_BY_ONE] - 2
    assert applied.dob_weights[DobLevel.YEAR_OFF_BY_ONE] == hand.dob_weights[DobLevel.YEAR_OFF_BY_ONE] - 2
    for field in ("name_weights", "dob_weights", "gender_weights"):
        for level, weight in getattr(applied, field).items():
            assert weight <= getattr(hand, field)[level]  # never bolder


def test_calibrated_settings_never_link_what_the_hand_set_ones_would_not():
    # Two namesakes born the same day in one province: LOW_MARGIN review with the hand-set settings. Settings that
    # would link it anyway (a margin of 0) do not, when the hand-set ones are the baseline.
    from dataclasses import replace

    from vax_cleaning_tests.linkage.stories import link

    people = registry(
        person(cccd(1985, "Nam", 1), "Nguyễn Văn Hùng", "1985-03-04", "Nam"),
        person(cccd(1985, "Nam", 2), "Nguyễn Văn Hưng", "1985-03-04", "Nam"),
    )
    batch = doses(dose("Nguyễn Văn Hùng", "1985-03-04", "Nam"))
    bold = replace(DEFAULT_SETTINGS, min_auto_margin=0.0, max_absent_risk=1.0)
    assert link(batch, people, settings=bold).matched["match_status"].item() == "corrected"
    guarded = link(batch, people, settings=bold, baseline=DEFAULT_SETTINGS).matched
    assert guarded["match_status"].item() == link(batch, people).matched["match_status"].item() == "review"
