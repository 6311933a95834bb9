"""A call's status callback → its final state, and a callback request for a call that
dropped before the caller got anything, or was never answered.

Domain functions: they flush; the status webhook (`hotline/voice/`) commits, and runs
them again when a twin of the callback committed the same call first.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select

from .. import tickets, training
from ..extensions import db
from ..models import Call, Channel, EventKind, Resident, TicketReason, utcnow
from ..phones import to_e164

FINAL_CALL_STATUSES = {"completed", "busy", "no-answer", "failed", "canceled"}
#: Final statuses of a call nobody answered (the hotline never served its greeting).
MISSED_CALL_STATUSES = {"busy", "no-answer", "failed", "canceled"}


def record_call_status(params: Mapping[str, str], region: str) -> Call:
    """The provider's status callback: the call's final state and length."""
    call = find_or_start_call(params, region)
    status = params.get("CallStatus") or call.status
    call.status = status
    duration = params.get("CallDuration")
    if duration and duration.isdigit():
        call.duration_seconds = int(duration)
    if status in FINAL_CALL_STATUSES and call.ended_at is None:
        call.ended_at = utcnow()
        reason = unfinished_call_reason(call, status)
        if reason is not None:
            callback_for_unfinished_call(call, reason)
        elif call.outcome == "information" and call.ticket is None:
            note_hang_up_on_open_request(call)
    db.session.flush()
    return call


def _new_call(params: Mapping[str, str], region: str) -> Call:
    raw_from = params.get("From")
    phone = to_e164(raw_from, region)
    # Read only: two first calls from one number at once must not race to create the resident.
    resident = db.session.scalar(select(Resident).where(Resident.phone == phone)) if phone else None
    return Call(
        call_sid=params.get("CallSid") or "",
        from_number=raw_from,
        phone=phone,
        to_number=params.get("To"),
        language=resident.language if resident else None,
        training_run_id=training.current_run_id(),
    )


def find_or_start_call(params: Mapping[str, str], region: str) -> Call:
    """The call with this CallSid, created on first sight (a status callback for a call whose
    greeting never ran: a missed call)."""
    call_sid = params.get("CallSid") or ""
    call = db.session.scalar(select(Call).where(Call.call_sid == call_sid))
    if call is not None:
        return call
    call = _new_call(params, region)
    db.session.add(call)
    # The same call arriving twice at once fails this flush (IntegrityError): the webhook
    # runs again and finds the twin's row.
    db.session.flush()
    return call


def unfinished_call_reason(call: Call, status: str) -> str | None:
    """`missed_call` when the greeting was never served, `dropped_call` when the caller
    left before getting a request, a person, a voice message or information."""
    if status in MISSED_CALL_STATUSES or not call.steps:
        return TicketReason.MISSED_CALL
    if call.outcome is None and call.ticket is None:
        return TicketReason.DROPPED_CALL
    return None


def note_hang_up_on_open_request(call: Call) -> None:
    """A caller with an open request heard its status (or other information) and hung up in
    the menu: no new request, but a line on the open one, with where they were and what they
    pressed, so staff see they called."""
    ticket = tickets.open_ticket_for(call.phone)
    if ticket is None:
        return
    steps = sorted(call.steps, key=lambda step: step.seq)
    data = {"call_sid": call.call_sid, "status": call.status, "heard": call.outcome,
            "last_node": steps[-1].node if steps else None,
            "keys": [step.digits for step in steps if step.digits]}
    tickets.add_event(ticket, EventKind.DROPPED_CALL, "called and hung up in the menu", data=data)
    call.ticket = ticket


def callback_for_unfinished_call(call: Call, reason: str) -> None:
    """A callback request, at most one per caller while one is open (later calls join it).

    A withheld number gets none: nobody could call it back, and the call is still recorded.
    """
    if call.phone is None:
        return
    data = {"call_sid": call.call_sid, "status": call.status}
    ticket = tickets.open_ticket_for(call.phone)
    if ticket is not None:
        tickets.add_event(
            ticket, EventKind(reason), f"{reason.replace('_', ' ')} from the same number", data=data
        )
    else:
        ticket = tickets.create_ticket(
            phone=call.phone, channel=Channel.VOICE, reason=reason, language=call.language, event_data=data
        )
    call.ticket = ticket
