"""Run configuration of the linkage: the thresholds an operator may tune (linkage.settings.OPERATOR_SETTINGS).

Defaults are the project's measured settings (`DEFAULT_SETTINGS`); their full explanation is the
docstring of each field in `vax_cleaning/linkage/settings.py`. Set them in the launchpad under
`ops: match_province: config:`. Every linkage materialization records the settings it ran with.
"""

import dagster as dg
from pydantic import Field

from vax_cleaning.linkage.settings import DEFAULT_SETTINGS, LinkageSettings

_DEFAULT = DEFAULT_SETTINGS


class LinkageConfig(dg.Config):
    """Operator-facing linkage thresholds; anything not set keeps the project's default."""

    max_absent_risk: float = Field(
        default=_DEFAULT.max_absent_risk,
        description="Link on name + birth date alone (no ID evidence) only while the chance that the writer is missing "
        "from the registry and a namesake shares the birth date is at most this; else review (MAYBE_UNREGISTERED). "
        "Lower: fewer wrong links, more review.",
    )
    absent_share: float = Field(
        default=_DEFAULT.absent_share,
        description="Share of records without ID evidence whose writer is missing from the registry (feeds max_absent_risk).",
    )
    min_auto_score: float = Field(
        default=_DEFAULT.min_auto_score,
        description="Candidate search links automatically only at or above this match score (0..1).",
    )
    min_auto_margin: float = Field(
        default=_DEFAULT.min_auto_margin,
        description="... and only when its weight leads the runner-up's by this much (log2 odds); else LOW_MARGIN review.",
    )
    id_conflict_margin: float = Field(
        default=_DEFAULT.id_conflict_margin,
        description="The ID owner loses its claim (ID_CONFLICT review) only to a candidate whose evidence without the ID "
        "(name, DOB, gender, residence, address weights) beats the owner's by this much.",
    )
    min_id_evidence_weight: float = Field(
        default=_DEFAULT.min_id_evidence_weight,
        description="An exact ID whose owner has two recording errors (or a birth date its own CCCD year explains) "
        "links only when the whole evidence reaches this weight (log2 odds) and leads every other candidate by "
        "min_auto_margin. Higher: fewer such links, more ID_OWNER_MISMATCH review.",
    )
    min_review_score: float = Field(
        default=_DEFAULT.min_review_score,
        description="Below this score the best candidate is not plausible: the record is unmatched, not review.",
    )
    max_block_size: int = Field(
        default=_DEFAULT.max_block_size,
        description="Blocks with more registry persons are not expanded (their records go to review, BLOCK_TOO_LARGE).",
    )
    chunk_size: int = Field(
        default=_DEFAULT.chunk_size,
        description="Records per slice of the ID phase (memory: ~0.5 GB per 500,000).",
    )
    search_chunk_size: int = Field(
        default=_DEFAULT.search_chunk_size,
        description="Records per chunk of the candidate search (memory: ~0.5 GB per 50,000).",
    )

    relink: bool = Field(
        default=False,
        description="Link every record of the province again, not only those of files that arrived since the last "
        "run (the registry snapshot's calibration is kept; a new snapshot, other settings or new review decisions "
        "link everything again by themselves).",
    )

    def settings(self) -> LinkageSettings:
        """The settings this run links with (checked: a value out of range fails with the setting's name)."""
        return DEFAULT_SETTINGS.with_overrides(**self.model_dump(exclude={"relink"}))
