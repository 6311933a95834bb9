"""Rehearsals as the practice phone makes them, through the real domain code (texts through the
SMS pipeline, calls through the flow walker, voice messages with a recording on disk), and
the staff side of each request: for the training tests that need a filled training space."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select

from hotline import training
from hotline.extensions import db
from hotline.ivr import engine
from hotline.ivr.call_status import record_call_status
from hotline.models import Ticket, TrainingRun
from hotline.sms import pipeline
from hotline.staff import claims, outcomes
from hotline.voice import browser
from hotline.voicemail import record_voice_message


def text(phone: str | None, body: str) -> None:
    pipeline.receive_sms(provider="gateway", dedup_key=uuid.uuid4().hex, from_number=phone, text=body)


def answered_call(app, phone: str | None) -> dict[str, str]:
    """A call that starts the flow (a call and its first step); Twilio's parameters for it."""
    params = {"CallSid": "CA" + uuid.uuid4().hex, "AccountSid": "AC" + "0" * 32, "From": phone or "anonymous",
              "To": "+842633822123", "CallStatus": "in-progress", "Direction": "inbound"}
    with app.test_request_context("/twilio/voice", method="POST"):  # the renderer writes step URLs
        engine.answer_call(app.extensions["hotline.voice"], params, browser.render)
    return params


def call_with_message(app, phone: str | None) -> Path:
    """A call that leaves a voice message whose recording is on disk, where the transcription
    worker keeps it; then hangs up."""
    params, recording = answered_call(app, phone), "RE" + uuid.uuid4().hex
    audio = Path(app.config["DATA_DIR"]) / "recordings" / f"{recording}.wav"
    audio.parent.mkdir(parents=True, exist_ok=True)
    audio.write_bytes(b"RIFF....WAVE")
    record_voice_message(call_sid=params["CallSid"], from_number=params["From"], recording_sid=recording,
                         recording_url=f"https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/{recording}",
                         duration=5, language="vi")
    record_call_status({**params, "CallStatus": "completed", "CallDuration": "20"}, "VN")
    db.session.commit()
    return audio


def hang_up_after_greeting(app, phone: str | None) -> None:
    """A call that hangs up while the greeting plays: from a withheld number it opens nothing."""
    params = answered_call(app, phone)
    record_call_status({**params, "CallStatus": "completed", "CallDuration": "4"}, "VN")
    db.session.commit()


def work(ticket: Ticket, staff, volunteer) -> None:
    """What the team does with a request: claim, call back, a note, a home visit, and the
    visiting volunteer's "resolved"."""
    claims.claim(ticket, staff)
    outcomes.start_callback(ticket, staff)
    outcomes.add_note(ticket, staff, "gọi lại sau 5 giờ chiều")
    outcomes.book_visit(ticket, staff, date.today() + timedelta(days=3), volunteer)
    outcomes.resolve(ticket, volunteer, "đã hướng dẫn")
    db.session.commit()


def rehearse(app, world) -> tuple[list[TrainingRun], list[Path]]:
    """Three rehearsals as the practice phone runs them: texts (one opens nothing, one is a STOP),
    a call with a voice message from the run's number and one from a withheld number, a
    withheld call that hangs up at the greeting, and the trainee's staff side on each request."""
    lan, minh = world.vol_a, world.vol_b
    by_text = training.start_run(lan, "scam-call-report")
    by_voice = training.start_run(minh, "vneid-elderly-mnong")
    withheld = training.start_run(lan, "pension-withheld-number", withheld=True)
    db.session.commit()
    runs = [by_text, by_voice, withheld]
    with training.rehearsing(by_text.id):
        text(by_text.phone, "co nguoi xung cong an goi doi ma otp co phai lua dao k")
        text(by_text.phone, "cam on nhieu")
        text(by_text.phone, "STOP")
    db.session.commit()
    files = []
    for run in (by_voice, withheld):
        with training.rehearsing(run.id):
            files.append(call_with_message(app, run.phone))
    with training.rehearsing(withheld.id):
        hang_up_after_greeting(app, withheld.phone)  # no number, no request: only the run names it
    for run in runs:
        for ticket in db.session.scalars(select(Ticket).where(Ticket.training_run_id == run.id)):
            if ticket.phone:
                work(ticket, run.trainee, world.vol_a2)
            else:  # no number: no callback, no visit SMS
                claims.claim(ticket, run.trainee)
                outcomes.resolve(ticket, run.trainee)
    db.session.commit()
    return runs, files
