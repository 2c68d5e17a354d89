"""The injectable episode clock.

Every store runs at a frozen ``as_of`` instant: date rules compare against it and timestamps are
taken from it, so fixtures never expire and replays are reproducible. The wall clock is never read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from crm_env.errors import ConfigError

DEFAULT_AS_OF = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)


def parse_as_of(value: datetime | date | str | None) -> datetime:
    """Turn a user-supplied ``as_of`` into an aware UTC datetime.

    Args:
        value: A datetime, a date (taken at 09:00 UTC), an ISO 8601 string, or None for the default.

    Raises:
        ConfigError: The value is not a date or date-time.
    """
    if value is None:
        return DEFAULT_AS_OF
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value) if "T" in value or " " in value else date.fromisoformat(value)
        except ValueError:
            raise ConfigError(
                f"as_of {value!r} is not an ISO date or date-time; use e.g. '2026-01-15' or '2026-01-15T09:00:00Z'"
            ) from None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(9, 0), tzinfo=UTC)
    raise ConfigError(f"as_of must be a date, datetime or ISO string, not {type(value).__name__}")


@dataclass(frozen=True, slots=True)
class Clock:
    """A frozen clock: ``now`` never moves during an episode."""

    as_of: datetime

    @classmethod
    def at(cls, value: datetime | date | str | None = None) -> Clock:
        return cls(parse_as_of(value))

    @property
    def today(self) -> date:
        return self.as_of.date()

    @property
    def today_iso(self) -> str:
        return self.as_of.date().isoformat()

    def timestamp(self) -> str:
        """The ISO 8601 timestamp stamped on created records."""
        return format_timestamp(self.as_of)


def format_timestamp(value: datetime) -> str:
    """Canonical text of a timestamp (UTC, seconds precision) shared by every backend."""
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
