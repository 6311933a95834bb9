"""`POST /twilio/recording`: Twilio's recording status callback (thin: the domain is hotline.voicemail)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from . import voicemail, webhook_input
from .twilio_auth import twilio_signed
from .unit_of_work import commit_once

bp = Blueprint("recordings", __name__)


@bp.post("/twilio/recording")
@twilio_signed
def recording_status() -> Response:
    """A RecordingSid that is not one (and cannot be found in the signed string) keys nothing:
    the callback is logged and answered 204, since a retry would carry the same fields."""
    params = webhook_input.twilio_params(
        request.form, webhook_input.RECORDING_SID, optional=(webhook_input.CALL_SID,))
    if params.flags:
        current_app.logger.warning("recording callback: odd fields %s", params.flags)
    form = params.values
    recording_sid = form.get("RecordingSid")
    # No status means Twilio's default event, completed; a status Twilio does not send means nothing.
    status = form.get("RecordingStatus") or (None if "RecordingStatus" in params.flags else "completed")
    if recording_sid is None or status is None:
        return Response(status=204)
    duration = form.get("RecordingDuration")
    commit_once(lambda: voicemail.recording_status(
        call_sid=form.get("CallSid"),
        from_number=form.get("From") or None,
        recording_sid=recording_sid,
        recording_url=form.get("RecordingUrl") or None,
        duration=int(duration) if duration else None,
        status=status,
        error_code=form.get("ErrorCode") or None,
    ))
    return Response(status=204)
