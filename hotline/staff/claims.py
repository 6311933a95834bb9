"""Claiming requests: two people pressing "claim" at once — exactly one gets it.

On SQLite the claim is one conditional UPDATE (the database file lock makes it
atomic). On PostgreSQL the row is first taken with `SELECT … FOR UPDATE SKIP
LOCKED`, so a second claimer never waits behind the first and is told at once
that someone else is taking it; "claim next" uses the same lock to hand
different requests to people who press it together.

These functions flush; the edge's unit of work commits (hotline.unit_of_work). The
lock (SQLite's write lock, PostgreSQL's row lock) is held until then, so every edge
commits right after the claim: a claim is a few statements and a commit, as before,
and a claim that is part of a larger action (an SMS `XONG`) commits with the rest of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from sqlalchemy import CursorResult, select, update

from .. import training
from ..extensions import db
from ..models import EventKind, Staff, Ticket, TicketEvent, TicketStatus, utcnow
from ..ticket_rows import status_clause
from ..tickets import add_event
from . import access, audit
from .queue import urgency_expression


class ClaimError(Exception):
    """Why a claim, release or reassignment did not happen (shown to the person)."""

    def __init__(self, reason: str, message: str, holder: Staff | None = None):
        super().__init__(message)
        self.reason = reason
        self.holder = holder


@dataclass
class ClaimResult:
    ticket: Ticket
    already_yours: bool = False


def _open(ticket: Ticket) -> bool:
    return ticket.status in TicketStatus.open_values()


def _conditional_claim(ticket_id: int, staff: Staff) -> bool:
    now = utcnow()
    result = db.session.execute(
        update(Ticket)
        .where(
            Ticket.id == ticket_id,
            Ticket.assignee_id.is_(None),
            Ticket.status.in_(TicketStatus.open_values()),
        )
        .values(
            assignee_id=staff.id,
            claimed_at=now,
            status=TicketStatus.IN_PROGRESS,
            updated_at=now,
            next_attempt_at=None,  # claimed early: the scheduled retry has nothing left to do
        )
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult, result).rowcount == 1  # an UPDATE's result: a cursor's


def _locked_claim(ticket_id: int, staff: Staff) -> bool:
    locked = db.session.scalar(
        select(Ticket.id)
        .where(
            Ticket.id == ticket_id,
            Ticket.assignee_id.is_(None),
            Ticket.status.in_(TicketStatus.open_values()),
        )
        .with_for_update(skip_locked=True)
    )
    return locked is not None and _conditional_claim(ticket_id, staff)


def claim(ticket: Ticket, staff: Staff, *, via: str = "web") -> ClaimResult:
    """Give `ticket` to `staff` if nobody has it. Raises ClaimError otherwise.

    Either way the edge's unit of work ends the transaction right after (commit or
    rollback), which also ends the SQLite write lock the conditional UPDATE took."""
    access.check_can_see(staff, ticket)
    ticket_id = ticket.id
    if ticket.assignee_id == staff.id and _open(ticket):
        return ClaimResult(ticket, already_yours=True)
    if db.engine.dialect.name == "postgresql":
        won = _locked_claim(ticket_id, staff)
    else:
        won = _conditional_claim(ticket_id, staff)
    if not won:
        fresh = db.session.get(Ticket, ticket_id, populate_existing=True)
        if fresh is None or not _open(fresh):  # closed, or erased (Decree 13) meanwhile
            raise ClaimError("closed", "request is closed")
        if fresh.assignee_id == staff.id:
            return ClaimResult(fresh, already_yours=True)
        holder = fresh.assignee
        name = holder.name if holder else "someone else"
        raise ClaimError("taken", f"already claimed by {name}", holder=holder)
    fresh = db.session.get_one(Ticket, ticket_id, populate_existing=True)
    add_event(
        fresh,
        EventKind.CLAIMED,
        f"claimed by {staff.name}",
        data={"staff": staff.username, "via": via},
        actor=staff.username,
    )
    audit.record(staff.username, "claim", fresh.code, via=via)
    return ClaimResult(fresh)


def _record_claim(ticket_id: int, code: str, staff_id: int, name: str, username: str, via: str) -> None:
    """The timeline line and audit row of a claim, written without loading the request's
    timeline (the claim UPDATE already set updated_at)."""
    db.session.add(
        TicketEvent(
            ticket_id=ticket_id,
            kind=EventKind.CLAIMED,
            message=f"claimed by {name}",
            data={"staff": username, "via": via},
            actor=username,
            created_at=utcnow(),
        )
    )
    audit.record(username, "claim", code, via=via)


def claim_next(staff: Staff, space: str = training.REAL) -> Ticket | None:
    """Claim the most urgent unclaimed request `staff` may see; None when there is none.

    SQLite: one UPDATE whose WHERE picks the request (the statement holds the write lock,
    so two claimers can never pick the same one). PostgreSQL: SKIP LOCKED hands people
    who press together different requests without waiting for each other. Either way a
    claim is four statements and the edge's commit, so claimers hold locks briefly.
    """
    staff_id, name, username, now = staff.id, staff.name, staff.username, utcnow()
    conditions = [status_clause(Ticket, "unclaimed", now, staff.id)]
    conditions.append(access.visible_clause(staff, space))  # real requests, or the training space's
    pick = (
        select(Ticket.id)
        .where(*conditions)
        .order_by(urgency_expression().desc(), Ticket.created_at, Ticket.id)
        .limit(1)
    )
    claim_it = (
        update(Ticket)
        .where(Ticket.assignee_id.is_(None))
        .values(
            assignee_id=staff_id,
            claimed_at=now,
            status=TicketStatus.IN_PROGRESS,
            updated_at=now,
            next_attempt_at=None,
        )
        .returning(Ticket.id, Ticket.code)
        .execution_options(synchronize_session=False)
    )
    if db.engine.dialect.name == "postgresql":
        ticket_id = db.session.scalar(pick.with_for_update(skip_locked=True))
        row = db.session.execute(claim_it.where(Ticket.id == ticket_id)).first() if ticket_id else None
    else:
        row = db.session.execute(claim_it.where(Ticket.id == pick.scalar_subquery())).first()
    if row is None:
        return None
    _record_claim(row.id, row.code, staff_id, name, username, "next")
    return db.session.get(Ticket, row.id, populate_existing=True)  # the UPDATE bypassed the session


def release(ticket: Ticket, staff: Staff, *, via: str = "web") -> Ticket:
    """Put a claimed request back in the queue (its holder, or a lead/admin)."""
    access.check_can_see(staff, ticket)
    if ticket.assignee_id is None:
        raise ClaimError("not_claimed", "request is not claimed")
    if ticket.assignee_id != staff.id and not access.can_assign(staff):
        raise ClaimError("not_yours", "only its holder or a team lead can release it")
    previous = ticket.assignee.username if ticket.assignee else None
    ticket.assignee_id = None
    ticket.claimed_at = None
    if ticket.status == TicketStatus.IN_PROGRESS:
        ticket.status = TicketStatus.OPEN
    add_event(
        ticket,
        EventKind.RELEASED,
        f"released by {staff.name}",
        data={"previous": previous, "via": via},
        actor=staff.username,
    )
    audit.record(staff.username, "release", ticket.code, previous=previous, via=via)
    return ticket


def reassign(ticket: Ticket, staff: Staff, to: Staff, *, via: str = "web") -> Ticket:
    """A lead (or admin) gives a request to someone in the team that covers it."""
    access.check_can_see(staff, ticket)
    if not access.can_assign(staff):
        raise ClaimError("not_lead", "only a team lead or an admin can reassign")
    if not _open(ticket):
        raise ClaimError("closed", "request is closed")
    if not to.active or not access.can_see(to, ticket):
        raise ClaimError("wrong_team", f"{to.name} cannot work this request")
    previous = ticket.assignee.username if ticket.assignee else None
    ticket.assignee_id = to.id
    ticket.claimed_at = utcnow()
    ticket.status = TicketStatus.IN_PROGRESS
    add_event(
        ticket,
        EventKind.REASSIGNED,
        f"assigned to {to.name} by {staff.name}",
        data={"previous": previous, "to": to.username, "via": via},
        actor=staff.username,
    )
    audit.record(staff.username, "reassign", ticket.code, previous=previous, to=to.username)
    return ticket
