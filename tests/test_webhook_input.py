"""What providers send, checked at the edge: ids, numbers, lengths, control characters,
re-split replays (hotline.webhook_input), on signed requests against SQLite and PostgreSQL.

Twilio signs the URL and each parameter's name and value sorted and concatenated without
separators, so merging a parameter into the one before it keeps the signature valid: a
"re-split replay". Each test here builds such requests with twilio's RequestValidator.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from hotline.extensions import db
from hotline.models import Call, CallStep, SmsMessage, SmsOutbound, Ticket, TicketEvent, VoiceMessage
from hotline.webhook_input import (
    CALL_SID,
    MESSAGE_SID,
    RECORDING_SID,
    bounded_int,
    clean_text,
    parse_time,
    recover_twilio_id,
    signed_string,
    twilio_params,
)
from tests.conftest import TEST_AUTH_TOKEN
from tests.sms_fixtures import gateway_event, gateway_post, messages
from tests.twilio_sim import sign


def count(model) -> int:
    db.session.remove()
    return db.session.scalar(select(func.count()).select_from(model))


def counts() -> dict[str, int]:
    return {model.__name__: count(model)
            for model in (SmsMessage, Ticket, TicketEvent, SmsOutbound, Call, CallStep, VoiceMessage)}


def resplit(params: dict[str, str], name: str) -> dict[str, str]:
    """Merge the parameter after `name` (in signature order) into `name`'s value."""
    items = sorted(params.items())
    index = [key for key, _ in items].index(name)
    (_, value), (after, merged) = items[index], items[index + 1]
    items[index] = (name, value + after + merged)
    del items[index + 1]
    forged = dict(items)
    url = "https://hotline.example.org/twilio/sms"
    assert sign(TEST_AUTH_TOKEN, url, forged) == sign(TEST_AUTH_TOKEN, url, params)
    return forged


def sms_params(sid: str | None = None, body: str = "lam cccd cho me", phone: str = "+84912345678") -> dict:
    sid = sid or "SM" + uuid.uuid4().hex
    return {"AccountSid": "AC" + "0" * 32, "ApiVersion": "2010-04-01", "Body": body, "From": phone,
            "MessageSid": sid, "NumMedia": "0", "NumSegments": "1", "SmsMessageSid": sid, "SmsSid": sid,
            "SmsStatus": "received", "To": "+842633000000"}


# --- the module, without a database ----------------------------------------------------


def test_bounded_int_reads_ascii_digits_in_range_only():
    assert bounded_int("42", max=100) == 42
    assert bounded_int("0042", max=100) == 42
    assert bounded_int("100", max=100) == 100
    for value in ("101", "9" * 19, str(2**63), "9" * 5000, "-1", "", " 42", "4 2", "²", "١٢٣", "１２", "1e3",
                  None, 42):
        assert bounded_int(value, max=100) is None, value
    assert bounded_int("0", max=10, min=1) is None


def test_clean_text_removes_controls_keeps_newlines_and_cuts():
    assert clean_text("xin chào\nthôn 3\tbon", 100) == ("xin chào\nthôn 3\tbon", [])
    assert clean_text("a\x00b\x1bc\x7fd\x85e\ud800f\ue000g", 100) == ("abcdefg", ["controls_removed"])
    assert clean_text("x" * 70, 64) == ("x" * 64, ["cut"])
    assert clean_text(None, 10) == ("", [])
    assert clean_text(12345, 10) == ("12345", ["not_text"])


def test_signed_string_is_what_twilio_signs():
    from twilio.request_validator import RequestValidator

    params = sms_params()
    url = "https://hotline.example.org/twilio/sms"
    # The signature of the URL with no parameters, over the URL followed by the signed string,
    # is the signature of the request.
    assert sign(TEST_AUTH_TOKEN, url + signed_string(params), {}) == RequestValidator(
        TEST_AUTH_TOKEN).compute_signature(url, params)


def test_a_resplit_id_is_recovered_from_the_signed_string():
    params = sms_params()
    sid = params["MessageSid"]
    assert recover_twilio_id(params, MESSAGE_SID) == (sid, None)
    # MessageSid=SM…NumMedia0, NumMedia dropped: the SmsMessageSid copy is taken.
    glued = resplit(params, "MessageSid")
    assert glued["MessageSid"] == sid + "NumMedia0"
    assert recover_twilio_id(glued, MESSAGE_SID) == (sid, "not_an_id, taken from SmsMessageSid")
    # All three copies merged into their neighbours: read from the signed string.
    gone = resplit(resplit(resplit(params, "From"), "NumSegments"), "NumSegments")
    assert not {"MessageSid", "SmsMessageSid", "SmsSid"} & set(gone)
    assert recover_twilio_id(gone, MESSAGE_SID) == (sid, "missing, recovered")
    # A resident's text that looks like an id does not win: it sorts before the real one.
    trick = sms_params(body="MessageSidSM" + "0" * 32)
    assert recover_twilio_id(resplit(resplit(resplit(trick, "From"), "NumSegments"), "NumSegments"),
                             MESSAGE_SID)[0] == trick["MessageSid"]
    # A call's DialCallSid (after a Dial) is not its CallSid.
    call = {"CallSid": "CA" + "1" * 31 + "ZZ", "DialCallSid": "CA" + "2" * 32, "Direction": "inbound"}
    assert recover_twilio_id(call, CALL_SID) == (None, "not_an_id")
    # Nothing that looks like an id anywhere.
    assert recover_twilio_id({"MessageSid": "SMforged"}, MESSAGE_SID) == (None, "not_an_id")


def test_twilio_params_bounds_numbers_and_checks_statuses():
    form = {"CallSid": "CA" + "a" * 32, "CallDuration": "9" * 25, "CallStatus": "exploded",
            "RecordingDuration": "12", "From": "+8491\x002345678", "To": "x" * 500}
    cleaned = twilio_params(form, CALL_SID, optional=(RECORDING_SID,))
    assert cleaned.values == {"CallSid": "CA" + "a" * 32, "RecordingDuration": "12",
                              "From": "+84912345678", "To": "x" * 64}
    assert cleaned.flags == {"CallDuration": "not_a_number", "CallStatus": "unknown_value",
                             "From": "controls_removed", "To": "cut"}


def test_receive_times_outside_what_can_be_true_are_not_times():
    assert parse_time("2026-11-26T11:46:11.000+07:00").isoformat() == "2026-11-26T04:46:11+00:00"
    for value in ("9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "2026-11-26T11:46:11", "soon"):
        assert parse_time(value) is None, value


# --- re-split replays create nothing twice ---------------------------------------------


def test_resplit_replays_of_an_sms_create_nothing_twice(twilio):
    params = sms_params()
    assert twilio.post("/twilio/sms", params).status_code == 200
    before = counts()
    assert before["SmsMessage"] == 1 and before["Ticket"] == 1 and before["SmsOutbound"] == 1
    replays = [
        resplit(params, "MessageSid"),  # MessageSid=SM…NumMedia0
        resplit(resplit(params, "MessageSid"), "SmsMessageSid"),
        resplit(resplit(resplit(params, "From"), "NumSegments"), "NumSegments"),  # no sid field at all
        resplit(params, "Body"),  # Body=…From+849…: the text and the number change, the sid does not
    ]
    for replay in replays:
        assert twilio.post("/twilio/sms", replay).status_code == 200
        assert counts() == before, replay


def test_a_resplit_replay_that_arrives_first_is_the_message_stored_once_and_flagged(twilio):
    params = sms_params(sid="SM" + "3" * 32)
    gone = resplit(resplit(resplit(params, "From"), "NumSegments"), "NumSegments")
    assert twilio.post("/twilio/sms", gone).status_code == 200
    assert twilio.post("/twilio/sms", params).status_code == 200
    (message,) = messages()
    assert message.dedup_key == params["MessageSid"]
    assert message.input_flags == {"MessageSid": "missing, recovered"}
    assert count(Ticket) == 1


def test_resplit_replays_of_a_call_step_replay_its_twiml(twilio):
    call = twilio.call()
    call.start()
    first = call.press("1")
    before = counts()
    action = call.history[-2].find("Gather").get("action")
    step = dict(call.params, Digits="1")
    for name in ("CallSid", "AccountSid"):  # CallSid=CA…CallStatusin-progress; CallSid merged away
        response = twilio.post(action, resplit(step, name))
        assert response.status_code == 200
        assert ET.tostring(ET.fromstring(response.data)) == ET.tostring(first)
    assert counts() == before


def test_resplit_recording_callbacks_keep_one_voice_message(twilio):
    call = twilio.call()
    call.start()
    params = {"AccountSid": "AC" + "0" * 32, "CallSid": call.sid, "RecordingSid": "RE" + uuid.uuid4().hex,
              "RecordingDuration": "7", "RecordingSource": "RecordVerb", "RecordingStatus": "completed",
              "RecordingUrl": "https://api.twilio.com/2010-04-01/Recordings/x"}
    assert twilio.post("/twilio/recording", params).status_code == 204
    before = counts()
    for name in ("RecordingSid", "RecordingDuration"):
        assert twilio.post("/twilio/recording", resplit(params, name)).status_code == 204
    assert counts() == before and before["VoiceMessage"] == 1


# --- numbers, lengths and NUL ----------------------------------------------------------


@pytest.mark.parametrize("huge", ["9" * 19, str(2**63), "9" * 4000, "²", "١٢٣"])
def test_huge_or_odd_numbers_are_left_out_not_failed_on(twilio, huge):
    call = twilio.call()
    call.start()
    assert call.status("completed", duration=0).status_code == 204
    params = dict(call.params, CallStatus="completed", CallDuration=huge)
    assert twilio.post("/twilio/voice/status", params).status_code == 204
    assert db.session.scalar(select(Call.duration_seconds).where(Call.call_sid == call.sid)) == 0
    recording = {"CallSid": call.sid, "RecordingSid": "RE" + uuid.uuid4().hex, "RecordingDuration": huge,
                 "RecordingStatus": "completed", "RecordingUrl": "https://api.twilio.com/r"}
    assert twilio.post("/twilio/recording", recording).status_code == 204
    db.session.remove()
    assert db.session.scalars(select(VoiceMessage)).one().duration_seconds is None
    steps = count(CallStep)
    for args in ({"node": "main_menu", "n": huge}, {"node": "main_menu", "n": "2", "attempt": huge}):
        response = twilio.post(f"/twilio/voice/step?{urlencode(args)}", dict(call.params, Digits="1"))
        assert response.status_code == 200 and response.mimetype == "text/xml"
    assert count(CallStep) == steps + 1  # the step with an odd attempt counts as attempt 1


def test_over_long_fields_are_cut_and_odd_ids_key_nothing(twilio):
    response = twilio.post("/twilio/voice", {"CallSid": "CA" + "z" * 300, "From": "+84912345678"})
    assert response.status_code == 200 and b"<Hangup" in response.data  # the apology
    assert count(Call) == 0
    # A valid id followed by more is a re-split: the id is the key.
    call = twilio.call("0912345678" + "9" * 500, To="+842633000000" * 20)
    call.params["CallSid"] = call.sid + "0" * 300
    call.start()
    row = db.session.scalars(select(Call)).one()
    assert (row.call_sid, len(row.from_number), len(row.to_number), row.phone) == (call.sid, 64, 64, None)
    # An SMS whose MessageSid is too long to be one is still stored, flagged, under another key.
    sms = sms_params(sid="SM" + "x" * 200, body="GIUP " * 2000, phone="0912345678" * 30)
    assert twilio.post("/twilio/sms", sms).status_code == 200
    (message,) = messages()
    assert message.dedup_key.startswith("signed-") and message.provider_id == ("SM" + "x" * 200)[:80]
    assert message.input_flags["MessageSid"] == "not_an_id" and message.input_flags["Body"] == "cut"
    assert len(message.body) == 5000 and message.from_number == ("0912345678" * 30)[:64]


def test_nul_and_control_characters_are_removed_and_flagged(twilio):
    sms = sms_params(body="lam\x00 cccd\x1b[31m", phone="+8491234\x005678")
    assert twilio.post("/twilio/sms", sms).status_code == 200
    (message,) = messages()
    assert (message.body, message.phone) == ("lam cccd[31m", "+84912345678")
    assert message.input_flags == {"Body": "controls_removed", "From": "controls_removed"}
    call = twilio.call("+8491234\x005678")
    call.start()
    call.press("1\x00")
    assert db.session.scalars(select(Call)).one().phone == "+84912345678"
    nul_sid = dict(call.params, CallSid=call.sid[:10] + "\x00" + call.sid[10:])
    assert twilio.post("/twilio/voice/status", nul_sid).status_code == 204


def test_gateway_sms_with_odd_fields_is_stored_once_and_flagged(client):
    body = gateway_event({"messageId": "not-an-id\x00", "message": "GIUP\x00 \ud800", "simNumber": 1,
                          "phoneNumber": 84912345678, "receivedAt": "9999-12-31T23:59:59-23:59"})
    for _ in range(2):
        assert gateway_post(client, body).status_code == 200
    (message,) = messages()
    assert message.body == "GIUP " and message.provider_id == "not-an-id"
    assert message.input_flags == {"phoneNumber": "not_text", "message": "controls_removed",
                                   "receivedAt": "not_a_time", "messageId": "controls_removed, not_an_id"}
    assert gateway_post(client, b"[" * 20000 + b"]" * 20000).status_code == 400


# --- signatures and the body limit -----------------------------------------------------


@pytest.mark.parametrize("timestamp", ["١٢٣", "²", "9" * 40, "-1", "12.5", ""])
def test_gateway_timestamps_that_are_not_ascii_seconds_get_403(client, timestamp):
    body = gateway_event({"messageId": "abc", "message": "GIUP", "phoneNumber": "+84912345678",
                          "receivedAt": "2026-11-26T11:46:11.000+07:00"})
    assert gateway_post(client, body, timestamp=timestamp).status_code == 403
    assert gateway_post(client, body, signature="é" * 64).status_code == 403
    assert count(SmsMessage) == 0


class CountingStream:
    """A request body of `size` bytes that records how much of it was read (seeking to learn
    its length, as the test client does, reads nothing)."""

    def __init__(self, size: int):
        self.size, self.position, self.read_bytes = size, 0, 0

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = 0) -> int:
        self.position = self.size + offset if whence == 2 else offset
        return self.position

    def read(self, n: int = -1) -> bytes:
        n = self.size - self.position if n < 0 else min(n, self.size - self.position)
        self.position += n
        self.read_bytes += n
        return b"a" * n


@pytest.mark.parametrize("path", ["/sms-gateway/webhook", "/twilio/sms", "/twilio/voice", "/twilio/recording",
                                  "/twilio/voice/fallback"])
def test_a_body_over_the_limit_gets_413_before_it_is_read(app, client, path):
    assert app.config["WEBHOOK_MAX_CONTENT_LENGTH"] == 64 * 1024
    assert app.config["MAX_CONTENT_LENGTH"] == 8 * 1024 * 1024
    body = CountingStream(400 * 1024 * 1024)
    response = client.post(path, input_stream=body, headers={
        "Content-Length": str(body.size), "Content-Type": "application/x-www-form-urlencoded",
        "X-Signature": "0" * 64, "X-Timestamp": "1", "X-Twilio-Signature": "x"})
    assert response.status_code == 413
    assert body.read_bytes == 0


def test_signatures_follow_forwarded_headers_only_from_a_declared_proxy(app_factory):
    params = {"CallSid": "CA" + uuid.uuid4().hex, "From": "+84912345678"}
    elsewhere = "https://calls.commune.example/twilio/voice"
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "calls.commune.example",
                 "X-Twilio-Signature": sign(TEST_AUTH_TOKEN, elsewhere, params)}
    # No proxy declared (the default) and no public URL: forwarded headers mean nothing.
    app = app_factory(PUBLIC_URL=None)
    assert app.config["PROXY_COUNT"] == 0
    assert app.test_client().post("/twilio/voice", data=params, headers=forwarded).status_code == 403
    # A public URL: only a signature for it counts, whatever the headers say.
    pinned = app_factory(PROXY_COUNT=1)
    assert pinned.test_client().post("/twilio/voice", data=params, headers=forwarded).status_code == 403
    # One proxy declared: its headers rebuild the URL Twilio called.
    behind = app_factory(PUBLIC_URL=None, PROXY_COUNT=1)
    assert behind.test_client().post("/twilio/voice", data=params, headers=forwarded).status_code == 200


def test_the_url_signatures_are_checked_against_is_said_at_start(app_factory, caplog):
    from hotline.twilio_auth import signature_url_description

    with caplog.at_level("INFO", logger="hotline"):
        unpinned = app_factory(PUBLIC_URL=None)
    assert "Host header" in signature_url_description(unpinned)
    assert any(r.levelname == "WARNING" and "HOTLINE_PUBLIC_URL" in r.getMessage() for r in caplog.records)
    assert "https://hotline.example.org/" in signature_url_description(app_factory())
    assert "PROXY_COUNT=2" in signature_url_description(app_factory(PUBLIC_URL=None, PROXY_COUNT="2"))
    with pytest.raises(ValueError, match="HOTLINE_PROXY_COUNT"):
        app_factory(PROXY_COUNT="one")


def test_rotating_x_forwarded_for_does_not_get_around_the_login_limit(app_factory):
    from tests.staff_fixtures import csrf_from, fresh_request_globals

    for hops, real_client in ((0, None), (1, "203.0.113.7")):
        app = app_factory(PROXY_COUNT=hops)
        with app.app_context():
            client = app.test_client()
            fresh_request_globals()
            token = csrf_from(client.get("/staff/login").get_data(as_text=True))
            answers = []
            limit = app.config["STAFF_LOGIN_MAX_FAILURES_PER_ADDRESS"]
            # One guess on each of `limit` accounts, then the first account again: the address
            # is locked for the accounts it guessed, whatever X-Forwarded-For it claims.
            for attempt in [*range(limit), 0]:
                spoofed = f"198.51.100.{len(answers)}" + (f", {real_client}" if real_client else "")
                response = client.post(
                    "/staff/login", headers={"X-Forwarded-For": spoofed},
                    data={"username": f"guess{hops}-{attempt}", "password": "x", "csrf_token": token})
                answers.append(response.status_code)
            assert answers[-1] == 429, (hops, answers)
            db.session.remove()


# --- the voice fallback URL ------------------------------------------------------------


class CountingListener:
    """A TCP port that accepts and counts connections: a database or Redis that answers nothing."""

    def __init__(self):
        import socket
        import threading

        self.accepted = 0
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            self.accepted += 1
            connection.close()

    def close(self) -> None:
        self.socket.close()


def test_the_fallback_url_answers_an_apology_with_the_database_and_redis_down(tmp_path):
    from hotline import create_app
    from tests.twilio_sim import TwilioSim

    database, redis = CountingListener(), CountingListener()
    try:
        app = create_app({
            "TESTING": True, "DATA_DIR": str(tmp_path), "PUBLIC_URL": "https://hotline.example.org",
            "DATABASE_URL": f"postgresql://nobody@127.0.0.1:{database.port}/nowhere",
            "REDIS_URL": f"redis://127.0.0.1:{redis.port}/0", "TWILIO_AUTH_TOKEN": TEST_AUTH_TOKEN,
        })
        sim = TwilioSim(app.test_client(), TEST_AUTH_TOKEN, "https://hotline.example.org")
        params = {"CallSid": "CA" + uuid.uuid4().hex, "From": "+84912345678", "ErrorCode": "11200",
                  "ErrorUrl": "https://hotline.example.org/twilio/voice"}
        response = sim.post("/twilio/voice/fallback", params)
        assert response.status_code == 200 and response.mimetype == "text/xml"
        twiml = ET.fromstring(response.data)
        assert [el.tag for el in twiml] == ["Say", "Hangup"]
        assert twiml.find("Say").get("language") == "vi-VN" and "gọi lại" in twiml.find("Say").text
        assert sim.post("/twilio/voice/fallback", params, signature="forged").status_code == 403
        assert (database.accepted, redis.accepted) == (0, 0)
    finally:
        database.close()
        redis.close()
