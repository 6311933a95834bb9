"""Who may see and change which request.

Volunteers and team leads work their own team's requests; leads also see the
requests nobody has routed yet (no village known), so they can route them;
admins see everything. Every query and every action goes through here, so the
UI and the API cannot disagree.

Two spaces (hotline.training): the real requests, and the rehearsals of the browser
phone. A view shows one of them; the training space's requests are everyone's to
practise on, whatever their team.
"""

from __future__ import annotations

from sqlalchemy import or_
from sqlalchemy.sql import ColumnElement

from .. import training
from ..models import Role, Staff, Ticket


class Forbidden(Exception):
    """The staff member may not see or change this request."""


def visible_clause(staff: Staff, space: str = training.REAL) -> ColumnElement[bool]:
    """A WHERE clause limiting tickets to what `staff` may see in `space`."""
    if space == training.TRAINING:
        return training.space_clause(Ticket, training.TRAINING)
    real = training.real_requests(Ticket)
    if staff.role == Role.ADMIN:
        return real
    if staff.role == Role.LEAD:
        return real & or_(Ticket.team_id == staff.team_id, Ticket.team_id.is_(None))
    return real & (Ticket.team_id == staff.team_id)


def can_see(staff: Staff, ticket: Ticket) -> bool:
    if staff.role == Role.ADMIN or training.is_training(ticket):
        return True
    if staff.role == Role.LEAD and ticket.team_id is None:
        return True
    return staff.team_id is not None and ticket.team_id == staff.team_id


def check_can_see(staff: Staff, ticket: Ticket) -> None:
    if not can_see(staff, ticket):
        raise Forbidden("not your team's request")


def can_assign(staff: Staff) -> bool:
    return staff.role in (Role.LEAD, Role.ADMIN)
