"""Call instructions and their one TwiML renderer: the walker produces plain values, the
renderer (hotline/voice/twiml.py) turns each into TwiML with twilio's builders; the XML is
parsed and checked element by element."""

from __future__ import annotations

import dataclasses
import os
import xml.etree.ElementTree as ET

import pytest

from hotline.ivr import engine
from hotline.ivr.context import CallContext
from hotline.ivr.instructions import (
    INSTRUCTION_TYPES,
    Dial,
    Gather,
    Hangup,
    Pause,
    Play,
    Prompt,
    Record,
    Redirect,
    Say,
    StepTarget,
)
from hotline.ivr.steps import CallState
from hotline.staff.telephony import bridge
from hotline.voice.twiml import RENDERERS, render
from tests.conftest import PUBLIC_URL


def xml(*instructions) -> ET.Element:
    return ET.fromstring(render(instructions))


@pytest.fixture
def edge(app):
    """A webhook's request context: url_for and the public URL work as in a real request."""
    with app.test_request_context("/twilio/voice", method="POST"):
        yield app


def test_every_instruction_has_a_rendering():
    assert set(RENDERERS) == set(INSTRUCTION_TYPES)
    for cls in INSTRUCTION_TYPES:
        assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen, cls


def test_a_gather_asks_for_keys_at_the_next_step_with_its_prompts_inside(edge):
    gather = Gather(StepTarget("main_menu", 3, 2), timeout=6, num_digits=1,
                    prompts=(Prompt("main_menu", "vi"), Pause(1), Say("thêm", (("language", "vi-VN"),))))
    element = xml(gather).find("Gather")
    assert element.attrib == {"action": "/twilio/voice/step?node=main_menu&n=3&attempt=2", "method": "POST",
                              "timeout": "6", "numDigits": "1", "actionOnEmptyResult": "true"}
    assert [child.tag for child in element] == ["Say", "Pause", "Say"]
    text, _ = edge.extensions["hotline.flow"].prompt_text("main_menu", "vi")
    assert element[0].text == text and element[0].get("language") == "vi-VN"
    assert element[1].get("length") == "1" and element[2].text == "thêm"


def test_a_code_entry_gather_finishes_on_hash(edge):
    element = xml(Gather(StepTarget("status_by_code", 2), timeout=8, finish_on_key="#")).find("Gather")
    assert element.get("finishOnKey") == "#" and "numDigits" not in element.attrib


def test_a_recorded_prompt_plays_from_the_public_url_and_placeholders_are_filled(edge, tmp_path):
    edge.extensions["hotline.flow"].prompts["vi"]["test_placeholder"] = "Mã {code}{missing}."
    edge.extensions["hotline.flow"].prompts["mnong"]["test_placeholder"] = "Mã {code}."
    recording = tmp_path / "audio" / "mnong" / "test_placeholder.wav"
    recording.parent.mkdir(parents=True)
    recording.write_bytes(b"RIFF")
    os.utime(recording, (1_700_000_000, 1_700_000_000))
    edge.config["AUDIO_DIR"] = str(tmp_path / "audio")
    library = edge.extensions["hotline.prompts"]
    library.audio_dir = tmp_path / "audio"
    library.refresh()
    said, played = xml(Prompt("test_placeholder", "vi", (("code", "1, 2"),)),
                       Prompt("test_placeholder", "mnong"))
    assert said.tag == "Say" and said.text == "Mã 1, 2."
    assert played.tag == "Play"
    assert played.text == f"{PUBLIC_URL}/audio/mnong/test_placeholder.wav?v=1700000000000000000"


def test_a_record_reports_to_the_recording_webhook(edge):
    element = xml(Record(StepTarget("leave_message", 4), max_seconds=120)).find("Record")
    assert element.attrib == {
        "action": "/twilio/voice/step?node=leave_message&n=4&attempt=1", "method": "POST",
        "maxLength": "120", "finishOnKey": "#", "playBeep": "true", "trim": "trim-silence",
        "recordingStatusCallback": "/twilio/recording", "recordingStatusCallbackMethod": "POST",
        "recordingStatusCallbackEvent": "completed"}
    quiet = xml(Record(StepTarget("leave_message", 4), max_seconds=30, status_callback=False)).find("Record")
    assert "recordingStatusCallback" not in quiet.attrib


def test_a_dial_rings_its_numbers_and_posts_how_it_went(edge):
    element = xml(Dial(("+84903100201",), caller_id="+842633000000", ring_seconds=15,
                       action=StepTarget("connect_staff", 5, 2))).find("Dial")
    assert element.attrib == {"action": "/twilio/voice/step?node=connect_staff&n=5&attempt=2",
                              "method": "POST", "timeout": "15", "callerId": "+842633000000"}
    assert [number.text for number in element.iter("Number")] == ["+84903100201"]


def test_redirect_play_and_hangup(edge):
    redirect, play, hangup = xml(
        Redirect(StepTarget("main_menu", 2)), Play("https://x.example/a.wav"), Hangup())
    assert redirect.text == "/twilio/voice/step?node=main_menu&n=2&attempt=1"
    assert redirect.get("method") == "POST"
    assert play.text == "https://x.example/a.wav" and hangup.tag == "Hangup"


def test_text_from_outside_is_escaped_never_markup(edge):
    element = xml(Say('<Hangup/> & "Dial"'))
    assert [child.tag for child in element] == ["Say"]
    assert element[0].text == '<Hangup/> & "Dial"'


def test_the_staff_callback_bridge_is_rendered_by_the_same_renderer(app):
    """A worker renders it (no request): the resident is dialled from the hotline's number,
    and the staff member hears ringing until the resident answers."""
    document = render(bridge("+84912345678", "+842633000000"))
    say, dial = ET.fromstring(document)
    assert say.tag == "Say" and say.get("language") == "vi-VN"
    assert dial.attrib == {"callerId": "+842633000000", "answerOnBridge": "true"}
    assert [number.text for number in dial] == ["+84912345678"]


def test_the_walker_speaks_no_twiml(app):
    """A first call, walked without a webhook: plain instructions a second provider could
    render its own way (here: as lines of text)."""
    menu = app.extensions["hotline.voice"]
    ctx = CallContext(flow=menu.flow, prompts=menu.prompts, next_seq=1,
                      call=CallState(call_sid="CA1", from_number=None, phone=None, to_number=None))
    instructions = engine.walk(ctx, 0, menu.flow.start, None, 1)
    assert instructions == [Gather(StepTarget("choose_language", 1, 1), timeout=6, num_digits=1,
                                   prompts=(Prompt("choose_language", "vi"),))]

    def as_text(items) -> list[str]:
        lines = []
        for item in items:
            if isinstance(item, Gather):
                lines += as_text(item.prompts) + [f"keys → {item.action.node} (step {item.action.seq})"]
            elif isinstance(item, Prompt):
                lines.append(menu.flow.prompt_text(item.key, item.language)[0])
        return lines

    assert as_text(instructions)[-1] == "keys → choose_language (step 1)"


def test_the_apology_is_the_flows_system_busy_prompt(app):
    flow = app.extensions["hotline.flow"]
    text, _ = flow.prompt_text("system_busy", "vi")
    assert engine.apology(flow) == [Say(text, tuple(flow.say_attributes("vi").items())), Hangup()]
    assert engine.apology(None) == [Say(engine.APOLOGY, (("language", "vi-VN"),)), Hangup()]
