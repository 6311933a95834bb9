"""A caller with an open request who asks again joins it, as SMS does (the topic and the keys
go on its timeline), unless they choose a new, different procedure; one who hangs up in the
menu after hearing its status leaves a line on it. Signed webhooks, SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from hotline.extensions import db
from hotline.models import Ticket, TicketEvent
from tests.test_voice_paths import node_of, open_request
from tests.voice_helpers import (
    app_settings,  # noqa: F401  (their app: no recorded prompts)
    tickets,
)


def events(ticket_id: int) -> list[TicketEvent]:
    db.session.remove()
    return list(db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
                                   .order_by(TicketEvent.id)))


def test_asking_again_joins_the_open_request(twilio):
    ticket = open_request()  # no procedure yet
    ticket_id = ticket.id
    call = twilio.call()
    call.start()
    for key in ("0", "1", "3"):  # past the status, a procedure, residence
        call.press(key)
    (only,) = tickets()
    assert only.id == ticket_id and only.topic == "residence"
    assert "Yêu cầu của bạn đã được ghi nhận" in call.said()
    line = events(ticket_id)[-1]
    assert line.kind == "callback_requested" and line.actor == "resident:voice"
    assert line.data["channel"] == "voice" and line.data["topic"] == "residence"
    assert line.data["keys"] == ["0", "1", "3"] and line.data["call_sid"] == call.sid


def test_a_different_procedure_opens_a_new_request(twilio):
    ticket_id = open_request().id
    db.session.get(Ticket, ticket_id).topic = "land"
    db.session.commit()
    call = twilio.call()
    call.start()
    for key in ("0", "1", "1"):  # VNeID, not land
        call.press(key)
    first, second = tickets()
    assert first.id == ticket_id and second.topic == "vneid" and second.reason == "callback_requested"


def test_the_same_procedure_joins(twilio):
    ticket_id = open_request().id
    db.session.get(Ticket, ticket_id).topic = "land"
    db.session.commit()
    call = twilio.call()
    call.start()
    for key in ("0", "1", "6"):  # land again
        call.press(key)
    assert [t.id for t in tickets()] == [ticket_id]


def test_hanging_up_in_the_menu_goes_on_the_open_requests_timeline(twilio):
    ticket_id = open_request().id
    call = twilio.call()
    call.start()
    call.press("0")
    assert node_of(call) == "main_menu"
    assert call.status("completed").status_code == 204
    assert [t.id for t in tickets()] == [ticket_id]  # no second request
    line = events(ticket_id)[-1]
    assert line.kind == "dropped_call"
    assert line.data["last_node"] == "caller_status" and line.data["keys"] == ["0"]
    assert line.data["heard"] == "information" and line.data["call_sid"] == call.sid


def test_an_sms_in_vietnamese_keeps_the_mnong_a_caller_chose(twilio):
    import uuid

    from hotline.models import Resident
    from hotline.sms.pipeline import REPLY_RETURN, receive_sms

    call = twilio.call("+84912777888")
    call.start()
    call.press("2")  # M'Nông, remembered
    receive_sms(provider="test", dedup_key=uuid.uuid4().hex, from_number="+84912777888",
                text="toi can giup lam CCCD", reply_mode=REPLY_RETURN)
    db.session.commit()
    db.session.remove()
    assert db.session.scalar(select(Resident.language).where(Resident.phone == "+84912777888")) == "mnong"
    again = twilio.call("+84912777888")
    again.start()
    assert node_of(again) in ("caller_status", "main_menu")  # no language menu: M'Nông remembered
