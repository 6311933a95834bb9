"""The requests as plain rows, read with SQLAlchemy Core: the shape integrators rely on.

`hotline tickets list` reads the tickets table through here with a connection of its own,
without the ORM, the models or Flask-SQLAlchemy (importing those costs more than the rest of
the command: docs/benchmarks.md, "Command start-up"). The API and the dashboard pass ORM
tickets to the same `ticket_as_dict`: one shape, whichever way the row was read.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import Row, column, create_engine, or_, select, table
from sqlalchemy.sql import ColumnElement

from .sql_types import UTCDateTime

#: The fields of `hotline tickets list --json` and of the API's request, in that order.
FIELDS = ("code", "phone", "channel", "reason", "topic", "language", "status", "created_at",
          "updated_at", "transcript", "body")

#: The tickets table as Core sees it: only the columns read here (tests/test_cli.py checks them
#: against the model, hotline/models/core.py).
tickets = table(
    "tickets",
    column("id"),
    *(column(name, UTCDateTime()) if name.endswith("_at") else column(name) for name in FIELDS),
    column("assignee_id"),
    column("training_run_id"),  # rehearsals of the browser phone (hotline.training): never listed
    column("next_attempt_at", UTCDateTime()),
)

#: A request's own statuses (hotline.models.TicketStatus; tests/test_api.py keeps them equal).
TICKET_STATUSES = ("open", "in_progress", "resolved", "cancelled")
OPEN_STATUSES = ("open", "in_progress")
#: The queue's views of the open requests.
QUEUE_VIEWS = ("active", "unclaimed", "claimed", "mine", "waiting")
#: What `status` selects, with one meaning in the API (`?status=`), the dashboard's queue and
#: `hotline tickets list --status`: a request's own status (`open`: nobody holds it yet,
#: `in_progress`: someone does, `resolved`, `cancelled`), or one of the queue's views of the
#: open requests (`active`: open or in progress and not waiting for a retry, `unclaimed`,
#: `claimed`, `mine`, `waiting`: a retry is scheduled). Any other value is refused.
STATUS_FILTERS = (*QUEUE_VIEWS, *TICKET_STATUSES)


def status_clause(t: Any, status: str, now: datetime, staff_id: int | None = None) -> ColumnElement[bool]:
    """The condition `status` (one of STATUS_FILTERS) stands for, on `t`: the ORM `Ticket` or
    this module's Core `tickets.c` (both have the columns as attributes). `mine` needs `staff_id`."""
    if status in TICKET_STATUSES:
        return t.status == status
    open_ = t.status.in_(OPEN_STATUSES)
    ready = or_(t.next_attempt_at.is_(None), t.next_attempt_at <= now)
    views: dict[str, ColumnElement[bool]] = {
        "active": open_ & ready,
        "unclaimed": open_ & ready & t.assignee_id.is_(None),
        "claimed": open_ & t.assignee_id.is_not(None),
        "mine": open_ & (t.assignee_id == staff_id),
        "waiting": open_ & (t.next_attempt_at > now),
    }
    if status not in views:
        raise ValueError(f"unknown status {status!r}: one of {', '.join(STATUS_FILTERS)}")
    return views[status]


def ticket_as_dict(ticket: Any) -> dict[str, Any]:
    """The promised shape, from an ORM `Ticket` or a Core row (both have the fields as attributes)."""
    row = {name: getattr(ticket, name) for name in FIELDS}
    for name in ("created_at", "updated_at"):
        row[name] = row[name].isoformat() if row[name] else None
    return row


def read_tickets(database_uri: str, engine_options: dict[str, Any], *, status: str | None = None,
                 channel: str | None = None) -> list[Row]:
    """Every request (or those with this status / channel), oldest first: rows with the FIELDS."""
    query = (select(*(tickets.c[name] for name in FIELDS)).where(tickets.c.training_run_id.is_(None))
             .order_by(tickets.c.created_at, tickets.c.id))
    if status:
        from .clock import now

        query = query.where(status_clause(tickets.c, status, now()))
    if channel:
        query = query.where(tickets.c.channel == channel)
    engine = create_engine(database_uri, **engine_options)
    try:
        with engine.connect() as connection:
            return list(connection.execute(query))
    finally:
        engine.dispose()


def local_time(moment: datetime, zone: tzinfo) -> str:
    """A moment as the commune reads it: dd/mm/yyyy HH:MM in its own timezone."""
    return moment.astimezone(zone).strftime("%d/%m/%Y %H:%M")
