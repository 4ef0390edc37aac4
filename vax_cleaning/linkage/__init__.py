"""Record linkage: dose records -> registry persons (plain functions, no Dagster).

Entry points: `link_doses` (matched records, corrections, superseded duplicates) and
`passport_ready` (eligibility per linked person). Modules: settings (thresholds, weights, chunk
sizes: `LinkageSettings`), normalize (comparable forms), compare (levels per field), block
(candidate pairs), classify (scores, the cascade, corrections), duplicates (keeper choice),
passport (eligibility), decisions (people's review decisions judged and honoured), link (orchestration).
"""

from vax_cleaning.linkage.link import LinkageResult, link_doses
from vax_cleaning.linkage.passport import passport_ready
from vax_cleaning.linkage.settings import DEFAULT_SETTINGS, OPERATOR_SETTINGS, LinkageSettings

__all__ = ["DEFAULT_SETTINGS", "OPERATOR_SETTINGS", "LinkageResult", "LinkageSettings", "link_doses", "passport_ready"]
