"""Outcomes of a callback, the jobs they queue (real Redis, real RQ worker; work for later is an
outbox row with run_at, run by moving hotline.clock past it), the callback through the hotline
number, and SMS through the fake Twilio REST API."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import select

from hotline import clock
from hotline.extensions import db
from hotline.models import HomeVisit, OutboxMessage, Staff, Ticket, utcnow
from hotline.queueing import get_redis
from hotline.staff import outcomes
from tests.conftest import HOTLINE_NUMBER, twilio_rest_config
from tests.staff_fixtures import *  # noqa: F403  (fixtures)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
LAN_PHONE, HUNG_PHONE = "+84911000001", "+84911000003"  # see tests/staff_fixtures.World


@pytest.fixture
def app(app_factory, twilio_api):
    """The app with Twilio credentials pointing at the fake REST API."""
    app = app_factory(**twilio_rest_config(twilio_api))
    with app.app_context():
        yield app
        db.session.remove()


def fresh(ticket_id: int) -> Ticket:
    db.session.remove()
    return db.session.get(Ticket, ticket_id)


def staff(username: str) -> Staff:
    return db.session.scalar(select(Staff).where(Staff.username == username))


def claimed(world, village=None, **kw) -> Ticket:
    from hotline.staff import claims

    ticket = world.ticket(village or world.village_a, **kw)
    claims.claim(ticket, staff("lan"))
    return db.session.get(Ticket, ticket.id)


def scheduled() -> dict[str, datetime]:
    """Outbox rows waiting for their run_at (by job id): work for later, kept in the database."""
    db.session.remove()
    waiting = select(OutboxMessage).where(
        OutboxMessage.run_at.is_not(None), OutboxMessage.relayed_at.is_(None), OutboxMessage.run_at > utcnow()
    )
    return {row.job_id: row.run_at for row in db.session.scalars(waiting)}


def fire(job_id: str, work_queue) -> None:
    """Move the hotline's clock just past the row's run_at; the relay enqueues it and a real
    worker (forked inside the moved clock) runs it."""
    run_at = scheduled()[job_id]
    with clock.travel(run_at - utcnow() + timedelta(seconds=1)):
        work_queue()
    db.session.remove()
    assert db.session.scalar(select(OutboxMessage).where(OutboxMessage.job_id == job_id)).finished_at


def deliver_again(job_id: str, work_queue) -> None:
    """The same job once more (as RQ would after a lost acknowledgement), by its registered name."""
    row = db.session.scalar(select(OutboxMessage).where(OutboxMessage.job_id == job_id))
    Queue("default", connection=get_redis()).enqueue(row.func, *row.args)
    work_queue()


def test_resolved_sends_one_sms_to_the_resident(world, login, work_queue, twilio_api):
    ticket = claimed(world)
    tid, code, _phone = ticket.id, ticket.code, ticket.phone
    login("lan").post(f"/staff/t/{code}/outcome", data={"outcome": "resolved", "note": "đã hướng dẫn"})
    work_queue()
    work_queue()
    ticket = fresh(tid)
    assert ticket.status == "resolved" and ticket.outcome == "resolved" and ticket.closed_at
    assert [m["To"] for m in twilio_api.messages] == [ticket.phone]
    body = twilio_api.messages[0]["Body"]
    assert ticket.code in body and body.isascii() and len(body) <= 160
    assert [e.kind for e in ticket.events].count("sms_sent") == 1


def test_no_answer_retries_later_then_asks_the_resident_to_call(world, login, work_queue, twilio_api):
    clock.travel_to(datetime(2026, 12, 1, 8, 0, tzinfo=TZ))  # a Tuesday: both retries fall in office hours
    ticket = claimed(world)
    tid, code, _phone = ticket.id, ticket.code, ticket.phone
    lan = login("lan")
    before = utcnow()
    lan.post(f"/staff/t/{code}/outcome", data={"outcome": "no_answer"})
    ticket = fresh(tid)
    assert ticket.attempts == 1 and ticket.assignee_id is None and ticket.status == "open"
    assert ticket.next_attempt_at - before == pytest.approx(timedelta(hours=2), abs=timedelta(seconds=30))
    # Waiting requests leave the active queue until their time comes.
    assert code not in lan.get("/staff/").get_data(as_text=True)
    assert code in lan.get("/staff/?status=waiting").get_data(as_text=True)

    work_queue()  # the retry is not due: it stays in the database
    job_id = f"retry-{tid}-1"
    next_attempt = fresh(tid).next_attempt_at
    assert scheduled()[job_id] == next_attempt  # still in the outbox, not relayed
    fire(job_id, work_queue)
    ticket = fresh(tid)
    assert ticket.next_attempt_at is None and ticket.events[-1].kind == "retry_due"
    assert code in lan.get("/staff/").get_data(as_text=True)

    # Second try: the next morning at 08:00 local time.
    lan.post(f"/staff/t/{code}/claim")
    lan.post(f"/staff/t/{code}/outcome", data={"outcome": "no_answer"})
    ticket = fresh(tid)
    local = ticket.next_attempt_at.astimezone(TZ)
    assert (local.hour, local.minute) == (8, 0) and local.date() == utcnow().astimezone(
        TZ
    ).date() + timedelta(1)
    work_queue()
    assert f"retry-{tid}-2" in scheduled()
    deliver_again(f"retry-{tid}-1", work_queue)  # a stale retry changes nothing
    assert fresh(tid).next_attempt_at is not None

    # Third and last try: no more retries, an SMS asks the resident to call the hotline.
    lan.post(f"/staff/t/{code}/claim")
    lan.post(f"/staff/t/{code}/outcome", data={"outcome": "no_answer"})
    work_queue()
    ticket = fresh(tid)
    assert ticket.status == "resolved" and ticket.outcome == "unreachable" and ticket.attempts == 3
    assert f"retry-{tid}-3" not in scheduled()
    assert len(twilio_api.messages) == 1 and "3" in twilio_api.messages[0]["Body"]


@pytest.mark.parametrize(
    ("now", "attempt", "expected"),
    [
        ((2026, 12, 1, 15, 4), 1, (2026, 12, 2, 7, 0)),  # 17:04 after a 17:00 close: tomorrow's opening
        ((2026, 12, 1, 10, 0), 1, (2026, 12, 1, 13, 30)),  # 12:00 falls in the lunch break
        ((2026, 12, 1, 8, 0), 1, (2026, 12, 1, 10, 0)),  # open then: two hours later, unmoved
        ((2026, 12, 4, 16, 0), 1, (2026, 12, 5, 7, 30)),  # Friday evening: Saturday's opening
        ((2026, 12, 5, 10, 0), 1, (2026, 12, 7, 7, 0)),  # Saturday noon is closed, Sunday too
        ((2026, 12, 5, 10, 0), 2, (2026, 12, 7, 7, 0)),  # "next morning" is a Sunday
        ((2026, 12, 1, 16, 0), 2, (2026, 12, 2, 8, 0)),  # the next morning at 08:00, open
        ((2026, 8, 31, 16, 0), 1, (2026, 9, 3, 7, 0)),  # National Day holidays on 1 and 2 September
    ],
)
def test_a_no_answer_retry_never_falls_outside_office_hours(app, now, attempt, expected):
    moment = datetime(*now, tzinfo=TZ)
    assert outcomes.next_retry_time(attempt, moment) == datetime(*expected, tzinfo=TZ)


def test_a_retry_after_closing_time_is_shown_at_the_next_opening(world, login):
    clock.travel_to(datetime(2026, 12, 1, 15, 4, tzinfo=TZ))
    ticket = claimed(world)
    login("lan").post(f"/staff/t/{ticket.code}/outcome", data={"outcome": "no_answer"})
    ticket = fresh(ticket.id)
    assert ticket.next_attempt_at.astimezone(TZ) == datetime(2026, 12, 2, 7, 0, tzinfo=TZ)
    assert ticket.events[-1].message.endswith("back in the queue at 02/12 07:00")


def test_wrong_number_closes_without_sms(world, login, work_queue, twilio_api):
    ticket = claimed(world)
    tid, code, _phone = ticket.id, ticket.code, ticket.phone
    login("lan").post(f"/staff/t/{code}/outcome", data={"outcome": "wrong_number"})
    work_queue()
    ticket = fresh(tid)
    assert ticket.status == "cancelled" and ticket.outcome == "wrong_number" and twilio_api.messages == []


def test_home_visit_texts_the_resident_now_and_the_day_before_and_the_volunteer(
    world, login, work_queue, twilio_api, redis_url
):
    ticket = claimed(world)
    tid, code, phone = ticket.id, ticket.code, ticket.phone
    visit_on = utcnow().astimezone(TZ).date() + timedelta(days=3)
    lan = login("lan")
    lan.post(
        f"/staff/t/{code}/outcome",
        data={"outcome": "home_visit", "visit_on": visit_on.isoformat(), "volunteer_id": world.vol_a2.id},
    )
    work_queue()
    ticket = fresh(tid)
    visit = db.session.scalar(select(HomeVisit))
    assert (
        ticket.outcome == "home_visit" and ticket.assignee.username == "hung" and visit.visit_on == visit_on
    )
    to = sorted(m["To"] for m in twilio_api.messages)
    assert to == sorted([ticket.phone, HUNG_PHONE])
    booked_sms = next(m["Body"] for m in twilio_api.messages if m["To"] == phone)
    assert f"ngay {visit_on:%d/%m}" in booked_sms and code in booked_sms
    assert booked_sms.isascii() and len(booked_sms) <= 160
    job = next(j for j in db.session.scalars(select(OutboxMessage)) if j.job_id.startswith("staff-sms-visit"))
    assert job.args[-1] == {"date": f"{visit_on:%d/%m}"}  # JSON-safe strings in the outbox
    volunteer_sms = next(m["Body"] for m in twilio_api.messages if m["To"] == HUNG_PHONE)
    assert ticket.code in volunteer_sms and ticket.phone in volunteer_sms and "Thon 1" in volunteer_sms
    assert volunteer_sms.isascii() and len(volunteer_sms) <= 160
    remind_at = scheduled()[f"visit-reminder-{visit.id}"]
    expected = datetime.combine(visit_on - timedelta(days=1), datetime.min.time().replace(hour=8), tzinfo=TZ)
    assert remind_at == expected
    Redis.from_url(redis_url).flushall()  # Redis loses its data before the reminder is due: nothing is lost
    fire(f"visit-reminder-{visit.id}", work_queue)
    assert len(twilio_api.messages) == 3
    reminder = twilio_api.messages[-1]
    assert f"ngay mai {visit_on:%d/%m}" in reminder["Body"] and reminder["To"] == phone
    assert reminder["Body"].isascii() and len(reminder["Body"]) <= 160
    # A visit in the past is refused.
    other = claimed(world)
    three_days_ago = utcnow().astimezone(TZ).date() - timedelta(3)
    page = lan.post(
        f"/staff/t/{other.code}/outcome",
        data={"outcome": "home_visit", "visit_on": three_days_ago.isoformat()},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Ngày hẹn đã qua: hãy chọn hôm nay hoặc một ngày sau." in page


def test_transfer_moves_the_request_to_another_team(world, login):
    ticket = claimed(world)
    tid, code, _phone = ticket.id, ticket.code, ticket.phone
    login("lan").post(f"/staff/t/{code}/outcome", data={"outcome": "transferred", "team_id": world.team_b.id})
    ticket = fresh(tid)
    assert ticket.team_id == world.team_b.id and ticket.assignee_id is None and ticket.status == "open"
    assert login("lan").get(f"/staff/t/{code}").status_code == 403
    assert login("minh").get(f"/staff/t/{code}").status_code == 200


def test_call_back_rings_the_staff_phone_then_the_resident_as_the_hotline(
    world, login, work_queue, twilio_api
):
    ticket = claimed(world)
    tid, code, phone = ticket.id, ticket.code, ticket.phone
    page = login("lan").post(f"/staff/t/{code}/callback", follow_redirects=True).get_data(as_text=True)
    assert "+84911000001" in page
    work_queue()
    assert len(twilio_api.calls) == 1
    call = twilio_api.calls[0]
    assert call["To"] == LAN_PHONE and call["From"] == HOTLINE_NUMBER
    import xml.etree.ElementTree as ET

    dial = ET.fromstring(call["Twiml"]).find("Dial")
    assert dial.get("callerId") == HOTLINE_NUMBER and dial.find("Number").text == phone
    assert fresh(tid).events[-1].kind == "callback_placed"


def test_without_twilio_credentials_the_page_shows_the_number_to_dial(app_factory):
    from tests.staff_fixtures import StaffClient, World

    plain = app_factory()
    with plain.app_context():
        world = World()
        ticket = world.ticket(world.village_a)
        lan = StaffClient(plain, "lan")
        unclaimed = lan.get(f"/staff/t/{ticket.code}").get_data(as_text=True)
        assert 'id="call-back"' not in unclaimed  # calling back is for whoever holds it
        lan.post(f"/staff/t/{ticket.code}/claim")
        # The page offers a one-tap call to the resident's number instead of the hotline's.
        shown = lan.get(f"/staff/t/{ticket.code}").get_data(as_text=True)
        assert f'id="call-back" href="tel:{ticket.phone}"' in shown
        assert "Gọi 0911 000 001 từ máy của bạn" in shown and ticket.phone == "+84911000001"
        # A form posted from an older page still says which number to dial.
        page = lan.post(f"/staff/t/{ticket.code}/callback", follow_redirects=True)
        assert "Hãy tự gọi số 0911 000 001" in page.get_data(as_text=True)
        db.session.remove()


def test_claiming_a_waiting_request_early_makes_its_scheduled_retry_a_no_op(world, login):
    ticket = claimed(world)
    tid, code = ticket.id, ticket.code
    lan = login("lan")
    lan.post(f"/staff/t/{code}/outcome", data={"outcome": "no_answer"})
    assert fresh(tid).next_attempt_at is not None
    lan.post(f"/staff/t/{code}/claim")
    assert fresh(tid).next_attempt_at is None
    assert outcomes.return_to_queue(tid, 1) is False
    assert [e.kind for e in fresh(tid).events].count("retry_due") == 0


def test_ticket_sms_fills_extra_values_in_the_residents_language(world, twilio_api):
    from hotline import messaging

    ticket = world.ticket(world.village_a)
    ticket.language = "en"
    db.session.commit()
    tid, code = ticket.id, ticket.code
    kind = messaging.send_ticket_sms(tid, "visit_booked", "visit-x", date="25/12", code="999999")
    assert kind == "sms_sent"
    body = twilio_api.messages[-1]["Body"]
    assert "on 25/12 about request " + code in body  # {code} always comes from the request
    assert messaging.send_ticket_sms(tid, "visit_booked", "visit-x", date="26/12") == "already_done"
    assert len(twilio_api.messages) == 1
