"""The first voice slice through signed webhooks, on SQLite and PostgreSQL."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from sqlalchemy import select

from hotline.extensions import db
from hotline.models import Call, CallStep, OutboxMessage, Ticket
from tests.voice_helpers import count, spoken


def test_language_then_1_then_a_procedure_creates_one_callback_request(twilio):
    call = twilio.call("0912 345 678")
    call.start()
    assert call.gather().get("numDigits") == "1"
    call.press("1")
    call.press("1")
    call.press("1")

    ticket = db.session.scalars(select(Ticket)).one()
    assert ticket.phone == "+84912345678"
    assert ticket.channel == "voice"
    assert ticket.reason == "callback_requested"
    assert ticket.language == "vi"
    assert ticket.status == "open"
    assert ticket.topic == "vneid"
    # The code is read back one digit at a time, twice, with pauses between digits.
    assert call.said().count(spoken(ticket.code)) == 2
    assert len(call.twiml.findall("Pause")) >= 2 * (len(ticket.code) - 1)
    assert call.hung_up()
    # The confirmation SMS is queued in the outbox, not sent from the webhook.
    job = db.session.scalars(select(OutboxMessage)).one()
    assert job.func == "send_request_confirmation"
    assert job.args == [ticket.id]
    # Vietnamese is spoken with a vi-VN voice.
    say = call.twiml.find("Say")
    assert say.get("language") == "vi-VN"


def test_a_retried_step_gets_the_same_twiml_and_creates_nothing_twice(twilio):
    call = twilio.call()
    call.start()
    call.press("1")
    call.press("1")
    gather_action = call.gather().get("action")
    first = call.press("1")
    first_bytes = call.last_response.data

    # Twilio retries the very same request.
    params = dict(call.params, Digits="1")
    again = twilio.post(gather_action, params)
    assert again.status_code == 200
    assert again.data == first_bytes
    assert first is not None
    assert count(Ticket) == 1
    assert count(OutboxMessage) == 1


def test_the_entry_webhook_retried_creates_one_call(twilio):
    call = twilio.call()
    call.start()
    first = call.last_response.data
    call.start()
    assert call.last_response.data == first
    assert count(Call) == 1
    assert count(CallStep) == 1


def test_forged_or_unsigned_webhooks_get_403_and_change_nothing(twilio, client):
    params = {"CallSid": "CAforged", "From": "+84912345678", "To": "+842633000000"}
    assert client.post("/twilio/voice", data=params).status_code == 403
    assert twilio.post("/twilio/voice", params, signature="bm90IGEgc2lnbmF0dXJl").status_code == 403
    # Signed with the wrong token.
    from tests.twilio_sim import sign

    bad = sign("some-other-token", "https://hotline.example.org/twilio/voice", params)
    assert twilio.post("/twilio/voice", params, signature=bad).status_code == 403
    # A valid signature for different parameters.
    good_for_other = sign(twilio.token, "https://hotline.example.org/twilio/voice", {"a": "b"})
    assert twilio.post("/twilio/voice", params, signature=good_for_other).status_code == 403
    for path in ("/twilio/voice/step?node=main_menu&n=1&attempt=1", "/twilio/voice/status"):
        assert client.post(path, data=dict(params, Digits="1")).status_code == 403
    assert count(Call) == 0
    assert count(Ticket) == 0


def test_signature_follows_the_proxy_forwarded_url(app_factory):
    from tests.conftest import TEST_AUTH_TOKEN
    from tests.twilio_sim import sign

    app = app_factory(PUBLIC_URL=None, PROXY_COUNT=1)  # forwarded headers are trusted only when declared
    client = app.test_client()
    params = {"CallSid": "CA" + "1" * 32, "From": "+84912345678", "To": "+842633000000"}
    url = "https://calls.commune.example/twilio/voice"
    headers = {
        "X-Twilio-Signature": sign(TEST_AUTH_TOKEN, url, params),
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "calls.commune.example",
    }
    assert client.post("/twilio/voice", data=params, headers=headers).status_code == 200
    headers["X-Forwarded-Host"] = "evil.example"
    assert client.post("/twilio/voice", data=params, headers=headers).status_code == 403


def test_withheld_number_still_gets_a_request_staff_can_see(twilio):
    call = twilio.call("anonymous")
    call.start()
    call.press("1")
    call.press("1")
    call.press("7")
    ticket = db.session.scalars(select(Ticket)).one()
    assert ticket.phone is None
    assert not ticket.can_call_back
    assert "cannot call back" in ticket.events[0].message
    # No SMS can be sent to nobody.
    assert count(OutboxMessage) == 0


def test_odd_numbers_and_missing_parameters_get_valid_twiml(twilio):
    for raw in ("+266696687", "", "not-a-number"):
        call = twilio.call(raw)
        call.start()
        assert call.gather() is not None
    # No From at all.
    response = twilio.post("/twilio/voice", {"CallSid": "CA" + "0" * 31 + "f"})
    assert response.status_code == 200 and b"<Gather" in response.data
    # No CallSid, no anything.
    response = twilio.post("/twilio/voice", {})
    assert response.status_code == 200 and b"<Response>" in response.data


def test_wrong_keys_and_silence_repeat_then_never_drop_the_caller(twilio):
    call = twilio.call()
    call.start()
    call.press("9")
    assert "không có trong danh sách" in call.said()
    assert call.gather() is not None
    call.press(None)
    assert "chưa nghe thấy" in call.said()
    call.press(None)
    # Out of tries: a voice message or a callback is offered, never a bare hang-up.
    assert "Để gửi lời nhắn, bấm phím 4" in call.said()
    assert count(Ticket) == 0
    call.press(None)
    call.press(None)
    assert count(Ticket) == 1
    assert call.hung_up()


def test_star_repeats_the_menu(twilio):
    call = twilio.call()
    call.start()
    call.press("1")
    menu_text = call.said()
    call.press("*")
    assert call.said() == menu_text


def test_status_callback_records_the_end_of_the_call(twilio):
    call = twilio.call()
    call.start()
    response = call.status("completed", 73)
    assert response.status_code == 204
    db.session.remove()
    stored = db.session.scalars(select(Call)).one()
    assert stored.status == "completed"
    assert stored.duration_seconds == 73
    assert stored.ended_at is not None


def test_a_step_url_from_an_older_flow_restarts_the_menu(twilio):
    call = twilio.call()
    call.start()
    response = twilio.post("/twilio/voice/step?node=no_such_node&n=1", dict(call.params, Digits="1"))
    assert response.status_code == 200 and b"<Gather" in response.data


def test_key_4_records_a_voice_message_once_per_recording(twilio):
    from hotline.models import VoiceMessage

    call = twilio.call()
    call.start()
    call.press("1")
    call.press("4")
    record = call.twiml.find("Record")
    assert record is not None
    assert record.get("recordingStatusCallback") == "/twilio/recording"
    params = dict(call.params, RecordingSid="RE" + "a" * 32,
                  RecordingUrl="https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/REa",
                  RecordingDuration="7")
    response = twilio.post(record.get("action"), params)
    assert response.status_code == 200
    assert count(VoiceMessage) == 1
    ticket = db.session.scalars(select(Ticket)).one()
    assert ticket.reason == "voicemail"
    assert spoken(ticket.code) in " ".join(el.text for el in ET.fromstring(response.data).iter("Say"))
    # Twilio retries the action: same answer, nothing new.
    again = twilio.post(record.get("action"), params)
    assert again.data == response.data
    assert count(VoiceMessage) == 1 and count(Ticket) == 1


def test_an_empty_recording_falls_back_to_a_callback_request(twilio):
    call = twilio.call()
    call.start()
    call.press("1")
    call.press("4")
    action = call.twiml.find("Record").get("action")
    response = twilio.post(action, dict(call.params))
    assert response.status_code == 200
    ticket = db.session.scalars(select(Ticket)).one()
    assert ticket.reason == "callback_requested"
