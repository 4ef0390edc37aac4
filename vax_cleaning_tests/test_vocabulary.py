"""The vocabulary is spelled once: the README renders from it, review rules name who handles them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from vax_cleaning.vocabulary import (
    DECIDED_BY_REVIEW_RULES,
    LINKED_STATUSES,
    REVIEW_RULES,
    UNMATCHED_RULES,
    MatchStatus,
    Rule,
    correction_rules_markdown,
    rule_table_markdown,
    sql_list,
)

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_block(name: str) -> str:
    """The text between `<!-- name:start -->` and `<!-- name:end -->` in the README (exactly one such block)."""
    blocks = re.findall(rf"<!-- {name}:start -->\n(.*?)\n<!-- {name}:end -->", README.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 1, f"README needs exactly one {name} block"
    return blocks[0]


@pytest.mark.parametrize(
    ("block", "render"), [("rules", rule_table_markdown), ("correction-rules", correction_rules_markdown)]
)
def test_readme_renders_the_vocabulary(block, render):
    assert readme_block(block) == render(), (
        f"README out of date: paste vocabulary.{render.__name__}() into the {block} block"
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
