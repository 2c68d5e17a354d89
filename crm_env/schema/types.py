"""Field types shared by the entity models and the tool signatures.

Each type carries its own check and a message that tells the caller how to fix the value, so a rule
is written once whether it guards a seed record or a tool argument.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, Strict, WithJsonSchema

from crm_env.schema.clock import format_timestamp
from crm_env.schema.enums import Entity

MAX_AMOUNT = 10_000_000
MAX_TEXT = 2_000
MAX_LONG_TEXT = 20_000
DOCUMENT_EXTENSIONS: tuple[str, ...] = ("pdf", "doc", "docx", "ppt", "pptx", "xlsx", "csv", "txt", "key")
# Extensions match in lower or upper case (not mixed), exactly as the JSON-schema pattern says.
_EXTENSIONS = DOCUMENT_EXTENSIONS + tuple(e.upper() for e in DOCUMENT_EXTENSIONS)

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\.([A-Za-z0-9]+)$")
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$")


@dataclass(frozen=True, slots=True)
class References:
    """Marks an id field as a foreign key to another entity."""

    entity: Entity


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_storable(value: str) -> None:
    # Every backend must accept what the domain accepts: PostgreSQL text cannot hold NUL, and no UTF-8
    # database can hold an unpaired surrogate (which JSON escapes such as "\\ud800" can carry).
    if "\x00" in value:
        raise ValueError("contains a NUL character (\\x00), which cannot be stored; remove it")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("contains an unpaired surrogate character, which is not valid text; remove it") from None


def _check_id(value: str) -> str:
    if not _UUID.match(value):
        raise ValueError(
            f"{_short(value)} is not a valid record id; ids are UUIDs such as "
            "'3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b' (search for the record to find its id)"
        )
    return value.lower()


def _check_text(limit: int):
    def check(value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank; give a non-empty value or leave the argument out")
        if len(value) > limit:
            raise ValueError(f"is too long ({len(value)} characters); keep it within {limit}")
        _check_storable(value)
        return value

    return check


def _check_email(value: str) -> str:
    if len(value) > 254 or not _EMAIL.match(value):
        raise ValueError(f"{_short(value)} is not a valid e-mail address; use the form name@example.com")
    _check_storable(value)
    return value


def _check_amount(value: float) -> float:
    if not math.isfinite(value) or value <= 0 or value > MAX_AMOUNT:
        raise ValueError(f"{_short(value)} is out of range; amounts must be greater than 0 and at most {MAX_AMOUNT:,}")
    return float(value)


def _check_value(value: float) -> float:
    if not math.isfinite(value) or value < 0 or value > MAX_AMOUNT:
        raise ValueError(f"{_short(value)} is out of range; contract values must be between 0 and {MAX_AMOUNT:,}")
    return float(value)


def _check_probability(value: float) -> int:
    if not math.isfinite(value) or value != int(value) or not 0 <= value <= 100:
        raise ValueError(f"{_short(value)} is not allowed; probability is a whole number from 0 to 100")
    return int(value)


def _check_date(value: str) -> str:
    try:
        if not _DATE.match(value):
            raise ValueError
        date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{_short(value)} is not an ISO date; use YYYY-MM-DD, e.g. '2026-03-31'") from None
    return value


def _check_timestamp(value: str) -> str:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{_short(value)} is not an ISO date-time; use e.g. '2026-01-15T09:00:00Z'") from None
    if parsed.tzinfo is None:
        raise ValueError(f"{_short(value)} has no time zone; add one, e.g. '2026-01-15T09:00:00Z'")
    return format_timestamp(parsed)


def _check_file_name(value: str) -> str:
    match = _FILE_NAME.match(value)
    if len(value) > 255 or not match or match.group(1) not in _EXTENSIONS:
        raise ValueError(
            f"{_short(value)} is not an accepted file name; use letters, digits, '.', '_' or '-' "
            f"ending in one of .{', .'.join(DOCUMENT_EXTENSIONS)} (e.g. 'proposal_v2.pdf')"
        )
    return value


def _check_url(value: str) -> str:
    if len(value) > MAX_TEXT or not _URL.match(value):
        raise ValueError(f"{_short(value)} is not a valid URL; use an http(s) address")
    _check_storable(value)
    return value


def _integral(value: object) -> object:
    # JSON has one number type: accept 50.0 where a whole number is meant, but not True.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _schema(json_type: str, **extra: object) -> WithJsonSchema:
    return WithJsonSchema({"type": json_type, **extra})


Id = Annotated[str, Strict(), AfterValidator(_check_id), _schema("string", format="uuid")]
Text = Annotated[str, Strict(), AfterValidator(_check_text(MAX_TEXT)), _schema("string", maxLength=MAX_TEXT)]
LongText = Annotated[
    str, Strict(), AfterValidator(_check_text(MAX_LONG_TEXT)), _schema("string", maxLength=MAX_LONG_TEXT)
]
Email = Annotated[str, Strict(), AfterValidator(_check_email), _schema("string", format="email")]
Amount = Annotated[
    float, Strict(), AfterValidator(_check_amount), _schema("number", exclusiveMinimum=0, maximum=MAX_AMOUNT)
]
ContractValue = Annotated[
    float, Strict(), AfterValidator(_check_value), _schema("number", minimum=0, maximum=MAX_AMOUNT)
]
Probability = Annotated[
    float, Strict(), AfterValidator(_check_probability), _schema("integer", minimum=0, maximum=100)
]
IsoDate = Annotated[str, Strict(), AfterValidator(_check_date), _schema("string", format="date")]
Timestamp = Annotated[str, Strict(), AfterValidator(_check_timestamp), _schema("string", format="date-time")]
FileName = Annotated[
    str,
    Strict(),
    AfterValidator(_check_file_name),
    _schema("string", pattern=rf"^[A-Za-z0-9][A-Za-z0-9._-]*\.({'|'.join(_EXTENSIONS)})$", maxLength=255),
]
Url = Annotated[str, Strict(), AfterValidator(_check_url), _schema("string", format="uri")]
PageSize = Annotated[int, BeforeValidator(_integral), Strict(), Field(ge=1, le=100)]
# Bounded so that every backend can take it (SQLite integers are 64-bit; 1e300 is a whole number too).
MAX_OFFSET = 1_000_000
Offset = Annotated[int, BeforeValidator(_integral), Strict(), Field(ge=0, le=MAX_OFFSET)]

ClientId = Annotated[Id, References(Entity.CLIENT)]
ContactId = Annotated[Id, References(Entity.CONTACT)]
OpportunityId = Annotated[Id, References(Entity.OPPORTUNITY)]
QuoteId = Annotated[Id, References(Entity.QUOTE)]
ContractId = Annotated[Id, References(Entity.CONTRACT)]
CompanyId = Annotated[Id, References(Entity.COMPANY)]
DocumentId = Annotated[Id, References(Entity.DOCUMENT)]
NoteId = Annotated[Id, References(Entity.NOTE)]
