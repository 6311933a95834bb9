"""`/staff/simulator`: the phone in the browser, for rehearsals and demonstrations.

A thin edge. The page is the resident's phone; these routes play Twilio's side: a call
runs the real flow walker (`hotline.ivr.engine`) and its request code, rendered for the
browser (`hotline.voice.browser`) instead of as TwiML; a voice message is the browser's
recording, converted as Twilio would deliver it and transcribed by the real worker; a text
goes through the SMS pipeline the webhooks use. Everything runs inside
`training.rehearsing(run)`, so what it creates is the training space's, and the browser
never holds a Twilio credential: it never names a call either (the session does).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

from flask import (
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_login import current_user, login_required

from .. import training, training_scenarios
from ..callsim import twilio_recording_url
from ..extensions import db
from ..ivr import engine
from ..ivr.call_status import record_call_status
from ..models import TicketStatus, TrainingRun
from ..prompts import convert_to_telephony
from ..sms import pipeline
from ..transcription.pipeline import kept_recording
from ..unit_of_work import commit_once
from ..voice import browser, step_arguments, voice_menu
from ..voicemail import recording_status
from ..webhook_input import clean_text
from .labels import label
from .views import bp, one_action

#: The longest voice message the page may upload (a two-minute WebM/Opus take is ~1 MB).
MAX_TAKE_BYTES = 8 * 1024 * 1024
#: espeak-ng's voice for a prompt's language hint.
ESPEAK_VOICES = {"vi-VN": "vi", "en-US": "en-us", "en-GB": "en"}
SESSION_KEY = "simulator"


def current_run() -> TrainingRun | None:
    """The signed-in trainee's current rehearsal (the session remembers it)."""
    run_id = (session.get(SESSION_KEY) or {}).get("run")
    run = db.session.get(TrainingRun, run_id) if isinstance(run_id, int) else None
    if run is None or run.trainee_id != current_user.id:
        return None
    return run


def _run_or_409() -> TrainingRun:
    run = current_run()
    if run is None:
        abort(409)
    return run


def _call_params(run: TrainingRun, call_sid: str, **extra: str) -> dict[str, str]:
    """What Twilio would post for the simulated resident's call."""
    return {
        "CallSid": call_sid, "AccountSid": "AC" + "0" * 32,
        "From": run.phone or "anonymous", "To": current_app.config.get("PHONE_NUMBER") or "",
        "CallStatus": "in-progress", "Direction": "inbound", **extra,
    }


def _answer(produce: Callable[[], str]) -> Response:
    """A step's document; as on the phone line, a failure inside the hotline is heard as the
    apology (logged), never as an error page."""
    try:
        document = produce()
    except Exception:
        current_app.logger.exception("practice phone: a call step failed")
        db.session.rollback()
        document = browser.render(engine.apology(current_app.extensions.get("hotline.flow")))
    return Response(document, mimetype="application/json")


@bp.get("/simulator")
@login_required
def simulator():
    run = current_run()
    all_scenarios = training_scenarios.loaded()
    scenario = all_scenarios.get(run.scenario) if run else None
    return render_template(
        "staff/simulator.html", run=run, scenario=scenario, scenarios=all_scenarios,
        requests=training.run_requests(run) if run else [],
        statuses={status.value: label("status", status.value) for status in TicketStatus},
    )


@bp.post("/simulator/run")
@login_required
@one_action
def simulator_start():
    """A new rehearsal of the chosen scenario, with a fresh simulated number."""
    chosen = training_scenarios.loaded().get(request.form.get("scenario", ""))
    if chosen is None:
        abort(400)
    run = training.start_run(current_user, chosen.name, withheld=chosen.withheld)
    session[SESSION_KEY] = {"run": run.id}
    return redirect(url_for("staff.simulator"))


@bp.post("/simulator/call")
@login_required
def simulator_call():
    """The call button: the flow's first step, as the incoming-call webhook runs it."""
    run = _run_or_409()
    call_sid = "CA" + uuid.uuid4().hex
    session[SESSION_KEY] = {"run": run.id, "call": call_sid}
    with training.rehearsing(run.id):
        return _answer(lambda: engine.answer_call(voice_menu(), _call_params(run, call_sid), browser.render))


def _posted_step() -> tuple[str, int, int, dict[str, str]]:
    """The step the page answers, checked as the voice webhook checks a step URL."""
    body = request.get_json(silent=True) or request.form
    step = body.get("step")
    if isinstance(step, str):  # the voice message's form carries it as JSON
        try:
            step = json.loads(step)
        except ValueError:
            step = None
    if not isinstance(step, dict):
        abort(400)
    named = step.get("args")
    if not isinstance(named, dict):
        named = {}
    answered = step_arguments({**named, "node": step.get("node", ""), "n": step.get("seq", ""),
                               "attempt": step.get("attempt", "1")})
    if answered.problems or answered.seq is None:
        abort(400)
    return answered.node, answered.seq, answered.attempt, answered.args


def _call_sid() -> str:
    call_sid = (session.get(SESSION_KEY) or {}).get("call")
    if not call_sid:
        abort(409)
    return call_sid


@bp.post("/simulator/step")
@login_required
def simulator_step():
    """Keys (or silence), a dial's answer: the step webhook, as Twilio would post it."""
    run, call_sid = _run_or_409(), _call_sid()
    node, seq, attempt, args = _posted_step()
    body = request.get_json(silent=True) or {}
    extra: dict[str, str] = {}
    digits, _odd = clean_text(body.get("digits") or "", 32)
    if digits:
        extra["Digits"] = "".join(c for c in digits if c in "0123456789*#")
    if body.get("dial_status") in ("completed", "no-answer", "busy"):
        extra["DialCallStatus"] = body["dial_status"]
    with training.rehearsing(run.id):
        return _answer(lambda: engine.continue_call(
            voice_menu(), _call_params(run, call_sid, **extra), node, seq, attempt, browser.render, args))


@bp.post("/simulator/record")
@login_required
def simulator_record():
    """The voice message: the microphone's take, delivered as Twilio delivers a recording (an
    8 kHz WAV where the transcription worker looks, a RecordingUrl on Twilio's host), then
    the Record verb's answer and the recording callback, as Twilio posts both."""
    run, call_sid = _run_or_409(), _call_sid()
    node, seq, attempt, args = _posted_step()
    upload = request.files.get("audio")
    extra: dict[str, str] = {}
    if upload is not None:
        data = upload.read(MAX_TAKE_BYTES + 1)
        if len(data) > MAX_TAKE_BYTES:
            abort(413)
        sid = "RE" + uuid.uuid4().hex
        seconds = _store_take(data, sid)
        if seconds is not None:
            url = twilio_recording_url(current_app.config["TWILIO_API_BASE"],
                                       current_app.config.get("TWILIO_ACCOUNT_SID"), sid)
            extra = {"RecordingSid": sid, "RecordingUrl": url,
                     "RecordingDuration": str(max(1, round(seconds)))}
    params = _call_params(run, call_sid, **extra)

    def step_and_callback() -> str:
        document = engine.continue_call(voice_menu(), params, node, seq, attempt, browser.render, args)
        if extra:
            commit_once(lambda: recording_status(
                call_sid=call_sid, from_number=params["From"], recording_sid=extra["RecordingSid"],
                recording_url=extra["RecordingUrl"], duration=int(extra["RecordingDuration"]),
                status="completed", error_code=None))
        return document

    with training.rehearsing(run.id):
        return _answer(step_and_callback)


def _store_take(data: bytes, sid: str) -> float | None:
    """The browser's take (WebM/Opus, OGG, WAV) as the 8 kHz mono WAV a phone line gives;
    None when it holds no sound the decoder can read (the call goes on without a message)."""
    target = Path(current_app.config["DATA_DIR"]) / kept_recording(sid)
    target.parent.mkdir(parents=True, exist_ok=True)
    upload = target.with_suffix(".upload")
    upload.write_bytes(data)
    try:
        return convert_to_telephony(upload, target)
    except Exception:
        current_app.logger.warning("simulator: a voice message take could not be decoded (%d bytes)",
                                   len(data))
        return None
    finally:
        upload.unlink(missing_ok=True)


@bp.post("/simulator/hangup")
@login_required
def simulator_hangup():
    """The red button (or the end of the call): Twilio's final status callback."""
    run, call_sid = _run_or_409(), _call_sid()
    params = _call_params(run, call_sid, CallStatus="completed", CallDuration="30")
    with training.rehearsing(run.id):
        commit_once(lambda: record_call_status(params, current_app.config["DEFAULT_REGION"]))
    session[SESSION_KEY] = {"run": run.id}
    return {"ok": True}


@bp.post("/simulator/sms")
@login_required
def simulator_sms():
    """A text from the simulated resident, through the pipeline the SMS webhooks use; the
    reply is queued like any reply and the training provider keeps it (the thread shows it)."""
    run = _run_or_409()
    if run.phone is None:
        return {"ok": False, "error": "withheld"}, 409
    text, _odd = clean_text(request.form.get("body", ""), 1600)
    with training.rehearsing(run.id):
        commit_once(lambda: pipeline.receive_sms(
            provider="simulator", dedup_key=uuid.uuid4().hex, from_number=run.phone, text=text))
    return simulator_state()


@bp.get("/simulator/state")
@login_required
def simulator_state():
    """The thread and the run's requests, for the page's refresh."""
    run = _run_or_409()
    return {
        "thread": [dict(line, at=line["at"].isoformat()) for line in training.thread(run)],
        "requests": [
            {"code": t.code, "status": t.status, "transcript": t.transcript or "",
             "url": url_for("staff.ticket", code=t.code)}
            for t in training.run_requests(run)
        ],
    }


@bp.get("/simulator/speech")
@login_required
def simulator_speech():
    """A prompt's text spoken by espeak-ng (cached in the data folder), for prompts without a
    recording; 404 where espeak-ng is not installed (the page then uses the browser's voice)."""
    text, _odd = clean_text(request.args.get("text", ""), 2000)
    voice = ESPEAK_VOICES.get(request.args.get("lang", ""), "vi")
    espeak = shutil.which("espeak-ng")
    if not text or espeak is None:
        abort(404)
    digest = hashlib.sha256(f"{voice}\n{text}".encode()).hexdigest()[:40]
    cached = Path(current_app.config["DATA_DIR"]) / "simulator-speech" / f"{digest}.wav"
    if not cached.is_file():
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(".partial")
        subprocess.run([espeak, "-v", voice, "-s", "150", "-w", str(partial), text],
                       check=True, capture_output=True, timeout=60)
        partial.replace(cached)
    response = send_file(cached, mimetype="audio/wav", max_age=86400)
    response.cache_control.private = True
    return response
