"""Who commits: a voice step is one unit of work, committed once by step storage (and the
recording webhook by its edge); the domain (voice messages, requests, the outbox) only
flushes. A failure right after the domain call leaves nothing of the step behind, and
the caller still hears the apology, on SQLite and PostgreSQL."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import select

from hotline import recordings, voicemail
from hotline import voice as voice_edge
from hotline.extensions import db
from hotline.ivr import steps
from hotline.models import CallStep, OutboxMessage, Ticket, Transcription, VoiceMessage
from tests.voice_helpers import count, spoken

RECORDING = {"RecordingSid": "RE" + "b" * 32, "RecordingDuration": "6",
             "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/REb"}
WHAT_A_MESSAGE_WRITES = (VoiceMessage, Ticket, OutboxMessage, Transcription)


def at_the_beep(twilio):
    """A call that chose Vietnamese and pressed 4: Twilio is recording."""
    call = twilio.call()
    call.start()
    call.press("1")
    call.press("4")
    record = call.twiml.find("Record")
    assert record is not None
    return call, record.get("action")


def counts() -> dict[str, int]:
    return {model.__name__: count(model) for model in (*WHAT_A_MESSAGE_WRITES, CallStep)}


def fail_once(real):
    """`real`, except that its first call raises (a full disk, a bug)."""
    calls = []

    def broken(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise RuntimeError("injected failure")
        return real(*args, **kwargs)

    return broken


@pytest.mark.parametrize("failing", ["step write", "render"])
def test_a_voice_message_step_that_fails_after_the_domain_call_stores_nothing(
    app, twilio, monkeypatch, failing
):
    call, action = at_the_beep(twilio)
    before = counts()
    assert {name: before[name] for name in ("VoiceMessage", "Ticket", "OutboxMessage")} == {
        "VoiceMessage": 0, "Ticket": 0, "OutboxMessage": 0}
    filed = []
    real_record = voicemail.record_voice_message
    monkeypatch.setattr(voicemail, "record_voice_message",
                        lambda **kwargs: filed.append(kwargs) or real_record(**kwargs))
    if failing == "step write":
        monkeypatch.setattr(steps, "write_step", fail_once(steps.write_step))
    else:  # the edge's renderer; its second call renders the apology
        monkeypatch.setattr(voice_edge, "render", fail_once(voice_edge.render))

    call.post_to(action, **RECORDING)

    assert len(filed) == 1  # the domain call ran, and flushed its rows …
    assert counts() == before  # … which went nowhere: no message, request, job or step
    busy, _ = app.extensions["hotline.flow"].prompt_text("system_busy", "vi")
    assert call.said() == busy and call.hung_up()  # and the caller heard the apology

    # Twilio retries the action once the fault is gone: the message is filed, once.
    call.post_to(action, **RECORDING)
    assert count(VoiceMessage) == 1 and count(Ticket) == 1 and count(Transcription) == 1
    assert count(CallStep) == before["CallStep"] + 1
    assert "Xin lỗi, hệ thống" not in call.said()


def test_a_recording_callback_that_fails_after_the_domain_call_stores_nothing(twilio, monkeypatch):
    call, _ = at_the_beep(twilio)
    real = voicemail.recording_status

    def then_fail(**kwargs):
        real(**kwargs)
        raise RuntimeError("injected failure")

    monkeypatch.setattr(recordings.voicemail, "recording_status", then_fail)
    callback = {"CallSid": call.sid, "RecordingStatus": "completed", **RECORDING}
    with pytest.raises(RuntimeError, match="injected failure"):
        twilio.post("/twilio/recording", callback)
    assert [count(model) for model in WHAT_A_MESSAGE_WRITES] == [0, 0, 0, 0]

    monkeypatch.setattr(recordings.voicemail, "recording_status", real)
    assert twilio.post("/twilio/recording", callback).status_code == 204
    assert [count(model) for model in WHAT_A_MESSAGE_WRITES] == [1, 1, 1, 1]


def test_the_record_action_and_the_callback_file_one_message_whichever_comes_first(twilio):
    """The callback first (committed by its edge), then the Record action's step: it finds
    the message and joins it, in its own single commit."""
    call, action = at_the_beep(twilio)
    callback = {"CallSid": call.sid, "RecordingStatus": "completed", **RECORDING}
    assert twilio.post("/twilio/recording", callback).status_code == 204
    call.post_to(action, **RECORDING)
    assert count(VoiceMessage) == 1 and count(Transcription) == 1
    ticket = db.session.scalars(select(Ticket)).one()
    assert ticket.reason == "voicemail" and spoken(ticket.code) in call.said()


@pytest.mark.parametrize("loser", ["record action", "callback"])
def test_a_twin_that_files_the_recording_first_wins_and_the_other_runs_again(twilio, monkeypatch, loser):
    """Twilio's Record action and recording callback for one recording, at the same moment:
    the twin commits while the other is half-way (after its look-up, before its flush). The
    other fails on the unique RecordingSid, runs again and joins the twin's message."""
    from hotline import tickets

    call, action = at_the_beep(twilio)
    callback = {"CallSid": call.sid, "RecordingStatus": "completed", **RECORDING}
    real_create = tickets.create_ticket
    twins = []

    def create_after_the_twin(**kwargs):
        if not twins:  # the twin, a request of its own (its own session), commits first
            twins.append(True)
            if loser == "record action":
                assert twilio.post("/twilio/recording", callback).status_code == 204
            else:
                twins.append(twilio.post(action, dict(call.params, **RECORDING)).data)
        return real_create(**kwargs)

    monkeypatch.setattr(tickets, "create_ticket", create_after_the_twin)
    filed = []
    real_record = voicemail.record_voice_message
    monkeypatch.setattr(voicemail, "record_voice_message",
                        lambda **kwargs: filed.append(kwargs) or real_record(**kwargs))
    if loser == "record action":
        call.post_to(action, **RECORDING)
        answer = call.last_response.data
    else:
        assert twilio.post("/twilio/recording", callback).status_code == 204
        answer = twins[1]
    assert len(filed) == 3  # the loser, the twin inside it, the loser again
    assert [count(model) for model in WHAT_A_MESSAGE_WRITES] == [1, 1, 1, 1]
    ticket = db.session.scalars(select(Ticket)).one()
    said = " ".join(say.text or "" for say in ET.fromstring(answer).iter("Say"))
    assert spoken(ticket.code) in said  # the caller heard the message's request code
