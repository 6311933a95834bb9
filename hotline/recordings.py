"""`POST /twilio/recording`: Twilio's recording status callback (thin: the domain is hotline.voicemail)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, request

from . import voicemail
from .twilio_auth import twilio_signed
from .voice.units import commit_once

bp = Blueprint("recordings", __name__)


@bp.post("/twilio/recording")
@twilio_signed
def recording_status() -> Response:
    form = request.form
    recording_sid = form.get("RecordingSid", "").strip()
    if not recording_sid:
        abort(400, "RecordingSid is required")
    duration = form.get("RecordingDuration", "")
    commit_once(lambda: voicemail.recording_status(
        call_sid=form.get("CallSid") or None,
        from_number=form.get("From") or None,
        recording_sid=recording_sid,
        recording_url=form.get("RecordingUrl") or None,
        duration=int(duration) if duration.isdigit() else None,
        status=form.get("RecordingStatus") or "completed",
        error_code=form.get("ErrorCode") or None,
    ))
    return Response(status=204)
