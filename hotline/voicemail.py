"""Voice messages: a recording becomes (or joins) a request with reason `voicemail`,
and is queued for transcription (hotline.transcription) once per RecordingSid.

Domain functions: they flush and never commit. The voice step that takes the Record
verb's answer (`hotline.ivr.steps`) and the recording webhook (`hotline.recordings`)
each commit once. The provider delivers both for one recording, in either order, maybe
at the same moment: the one that loses the race on the unique RecordingSid fails its
flush with IntegrityError, and its edge runs the unit of work again, which then finds
the winner's message.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from . import tickets
from .extensions import db
from .models import Call, Channel, EventKind, Ticket, TicketReason, VoiceMessage
from .phones import to_e164
from .transcription.pipeline import queue_transcription


def record_voice_message(
    *,
    call_sid: str | None,
    from_number: str | None,
    recording_sid: str,
    recording_url: str | None,
    duration: int | None,
    language: str | None,
) -> Ticket:
    """Attach a recording to the call's request, or open a voicemail request; once per RecordingSid.

    Called both by the Record verb's action and by the recording status
    callback, in whichever order Twilio delivers them, any number of times.
    """
    existing = db.session.scalar(
        select(VoiceMessage).where(VoiceMessage.recording_sid == recording_sid)
    )
    if existing is not None:
        if recording_url and not existing.recording_url:
            existing.recording_url = recording_url
        if duration is not None and existing.duration_seconds is None:
            existing.duration_seconds = duration
        queue_transcription(existing)
        return existing.ticket

    call = db.session.scalar(select(Call).where(Call.call_sid == call_sid)) if call_sid else None
    phone = call.phone if call else to_e164(from_number, current_app.config["DEFAULT_REGION"])
    language = language or (call.language if call else None)
    ticket = call.ticket if call is not None and call.ticket is not None else None
    if ticket is None:
        ticket = tickets.create_ticket(
            phone=phone,
            channel=Channel.VOICE,
            reason=TicketReason.VOICEMAIL,
            language=language,
            event_data={"call_sid": call_sid},
        )
        if call is not None:
            call.ticket = ticket
    message = VoiceMessage(
        recording_sid=recording_sid,
        ticket=ticket,
        call_sid=call_sid,
        recording_url=recording_url,
        duration_seconds=duration,
        language=language,
    )
    db.session.add(message)
    tickets.add_event(
        ticket, EventKind.VOICE_MESSAGE, "voice message recorded",
        data={"recording_sid": recording_sid, "duration": duration},
    )
    db.session.flush()
    queue_transcription(message)
    return ticket


def recording_status(
    *,
    call_sid: str | None,
    from_number: str | None,
    recording_sid: str,
    recording_url: str | None,
    duration: int | None,
    status: str,
    error_code: str | None = None,
) -> Ticket | None:
    """Twilio's recording status callback: a completed recording is a voice message; a failed
    or absent one is noted on the call's request (the Record action already asked for a callback)."""
    if status == "completed":
        return record_voice_message(
            call_sid=call_sid, from_number=from_number, recording_sid=recording_sid,
            recording_url=recording_url, duration=duration, language=None,
        )
    call = db.session.scalar(select(Call).where(Call.call_sid == call_sid)) if call_sid else None
    if call is None or call.ticket is None:
        current_app.logger.info("recording %s %s for an unknown call", recording_sid, status)
        return None
    kind = {"failed": EventKind.RECORDING_FAILED, "absent": EventKind.RECORDING_ABSENT}.get(status)
    if kind is None:  # in-progress: nothing is lost yet
        return call.ticket
    already = any(
        e.kind == kind and (e.data or {}).get("recording_sid") == recording_sid for e in call.ticket.events
    )
    if not already:
        tickets.add_event(call.ticket, kind, f"recording {status}: no voice message was kept",
                          data={"recording_sid": recording_sid, "error_code": error_code})
        db.session.flush()
    return call.ticket
