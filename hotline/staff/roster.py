"""The duty roster and office hours, in the commune's local time."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from ..extensions import db
from ..models import OfficeHours, RosterShift, Staff


def local(now: datetime) -> datetime:
    return now.astimezone(ZoneInfo(current_app.config["TIMEZONE"]))


def in_office_hours(now: datetime) -> bool:
    here = local(now)
    return (
        db.session.scalar(
            select(OfficeHours.id)
            .where(
                OfficeHours.weekday == here.weekday(),
                OfficeHours.opens <= here.time(),
                OfficeHours.closes > here.time(),
            )
            .limit(1)
        )
        is not None
    )


def has_office_hours() -> bool:
    return db.session.scalar(select(OfficeHours.id).limit(1)) is not None


def weekly_hours() -> dict[int, list[tuple[time, time]]]:
    """The imported office hours by weekday (0 = Monday), each day's spans in order."""
    week: dict[int, list[tuple[time, time]]] = {}
    rows = db.session.execute(
        select(OfficeHours.weekday, OfficeHours.opens, OfficeHours.closes).order_by(
            OfficeHours.weekday, OfficeHours.opens
        )
    )
    for weekday, opens, closes in rows:
        week.setdefault(weekday, []).append((opens, closes))
    return week


def has_roster() -> bool:
    return db.session.scalar(select(RosterShift.id).limit(1)) is not None


def on_duty_numbers(now: datetime, *, hours_checked: bool = False) -> list[str]:
    """Phones (E.164) of staff on duty at `now`, in ring order; empty outside office hours.

    `hours_checked`: the caller (hotline.office_hours) already applied hours and holidays.
    """
    if not hours_checked and not in_office_hours(now):
        return []
    here = local(now)
    rows = db.session.execute(
        select(Staff.phone)
        .join(RosterShift, RosterShift.staff_id == Staff.id)
        .where(
            RosterShift.weekday == here.weekday(),
            RosterShift.starts <= here.time(),
            RosterShift.ends > here.time(),
            Staff.active.is_(True),
            Staff.phone.is_not(None),
        )
        .order_by(RosterShift.position, Staff.id)
    )
    seen: list[str] = []
    for (phone,) in rows:
        if phone is not None and phone not in seen:
            seen.append(phone)
    return seen
