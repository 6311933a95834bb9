"""Requests (tickets): create them, find a caller's open one, write their timeline."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from . import codes, training
from .extensions import db
from .models import EventKind, Resident, Ticket, TicketEvent, TicketStatus, utcnow

#: Random codes tried at one length before codes grow by a digit.
CODE_TRIES_PER_LENGTH = 8


def new_code() -> str:
    """A code no request has used yet; short while short ones are plentiful."""
    length = codes.MIN_BODY_LENGTH
    while True:
        for _ in range(CODE_TRIES_PER_LENGTH):
            code = codes.random_code(length)
            if db.session.scalar(select(Ticket.id).where(Ticket.code == code)) is None:
                return code
        length += 1


def resident_for(phone: str | None, language: str | None = None, *, chosen: bool = False) -> Resident | None:
    """The resident with this number, created on first contact. `language` fills in a language not
    known yet; only a language the resident `chosen` (a language command) replaces a known one, so
    an SMS answered in Vietnamese never overwrites the M'Nông a caller chose on the phone."""
    if phone is None:
        return None
    resident = db.session.scalar(select(Resident).where(Resident.phone == phone))
    if resident is None:
        resident = Resident(phone=phone, language=language)
        db.session.add(resident)
    elif language and (chosen or resident.language is None):
        resident.language = language
    return resident


def latest_open_ticket_id(phone: Any) -> Select:
    """SELECT the id of the number's most recent open request: the one rule for "the caller's
    open request", used here and (as a subquery) in the voice engine's one-query read."""
    return (
        select(Ticket.id)
        .where(Ticket.phone == phone, Ticket.status.in_(TicketStatus.open_values()))
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(1)
    )


def open_ticket_for(phone: str | None) -> Ticket | None:
    """The caller's most recent open request, if any."""
    if phone is None:
        return None
    return db.session.scalar(
        select(Ticket).where(Ticket.id == latest_open_ticket_id(phone).scalar_subquery())
    )


def open_tickets_for(phone: str | None) -> list[Ticket]:
    """All of the number's open requests, the most recent first (a family sharing one phone
    may have one per need: hotline.sms.pipeline)."""
    if phone is None:
        return []
    return list(db.session.scalars(
        select(Ticket).where(Ticket.phone == phone, Ticket.status.in_(TicketStatus.open_values()))
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
    ))


def create_ticket(
    *,
    phone: str | None,
    channel: str,
    reason: str,
    topic: str | None = None,
    language: str | None = None,
    body: str | None = None,
    actor: str = "system",
    event_data: dict[str, Any] | None = None,
) -> Ticket:
    """Add a request and its first timeline line to the session (the caller commits)."""
    resident = resident_for(phone, language)
    ticket = Ticket(
        code=new_code(),
        phone=phone,
        resident=resident,
        channel=channel,
        reason=reason,
        topic=topic,
        language=language,
        body=body,
        status=TicketStatus.OPEN,
        training_run_id=training.current_run_id(),
    )
    db.session.add(ticket)
    message = f"request created ({reason}) via {channel}"
    if phone is None:
        message += "; no caller number: cannot call back"
    add_event(ticket, EventKind.CREATED, message, data=event_data, actor=actor)
    return ticket


def add_event(
    ticket: Ticket,
    kind: EventKind,
    message: str | None = None,
    *,
    data: dict[str, Any] | None = None,
    actor: str = "system",
) -> TicketEvent:
    """Append a timeline line. `message` is the English sentence the CLI, the API and logs
    read; the dashboard renders the line from `kind` and `data` (hotline.staff.timeline), so
    `data` carries whatever tells one sentence of a kind from another."""
    if not isinstance(kind, EventKind):
        raise TypeError(f"timeline kind {kind!r} is not an EventKind: add it to hotline.models.EventKind")
    event = TicketEvent(kind=kind, message=message, data=data, actor=actor, created_at=utcnow())
    ticket.events.append(event)
    ticket.updated_at = utcnow()
    return event


def get_by_code(code: str) -> Ticket | None:
    return db.session.scalar(select(Ticket).where(Ticket.code == code.strip()))
