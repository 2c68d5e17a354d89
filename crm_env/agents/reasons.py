"""Why the CRM refused a call, in plain words, from the tool's error message.

``plain_reason`` turns a message such as ``close_date='2026-02-11' is in the past; it must be on or after
today's date 2026-06-03.`` into a clause a person would say: ``the close date February 11, 2026 is in the
past; it has to be today (June 3, 2026) or later``. It keeps what the user needs to fix the request (the
rejected value and the rule it broke) and drops what only a program needs: tool names, hints about
which tool to call next, example ids, and ids of records the request was not about.

Each known message shape (``crm_env.tools``, ``crm_env.schema.types``) has a rule; any other message is
cleaned generically (tool prefix, ``field='value'`` notation and tool hints removed), so a reason is
always derived from the message and never invented.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from crm_env.agents.wording import field_words, join, money, percent, spelled_date
from crm_env.tools import TOOL_NAMES

NameOf = Callable[[str], "str | None"]

_TOOL_PREFIX = re.compile(r"^(?:" + "|".join(sorted(map(re.escape, TOOL_NAMES), key=len, reverse=True)) + r"): ")
_BOUND_WORDS = {">": "greater than", ">=": "at least", "<": "less than", "<=": "at most"}


def _entity_of(field: str) -> str:
    """``opportunity_id`` → ``opportunity``; ``quote_ids`` → ``quote``; ``entity_id`` → ``record``."""
    base = re.sub(r"_ids?$", "", field)
    return "record" if base in ("entity", "") else field_words(base)


def _quoted(value: str) -> str:
    return f'"{value}"'


def _money_rule(rule: str) -> str:
    return re.sub(r"\d[\d,]*(?:\.\d+)?", lambda m: money(m.group(0)), rule)


def _out_of_range(m: re.Match[str], name_of: NameOf) -> str:
    field = m["field"]
    what = "the contract value" if field == "value" else f"the {field_words(field)}"
    return f"{what} {money(m['value'])} is out of range: {_money_rule(m['rule'])}"


def _probability(m: re.Match[str], name_of: NameOf) -> str:
    return (f"a probability of {percent(m['value'])} isn't allowed: probability has to be a whole number "
            f"from 0 to 100")


def _past_date(m: re.Match[str], name_of: NameOf) -> str:
    return (f"the {field_words(m['field'])} {spelled_date(m['value'])} is in the past; it has to be today "
            f"({spelled_date(m['today'])}) or later")


def _duplicate_email(m: re.Match[str], name_of: NameOf) -> str:
    # The other record is not part of the request: its name and id stay out of the reply.
    return (f"the e-mail address {m['value']} is already used by another {m['entity'].lower()} "
            f"(e-mail addresses are compared regardless of case)")


def _malformed_id(m: re.Match[str], name_of: NameOf) -> str:
    return f"{_quoted(m['value'])} isn't a valid {_entity_of(m['field'])} id: record ids in this CRM are UUIDs"


def _missing(m: re.Match[str], name_of: NameOf) -> str:
    return f"the {field_words(m['field'].rsplit('.', 1)[-1])} is required, and none was given"


def _file_name(m: re.Match[str], name_of: NameOf) -> str:
    extensions = [e.strip() for e in m["extensions"].split(",") if e.strip()]
    return (f"{_quoted(m['value'])} isn't an accepted file name: names may use only letters, digits, '.', '_' "
            f"or '-' and must end in {join(extensions, 'or')}")


def _enum(m: re.Match[str], name_of: NameOf) -> str:
    values = [v.strip() for v in m["values"].split(",") if v.strip()]
    return (f"{field_words(m['field'])} {_quoted(m['value'])} is not an accepted value (values are "
            f"case-sensitive); the accepted values are {join(values, 'and')}")


def _closed_deal(m: re.Match[str], name_of: NameOf) -> str:
    target = name_of(m["id"]) or "the deal"
    frozen = join([field_words(f.strip()) for f in m["frozen"].split(",")])
    asked = join([field_words(f.strip()) for f in m["asked"].split(",")])
    return (f"{target} is {m['stage']}, and a closed deal's {frozen} can't be changed (the request would "
            f"change its {asked}); only its {m['editable']} can be edited")


def _not_found(m: re.Match[str], name_of: NameOf) -> str:
    field = m["field"]
    if field.endswith(("_id", "_ids")):
        return f"there is no {m['entity']} with the id {m['value']}"
    return f"there is no {m['entity']} with the {field_words(field)} {m['value']}"


def _canceled(m: re.Match[str], name_of: NameOf) -> str:
    return "that quote is already Canceled, and a canceled quote can't be changed"


def _date_order(m: re.Match[str], name_of: NameOf) -> str:
    return (f"the end date {spelled_date(m['end'])} is before the start date {spelled_date(m['start'])}; "
            f"the end has to be on or after the start")


def _unknown_argument(m: re.Match[str], name_of: NameOf) -> str:
    return f"that request doesn't take a {field_words(m['field'].rsplit('.', 1)[-1])}"


def _wrong_type(m: re.Match[str], name_of: NameOf) -> str:
    return f"the {field_words(m['field'].rsplit('.', 1)[-1])} has to be {m['kind']}, not {m['value']}"


def _bound(m: re.Match[str], name_of: NameOf) -> str:
    return (f"the {field_words(m['field'].rsplit('.', 1)[-1])} has to be {_BOUND_WORDS[m['op']]} {m['limit']} "
            f"(it was {m['value']})")


def _nothing(m: re.Match[str], name_of: NameOf) -> str:
    fields = join([field_words(f.strip()) for f in m["fields"].split(",")], "or")
    return f"the request didn't say what to change; an update needs at least one of {fields}"


def _unknown_tool(m: re.Match[str], name_of: NameOf) -> str:
    return f"the CRM has no operation called {m['tool']}"


def _invalid(m: re.Match[str], name_of: NameOf) -> str:
    hint = " (dates are written YYYY-MM-DD)" if m["what"].startswith("date") else ""
    return f"{_quoted(m['value'])} isn't a valid {m['what']}{hint}"


def _has_contracts(m: re.Match[str], name_of: NameOf) -> str:
    target = name_of(m["id"]) or "the opportunity"
    if m["rule"] == "cannot be deleted":
        return f"{target} has a contract, so it can't be deleted (it can be closed as Closed-Lost instead)"
    return f"{target} has a contract with its client, so it can't move to another client"


_RULES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str], NameOf], str]], ...] = tuple(
    (re.compile(pattern), build) for pattern, build in (
        (r"(?P<field>\w+): (?P<value>[-\d.e+]+) is out of range; (?P<rule>[^.;]*\d)", _out_of_range),
        (r"(?P<field>\w+): (?P<value>[-\d.e+]+) is not allowed; probability is a whole number", _probability),
        (r"(?P<field>\w+)='(?P<value>[^']*)' is in the past; it must be on or after today's date "
         r"(?P<today>\d{4}-\d{2}-\d{2})", _past_date),
        (r"Another (?P<entity>\w+) \(.*?\) already uses the e-mail '(?P<value>[^']*)'", _duplicate_email),
        (r"(?P<field>\w+): '(?P<value>[^']*)' is not a valid record id", _malformed_id),
        (r"missing required argument '(?P<field>[\w.]+)'", _missing),
        (r"(?P<field>\w+): '(?P<value>[^']*)' is not an accepted file name;.*?ending in one of "
         r"(?P<extensions>[.\w, ]+?) \(e\.g\.", _file_name),
        (r"(?P<field>[\w.]+)='(?P<value>[^']*)' is not allowed; use exactly one of: (?P<values>[^()]*?) "
         r"\(case-sensitive\)", _enum),
        (r"\w+ '(?P<id>[^']*)' is (?P<stage>[\w-]+), so its (?P<frozen>[\w, ]+?) cannot change \(asked to change: "
         r"(?P<asked>[^)]*)\)\. Only (?P<editable>[\w, ]+?) of a closed deal can be edited", _closed_deal),
        (r"No (?P<entity>[\w ]+?) has (?P<field>\w+)='(?P<value>[^']*)'", _not_found),
        (r"is already Canceled; a canceled quote cannot change", _canceled),
        (r"end_date '(?P<end>[^']*)' is before start_date '(?P<start>[^']*)'", _date_order),
        (r"unknown argument '(?P<field>[\w.]+)'", _unknown_argument),
        (r"(?P<field>[\w.]+) must be (?P<kind>a string|a number|a whole number|a list|an object|true or false), "
         r"not \w+ (?P<value>.+?)(?:;|\.?$)", _wrong_type),
        (r"(?P<field>[\w.]+) must be (?P<op>>=|<=|>|<) (?P<limit>\S+) \(got (?P<value>[^)]*)\)", _bound),
        (r"nothing to update; give at least one of: (?P<fields>[\w, ]+)", _nothing),
        (r"\w+ '(?P<id>[^']*)' has contract\(s\) [^;]*(?:with client '[^']*')?; it (?P<rule>cannot be deleted|"
         r"cannot move to another client)", _has_contracts),
        (r"Unknown tool '(?P<tool>[^']*)'", _unknown_tool),
        (r"(?P<field>\w+): '(?P<value>[^']*)' is not a valid (?P<what>e-mail address|URL)", _invalid),
        (r"(?P<field>\w+): '(?P<value>[^']*)' is not an ISO (?P<what>date(?:-time)?)", _invalid),
    )
)


def plain_reason(error: str, name_of: NameOf | None = None) -> str:
    """The refusal's reason as a clause (lower-case start, no final period).

    Args:
        error: The tool's error message.
        name_of: Names a record by id when the agent knows it (a closed deal is then named).
    """
    lookup: NameOf = name_of or _no_name
    for pattern, build in _RULES:
        match = pattern.search(error)
        if match:
            return build(match, lookup)
    return _cleaned(error)


def _no_name(record_id: str) -> str | None:
    return None


def _cleaned(error: str) -> str:
    """A message no rule knows, with the program-only parts removed."""
    text = _TOOL_PREFIX.sub("", error.strip())
    text = re.sub(r"\s*Allowed arguments:.*$", "", text)
    text = re.sub(r"\s*\((?:use|search)[^)]*\)", "", text)
    text = re.sub(r";?\s*(?:check the id|use \w+_\w+ to)[^.;]*", "", text)
    text = re.sub(r"\b([a-z]+(?:_[a-z]+)+)=", lambda m: field_words(m.group(1)) + " ", text)
    text = re.sub(r"\b([a-z]+_[a-z_]+)\b", lambda m: field_words(m.group(1)), text)
    text = text.strip().rstrip(".").strip()
    if text[:1].isupper() and text[1:2].islower():
        text = text[0].lower() + text[1:]
    return text or "the CRM rejected the request"
