"""What a caller hears stays byte for byte what it was, for the same flow: scripted calls
through every node type (recorded prompts, text-to-speech, the M'Nông fallback, codes read
out, Gather, Record, Dial, Hangup) are replayed on SQLite and PostgreSQL and each TwiML
answer is compared with tests/data/voice_answers.json.

The file was written by the code that built TwiML inside the nodes, before the renderer
(hotline/voice/twiml.py) existed. After changing the flow or its prompts on purpose,
rewrite it with `HOTLINE_WRITE_VOICE_ANSWERS=1 pytest tests/test_voice_answers.py`.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import types
from pathlib import Path

from hotline import codes
from tests.conftest import PUBLIC_URL, TEST_AUTH_TOKEN
from tests.twilio_sim import TwilioSim
from tests.voice_helpers import set_office

ROOT = Path(__file__).resolve().parent.parent
ANSWERS = ROOT / "tests" / "data" / "voice_answers.json"
RECORDED = {"mnong": ("choose_language", "main_menu"), "vi": ("goodbye",)}
RECORDING = {"RecordingSid": "RE" + "c" * 32, "RecordingDuration": "5",
             "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/REc"}

#: (what, caller, office, the caller's moves: a key, None for silence, or (verb, parameters)
#: posted to that verb's action).
SCRIPTS = [
    ("Vietnamese, a procedure, a request", "+84912000001", "open", ["1", "1", "1"]),
    ("M'Nông: recordings, else the Vietnamese text", "+84912000002", "open", ["2", "1", "2"]),
    ("silence everywhere", "+84912000003", "open", [None, None, None, None, None]),
    ("wrong keys and star", "+84912000004", "open", ["7", "8", "9", "*", "5", "6"]),
    ("information and a way back", "+84912000005", "open", ["1", "3", "1", "9", "3", "2", "3", "3"]),
    ("status by code: wrong, then silence", "+84912000006", "open", ["1", "2", "12345", None, "*"]),
    ("a voice message", "+84912000007", "open", ["1", "4", ("Record", RECORDING)]),
    ("an empty recording", "+84912000008", "open", ["1", "4", ("Record", {})]),
    ("a person: busy, then no answer", "+84912000009", "open",
     ["1", "0", ("Dial", {"DialCallStatus": "busy"}), ("Dial", {"DialCallStatus": "no-answer"})]),
    ("a person answers", "+84912000010", "open", ["1", "0", ("Dial", {"DialCallStatus": "completed"})]),
    ("a withheld number", "anonymous", "open", ["1", "1", "2"]),
    ("a returning caller hears their request", "+84912000001", "open", ["1", "1"]),
    ("out of hours", "+84912000011", "closed", ["1", "0", "1"]),
    ("nobody on duty", "+84912000012", "nobody", ["1", "0"]),
]


def flow_digest() -> str:
    files = [ROOT / "ivr_flows" / "main.yaml", *sorted((ROOT / "ivr_flows" / "prompts").glob("*.yaml"))]
    return hashlib.sha256(b"".join(path.read_bytes() for path in files)).hexdigest()


def play(app, monkeypatch) -> list[list[str]]:
    rng = random.Random(7)  # request codes, drawn in the same order every run
    monkeypatch.setattr(codes, "secrets", types.SimpleNamespace(randbelow=rng.randrange))
    twilio = TwilioSim(app.test_client(), TEST_AUTH_TOKEN, PUBLIC_URL)
    answers = []
    for what, caller, office, moves in SCRIPTS:
        if office == "nobody":
            set_office(app, open_now=True, on_duty=())
        else:
            set_office(app, open_now=office == "open")
        call = twilio.call(caller)
        call.start()
        answers.append([what, call.last_response.data.decode()])
        for move in moves:
            if isinstance(move, tuple):
                verb, parameters = move
                call.post_to(call.twiml.find(verb).get("action"), **parameters)
            else:
                call.press(move)
            answers.append([what, call.last_response.data.decode()])
    call = twilio.call("+84912000013")
    call.start()
    call.post_to("/twilio/voice/step?node=gone&n=1&attempt=1")
    answers.append(["a step of an older flow", call.last_response.data.decode()])
    return answers


def test_every_answer_is_the_stored_one_byte_for_byte(app_factory, tmp_path, monkeypatch):
    audio = tmp_path / "audio"
    for language, keys in RECORDED.items():
        for key in keys:
            path = audio / language / f"{key}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"RIFF")
            os.utime(path, (1_000_000_000, 1_000_000_000))  # the version in the URL
    app = app_factory(AUDIO_DIR=str(audio))
    with app.app_context():
        answers = play(app, monkeypatch)
    if os.environ.get("HOTLINE_WRITE_VOICE_ANSWERS") == "1":
        ANSWERS.write_text(json.dumps({"flow": flow_digest(), "answers": answers}, ensure_ascii=False,
                                      indent=1) + "\n", encoding="utf-8")
    stored = json.loads(ANSWERS.read_text(encoding="utf-8"))
    assert stored["flow"] == flow_digest(), (
        "the flow or its prompts changed: rewrite tests/data/voice_answers.json (see the docstring)")
    assert len(answers) == len(stored["answers"])
    for (what, answer), (_, expected) in zip(answers, stored["answers"], strict=True):
        assert answer == expected, what
