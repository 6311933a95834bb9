"""How dates, times, phone numbers and report periods read on the dashboard and in its CSV.

One place for the formats people read: dd/mm/yyyy dates and 24-hour times in the
commune's time zone (`TIMEZONE`), phone numbers grouped the way Vietnamese write them
(`0912 345 678`, with the E.164 form kept for `tel:` links), and report periods as words
("Tuần 49, 2026", not the ISO key `2026-W49` the report groups on).
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import phonenumbers
from flask import current_app
from flask_babel import format_decimal
from flask_babel import gettext as _

DATE = "%d/%m/%Y"
DATETIME = "%d/%m/%Y %H:%M"


def zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def localtime(value: datetime | None, fmt: str = DATETIME) -> str:
    """A stored (UTC) moment in the commune's time zone; "" for none."""
    if value is None:
        return ""
    return value.astimezone(zone()).strftime(fmt)


def day(value: date | None) -> str:
    return value.strftime(DATE) if value is not None else ""


def phone(value: str | None) -> str:
    """`+84912345678` → `0912 345 678` (national format for Vietnamese numbers, international
    for others); what is not a number stays as stored."""
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, "VN")
    except phonenumbers.NumberParseException:
        return value
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if number.country_code == 84
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, style)


def period(key: str) -> str:
    """A report period key (`2026-11-30`, `2026-W49`, `2026-11`) in words."""
    try:
        if "-W" in key:
            year, week = key.split("-W")
            return _("Week %(week)s, %(year)s", week=int(week), year=int(year))
        if key.count("-") == 2:
            return day(date.fromisoformat(key))
        if key.count("-") == 1:
            year, month = key.split("-")
            return _("Month %(month)s, %(year)s", month=int(month), year=int(year))
    except ValueError:
        pass
    return key


def percent(share: float | None) -> str:
    """A share (0.953) as a percentage with the reader's decimal mark: "95,3" or "95.3";
    "—" when there is nothing to divide."""
    if share is None:
        return "—"
    return format_decimal(100 * share, format="0.0")
