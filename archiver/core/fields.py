"""Field types shared by the envelope and ACS payload models, lenient where ACS is.

ACS sends `version` as a JSON number in some events and a numeric string in others,
and times with `Z`, `+00:00` or other offsets; these types accept exactly those
shapes and nothing looser (no booleans as numbers, no epoch numbers as times).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import PlainValidator, ValidationError

INT64_MAX = 2**63 - 1
_DIGITS = re.compile(r"^[0-9]{1,19}$")
# Azure Table Edm.DateTime starts at 1601-01-01; later years are all representable.
_EARLIEST = datetime(1601, 1, 1, tzinfo=UTC)


def parse_version(value: Any) -> int:
    """Return a version from an int or a numeric string within Int64."""
    if isinstance(value, str) and _DIGITS.match(value):
        value = int(value)
    if type(value) is not int:
        raise ValueError("must be an integer or a string of digits")
    if not 0 <= value <= INT64_MAX:
        raise ValueError("must be between 0 and 2^63-1")
    return value


def parse_timestamp(value: Any) -> datetime:
    """Return an aware datetime from an ISO 8601 string; no offset means UTC."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and 10 <= len(value) <= 40:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("must be an ISO 8601 date-time") from None
    else:
        raise ValueError("must be an ISO 8601 date-time string")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        # An offset can carry year 1 or 9999 past the ends of UTC; such a time has no
        # UTC spelling to store, so it is refused here rather than failing at write time.
        in_range = moment.astimezone(UTC) >= _EARLIEST
    except OverflowError:
        in_range = False
    if not in_range:
        raise ValueError("must be a UTC time from 1601-01-01 to 9999-12-31")
    return moment


def format_timestamp(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a `Z`, milliseconds unless finer digits are present."""
    if moment is None:
        return None
    utc = moment.astimezone(UTC)
    spec = "milliseconds" if utc.microsecond % 1000 == 0 else "microseconds"
    return utc.isoformat(timespec=spec).replace("+00:00", "Z")


Version = Annotated[int, PlainValidator(parse_version)]
Timestamp = Annotated[datetime, PlainValidator(parse_timestamp)]


def describe(error: ValidationError) -> str:
    """A short, single-line account of what failed validation, for a quarantine entry."""
    problems = []
    for issue in error.errors(include_url=False, include_input=False)[:5]:
        where = ".".join(str(part) for part in issue["loc"]) or "event"
        problems.append(f"{where}: {issue['msg']}")
    more = error.error_count() - len(problems)
    return "; ".join(problems) + (f" (and {more} more)" if more > 0 else "")
