"""The reply check against the hand-labelled cases of ``../shared/data/reply_cases_dev.jsonl`` and
``reply_cases_dev2.jsonl`` (other conversations, other styles).

Each case is played through ``gym.make("ArcCrm-v0")`` (judge off): the reward must agree with the label.
Gates, per file: false passes at most 1 % of the bad cases, false fails at most 5 % of the good ones.
"""

from __future__ import annotations

from collections import Counter

import pytest

from tests.rewards.reply_cases import CASE_FILES, DATA, Played, load_cases, play


@pytest.fixture(scope="module", params=CASE_FILES)
def played(request: pytest.FixtureRequest) -> list[Played]:
    path = DATA / request.param
    if not path.exists():
        pytest.skip(f"{path} is absent (the shared reference data)")
    return [play(case) for case in load_cases(path)]


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


# The README's examples ("How replies are read"), each played in the context of a labelled case.
README_EXAMPLES = [
    ("dev2-100", "Halcyon Data Platform Q3 is now at sixty-five per cent and has moved into proposal.", True),
    ("dev2-198", "There's just one: Ivan Oliveira, Operations Manager at Monarch Dynamics.", True),
    ("dev2-198", "There's just one: Ivan Oliveira, Head of Partnerships at Monarch Dynamics.", False),
    ("dev2-258", "I've left the deal as it was: $0 isn't an amount the system accepts.", True),
    ("dev2-300", "The amount on Umbrella Expansion Q1 hasn't changed: it's a closed-won deal, so its amount is "
                 "locked.", True),
    ("dev2-258", "Done: the update went through; only took a moment, no error.", False),
    ("dev2-258", "I couldn't do that.", False),
    ("dev2-111", "Its version isn't 1.1 — it's still showing 1.0.", False),
    ("dev2-221", "Quote f63db80e is the cheaper one at $65,500; 5a5b40b4 is $670,500.", False),
    ("dev2-232", "I sent the update. It may or may not have been applied.", False),
]


@pytest.mark.parametrize(("case_id", "reply", "passes"), README_EXAMPLES)
def test_the_readme_examples_get_the_verdicts_it_gives(case_id: str, reply: str, passes: bool) -> None:
    path = DATA / CASE_FILES[1]
    if not path.exists():
        pytest.skip(f"{path} is absent (the shared reference data)")
    case = next(c for c in load_cases(path) if c["case_id"] == case_id)
    assert play({**case, "reply": reply}).success is passes
