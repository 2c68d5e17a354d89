"""The reply reader (``crm_env.rewards.claims``): values in the forms assistants write them, with polarity,
and the attribution of values to records (``crm_env.rewards.attribution``)."""

from __future__ import annotations

import pytest

from crm_env.rewards.attribution import anchors, misattributed
from crm_env.rewards.claims import Vocabulary, read_reply
from crm_env.rewards.world import World
from crm_env.schema.enums import Entity

VOCABULARY = Vocabulary.build({
    "acme corp": [("record", "client-1")],
    "acme expansion phase 2": [("record", "opp-1")],
    "proposal": [("enum", "Proposal")],
    "draft": [("enum", "Draft")],
})


def _claims(text: str, *kinds: str) -> list[tuple[str, object, bool]]:
    read = read_reply(text, VOCABULARY)
    return [(m.kind, m.value, m.negated) for m in read.mentions if not kinds or m.kind in kinds]


@pytest.mark.parametrize(("text", "value"), [
    ("$1,234,567", 1234567), ("USD 1,073,500", 1073500), ("1,073,500 dollars", 1073500), ("$816K", 816000),
    ("1.2M", 1200000), ("1.5 million", 1500000), ("$250,000.00", 250000), ("USD 1.0405 million", 1040500),
])
def test_amounts_in_common_forms(text: str, value: float) -> None:
    claims = _claims(f"The total is {text} today.", "number")
    assert len(claims) == 1 and claims[0][1] == pytest.approx(value, abs=1)


def test_rounded_amounts_carry_their_rounding() -> None:
    read = read_reply("about $1.2M", VOCABULARY)
    number = read.of_kind("number")[0]
    assert number.value == 1_200_000 and number.tolerance == pytest.approx(50_000)


@pytest.mark.parametrize(("text", "iso"), [
    ("2026-10-01", "2026-10-01"), ("Oct. 1, 2026", "2026-10-01"), ("October 1, 2026", "2026-10-01"),
    ("1 Oct 2026", "2026-10-01"), ("16th November 2026", "2026-11-16"), ("the 9th of April 2027", "2027-04-09"),
    ("07/22/2026", "2026-07-22"), ("22/07/2026", "2026-07-22"), ("Sept 3, 2026", "2026-09-03"),
])
def test_dates_in_common_forms(text: str, iso: str) -> None:
    dates = _claims(f"It closes on {text}.", "date")
    assert [d[1] for d in dates] == [(iso,)]


def test_a_date_without_a_year_keeps_month_and_day() -> None:
    assert _claims("It closes Sept 3.", "date") == [("date", ((9, 3),), False)]


@pytest.mark.parametrize(("text", "value"), [
    ("85%", 85), ("85 percent", 85), ("85 per cent", 85), ("seventy-five per cent", 75), ("twenty five percent", 25),
    ("a hundred percent", 100), ("ten percent", 10),
])
def test_percentages_in_digits_and_words(text: str, value: float) -> None:
    assert _claims(f"Probability is {text} now.", "percent") == [("percent", float(value), False)]


@pytest.mark.parametrize(("text", "count"), [
    ("There are no contacts.", 0), ("Just one deal matches.", 1), ("I found twelve deals.", 12),
    ("Both quotes are Draft.", 2), ("It has twenty-one notes.", 21), ("Quotes (3): all sent", 3),
    ("- 2 quotes", 2),
])
def test_counts_in_digits_and_words(text: str, count: int) -> None:
    counts = _claims(text, "count")
    assert counts and counts[0][1] == count and not counts[0][2]


def test_markdown_list_numbers_are_never_negative() -> None:
    assert not [c for c in _claims("- 2 quotes\n- 3 notes") if c[0] == "number" and c[1] < 0]


def test_digits_inside_record_names_are_not_numbers() -> None:
    claims = _claims("Acme Expansion Phase 2 is at $40,000.")
    assert ("record", "opp-1", False) in claims
    assert [c for c in claims if c[0] == "number"] == [("number", 40000.0, False)]


@pytest.mark.parametrize(("text", "negated"), [
    ("It is not $529,500.", True), ("It isn't in Proposal.", True), ("It is no longer in Draft.", True),
    ("Proposal isn't its stage.", True), ("It is in Proposal.", False), ("It moved to Proposal, not Draft.", False),
    ("They differ in amount (none vs $172,500).", False), ("Its amount is not $172,500 (versus none before).", True),
])
def test_polarity_of_the_first_enum_or_amount(text: str, negated: bool) -> None:
    first = next(c for c in _claims(text) if c[0] in ("enum", "number"))
    assert first[2] is negated


def test_closed_stages_as_verbs_and_versions_across_words() -> None:
    assert _claims("It hasn't been won yet.", "enum") == [("enum", "Closed-Won", True)]
    assert _claims("The deal was lost.", "enum") == [("enum", "Closed-Lost", False)]
    assert _claims("Its version isn't 1.1.", "version") == [("version", "1.1", True)]
    assert _claims("Now v2.0.", "version") == [("version", "2.0", False)]


@pytest.mark.parametrize("text", ["", " ", "\x00\x01\x02\xff" * 100, "Заявка отклонена: сумма 0 ₽.",
                                  "数量は三件です", "$" * 10_000, "Acme Corp " * 10_000])
def test_any_text_is_read_without_error(text: str) -> None:
    first = read_reply(text, VOCABULARY)
    assert read_reply(text, VOCABULARY) == first  # deterministic


# ---------------------------------------------------------------------------------------------- attribution
def _world() -> World:
    quotes = [
        {"quote_id": "2fd2ee7c-0000-4000-8000-000000000001", "opportunity_id": "opp-1", "quote_prefix": "SALES",
         "version": 1.1, "amount": 813000.0, "status": "Draft"},
        {"quote_id": "34b0ce1d-0000-4000-8000-000000000002", "opportunity_id": "opp-1", "quote_prefix": "Q-EMEA",
         "version": 1.0, "amount": 118000.0, "status": "Sent"},
    ]
    return World.build({
        Entity.CLIENT: [{"client_id": "client-1", "name": "Acme Corp"}, {"client_id": "client-2", "name": "Bluth Labs"}],
        Entity.OPPORTUNITY: [{"opportunity_id": "opp-1", "client_id": "client-1", "name": "Acme Expansion Phase 2",
                              "amount": 40000.0}],
        Entity.QUOTE: quotes,
        Entity.CONTACT: [
            {"contact_id": "ct-1", "client_id": "client-1", "first_name": "Ivan", "last_name": "Oliveira",
             "title": "Operations Manager"},
            {"contact_id": "ct-2", "client_id": "client-2", "first_name": "Pedro", "last_name": "Ueda",
             "title": "Head of Partnerships"},
        ],
    }, [], [])


def _misattributed(reply: str, request: str = "") -> list[str]:
    world = _world()
    vocabulary = world.vocabulary()
    return misattributed(read_reply(reply, vocabulary), world, {"opp-1"}, read_reply(request, vocabulary))


def test_quotes_are_named_by_prefix_and_version_and_short_ids() -> None:
    world = _world()
    read = read_reply("The SALES v1.1 quote and quote 34b0ce1d.", world.vocabulary())
    assert [a.rid[:8] for a in anchors(read, world)] == ["2fd2ee7c", "34b0ce1d"]


@pytest.mark.parametrize("reply", [
    "The SALES v1.1 quote is the lowest at $118,000, while the Q-EMEA v1.0 quote is $813,000.",
    "Quote 2fd2ee7c is the cheaper one at $118,000; 34b0ce1d is $813,000.",
    "There's one Oliveira: Ivan Oliveira, Head of Partnerships at Acme Corp.",
    "Ivan Oliveira works at Bluth Labs.",
    "2fd2ee7c-0000-4000-8000-000000000001 is Q-EMEA v1.0.",
])
def test_values_on_the_wrong_record_are_found(reply: str) -> None:
    assert _misattributed(reply)


@pytest.mark.parametrize("reply", [
    "The SALES v1.1 quote is $813,000, while the Q-EMEA v1.0 quote is $118,000: $695,000 apart.",
    "Quote 34b0ce1d is the cheaper one: $118,000 against $813,000 for 2fd2ee7c.",
    "Ivan Oliveira, Operations Manager at Acme Corp; Pedro Ueda, Head of Partnerships at Bluth Labs.",
    "Acme Expansion Phase 2 is at $40,000 with two quotes (SALES v1.1 and Q-EMEA v1.0).",
    "If you meant Pedro Ueda, Operations Manager would be wrong for him.",
])
def test_values_on_their_own_records_pass(reply: str) -> None:
    assert _misattributed(reply) == []


def test_values_the_user_asked_for_are_left_to_the_other_checks() -> None:
    reply = "I gave Ivan Oliveira the title Head of Partnerships."
    assert _misattributed(reply)
    assert _misattributed(reply, "Make Ivan Oliveira our Head of Partnerships.") == []
