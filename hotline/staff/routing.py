"""Route new requests to a team and fix their on-time target, whoever creates them.

Voice, SMS and voicemail code create tickets without knowing about teams; a
`before_flush` hook fills in the village (from the resident), the team (from
the village) and the due time, so routing cannot be forgotten by any channel.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, has_app_context
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from ..models import Ticket, Village, utcnow

DEFAULT_ON_TIME_HOURS = 48


def on_time_hours() -> float:
    if has_app_context():
        return float(current_app.config.get("STAFF_ON_TIME_HOURS", DEFAULT_ON_TIME_HOURS))
    return DEFAULT_ON_TIME_HOURS


def route(session: Session, ticket: Ticket) -> None:
    if ticket.due_at is None:
        created = ticket.created_at or utcnow()
        ticket.due_at = created + timedelta(hours=on_time_hours())
    if ticket.village_id is None and ticket.resident is not None:
        ticket.village_id = ticket.resident.village_id
    if ticket.team_id is None and ticket.village_id is not None:
        with session.no_autoflush:
            ticket.team_id = session.scalar(select(Village.team_id).where(Village.id == ticket.village_id))


@event.listens_for(Session, "before_flush")
def _route_new_tickets(session: Session, flush_context, instances) -> None:
    for obj in list(session.new):
        if isinstance(obj, Ticket):
            route(session, obj)
