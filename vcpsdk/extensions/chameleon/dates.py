"""Dates of Blazar leases (UTC ``"YYYY-mm-dd HH:MM"``) and the current time (a seam for tests)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from vcpsdk.extensions.chameleon.errors import ChameleonInvalidArgumentError, fail
from vcpsdk.extensions.chameleon.settings import DATE_FORMAT


def utcnow() -> dt.datetime:
    """The current time, timezone-aware UTC (a seam for tests)."""
    return dt.datetime.now(dt.UTC)


def format_date(value: dt.datetime) -> str:
    """``value`` as a UTC ``"YYYY-mm-dd HH:MM"`` string (naive values are taken as UTC).

    Example::

        format_date(datetime.datetime(2020, 7, 31, 12, 0))   # '2020-07-31 12:00'
    """
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return value.strftime(DATE_FORMAT)


def parse_date(value: Any, what: str = "date") -> dt.datetime:
    """Parse a UTC date: ``"YYYY-mm-dd HH:MM"`` or an ISO 8601 string as Blazar answers it.

    Args:
        value: the text, e.g. ``"2020-07-31 12:00"`` or ``"2020-07-31T12:00:00.000000"``.
        what: the name used in the error message.

    Returns:
        a timezone-aware UTC ``datetime``.

    Raises:
        ChameleonInvalidArgumentError: not a string in one of these formats.

    Example::

        parse_date("2020-07-31 12:00").hour   # 12
    """
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            parsed = dt.datetime.strptime(text, DATE_FORMAT)
        except ValueError:
            try:
                parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                fail(
                    ChameleonInvalidArgumentError,
                    f"chameleon: {what} {value!r} is not a UTC date 'YYYY-mm-dd HH:MM'",
                )
    else:
        fail(
            ChameleonInvalidArgumentError,
            f"chameleon: {what} must be a UTC date string 'YYYY-mm-dd HH:MM', not {value!r}",
        )
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def minute(value: dt.datetime) -> dt.datetime:
    return value.replace(second=0, microsecond=0)
