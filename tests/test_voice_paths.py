"""Every path of the commune's default flow, through the real webhooks with signed requests,
on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hotline.extensions import db
from hotline.models import Call, OutboxMessage, Ticket, VoiceMessage
from tests.voice_helpers import (
    app_settings,  # noqa: F401  (their app: no recorded prompts)
    count,
    set_office,
    spoken,
    tickets,
)

TOPICS = {"1": "vneid", "2": "civil_status", "3": "residence", "4": "pension_allowance",
          "5": "health_insurance", "6": "land", "7": "other"}


def node_of(call) -> str:
    gather = call.gather()
    action = gather.get("action") if gather is not None else ""
    return action.split("node=")[1].split("&")[0] if "node=" in action else ""


def to_main_menu(twilio, number="+84912345678", language_key="1"):
    call = twilio.call(number)
    call.start()
    assert node_of(call) == "choose_language"
    call.press(language_key)
    assert node_of(call) == "main_menu"
    return call


def open_request(phone="+84912345678", status="open") -> Ticket:
    from hotline import tickets as domain

    ticket = domain.create_ticket(phone=phone, channel="sms", reason="sms", language="vi")
    ticket.status = status
    db.session.commit()
    return ticket


@pytest.mark.parametrize("key", sorted(TOPICS))
def test_main_1_each_procedure_becomes_a_callback_request_with_its_topic(twilio, key):
    call = to_main_menu(twilio)
    call.press("1")
    assert node_of(call) == "procedure_menu"
    call.press(key)
    (ticket,) = tickets()
    assert (ticket.reason, ticket.topic, ticket.phone) == ("callback_requested", TOPICS[key], "+84912345678")
    assert call.said().count(spoken(ticket.code)) == 2
    assert call.hung_up()
    assert db.session.scalars(select(Call)).one().outcome == "request"


def test_procedure_menu_9_goes_back_and_silence_still_makes_a_request(twilio):
    call = to_main_menu(twilio)
    call.press("1")
    call.press("9")
    assert node_of(call) == "main_menu"
    call.press("1")
    for _ in range(3):
        assert not call.hung_up()
        call.press(None)
    (ticket,) = tickets()
    assert ticket.reason == "callback_requested" and ticket.topic is None
    assert call.hung_up()


def test_returning_caller_gets_a_callback_in_two_key_presses(twilio):
    first = to_main_menu(twilio, language_key="2")  # M'Nông, remembered for next time
    first.press("3")
    first.press("1")
    first.status("completed")
    assert tickets() == []  # information heard: not a dropped call

    call = twilio.call()
    call.start()
    assert node_of(call) == "main_menu"  # no language menu this time
    presses = 0
    for key in ("1", "1"):
        call.press(key)
        presses += 1
    (ticket,) = tickets()
    assert presses == 2 and ticket.language == "mnong" and ticket.topic == "vneid"


def test_returning_caller_with_an_open_request_hears_its_status_first(twilio):
    ticket = open_request(status="in_progress")  # sent by SMS in Vietnamese: language known
    call = twilio.call()
    call.start()
    said = call.said()
    assert spoken(ticket.code) in said
    assert "Cán bộ đang xử lý yêu cầu của bạn" in said
    assert said.index("đang xử lý") < said.index("bấm phím 1")  # status, then its choices
    assert node_of(call) == "caller_status"  # any key or silence: the main menu
    call.press(None)
    assert node_of(call) == "main_menu"


def test_main_2_status_by_number(twilio):
    ticket = open_request()
    call = twilio.call()
    call.start()
    call.press("0")  # cuts the status short
    assert node_of(call) == "main_menu"
    call.press("2")
    assert spoken(ticket.code) in call.said() and "đang chờ cán bộ gọi lại" in call.said()
    assert node_of(call) == "my_status"
    call.press(None)
    assert node_of(call) == "main_menu"


def test_main_2_status_by_code_checks_the_check_digit(twilio):
    from hotline.codes import damm_digit

    other = open_request(phone="+84987654321", status="resolved")
    call = to_main_menu(twilio)
    call.press("2")
    assert node_of(call) == "status_by_code"
    gather = call.gather()
    assert gather.get("finishOnKey") == "#" and gather.get("numDigits") is None
    wrong_check = other.code[:-1] + str((int(other.code[-1]) + 1) % 10)
    call.press(wrong_check)
    assert "Mã số này không đúng" in call.said()
    body = "12345"
    unknown = body + str(damm_digit(body))
    call.press(unknown if unknown != other.code else "123406")
    assert "Không tìm thấy" in call.said()
    call.press("*")
    assert "bấm mã số yêu cầu" in call.said()
    call.press(other.code)
    assert spoken(other.code) in call.said() and "đã được giải quyết xong" in call.said()
    assert node_of(call) == "status_by_code"  # 1 again, 2 another code, else the main menu
    call.press(None)
    assert node_of(call) == "main_menu"


def test_status_by_code_gives_up_after_three_tries_and_offers_help(twilio):
    call = to_main_menu(twilio)
    call.press("2")
    call.press("1")
    call.press(None)
    call.press("99")
    assert node_of(call) == "offer_help"


@pytest.mark.parametrize("key,words", [("1", "7 giờ đến 11 giờ 30"), ("2", "căn cước công dân"),
                                       ("3", "không bao giờ gọi điện yêu cầu chuyển tiền")])
def test_main_3_information_then_a_way_back(twilio, key, words):
    call = to_main_menu(twilio)
    call.press("3")
    assert node_of(call) == "info_menu"
    call.press(key)
    assert words in call.said()
    assert node_of(call) == "info_menu"
    call.press("9")
    assert node_of(call) == "main_menu"
    assert db.session.scalars(select(Call)).one().outcome == "information"


def test_main_4_voice_message(twilio):
    call = to_main_menu(twilio)
    call.press("4")
    record = call.twiml.find("Record")
    assert record.get("finishOnKey") == "#" and record.get("maxLength") == "120"
    response = twilio.post(record.get("action"), dict(call.params, RecordingSid="RE" + "b" * 32,
                                                      RecordingUrl="https://api.twilio.com/r/REb",
                                                      RecordingDuration="12"))
    assert response.status_code == 200
    (ticket,) = tickets()
    assert ticket.reason == "voicemail" and count(VoiceMessage) == 1
    assert db.session.scalars(select(Call)).one().outcome == "voice_message"


def test_main_0_in_hours_rings_staff_one_after_another_then_offers_help(app, twilio):
    set_office(app, open_now=True)
    call = to_main_menu(twilio)
    call.press("0")
    dial = call.twiml.find("Dial")
    assert [n.text for n in dial.findall("Number")] == ["+84903100201"]
    assert dial.get("timeout") == "15"
    # Nobody answers: the next one is rung.
    call.post_to(dial.get("action"), DialCallStatus="no-answer")
    dial = call.twiml.find("Dial")
    assert [n.text for n in dial.findall("Number")] == ["+84903100202"]
    call.post_to(dial.get("action"), DialCallStatus="busy")
    assert call.twiml.find("Dial") is None
    assert "chưa có cán bộ nào nghe máy" in call.said()
    assert node_of(call) == "offer_help"
    call.press("1")
    (ticket,) = tickets()
    assert ticket.reason == "callback_requested"


def test_main_0_answered_connects_a_person(app, twilio):
    set_office(app, open_now=True)
    call = to_main_menu(twilio)
    call.press("0")
    call.post_to(call.twiml.find("Dial").get("action"), DialCallStatus="completed")
    assert call.hung_up()
    call.status("completed")
    assert tickets() == []
    assert db.session.scalars(select(Call)).one().outcome == "person"


def test_main_0_with_nobody_on_duty_offers_help_at_once(app, twilio):
    set_office(app, open_now=True, on_duty=())
    call = to_main_menu(twilio)
    call.press("0")
    assert call.twiml.find("Dial") is None and node_of(call) == "offer_help"


def test_main_0_out_of_hours_says_the_hours_and_offers_a_message(app, twilio):
    set_office(app, open_now=False)
    call = to_main_menu(twilio)
    call.press("0")
    assert "ngoài giờ làm việc" in call.said() and call.twiml.find("Dial") is None
    call.press("4")
    assert call.twiml.find("Record") is not None


def test_silence_at_the_main_menu_offers_a_message_or_callback(twilio):
    call = to_main_menu(twilio)
    call.press(None)
    call.press(None)
    call.press(None)
    assert node_of(call) == "offer_help"
    call.press("4")
    assert call.twiml.find("Record") is not None


@pytest.mark.parametrize("keys", [["1"], ["3"], [None, None, None], ["1", "9"]])
def test_star_repeats_every_menu(twilio, keys):
    call = to_main_menu(twilio)
    for key in keys:
        call.press(key)
    before, node = call.said(), node_of(call)
    call.press("*")
    assert node_of(call) == node and call.said().endswith(before.split(". ")[-1])


def test_withheld_number_reaches_every_menu(app, twilio):
    set_office(app, open_now=True)
    for key, node in [("1", "procedure_menu"), ("2", "status_by_code"), ("3", "info_menu")]:
        call = to_main_menu(twilio, "anonymous")
        call.press(key)
        assert node_of(call) == node
    call = to_main_menu(twilio, "anonymous")
    call.press("0")
    assert call.twiml.find("Dial") is not None
    call = to_main_menu(twilio, "anonymous")
    call.press("1")
    call.press("2")
    (ticket,) = tickets()
    assert ticket.phone is None and not ticket.can_call_back
    assert count(OutboxMessage) == 0


def test_a_dropped_call_becomes_one_callback_request_per_caller(twilio):
    call = to_main_menu(twilio)
    assert call.status("completed").status_code == 204
    assert call.status("completed").status_code == 204  # Twilio retries
    (ticket,) = tickets()
    assert ticket.reason == "dropped_call" and ticket.phone == "+84912345678"
    # The same caller calls again and hangs up while it rings: the missed call joins the open request.
    again = twilio.call()
    again.status("canceled", 0)
    (ticket,) = tickets()
    assert [event.kind for event in ticket.events] == ["created", "missed_call"]


def test_a_missed_call_becomes_a_callback_request(twilio):
    call = twilio.call("0987 654 321")
    assert call.status("no-answer", 0).status_code == 204
    (ticket,) = tickets()
    assert ticket.reason == "missed_call" and ticket.phone == "+84987654321"
    other = twilio.call("0987 111 222")
    other.status("canceled", 0)
    assert [t.reason for t in tickets()] == ["missed_call", "missed_call"]


def test_finished_calls_and_withheld_drops_make_no_extra_request(twilio):
    call = to_main_menu(twilio)
    call.press("1")
    call.press("1")
    call.status("completed")
    assert len(tickets()) == 1
    withheld = to_main_menu(twilio, "anonymous")
    withheld.status("completed")
    assert len(tickets()) == 1


def test_mnong_without_recordings_speaks_vietnamese_and_with_one_plays_it(app, twilio, tmp_path):
    import numpy as np
    import soundfile

    call = to_main_menu(twilio, "+84911111111", language_key="2")
    say = call.gather().find("Say")
    assert say is not None and say.get("language") == "vi-VN"  # the gap: Vietnamese text

    path = tmp_path / "audio" / "mnong" / "main_menu.wav"
    path.parent.mkdir(parents=True)
    soundfile.write(str(path), np.zeros(800, dtype="float32"), 8000, subtype="PCM_16")
    app.extensions["hotline.prompts"].refresh()
    call.press("*")
    play = call.gather().find("Play")
    assert play is not None and play.text.startswith("https://hotline.example.org/audio/mnong/main_menu.wav?v=")
    assert call.gather().find("Say") is None


def test_a_withheld_number_is_not_promised_a_callback_and_is_offered_what_works(app, twilio):
    set_office(app, open_now=True)
    call = to_main_menu(twilio, "anonymous")
    call.press("1")
    call.press("2")
    said = call.said()
    (ticket,) = tickets()
    assert "ẩn số nên cán bộ không thể gọi lại" in said and spoken(ticket.code) in said
    assert "Cán bộ sẽ gọi lại cho bạn sớm" not in said
    assert node_of(call) == "no_number_menu"
    call.press("4")  # a voice message with their number spoken
    assert "đọc rõ số điện thoại của bạn" in call.said() and call.twiml.find("Record") is not None
    recording = {"RecordingSid": "RE" + "d" * 32, "RecordingUrl": "https://api.twilio.com/x",
                 "RecordingDuration": "4"}
    call._post(call.twiml.find("Record").get("action"), dict(call.params, **recording))
    (ticket,) = tickets()  # the message joined the request
    assert "Lời nhắn của bạn đã được ghi lại" in call.said()
    again = to_main_menu(twilio, "anonymous")
    again.press("1")
    again.press("2")
    again.press("0")  # a person now, in office hours
    assert again.twiml.find("Dial") is not None


def test_an_empty_voice_message_still_ends_with_a_request_and_its_code(twilio):
    call = to_main_menu(twilio)
    call.press("4")
    record = call.twiml.find("Record")
    redirect = call.twiml.find("Redirect")
    assert redirect is not None and redirect.text == record.get("action")  # what Twilio runs next
    call._post(redirect.text, dict(call.params))  # silence, or # at once: no RecordingSid
    (ticket,) = tickets()
    assert ticket.reason == "callback_requested" and spoken(ticket.code) in call.said()


def test_three_wrong_keys_say_why_before_the_help_menu(twilio):
    call = to_main_menu(twilio)
    for key in ("7", "8"):
        call.press(key)
        assert "không có trong danh sách" in call.said()
    call.press("6")
    assert "Vì chưa nhận được phím bấm phù hợp" in call.said() and node_of(call) == "offer_help"
