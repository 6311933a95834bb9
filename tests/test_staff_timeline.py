"""The request page's timeline in the viewer's language, rendered from each event's kind and
data; the stored English sentence stays as it was (the CLI and the API read it)."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po
from sqlalchemy import select

from hotline import messaging
from hotline.extensions import db
from hotline.ivr.call_status import callback_for_unfinished_call
from hotline.models import (
    Call,
    EventKind,
    Staff,
    Ticket,
    TicketEvent,
    Transcription,
    TranscriptionStatus,
    utcnow,
)
from hotline.staff import claims, outcomes
from hotline.tickets import add_event, create_ticket
from hotline.transcription.pipeline import _finish
from hotline.voicemail import record_voice_message
from tests.conftest import twilio_rest_config
from tests.staff_fixtures import *  # noqa: F403  (fixtures)

ROOT = Path(__file__).resolve().parent.parent
PHONE = "+84912555001"


@pytest.fixture
def app(app_factory, twilio_api):
    app = app_factory(**twilio_rest_config(twilio_api))
    with app.app_context():
        yield app
        db.session.remove()


def staff(username: str) -> Staff:
    return db.session.scalar(select(Staff).where(Staff.username == username))


def timeline(page: str) -> list[str]:
    items = re.findall(r'<li class="ev ev-[^"]*">(.*?)</li>', page, re.S)
    return [" ".join(unescape(re.sub(r"<[^>]+>", " ", item)).split()) for item in items]


def a_busy_request(world) -> tuple[int, str]:
    """A voice message, its transcript, a dropped call, SMS sent and refused, claims, a
    no-answer, a home visit: each written by the code that writes it in production."""
    world.resident(PHONE, world.village_a)
    db.session.commit()
    ticket = record_voice_message(
        call_sid=None, from_number=PHONE, recording_sid="RE" + "1" * 32,
        recording_url="https://api.twilio.com/rec/RE1", duration=12, language="vi",
    )
    tid = ticket.id
    row = db.session.scalar(select(Transcription).where(Transcription.ticket_id == tid))
    _finish(row, TranscriptionStatus.DONE, "voice message transcribed (confidence 0.87)", row.status,
            confidence=0.87, low_confidence=False, model="vosk-small-vi", seconds=12.0)
    call = Call(call_sid="CA" + "2" * 32, phone=PHONE, status="completed")
    db.session.add(call)
    callback_for_unfinished_call(call, "dropped_call")
    db.session.commit()
    assert messaging.send_ticket_sms(tid, "request_confirmation", "confirmation") == "sms_sent"
    messaging.set_opted_out(PHONE, True)
    db.session.commit()
    assert messaging.send_ticket_sms(tid, "staff_resolved", "again") == "sms_not_sent"
    lan = staff("lan")
    ticket = db.session.get(Ticket, tid)
    claims.claim(ticket, lan)
    claims.release(db.session.get(Ticket, tid), lan)
    claims.claim(db.session.get(Ticket, tid), lan)
    outcomes.no_answer(db.session.get(Ticket, tid), lan)
    claims.claim(db.session.get(Ticket, tid), lan)
    visit_on = utcnow().astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).date() + timedelta(days=2)
    outcomes.book_visit(db.session.get(Ticket, tid), lan, visit_on, staff("hung"), note="mang CCCD")
    return tid, ticket.code


def test_a_vietnamese_page_reads_vietnamese_and_the_stored_sentences_stay(world, login):
    tid, code = a_busy_request(world)
    lines = timeline(login("lan").get(f"/staff/t/{code}").get_data(as_text=True))
    text = "\n".join(lines)
    visit = db.session.get(Ticket, tid).events[-1].data["visit_on"]
    day = f"{visit[8:10]}/{visit[5:7]}/{visit[:4]}"
    for expected in (
        "tạo yêu cầu (tin nhắn thoại) qua cuộc gọi",
        "đã ghi tin nhắn thoại",
        "đã chép lời tin nhắn thoại (độ tin cậy 0.87)",
        "cuộc gọi bị ngắt từ cùng số này",
        "đã gửi SMS qua Twilio (đang chờ gửi)",
        "chưa gửi: người dân đã từ chối nhận tin (STOP)",
        "Nguyễn Thị Lan đã nhận yêu cầu",
        "Nguyễn Thị Lan đã trả lại yêu cầu",
        "không nghe máy (lần 1/3); trở lại hàng chờ lúc ",
        f"hẹn đến nhà ngày {day}, người đi: Trần Văn Hùng: mang CCCD",
    ):
        assert expected in text, (expected, lines)
    for english in ("request created", "claimed by", "released by", "SMS sent through", "not sent:",
                    "no answer", "home visit on", "voice message recorded", "dropped call from"):
        assert english not in text, english
    # The rows keep their English sentences for the CLI and the API.
    stored = {e.kind: e.message for e in db.session.get(Ticket, tid).events}
    assert stored["claimed"] == "claimed by Nguyễn Thị Lan"
    assert stored["sms_not_sent"] == "not sent: the resident opted out (STOP)"
    assert stored["created"] == "request created (voicemail) via voice"


def test_an_english_page_reads_english(world, login):
    tid, code = a_busy_request(world)
    lan = login("lan")
    lan.post("/staff/lang", data={"lang": "en"})
    text = "\n".join(timeline(lan.get(f"/staff/t/{code}").get_data(as_text=True)))
    for expected in (
        "request created (voice message) via a call",
        "voice message transcribed (confidence 0.87)",
        "dropped call from the same number",
        "SMS sent through Twilio (queued)",
        "not sent: the resident opted out (STOP)",
        "claimed by Nguyễn Thị Lan",
        "released by Nguyễn Thị Lan",
        "no answer (try 1 of 3); back in the queue at ",
        "by Trần Văn Hùng: mang CCCD",
    ):
        assert expected in text, expected
    assert "đã nhận yêu cầu" not in text


def test_outcome_lines_and_no_provider_in_vietnamese(app, world, login):
    """Resolved with a note, wrong number, the last no-answer, and no SMS provider at all."""
    ticket = world.ticket(world.village_a)
    tid, code = ticket.id, ticket.code
    lan = staff("lan")
    outcomes.no_answer(claims.claim(ticket, lan).ticket, lan)
    outcomes.no_answer(claims.claim(db.session.get(Ticket, tid), lan).ticket, lan)
    ticket = db.session.get(Ticket, tid)
    ticket.next_attempt_at = None
    outcomes.no_answer(claims.claim(ticket, lan).ticket, lan)
    other = create_ticket(phone=None, channel="sms", reason="sms")  # a number the provider withheld
    other.village_id, other.team_id = world.village_a.id, world.team_a.id
    db.session.commit()
    outcomes.resolve(claims.claim(other, lan).ticket, lan, note="đã hướng dẫn")
    third = world.ticket(world.village_a)
    outcomes.wrong_number(claims.claim(third, lan).ticket, lan)
    app.config["TWILIO_ACCOUNT_SID"] = ""  # no SMS provider configured
    assert messaging.send_ticket_sms(third.id, "staff_resolved", "x") == "sms_not_sent"
    client = login("lan")
    text = "\n".join(timeline(client.get(f"/staff/t/{code}").get_data(as_text=True)))
    assert "không nghe máy (lần 3/3); đã nhắn SMS mời người dân gọi lại tổng đài" in text
    other_page = "\n".join(timeline(client.get(f"/staff/t/{other.code}").get_data(as_text=True)))
    assert "Nguyễn Thị Lan đã giải quyết xong: đã hướng dẫn" in other_page
    assert "không có số người gọi: không gọi lại được" in other_page
    third_page = "\n".join(timeline(client.get(f"/staff/t/{third.code}").get_data(as_text=True)))
    assert "sai số" in third_page and "chưa gửi: chưa cấu hình nhà mạng gửi SMS" in third_page


def test_unknown_kinds_and_older_rows_show_the_stored_sentence(world, login):
    ticket = world.ticket(world.village_a)
    # Stored rows add_event would refuse today: a kind from a newer version, data without a note.
    ticket.events.append(TicketEvent(kind="something_new", message="a line from a newer subsystem"))
    ticket.events.append(TicketEvent(kind="outcome", message="resolved by Someone: called twice",
                                     data={"outcome": "resolved"}, actor="lan"))
    add_event(ticket, EventKind.CLAIMED, "claimed by a deleted account", data={}, actor="")
    db.session.commit()
    text = "\n".join(timeline(login("lan").get(f"/staff/t/{ticket.code}").get_data(as_text=True)))
    assert "a line from a newer subsystem" in text
    assert "resolved by Someone: called twice" in text
    assert "claimed by a deleted account" in text


def test_every_timeline_sentence_has_a_vietnamese_translation():
    catalog = read_po((ROOT / "hotline/translations/vi/LC_MESSAGES/messages.po").open("rb"))
    source = ROOT / "hotline/staff/timeline.py"
    keywords = {"_": None, "_l": None}
    found = [message for _, message, _, _ in extract_from_file("python", source, keywords=keywords)]
    assert len(found) > 40
    missing = [m for m in found if m not in catalog or not catalog[m].string]
    assert missing == []
