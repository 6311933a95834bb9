"""A returning caller with an open request: its status is read once, inside a key wait (any
key cuts it short), 1 reads it again, 2 looks up another code; the status menu by code offers
the same. Signed webhooks, SQLite and PostgreSQL."""

from __future__ import annotations

from tests.test_voice_paths import node_of, open_request
from tests.voice_helpers import (
    app_settings,  # noqa: F401  (their app: no recorded prompts)
    spoken,
)


def test_the_status_is_read_once_and_any_key_cuts_it_short(twilio):
    ticket = open_request(status="in_progress")
    call = twilio.call()
    call.start()
    gather = call.gather()
    assert node_of(call) == "caller_status" and gather.get("numDigits") == "1"
    said = " ".join(el.text or "" for el in gather.iter("Say"))  # all of it inside the key wait
    assert said.count(spoken(ticket.code)) == 1 and "Xin nhắc lại" not in said
    assert "Cán bộ đang xử lý" in said and "Để nghe lại, bấm phím 1" in said
    call.press("1")  # hear it again
    assert node_of(call) == "caller_status" and call.said().count(spoken(ticket.code)) == 1
    call.press("4")  # any other key: the main menu, at once
    assert node_of(call) == "main_menu"


def test_silence_after_the_status_goes_on_to_the_main_menu(twilio):
    open_request()
    call = twilio.call()
    call.start()
    call.press(None)
    assert node_of(call) == "main_menu"


def test_another_code_can_be_looked_up_from_the_status(twilio):
    mine = open_request()
    other = open_request(phone="+84987654321", status="resolved")
    call = twilio.call()
    call.start()
    assert spoken(mine.code) in call.said()
    call.press("2")
    assert node_of(call) == "status_by_code"
    call.press(other.code)
    assert spoken(other.code) in call.said() and "đã được giải quyết xong" in call.said()
    assert node_of(call) == "status_by_code"  # the same choices after a looked-up code
    call.press("1")
    assert spoken(other.code) in call.said()
    call.press("0")
    assert node_of(call) == "main_menu"


def test_worst_case_key_presses_for_a_returning_caller(twilio):
    """A returning caller with an open request asks for a callback in three key presses: any
    key to cut the status short, then 1 and the procedure."""
    open_request()
    call = twilio.call()
    call.start()
    presses = 0
    for key in ("0", "1", "1"):
        call.press(key)
        presses += 1
    assert presses == 3 and "Yêu cầu của bạn đã được ghi nhận" in call.said()
