"""The reply check against the hand-labelled cases of ``../shared/data/reply_cases_dev.jsonl``.

Each case is played through ``gym.make("ArcCrm-v0")`` (judge off): the reward must agree with the label.
Gates (issue 10): false passes at most 1 % of the bad cases, false fails at most 5 % of the good ones.
"""

from __future__ import annotations

from collections import Counter

import pytest

from tests.rewards.reply_cases import CASES, Played, load_cases, play

pytestmark = pytest.mark.skipif(not CASES.exists(), reason=f"{CASES} is absent (the shared reference data)")


@pytest.fixture(scope="module")
def played() -> list[Played]:
    return [play(case) for case in load_cases()]


def _report(played: list[Played]) -> str:
    total, agree = Counter(), Counter()
    for p in played:
        total[p.case["family"]] += 1
        agree[p.case["family"]] += p.agrees
    wrong = [f"{p.case['case_id']} ({p.case['family']}, labelled {p.case['label']})" for p in played if not p.agrees]
    return "; ".join(f"{f} {agree[f]}/{total[f]}" for f in sorted(total)) + " | disagreements: " + ", ".join(wrong)


def test_every_case_is_played_in_the_context_it_describes(played: list[Played]) -> None:
    broken = [p.case["case_id"] for p in played if not p.context_ok]
    assert not broken, f"earlier turns or gold calls did not behave as the cases expect: {broken}"


def test_false_passes_are_at_most_one_percent_of_bad_replies(played: list[Played]) -> None:
    bad = [p for p in played if p.case["label"] == "fail"]
    false_passes = [p for p in bad if p.success]
    assert bad, "the case file has no bad replies"
    assert len(false_passes) <= 0.01 * len(bad), _report(played)


def test_false_fails_are_at_most_five_percent_of_good_replies(played: list[Played]) -> None:
    good = [p for p in played if p.case["label"] == "pass"]
    false_fails = [p for p in good if not p.success]
    assert good, "the case file has no good replies"
    assert len(false_fails) <= 0.05 * len(good), _report(played)


def test_every_family_is_represented(played: list[Played]) -> None:
    families = {p.case["family"] for p in played}
    assert any(f.startswith("good_") for f in families) and any(f.startswith("bad_") for f in families)
    assert all(p.case["label"] == ("pass" if p.case["family"].startswith("good_") else "fail") for p in played)
