"""Inbound SMS through signed webhooks (Twilio and SMS Gateway for Android), on SQLite and PostgreSQL."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from datetime import timedelta

from sqlalchemy import func, select

from hotline import codes
from hotline.extensions import db
from hotline.models import OutboxMessage, Resident, SmsMessage, SmsOptOut, Ticket
from tests.sms_fixtures import (
    all_tickets,
    gateway_event,
    gateway_post,
    gateway_sms,
    messages,
    outbound,
    twilio_sms,
)


def count(model):
    db.session.remove()
    return db.session.scalar(select(func.count()).select_from(model))


def reply_to(n=-1):
    return outbound()[n].body


def test_unmatched_text_becomes_a_request_and_the_reply_gives_its_code(twilio):
    response = twilio_sms(twilio, "Tôi muốn làm căn cước cho mẹ", "0912 345 678")
    assert response.status_code == 200 and response.mimetype == "text/xml"
    ticket = all_tickets()[0]
    assert (ticket.phone, ticket.channel, ticket.reason) == ("+84912345678", "sms", "sms")
    assert ticket.topic == "vneid"
    assert ticket.body == "Tôi muốn làm căn cước cho mẹ"
    assert codes.is_valid_code(ticket.code)
    sent = outbound()
    assert len(sent) == 1 and sent[0].status == "pending" and ticket.code in sent[0].body
    assert sent[0].body.isascii() and len(sent[0].body) <= 160
    # The reply leaves through the outbox, not from the webhook.
    job = db.session.scalars(select(OutboxMessage)).one()
    assert (job.func, job.args) == ("send_outbound_sms", [sent[0].id])


def test_messages_from_a_number_with_an_open_request_join_its_timeline(twilio):
    twilio_sms(twilio, "can lam giay khai sinh")
    twilio_sms(twilio, "cho con trai, sinh thang 10")
    twilio_sms(twilio, "GIUP")
    tickets = all_tickets()
    assert len(tickets) == 1
    timeline = [(e.kind, e.message) for e in tickets[0].events]
    assert ("sms_in", "cho con trai, sinh thang 10") in timeline
    assert ("sms_in", "GIUP") in timeline
    assert tickets[0].code in reply_to(1)
    assert [m.ticket_id for m in messages()] == [tickets[0].id] * 3


def test_status_checks_the_check_digit_and_reports_the_state(twilio):
    twilio_sms(twilio, "lam cccd")
    code = all_tickets()[0].code
    wrong = code[:-1] + str((int(code[-1]) + 1) % 10)
    twilio_sms(twilio, f"tracuu{code}", "+84987654321")
    assert reply_to().startswith(f"Yeu cau {code}: da nhan")
    twilio_sms(twilio, f"STATUS {wrong}", "+84987654322")  # a bare keyword: the phone's language
    assert reply_to().startswith(f"Ma {wrong} khong dung")
    twilio_sms(twilio, f"status of request {wrong} please", "+84987654324")  # clearly English
    assert reply_to().startswith(f"Code {wrong} is not valid")
    unknown = "12345" + str(codes.damm_digit("12345"))
    twilio_sms(twilio, f"tra cuu {unknown}", "+84987654323")
    assert "Khong tim thay" in reply_to()


def test_cancel_works_only_for_the_senders_own_request(twilio):
    twilio_sms(twilio, "lam cccd", "+84912345678")
    code = all_tickets()[0].code
    twilio_sms(twilio, f"HUY {code}", "+84987654321")  # someone else
    assert "Khong huy duoc" in reply_to()
    assert all_tickets()[0].status == "open"
    twilio_sms(twilio, f"huy{code}", "+84912345678")
    ticket = all_tickets()[0]
    assert ticket.status == "cancelled" and ticket.closed_at is not None
    assert ("cancelled", "resident:sms") in [(e.kind, e.actor) for e in ticket.events]
    twilio_sms(twilio, f"huy {code}", "+84912345678")
    assert "da huy" in reply_to()


def test_a_typo_of_cancel_answers_help_and_cancels_nothing(twilio):
    twilio_sms(twilio, "lam cccd")
    code = all_tickets()[0].code
    twilio_sms(twilio, f"cancle {code}")
    assert all_tickets()[0].status == "open"
    assert reply_to() == f"Ban muon huy yeu cau {code}? Nhan HUY {code}"  # asks, never acts


def test_verify_a_number_against_the_official_list(twilio):
    twilio_sms(twilio, "KIEMTRA 0263 3822 123", "+84912000001")
    assert reply_to() == "So 02633822123 LA so chinh thuc cua xa."
    twilio_sms(twilio, "kiemtra0987654321", "+84912000002")
    assert "KHONG phai" in reply_to()
    assert count(Ticket) == 0  # keyword messages from numbers without requests open none


def test_language_change_is_remembered(twilio):
    twilio_sms(twilio, "NGONNGU EN")
    assert reply_to() == "Language set to English. Text HELP for the commands."
    db.session.remove()
    assert db.session.scalars(select(Resident)).one().language == "en"
    twilio_sms(twilio, "giup")
    assert reply_to().startswith("Commune hotline")


def test_stop_is_confirmed_once_then_nothing_is_sent_until_start(twilio):
    twilio_sms(twilio, "lam cccd")
    twilio_sms(twilio, "TU CHOI")
    assert count(SmsOptOut) == 1
    assert reply_to().startswith("Ban se khong nhan tin nhan")
    before = len(outbound())
    twilio_sms(twilio, "them thong tin")  # lands on the request, no reply
    assert len(outbound()) == before
    assert messages()[-1].no_reply_reason == "opted_out"
    assert "them thong tin" in [e.message for e in all_tickets()[0].events]
    twilio_sms(twilio, "START")
    assert count(SmsOptOut) == 0
    assert reply_to().startswith("Ban se nhan lai")


def _local_hhmm(app, when):
    from datetime import UTC
    from zoneinfo import ZoneInfo

    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return when.astimezone(ZoneInfo(app.config["TIMEZONE"])).strftime("%H:%M")


def test_only_repeats_of_the_same_text_are_throttled_with_one_notice(app_factory):
    """Never a silent number: each distinct question is answered; the same text is answered
    twice an hour, then one notice says from when, then the repeats only land."""
    from tests.conftest import PUBLIC_URL, TEST_AUTH_TOKEN
    from tests.twilio_sim import TwilioSim

    app = app_factory()
    with app.app_context():
        sim = TwilioSim(app.test_client(), TEST_AUTH_TOKEN, PUBLIC_URL)
        twilio_sms(sim, "lam cccd cho me")
        for text in ("tra cuu", "TRA CỨU", "tra  cuu", "tracuu", "tra cuu"):  # one text, typed five ways
            assert twilio_sms(sim, text).status_code == 200
        sent = outbound()
        assert [o.kind for o in sent] == ["reply", "reply", "reply", "notice"]
        rows = messages()
        assert [m.no_reply_reason for m in rows] == [None, None, None, "repeat", "repeat", "repeat"]
        assert [m.reply is not None for m in rows] == [True, True, True, True, False, False]
        until = _local_hhmm(app, rows[1].created_at + timedelta(hours=1))
        assert sent[-1].body == (
            f"Tin nay da duoc tra loi. Neu nhan lai tin nay, xa tra loi tu {until}. "
            "Tin khac van duoc tra loi ngay."
        )
        # A different question from the same number is answered at once, and so is a status with a code.
        code = all_tickets()[0].code
        twilio_sms(sim, "GIUP")
        twilio_sms(sim, f"tra cuu {code}")
        assert [o.kind for o in outbound()][-2:] == ["reply", "reply"]
        # Every message landed on the request.
        ticket = all_tickets()[0]
        assert len([e for e in ticket.events if e.kind == "sms_in"]) == 7
        assert [e.data["no_reply"] for e in ticket.events if e.kind == "sms_not_sent"] == ["repeat"] * 3
        # Another number is not affected.
        twilio_sms(sim, "tra cuu", "+84987654321")
        assert outbound()[-1].kind == "reply"


def test_a_loop_of_changing_texts_meets_the_ceiling_and_one_notice(app_factory):
    from tests.conftest import PUBLIC_URL, TEST_AUTH_TOKEN
    from tests.twilio_sim import TwilioSim

    app = app_factory(SMS_REPLY_CEILING_PER_HOUR=3)
    with app.app_context():
        sim = TwilioSim(app.test_client(), TEST_AUTH_TOKEN, PUBLIC_URL)
        for i in range(6):
            assert twilio_sms(sim, f"tin nhan so {i}").status_code == 200
        assert [o.kind for o in outbound()] == ["reply"] * 3 + ["notice"]
        rows = messages()
        assert [m.no_reply_reason for m in rows] == [None] * 3 + ["ceiling"] * 3
        until = _local_hhmm(app, rows[0].created_at + timedelta(hours=1))
        assert outbound()[-1].body.endswith(f"xa tra loi lai tu {until}.")
        tickets = all_tickets()
        assert len(tickets) == 1
        landed = [e.message for e in tickets[0].events if e.kind == "sms_in"]
        assert landed == [f"tin nhan so {i}" for i in range(1, 6)]

def test_twilio_retries_are_deduplicated_by_message_sid(twilio):
    first = twilio_sms(twilio, "lam cccd", sid="SM" + "a" * 32)
    again = twilio_sms(twilio, "lam cccd", sid="SM" + "a" * 32)
    assert first.data == again.data
    assert (count(SmsMessage), count(Ticket), len(outbound())) == (1, 1, 1)


def test_twiml_reply_mode_answers_inline_and_records_it(app_factory):
    from tests.conftest import PUBLIC_URL, TEST_AUTH_TOKEN
    from tests.twilio_sim import TwilioSim

    app = app_factory(SMS_TWILIO_REPLY="twiml")
    with app.app_context():
        sim = TwilioSim(app.test_client(), TEST_AUTH_TOKEN, PUBLIC_URL)
        response = twilio_sms(sim, "lam cccd", sid="SM" + "b" * 32)
        ticket = all_tickets()[0]
        reply = ET.fromstring(response.data).find("Message")
        assert ticket.code in reply.text
        again = twilio_sms(sim, "lam cccd", sid="SM" + "b" * 32)
        assert again.data == response.data
        assert count(OutboxMessage) == 0
        assert [e.kind for e in all_tickets()[0].events].count("sms_sent") == 1


def test_forged_twilio_sms_get_403_and_store_nothing(twilio, client):
    params = {"MessageSid": "SMforged", "From": "+84912345678", "Body": "HUY 123459"}
    assert client.post("/twilio/sms", data=params).status_code == 403
    assert twilio.post("/twilio/sms", params, signature="bm90IGEgc2lnbmF0dXJl").status_code == 403
    assert (count(SmsMessage), count(Ticket), count(OutboxMessage)) == (0, 0, 0)


def test_the_gateway_webhook_creates_a_request_and_queues_the_reply(client):
    response = gateway_sms(client, "xin chao, toi can lam the BHYT", "0912345678")
    assert response.status_code == 200 and response.json["ok"]
    ticket = all_tickets()[0]
    assert (ticket.phone, ticket.topic) == ("+84912345678", "health_insurance")
    assert messages()[0].provider == "gateway"
    assert ticket.code in reply_to()


def test_gateway_duplicates_are_the_same_phone_text_and_time(client):
    gateway_sms(client, "lam cccd", received_at="2026-11-26T11:46:11.000+07:00")
    again = gateway_sms(client, "lam cccd", received_at="2026-11-26T04:46:11Z")  # same instant
    assert again.json["duplicate"] is True
    # Same content id but another time: a new message (the gateway's ids repeat).
    gateway_sms(client, "lam cccd", received_at="2026-11-26T11:50:00.000+07:00")
    assert count(SmsMessage) == 2 and count(Ticket) == 1


def test_forged_or_stale_gateway_webhooks_get_403_and_store_nothing(client):
    body = gateway_event({"messageId": "x", "message": "HUY 123459", "phoneNumber": "+84912345678",
                          "receivedAt": "2026-11-26T11:46:11.000+07:00"})
    assert client.post("/sms-gateway/webhook", json=body).status_code == 403
    assert gateway_post(client, body, key="some-other-key").status_code == 403
    assert gateway_post(client, body, signature="00" * 32).status_code == 403
    assert gateway_post(client, body, timestamp=int(time.time()) - 3600).status_code == 403
    assert (count(SmsMessage), count(Ticket)) == (0, 0)


def test_bad_gateway_bodies_get_a_clear_400_and_odd_sms_are_still_stored(client):
    assert gateway_post(client, b"not json").status_code == 400
    # An SMS is stored whatever its fields, flagged (tests/test_webhook_input.py has the rest).
    response = gateway_post(client, gateway_event({"message": "hi"}))
    assert response.status_code == 200 and messages()[0].input_flags["phoneNumber"] == "missing"
    assert gateway_post(client, gateway_event({}, event="system:ping")).json["ignored"] == "system:ping"


def test_sms_prehandlers_answer_before_resident_keywords(app, twilio):
    seen = []

    def staff_commands(phone, text):
        seen.append((phone, text))
        return "Staff: request taken" if text.startswith("NHAN ") else None

    app.extensions["hotline.sms_prehandlers"].append(staff_commands)
    twilio_sms(twilio, "NHAN 123459", "0987 654 321")
    assert reply_to() == "Staff: request taken"
    assert messages()[-1].intent == "prehandler"
    assert count(Ticket) == 0
    twilio_sms(twilio, "GIUP", "0987 654 321")  # not a staff command: resident keywords apply
    assert reply_to().startswith("Hotline xa")
    assert seen == [("+84987654321", "NHAN 123459"), ("+84987654321", "GIUP")]


def test_a_failing_prehandler_loses_nothing(app, twilio):
    def broken(phone, text):
        raise RuntimeError("boom")

    app.extensions["hotline.sms_prehandlers"].append(broken)
    assert twilio_sms(twilio, "lam cccd").status_code == 200
    assert count(Ticket) == 1


def test_cli_runs_a_message_through_the_same_path(runner):
    result = runner.invoke(args=["sms", "lam cccd cho me", "--from", "0912345678"])
    assert result.exit_code == 0, result.output
    ticket = all_tickets()[0]
    assert ticket.code in result.output
    result = runner.invoke(args=["sms", f"tra cuu {ticket.code}", "--from", "0912345678"])
    assert f"Yeu cau {ticket.code}: da nhan" in result.output
    assert outbound() == []  # printed, not sent, without --send


def test_the_directory_reads_official_numbers_however_they_are_written(app):
    from hotline.directory import is_official_number

    assert is_official_number("+842633822123")
    assert is_official_number("0263 3822 123")
    assert not is_official_number("0987654321")
    assert not is_official_number(None) and not is_official_number("not a number")


def test_two_deliveries_of_one_message_at_once_store_it_once(app, twilio, monkeypatch):
    from hotline.sms import pipeline
    from hotline.unit_of_work import commit_once

    twilio_sms(twilio, "lam cccd", sid="SM" + "c" * 32)
    first_reply = messages()[0].reply
    # The other delivery checked before this one committed: it sees nothing, then loses the race.
    real = pipeline._existing
    calls = []

    def not_yet(provider, key):
        calls.append(key)
        return None if len(calls) == 1 else real(provider, key)

    monkeypatch.setattr(pipeline, "_existing", not_yet)
    result = commit_once(lambda: pipeline.receive_sms(  # as the webhook runs it
        provider="twilio", dedup_key="SM" + "c" * 32, from_number="+84912345678", text="lam cccd"))
    assert result.duplicate and result.reply == first_reply
    assert (count(SmsMessage), count(Ticket), len(outbound())) == (1, 1, 1)


def test_a_failure_while_handling_still_keeps_the_message_as_a_request(app, twilio, monkeypatch):
    from hotline.sms import pipeline

    def broken(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(pipeline, "_handle", broken)
    response = twilio_sms(twilio, "xin giup lam cccd")
    assert response.status_code == 200
    stored = messages()[0]
    assert (stored.intent, stored.body) == ("unhandled", "xin giup lam cccd")
    ticket = all_tickets()[0]
    assert stored.ticket_id == ticket.id and ticket.body == "xin giup lam cccd"


def test_cli_send_queues_the_reply(runner):
    result = runner.invoke(args=["sms", "GIUP", "--from", "0912345678", "--send"])
    assert result.exit_code == 0, result.output
    sent = outbound()
    assert len(sent) == 1 and sent[0].phone == "+84912345678" and sent[0].body in result.output


def test_a_twilio_sms_without_message_sid_is_stored_once_and_flagged(twilio):
    for _ in range(2):  # a replay is the same message
        response = twilio.post("/twilio/sms", {"From": "+84912345678", "Body": "GIUP"})
        assert response.status_code == 200
    assert [m.input_flags["MessageSid"] for m in messages()] == ["missing"]
