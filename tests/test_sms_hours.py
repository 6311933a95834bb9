"""The office-hours SMS (GIOLAMVIEC / HOURS) states the hours from the data: the file's until
admins import the office hours in the dashboard, then theirs."""

from __future__ import annotations

import uuid
from datetime import time

from hotline.extensions import db
from hotline.models import OfficeHours
from hotline.office_hours import describe_week
from hotline.sms.pipeline import REPLY_RETURN, receive_sms
from hotline.sms.text import GSM7_SEGMENT, is_gsm7

PHONE = "+84912345678"


def ask(text: str) -> str:
    inbound = receive_sms(
        provider="test", dedup_key=uuid.uuid4().hex, from_number=PHONE, text=text, reply_mode=REPLY_RETURN
    )
    assert inbound.message.intent == "hours"
    reply = inbound.reply
    assert is_gsm7(reply) and len(reply) <= GSM7_SEGMENT, reply
    return reply


def imported(rows):
    db.session.add_all(
        OfficeHours(weekday=day, opens=time.fromisoformat(a), closes=time.fromisoformat(b))
        for day, a, b in rows
    )
    db.session.commit()


def test_hours_come_from_office_hours_yaml_until_imported(app):
    assert ask("gio lam viec") == (
        "UBND xa lam viec T2-T6 7:00-11:30, 13:30-17:00; T7 7:30-11:30. "
        "Hotline nhan tin nhan va cuoc goi ca ngay lan dem."
    )
    assert ask("HOURS").startswith("UBND xa lam viec")  # a bare keyword from a Vietnamese phone
    english = ask("office hours please")  # clearly English
    assert english.startswith("The commune office is open Mon-Fri 7:00-11:30, 13:30-17:00; Sat 7:30-11:30.")


def test_imported_office_hours_take_over(app):
    imported([(day, "07:30", "11:30") for day in range(5)] + [(day, "13:00", "17:00") for day in range(5)])
    imported([(2, "18:00", "20:00"), (6, "08:00", "10:00")])  # late Wednesday, Sunday morning
    vi = ask("giờ làm việc")
    assert vi == (  # too long for the full wording: the short one
        "Gio lam viec UBND xa: T2-T3 7:30-11:30, 13:00-17:00; T4 7:30-11:30, 13:00-17:00, 18:00-20:00; "
        "T5-T6 7:30-11:30, 13:00-17:00; CN 8:00-10:00"
    )
    assert "7:00-11:30" not in vi and "T7" not in vi
    english = ask("office hours please")
    assert english.startswith("Commune office hours: Mon-Tue 7:30-11:30, 13:00-17:00; Wed ")


def test_an_irregular_week_still_fits_one_segment(app):
    imported(
        (day, f"{7 + day:02d}:{m:02d}", f"{7 + day:02d}:{m + 15:02d}")
        for day in range(7)
        for m in (0, 20, 40)
    )
    for text in ("giolamviec", "hours"):
        reply = ask(text)
        assert reply.endswith("...") and ("T2 7:00-7:15" in reply or "Mon 7:00-7:15" in reply)


def test_no_hours_at_all_says_so(app):
    app.extensions["hotline.office_hours"].hours = {}
    assert ask("giolamviec").startswith("UBND xa chua co gio lam viec co dinh.")


def test_describe_week_groups_consecutive_days_only():
    same = [(time(8), time(12))]
    week = {0: same, 1: same, 3: same, 4: same, 5: [(time(8), time(11))]}
    names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    assert describe_week(week, names) == "Mon-Tue 8:00-12:00; Thu-Fri 8:00-12:00; Sat 8:00-11:00"
    assert describe_week({}, names) == ""
