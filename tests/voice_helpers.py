"""Helpers for voice tests: what the caller hears, and the flow's data."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from hotline import clock
from hotline.extensions import db
from hotline.office_hours import OfficeHours

DIGIT_WORDS = ["không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín"]


@pytest.fixture
def app_settings(tmp_path) -> dict:
    """The voice tests' app (a module imports this fixture): an empty folder of recorded prompts,
    so every prompt is heard as its text and no recording on disk decides a result."""
    return {"AUDIO_DIR": str(tmp_path / "audio")}


def spoken(code: str) -> str:
    """How a code sounds in `Call.said()`: one Say per digit (pauses between are not text)."""
    return " ".join(DIGIT_WORDS[int(digit)] for digit in code)


def count(model) -> int:
    db.session.remove()
    return db.session.scalar(select(func.count()).select_from(model))


def tickets():
    from hotline.models import Ticket

    db.session.remove()
    return list(db.session.scalars(select(Ticket).order_by(Ticket.id)))


def set_office(app, *, open_now: bool, on_duty=("+84903100201", "+84903100202")) -> None:
    """Office hours as data: always open (every day, all day) or always closed.

    Open: the clock also moves to 10:00 in the commune today, so the last second of the
    day (outside "all day", which ends 23:59:59) never decides the result."""
    tz = app.extensions["hotline.office_hours"].timezone
    if open_now:
        clock.travel_to(dt.datetime.combine(clock.today(tz), dt.time(10, 0), tzinfo=tz))
    hours = {day: [(dt.time(0, 0), dt.time(23, 59, 59))] for day in range(7)} if open_now else {}
    app.extensions["hotline.office_hours"] = OfficeHours(tz, hours, set(), list(on_duty), 15)
