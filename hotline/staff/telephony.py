"""Twilio REST work for the response team, run by workers: ring a staff member and bridge
them to the resident, and text a volunteer about a home visit.

The bridge is call instructions (`bridge`); the job hands in the voice edge's renderer
(`hotline.voice.twiml.render`), which turns them into the TwiML the REST call carries,
as it does for the webhooks.

Residents' SMS go through `hotline.messaging.send_ticket_sms`; texts to staff go to
their own phone, through the same provider (`hotline.messaging.deliver`), and are
written on the request's timeline under their own kinds. The jobs (workers.staff_jobs)
commit what these functions write, one unit of work per job.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from flask import current_app
from twilio.base.exceptions import TwilioRestException

from .. import training
from ..extensions import db
from ..ivr.instructions import Dial, Instruction, Say
from ..messaging import TransientSendError, deliver, render_sms, twilio_client
from ..models import EventKind, HomeVisit, Staff, Ticket
from ..tickets import add_event
from .rules import plain_sms


def _done(ticket: Ticket, kinds: tuple[str, ...], key: str) -> bool:
    return any(e.kind in kinds and (e.data or {}).get("key") == key for e in ticket.events)


def bridge(resident_phone: str, hotline_number: str) -> list[Instruction]:
    """What the staff member's leg runs once they pick up: dial the resident as the hotline
    (the resident sees the official number, and hears ringing until they answer)."""
    return [
        Say("Đang nối máy tới người dân.", (("language", "vi-VN"),)),
        Dial((resident_phone,), caller_id=hotline_number, answer_on_bridge=True),
    ]


def place_callback(
    ticket_id: int, staff_id: int, key: str, render: Callable[[Sequence[Instruction]], str],
) -> str:
    ticket = db.session.get(Ticket, ticket_id)
    staff = db.session.get(Staff, staff_id)
    if ticket is None or staff is None:
        return "missing"
    if _done(ticket, ("callback_placed", "callback_failed"), key):
        return "already_done"
    data: dict[str, Any] = {"key": key, "staff": staff.username}
    if training.is_training(ticket):  # a rehearsal: no phone rings, the timeline says what would have
        data.update(sid="training", status="simulated", training=True)
        add_event(ticket, EventKind.CALLBACK_PLACED,
                  f"training: {staff.name} would be rung, then the resident (no call placed)",
                  data=data, actor="system")
        return "callback_placed"
    client = twilio_client()
    if client is None or not staff.phone or not ticket.phone:
        kind, message = "callback_failed", "not placed: no Twilio credentials or no phone number"
        data["reason"] = "no_credentials"
    else:
        hotline = current_app.config["PHONE_NUMBER"]
        try:
            call = client.calls.create(
                to=staff.phone, from_=hotline, twiml=render(bridge(ticket.phone, hotline))
            )
        except TwilioRestException as error:
            if error.status >= 500 or error.status == 429:
                raise TransientSendError(f"Twilio answered {error.status}") from error
            kind, message = "callback_failed", f"not placed: Twilio refused ({error.status})"
            data.update(reason="refused", http_status=error.status)
        except OSError as error:
            raise TransientSendError(str(error)) from error
        else:
            kind, message = "callback_placed", f"ringing {staff.name}, then the resident (call {call.sid})"
            data.update(sid=call.sid, status=call.status)
    add_event(ticket, EventKind(kind), message, data=data, actor="system")
    return kind


def notify_volunteer(visit_id: int) -> str:
    visit = db.session.get(HomeVisit, visit_id)
    if visit is None:
        return "missing"
    ticket, volunteer = visit.ticket, visit.volunteer
    key = f"volunteer-{visit.id}"
    if _done(ticket, ("staff_sms_sent", "staff_sms_not_sent", "staff_sms_failed"), key):
        return "already_done"
    village = ticket.village.name if ticket.village else "?"
    body = render_sms(
        "visit_volunteer",
        volunteer.language,
        code=ticket.code,
        date=f"{visit.visit_on:%d/%m}",
        phone=ticket.phone or "?",
        village=village,
    )
    body = plain_sms(body)
    # The configured provider (Twilio or the local-SIM gateway), as for residents' SMS;
    # a volunteer's own STOP does not silence work messages.
    outcome, detail, data = deliver(volunteer.phone or None, body, key, honour_opt_out=False,
                                    rehearsal=training.is_training(ticket))
    data.update(key=key, volunteer=volunteer.username)
    kind = f"staff_{outcome}"
    if outcome == "sms_sent":
        message = f"visit details texted to {volunteer.name}"
    elif outcome == "sms_failed":
        message = f"volunteer not texted: {detail.removeprefix('not sent: ')}"
    else:
        message = f"volunteer {volunteer.name} not texted: no phone or provider"
    add_event(ticket, EventKind(kind), message, data=data)
    return kind
