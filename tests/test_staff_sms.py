"""Field volunteers' SMS commands (the pre-handler the SMS pipeline calls), the directory and
the on-duty roster."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from sqlalchemy import select

from hotline.extensions import db
from hotline.models import HomeVisit, OfficeHours, RosterShift, Ticket
from hotline.staff.directory import staff_by_phone
from hotline.staff.roster import on_duty_numbers
from hotline.staff.sms_commands import handle_staff_sms, parse_visit_date
from tests.staff_fixtures import *  # noqa: F403  (fixtures)

LAN, MINH = "+84911000001", "+84911000002"


def test_the_handler_is_registered_as_an_sms_prehandler(app):
    assert handle_staff_sms in app.extensions["hotline.sms_prehandlers"]


def test_residents_and_other_texts_pass_through(world):
    ticket = world.ticket(world.village_a)
    assert handle_staff_sms("+84987000000", f"NHAN {ticket.code}") is None  # not staff
    assert handle_staff_sms(LAN, "TRACUU 123456") is None  # not a staff command
    assert handle_staff_sms(LAN, "") is None


def test_claim_done_and_visit_by_sms(world):
    ticket = world.ticket(world.village_a)
    reply = handle_staff_sms(LAN, f"nhận {ticket.code}")
    assert reply == f"Da nhan yeu cau {ticket.code}. SDT nguoi dan: {ticket.phone}"
    assert handle_staff_sms(LAN, f"NHAN {ticket.code}") == f"Ban da nhan yeu cau {ticket.code} roi."
    held = handle_staff_sms("+84911000003", f"Nhan  {ticket.code}")
    assert held == f"Yeu cau {ticket.code} da do Nguyen Thi Lan nhan."
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).assignee.username == "lan"

    visit = world.ticket(world.village_a)
    reply = handle_staff_sms(LAN, f"hen {visit.code} 25/12")
    assert reply.startswith(f"Da hen tham nha cho yeu cau {visit.code} ngay 25/12/")
    booked = db.session.scalar(select(HomeVisit))
    assert (booked.visit_on.day, booked.visit_on.month) == (25, 12) and booked.volunteer.username == "lan"
    assert handle_staff_sms(LAN, f"HEN {visit.code} 31/02").startswith("Ngay khong hop le")
    assert handle_staff_sms(LAN, "HEN 123").startswith("Cu phap: HEN")

    assert handle_staff_sms(LAN, f"xong {ticket.code}") == f"Da ghi yeu cau {ticket.code}: da xong. Cam on!"
    db.session.expire_all()
    done = db.session.get(Ticket, ticket.id)
    assert done.status == "resolved" and [e.data.get("via") for e in done.events if e.kind == "outcome"] == [
        "sms"
    ]
    assert handle_staff_sms(LAN, f"XONG {ticket.code}") == f"Yeu cau {ticket.code} da dong."


def test_done_or_visit_on_a_teammates_request_names_its_holder(world):
    ticket = world.ticket(world.village_a)
    handle_staff_sms("+84911000003", f"NHAN {ticket.code}")
    assert handle_staff_sms(LAN, f"XONG {ticket.code}") == f"Yeu cau {ticket.code} da do Tran Van Hung nhan."
    assert handle_staff_sms(LAN, f"HEN {ticket.code} 1/1").endswith("da do Tran Van Hung nhan.")
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).status == "in_progress"


def test_replies_fit_one_segment_and_refuse_other_teams(world):
    other = world.ticket(world.village_b)
    assert handle_staff_sms(LAN, f"NHAN {other.code}") == f"Yeu cau {other.code} khong thuoc to cua ban."
    assert handle_staff_sms(LAN, "NHAN 999999") == "Khong tim thay ma 999999."
    for text in (f"NHAN {other.code}", "XONG", "HEN 1 2"):
        reply = handle_staff_sms(MINH, text)
        assert reply.isascii() and len(reply) <= 160
    db.session.expire_all()
    assert db.session.get(Ticket, other.id).assignee.username == "minh"


def test_english_speaking_staff_get_english_replies(world):
    world.vol_a.language = "en"
    db.session.commit()
    ticket = world.ticket(world.village_a)
    assert handle_staff_sms(LAN, f"TAKE {ticket.code}").startswith(f"You have request {ticket.code}")


def test_visit_dates_roll_to_next_year():
    today = date(2026, 12, 30)
    assert parse_visit_date("2/1", today) == date(2027, 1, 2)
    assert parse_visit_date("31/12", today) == date(2026, 12, 31)
    assert parse_visit_date("5-1-27", today) == date(2027, 1, 5)
    assert parse_visit_date("mai", today) is None


def test_directory_and_on_duty_numbers(world):
    assert staff_by_phone("0911 000 001").username == "lan"
    assert staff_by_phone("+84999999999") is None
    db.session.add_all(
        [
            OfficeHours(weekday=0, opens=time(7, 30), closes=time(11, 30)),
            RosterShift(staff=world.vol_a2, weekday=0, starts=time(7, 30), ends=time(9, 30), position=2),
            RosterShift(staff=world.vol_a, weekday=0, starts=time(7, 30), ends=time(11, 30), position=1),
        ]
    )
    db.session.commit()
    monday_8am_local = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # 08:00 in Asia/Ho_Chi_Minh
    assert on_duty_numbers(monday_8am_local) == [LAN, "+84911000003"]
    assert on_duty_numbers(datetime(2026, 11, 30, 3, 0, tzinfo=UTC)) == [LAN]  # 10:00
    assert on_duty_numbers(datetime(2026, 11, 30, 6, 0, tzinfo=UTC)) == []  # 13:00: office closed
    assert on_duty_numbers(datetime(2026, 12, 1, 1, 0, tzinfo=UTC)) == []  # Tuesday: nobody on the roster


def test_the_sms_pipeline_folds_and_bounds_prehandler_replies(world, app):
    """Staff replies go through the same pipeline as residents': one GSM-7 segment, always."""
    from hotline.sms.pipeline import REPLY_RETURN, receive_sms
    from hotline.sms.text import is_gsm7

    hung = world.vol_a2
    # As long as the column allows, with an emoji.
    hung.name = ("Trần Văn Hùng 🙏 " + "Đội thanh niên tình nguyện thôn Bu Sir " * 3)[:120]
    db.session.commit()
    ticket = world.ticket(world.village_a)
    handle_staff_sms("+84911000003", f"NHAN {ticket.code}")
    inbound = receive_sms(
        provider="test", dedup_key="held", from_number=LAN, text=f"xong {ticket.code}",
        reply_mode=REPLY_RETURN,
    )
    assert inbound.message.intent == "prehandler"
    assert inbound.reply.startswith(f"Yeu cau {ticket.code} da do Tran Van Hung  Doi thanh nien")
    assert is_gsm7(inbound.reply) and len(inbound.reply) <= 160

    def chatty(phone, text):  # a pre-handler from another subsystem that ignores the limits
        return "Đã nhận “" + text + "” ✅ " + "rất dài " * 40 if text.startswith("CHATTY") else None

    app.extensions["hotline.sms_prehandlers"].insert(0, chatty)
    try:
        inbound = receive_sms(
            provider="test", dedup_key="chatty", from_number=LAN, text="CHATTY", reply_mode=REPLY_RETURN
        )
    finally:
        app.extensions["hotline.sms_prehandlers"].remove(chatty)
    reply = inbound.reply
    assert reply.startswith('Da nhan "CHATTY"  rat dai') and reply.endswith("dai...")
    assert is_gsm7(reply) and len(reply) <= 160
