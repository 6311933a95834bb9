"""Reading form fields and query arguments of the dashboard and the JSON API.

One rule everywhere: a value that is absent or empty means the default; any other value
must parse, or the request is answered 400 (`BadInput`), never 500. Ids are bounded to a
32-bit integer so neither SQLite (OverflowError past 64 bits) nor PostgreSQL (integer out
of range) sees a number it cannot bind; dates are bounded so the arithmetic on them
(a report's last day + 1, a local midnight in UTC) cannot overflow; text may not hold a
NUL character, which PostgreSQL refuses to store or compare.

The dashboard renders `BadInput` as its error page, the API as `{"error": "bad_argument"}`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import overload

from werkzeug.exceptions import BadRequest

#: The largest id a form or a URL may carry (ids are INTEGER columns).
MAX_ID = 2**31 - 1
#: Dates a person may type: anything outside is a typo, and would overflow the arithmetic.
MIN_DATE = date(2000, 1, 1)
MAX_DATE = date(2999, 12, 31)


class BadInput(BadRequest):
    """A form field or query argument that does not parse: a 400 naming the field."""

    def __init__(self, name: str, expected: str):
        super().__init__(f"`{name}` must be {expected}")
        self.field = name
        self.expected = expected


def _raw(source: Mapping, name: str) -> str:
    value = source.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadInput(name, "a string")
    if "\x00" in value:
        raise BadInput(name, "text without NUL characters")
    return value.strip()


def parse_id(value: str) -> int | None:
    """`value` as a row id (1 … MAX_ID), else None. ASCII digits only: `"²".isdigit()` is True."""
    if not (value.isascii() and value.isdigit()) or len(value) > 10:
        return None
    number = int(value)
    return number if 1 <= number <= MAX_ID else None


def optional_id(source: Mapping, name: str) -> int | None:
    """A row id, or None when the field is absent or empty ("—" in a select)."""
    raw = _raw(source, name)
    if raw == "":
        return None
    number = parse_id(raw)
    if number is None:
        raise BadInput(name, f"a number from 1 to {MAX_ID}")
    return number


def page_number(source: Mapping, name: str = "page") -> int:
    """A page of a list: 1 when absent; a page past the end is the last page (the caller clamps)."""
    return optional_id(source, name) or 1


@overload
def choice(source: Mapping, name: str, choices: Iterable[str], default: str) -> str: ...


@overload
def choice(source: Mapping, name: str, choices: Iterable[str], default: None) -> str | None: ...


def choice(source: Mapping, name: str, choices: Iterable[str], default: str | None) -> str | None:
    """One of `choices`, or `default` when absent or empty."""
    raw = _raw(source, name)
    if raw == "":
        return default
    allowed = tuple(choices)
    if raw not in allowed:
        raise BadInput(name, "one of " + ", ".join(allowed))
    return raw


def optional_date(source: Mapping, name: str) -> date | None:
    """A YYYY-MM-DD date between MIN_DATE and MAX_DATE, or None when absent or empty."""
    raw = _raw(source, name)
    if raw == "":
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        day = None
    if day is None or not MIN_DATE <= day <= MAX_DATE:
        raise BadInput(name, f"a date YYYY-MM-DD from {MIN_DATE} to {MAX_DATE}")
    return day


def optional_text(source: Mapping, name: str, max_length: int = 4000) -> str | None:
    """Free text (a note, a filter value), stripped; None when absent or empty."""
    raw = _raw(source, name)
    if len(raw) > max_length:
        raise BadInput(name, f"at most {max_length} characters")
    return raw or None


def check_no_nul(*sources: Mapping) -> None:
    """Refuse a request carrying NUL anywhere in its arguments, form or URL (PostgreSQL
    cannot store or compare it): checked once per request, before any view reads them."""
    for source in sources:
        for name in source:
            values = source.getlist(name) if hasattr(source, "getlist") else [source[name]]
            if any(isinstance(v, str) and "\x00" in v for v in values) or "\x00" in name:
                raise BadInput(name, "text without NUL characters")
