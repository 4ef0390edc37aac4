"""The vocabulary is spelled once: the README renders from it, review rules name who handles them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from vax_cleaning.ingest.headers import export_columns_markdown
from vax_cleaning.vocabulary import (
    DECIDED_BY_REVIEW_RULES,
    LINKED_STATUSES,
    REVIEW_RULES,
    UNMATCHED_RULES,
    MatchStatus,
    Rule,
    correction_rules_markdown,
    decision_table_markdown,
    rule_table_markdown,
    sql_list,
    status_table_markdown,
)

ROOT = Path(__file__).resolve().parents[1]
README, INTERFACE = ROOT / "README.md", ROOT / "docs" / "interface.md"


def rendered_block(document: Path, name: str) -> str:
    """The text between `<!-- name:start -->` and `<!-- name:end -->` in a document (exactly one such block)."""
    text = document.read_text(encoding="utf-8")
    blocks = re.findall(rf"<!-- {name}:start -->\n(.*?)\n<!-- {name}:end -->", text, re.S)
    assert len(blocks) == 1, f"{document.name} needs exactly one {name} block"
    return blocks[0]


@pytest.mark.parametrize(
    ("document", "block", "render"),
    [
        (README, "rules", rule_table_markdown),
        (README, "correction-rules", correction_rules_markdown),
        (INTERFACE, "statuses", status_table_markdown),
        (INTERFACE, "decisions", decision_table_markdown),
        (INTERFACE, "export-columns", export_columns_markdown),
    ],
)
def test_the_documents_render_the_vocabulary(document, block, render):
    assert rendered_block(document, block) == render(), (
        f"{document.name} out of date: paste {render.__module__}.{render.__name__}() into the {block} block"
    )


def test_every_review_and_unmatched_rule_has_a_handler():
    assert REVIEW_RULES and UNMATCHED_RULES
    open_rules = [rule for rule in Rule if rule.group in (MatchStatus.REVIEW, MatchStatus.UNMATCHED)]
    assert set(open_rules) == {*REVIEW_RULES, *UNMATCHED_RULES}
    # A rule a review decision set (REVIEW_NOT_IN_REGISTRY) is settled by people already: nobody handles it again.
    missing = [rule for rule in open_rules if not rule.handler and rule not in DECIDED_BY_REVIEW_RULES]
    assert missing == []


def test_sql_list_of_linked_statuses():
    assert sql_list(LINKED_STATUSES) == "('verified', 'corrected')"
