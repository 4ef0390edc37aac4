"""Record linkage: dose records -> registry persons (plain functions, no Dagster).

Entry points: `link_doses` (matched records, corrections, superseded duplicates) and
`passport_ready` (eligibility per linked person). Modules: normalize (comparable forms),
compare (levels per field), block (candidate pairs), classify (scores, the cascade, corrections),
duplicates (keeper choice), passport (eligibility), link (orchestration).
"""

from vax_cleaning.linkage.classify import LinkageSettings
from vax_cleaning.linkage.link import LinkageResult, link_doses
from vax_cleaning.linkage.passport import passport_ready

__all__ = ["LinkageResult", "LinkageSettings", "link_doses", "passport_ready"]
