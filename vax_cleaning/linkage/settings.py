"""The linkage's settings: thresholds, weights and chunk sizes, as frozen, documented data.

One `LinkageSettings` feeds every step: `block` (max_block_size), `compare` (the name typo limits),
`classify` (weights, gates' thresholds, the cascade) and `link` (chunk sizes). Like Splink's
settings it is plain data: weights are keyed by the comparison levels themselves (`compare.py`),
and a settings object missing a level's weight fails when it is built -- for the defaults, when
this module is imported.

Operators tune only `OPERATOR_SETTINGS` (`with_overrides`); the weights are the model, changed
with the code and measured with bench/quality.py. `as_metadata` flattens everything for the
materialization metadata of the linkage assets.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from vax_cleaning.linkage.compare import (
    AddressLevel,
    DobLevel,
    GenderLevel,
    IdLevel,
    Level,
    NameLevel,
    ResidenceLevel,
)

L = TypeVar("L", bound=Level)


class LevelWeights(Mapping[L, float], Generic[L]):
    """Read-only weight (log2 Bayes factor) per level of one comparison: every level has one.

    Looked up by the level itself (``weights[NameLevel.EXACT]``); hashable and picklable, unlike
    a `types.MappingProxyType`. Iterates in the comparison's order (null, exact, ..., else).
    """

    __slots__ = ("_weights", "levels")

    def __init__(self, levels: type[L], weights: Mapping[L, float], what: str = "weights") -> None:
        """Check that `weights` gives a number for every member of `levels` and nothing else (`what` names it)."""
        strays = [key for key in weights if not isinstance(key, levels)]
        if strays:
            raise ValueError(
                f"{what}: {strays} are not {levels.__name__} members; key weights by the level, e.g. "
                f"{levels.__name__}.{list(levels)[1].name}"
            )
        missing = [level for level in levels if level not in weights]
        if missing:
            named = ", ".join(f"{levels.__name__}.{level.name} ('{level.label}')" for level in missing)
            raise ValueError(f"{what} lacks a weight for {named}: every {levels.__name__} level needs one")
        self.levels = levels
        self._weights: dict[L, float] = {level: _number(f"{what}[{level.label}]", weights[level]) for level in levels}

    def __getitem__(self, level: L) -> float:
        return self._weights[level]

    def __iter__(self) -> Iterator[L]:
        return iter(self._weights)

    def __len__(self) -> int:
        return len(self._weights)

    def __hash__(self) -> int:
        return hash(tuple(self._weights.items()))

    def __repr__(self) -> str:
        items = ", ".join(f"{self.levels.__name__}.{level.name}: {weight}" for level, weight in self._weights.items())
        return f"{type(self).__name__}({self.levels.__name__}, {{{items}}})"

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self.levels, self._weights)


def _number(what: str, value: object) -> float:
    """A finite float weight, or a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    return float(value)


def _weights(levels: type[L], weights: Mapping[L, float]) -> Any:
    """A weights field: its default (checked now, at import) and the levels custom weights are checked against."""
    return field(default=LevelWeights(levels, weights, "default weights"), metadata={"levels": levels})


@dataclass(frozen=True)
class LinkageSettings:
    """Thresholds and weights of the linkage; plain frozen data (see the module docstring).

    Weights are log2(m/u) Bayes factors (m = P(level | same person), u = P(level | another
    person)), one per level of each comparison in `compare.py`. Build a changed copy with
    `with_overrides` (operator settings) or `dataclasses.replace` (anything, e.g. in tests).
    """

    name_weights: Mapping[NameLevel, float] = _weights(
        NameLevel,
        {
            NameLevel.NULL: 0.0,
            NameLevel.EXACT: 10.5,
            NameLevel.EXACT_WITHOUT_DIACRITICS: 10.0,
            NameLevel.TYPO: 1.0,
            NameLevel.MIDDLE_NAME_MISSING: 1.0,
            NameLevel.DIFFERENT: -5.5,
        },
    )
    """log2(m/u) per name level: m = P(level | same person), u = P(level | another person).

    exact: m 0.85, u 1/1700 (Vietnamese full names are concentrated). typo and
    middle_name_missing are barely evidence (m ~0.02-0.03, u ~1/65-1/100): one letter turns
    Hùng into Dũng, so these levels only help when the ID or the DOB carries the link."""
    name_reference_share: float = 1 / 1700
    """The registry share of a name at which `name_weights` exact levels hold (u = 1/1700, see above); an exact
    agreement on a name held by a smaller share weighs more (Splink's term-frequency adjustment, u estimated from
    the registry itself: `normalize.with_name_share`)."""
    name_frequency_max_shift: float = 4.0
    """At most this many bits up (a name held by one person in 440,000: +8 unbounded) or down (Nguyễn Văn Hùng in a
    city) from the hand-set exact-name weight: the registry's counts refine the weight, never overturn it."""
    dob_weights: Mapping[DobLevel, float] = _weights(
        DobLevel,
        {
            DobLevel.NULL: 0.0,
            DobLevel.EXACT: 14.5,
            DobLevel.YEAR_ONLY_AGREES: 6.0,
            DobLevel.PLACEHOLDER_0101: 6.0,
            DobLevel.DAY_MONTH_SWAPPED: 7.0,
            DobLevel.YEAR_OFF_BY_ONE: 5.5,
            DobLevel.ONE_DIGIT_OFF: 3.0,
            DobLevel.YEAR_DIFFERS: 1.0,
            DobLevel.DIFFERENT: -5.5,
        },
    )
    """log2(m/u) per date-of-birth level (exact: m 0.95, u 1/25 000 birth dates; one_digit_off:
    m ~0.01, u ~35/25 000 as ~35 dates are one digit away; year_differs (day and month right):
    m ~0.004, u 1/365; a year alone: u 1/70 years)."""
    dob_exact_year_only_weight: float = 6.0
    """`exact` between two year-only dates says no more than a year."""
    dob_exact_0101_weight: float = 11.0
    """`exact` for a record written 01/01: most 01/01 records are placeholders (m ~0.1)."""
    gender_weights: Mapping[GenderLevel, float] = _weights(
        GenderLevel, {GenderLevel.NULL: 0.0, GenderLevel.AGREE: 1.0, GenderLevel.DISAGREE: -4.0}
    )
    """log2(m/u) per gender level."""
    residence_weights: Mapping[ResidenceLevel, float] = _weights(
        ResidenceLevel,
        {ResidenceLevel.NULL: 0.0, ResidenceLevel.SAME_PROVINCE: 3.0, ResidenceLevel.OTHER_PROVINCE: -2.0},
    )
    """log2(m/u) of the vaccination province vs the registry's province of residence: m 0.8
    (migrant workers are vaccinated where they work), u ~0.1 (namesakes mostly live elsewhere)."""
    address_weights: Mapping[AddressLevel, float] = _weights(
        AddressLevel,
        {
            AddressLevel.NULL: 0.0,
            AddressLevel.SAME_COMMUNE: 9.0,
            AddressLevel.SAME_DISTRICT: 1.0,
            AddressLevel.DIFFERENT: -1.0,
        },
    )
    """log2(m/u) of the written address vs the registry address (commune, district). same_commune: m ~0.6
    (people write their registered address; some write where they live or work), u ~1/1000 among the
    blocked candidates of a record (namesakes spread over ~10,000 communes; blocks lean to the province),
    so log2(600) ~ 9: with `different` at -1, the same commune against a namesake elsewhere is a margin
    of 10 (min_auto_margin). An address never outweighs a name or birth-date contradiction (the gate).
    different: m ~0.3, u ~1."""
    id_weights: Mapping[IdLevel, float] = _weights(
        IdLevel,
        {
            IdLevel.NULL: 0.0,
            IdLevel.EXACT_CCCD: 20.0,
            IdLevel.EXACT_CMND: 20.0,
            IdLevel.NEAR_MISS: 10.0,
            IdLevel.DIFFERENT: -2.0,
        },
    )
    """log2(m/u) per ID level. `different` is mild: relatives' IDs are common, and when the ID
    belongs to someone else that owner's own mismatch already tells the story."""
    id_housemate_weight: float = 6.0
    """Replaces `different` when the record's ID belongs to someone registered at the candidate's
    address (same province and address): the classic relative's ID -- the son's CCCD on the
    mother's record -- which speaks for the candidate rather than against."""
    id_unknown_consistent_weight: float = -8.0
    """Replaces `different` when the record's CCCD belongs to nobody in the registry yet encodes
    the record's own birth year and gender: probably the writer's real ID, so a candidate with
    another ID is probably a namesake of someone missing from the registry."""
    absent_share: float = 0.3
    """Share of records without ID evidence (no exact or near-miss ID) whose writer is missing
    from the registry. Only 1% of people are missing, but people without a usable ID often are
    the unregistered ones (~30% in the project's synthetic data; tune with field data)."""
    max_absent_risk: float = 0.001
    """Candidate search without ID evidence links only if the chance that the writer is missing
    from the registry and a namesake merely shares the birth date -- absent_share * (registry
    namesakes born that year) / 365, times 2^-(residence weight) -- is at most this; else review
    (`MAYBE_UNREGISTERED`). Defaults: a candidate living in the vaccination province links with up
    to 9 registry namesakes born that year (0.3 * 9/365 / 8 = 0.00092); a candidate living
    elsewhere never links on name + DOB alone (0.3 * 1/365 * 4 = 0.0033). On the project's
    synthetic data this costs ~6 wrong links per million auto links; 0.00005 (never link on name
    + DOB alone) removes them at the price of ~0.5% of all records going to review."""
    prior_log2_odds: float = -20.0
    """log2 prior odds that a blocked candidate is the person: exact name + exact DOB alone
    gives weight 5 (score 0.97), +3 if the person lives in the vaccination province; a name
    typo with an exact DOB gives -4.5 (score 0.04)."""
    typo_max_edits: int = 1
    """Name `typo`: at most this many OSA edits (one letter wrong, missing, doubled or two
    adjacent letters swapped) between the diacritic-free keys, or equal keys with other
    diacritics ..."""
    typo_min_similarity: float = 0.85
    """... and similarity 1 - edits / longer key length at least this (so 'Lê An' vs 'Lê Anh' is `different`)."""
    min_auto_score: float = 0.9
    """Candidate search links automatically only at or above this score (weight >= 3.2).

    With the defaults: exact name + DOB (no ID) links; a name typo, a 01-01 placeholder, a
    swapped or year-only DOB without an ID goes to review; a near-miss ID lifts a typo over."""
    min_auto_margin: float = 10.0
    """... and only when its weight leads the runner-up's by this much: the runner-up is at
    most 1/1024 as likely. A runner-up with the same name and a DOB one swap or one year away,
    or the same DOB and a name one letter away, keeps the record in review."""
    id_conflict_margin: float = 4.0
    """The ID owner loses its claim (review, `ID_CONFLICT`) only to a candidate whose evidence without the ID
    (name, DOB, gender, residence, address) beats the owner's by this much: a look-alike that merely fits a
    little better (a namesake born 01/11 against a 01/01 placeholder) does not outweigh an exact ID, nor does a
    namesake in another commune whose birth date happens to match a mistyped one. Housemates share the address,
    so a relative's ID still loses to the relative the record names."""
    min_id_evidence_weight: float = 10.0
    """An exact ID's owner that the one-weak-field gate refuses (a name error AND a birth-date error, a wrong gender
    with one of them, or a birth date contradicted by the record's own CCCD year) still links when its whole weight
    -- prior, ID, name, DOB, gender, residence, address -- reaches this (odds 1024:1) and leads every other
    candidate's by `min_auto_margin`; the name must never be `different`. Same commune and exact CCCD with a
    typo'd name and a year off by one: -20 + 20 + 1 + 5.5 + 1 + 3 + 9 = 19.5."""
    max_explained_year_gap: int = 10
    """A written birth date the record's own CCCD year explains as a typing error is at most this many years from
    it; a generation apart (~20-35 years) it is a relative of the same name using the ID (on the field mix: every
    explained typo was within 10 years, every wrong link 30 years away)."""
    calibration_max_tighten: float = 2.0
    """EM-fitted name, birth-date and gender weights (calibrate.py) are applied between the hand-set weight minus
    this and the hand-set weight: the run's data may make the linkage up to 4x more cautious per level, never bolder."""
    min_review_score: float = 0.01
    """Below this the best candidate is not plausible: the record is `unmatched`."""
    max_block_size: int = 200
    """Blocks with more registry persons are not expanded; their records cannot auto-link via search."""
    chunk_size: int = 500_000
    """Records per slice in the ID phase: features built, settled by ID and dropped slice by slice (~0.5 GB each)."""
    search_chunk_size: int = 50_000
    """Records per chunk in candidate search; ~20 candidate pairs each, ~0.5 GB per chunk (larger: no faster).
    Against a national registry each chunk (at most link.REACH_PART_RECORDS) fetches the people it can reach."""

    def __post_init__(self) -> None:
        """Check every weight (custom weights become `LevelWeights`) and the scalar settings' types and ranges."""
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if "levels" in f.metadata:
                if not isinstance(value, Mapping):
                    raise ValueError(f"{f.name} must map each {f.metadata['levels'].__name__} to a weight")
                object.__setattr__(self, f.name, LevelWeights(f.metadata["levels"], value, f.name))
            elif f.type == "int":
                if isinstance(value, bool) or not isinstance(value, int) or value < _MINIMUM_INT.get(f.name, 1):
                    raise ValueError(f"{f.name} must be an integer >= {_MINIMUM_INT.get(f.name, 1)}, got {value!r}")
            else:
                number = _number(f.name, value)
                if f.name in _PROBABILITIES and not 0.0 <= number <= 1.0:
                    raise ValueError(f"{f.name} must lie in [0, 1], got {value!r}")
                object.__setattr__(self, f.name, number)

    def __hash__(self) -> int:
        return hash(tuple(self.as_metadata().items()))

    def as_metadata(self) -> dict[str, float | int | str]:
        """Every setting, flattened: scalars by field name, weights as `name_weight.exact` etc."""
        flat: dict[str, float | int | str] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, LevelWeights):
                prefix = f.name.removesuffix("s")
                flat.update({f"{prefix}.{level.label}": weight for level, weight in value.items()})
            else:
                flat[f.name] = value
        return flat

    @classmethod
    def from_metadata(cls, flat: Mapping[str, float | int | str]) -> LinkageSettings:
        """The settings `as_metadata` flattened (a province's kept calibration, read back)."""
        values: dict[str, object] = {}
        for f in dataclasses.fields(cls):
            if "levels" in f.metadata:
                prefix = f.name.removesuffix("s")
                values[f.name] = {level: flat[f"{prefix}.{level.label}"] for level in f.metadata["levels"]}
            else:
                values[f.name] = flat[f.name]
        return cls(**values)

    def with_overrides(self, **values: float | int) -> LinkageSettings:
        """A copy with some `OPERATOR_SETTINGS` changed (checked like any settings object)."""
        unknown = sorted(set(values) - set(OPERATOR_SETTINGS))
        if unknown:
            raise ValueError(
                f"not operator settings: {', '.join(unknown)}; an operator may set {', '.join(OPERATOR_SETTINGS)}"
            )
        return dataclasses.replace(self, **values)


_PROBABILITIES = frozenset(
    {
        "name_reference_share",
        "absent_share",
        "max_absent_risk",
        "typo_min_similarity",
        "min_auto_score",
        "min_review_score",
    }
)
"""Settings that are probabilities or shares."""
_MINIMUM_INT = {"typo_max_edits": 0}
"""Integer settings that may be below 1."""

OPERATOR_SETTINGS: tuple[str, ...] = (
    "max_absent_risk",
    "absent_share",
    "min_auto_score",
    "min_auto_margin",
    "id_conflict_margin",
    "min_id_evidence_weight",
    "min_review_score",
    "max_block_size",
    "chunk_size",
    "search_chunk_size",
)
"""The settings an operator may tune per run (exposed as run configuration); the rest is the model."""

_unknown = set(OPERATOR_SETTINGS) - {f.name for f in dataclasses.fields(LinkageSettings)}
if _unknown:
    raise TypeError(f"OPERATOR_SETTINGS names no LinkageSettings field: {sorted(_unknown)}")
del _unknown

DEFAULT_SETTINGS = LinkageSettings()
"""The settings `link_doses` uses when given none."""
