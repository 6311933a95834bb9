"""The callback queue: open requests a staff member may see, most urgent and oldest first."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case, func, literal, select
from sqlalchemy.orm import joinedload
from sqlalchemy.sql import ColumnElement

from .. import ticket_rows, training
from ..extensions import db
from ..models import Channel, Staff, Ticket, TicketStatus, Topic, utcnow
from . import access, forms
from .rules import rules

PAGE_SIZE = 50

#: Status filters offered on the queue page: the same `status` as the API and the CLI's.
STATUS_FILTERS = ticket_rows.STATUS_FILTERS


def urgency_expression() -> ColumnElement[int]:
    """Urgency computed in SQL from ivr_flows/staff.yaml (elderly, reason, attempts)."""
    weights = rules()["urgency"]
    reason_weight = case(
        *[(Ticket.reason == reason, int(w)) for reason, w in weights["reasons"].items()], else_=0
    )
    return (
        case((Ticket.elderly.is_(True), int(weights["elderly"])), else_=0)
        + reason_weight
        + Ticket.attempts * int(weights["per_attempt"])
    )


@dataclass
class QueueFilters:
    status: str = "active"
    team_id: int | None = None
    village_id: int | None = None
    topic: str | None = None
    channel: str | None = None
    page: int = 1
    #: The real requests, or the training space's (hotline.training).
    space: str = training.REAL

    @classmethod
    def from_args(cls, args) -> QueueFilters:
        """Absent or empty arguments mean "any"; a malformed one raises forms.BadInput (400)."""
        return cls(
            status=forms.choice(args, "status", STATUS_FILTERS, "active"),
            team_id=forms.optional_id(args, "team"),
            village_id=forms.optional_id(args, "village"),
            topic=forms.optional_text(args, "topic", max_length=64),
            channel=forms.choice(args, "channel", tuple(Channel), None),
            page=forms.page_number(args),
            space=forms.choice(args, "space", training.SPACES, training.REAL),
        )

    def as_args(self, **changes) -> dict[str, str | int]:
        """The query arguments that give these filters back (for page links)."""
        values = {
            "status": self.status,
            "team": self.team_id,
            "village": self.village_id,
            "topic": self.topic,
            "channel": self.channel,
            "page": self.page,
            "space": None if self.space == training.REAL else self.space,
            **changes,
        }
        return {k: v for k, v in values.items() if v not in (None, "")}


@dataclass
class QueuePage:
    tickets: list[Ticket]
    total: int
    page: int
    pages: int
    now: datetime
    urgency: dict[int, int] = field(default_factory=dict)


def queue_page(staff: Staff, filters: QueueFilters, page_size: int = PAGE_SIZE) -> QueuePage:
    now = utcnow()
    conditions = [ticket_rows.status_clause(Ticket, filters.status, now, staff.id)]
    conditions.append(access.visible_clause(staff, filters.space))
    if filters.team_id:
        conditions.append(Ticket.team_id == filters.team_id)
    if filters.village_id:
        conditions.append(Ticket.village_id == filters.village_id)
    if filters.topic:
        conditions.append(Ticket.topic == filters.topic)
    if filters.channel:
        conditions.append(Ticket.channel == filters.channel)

    total = db.session.execute(select(func.count()).select_from(Ticket).where(*conditions)).scalar_one()
    pages = max((total + page_size - 1) // page_size, 1)
    page = min(filters.page, pages)
    urgency = urgency_expression().label("urgency")
    closed = filters.status in (TicketStatus.RESOLVED, TicketStatus.CANCELLED)
    order = (
        [Ticket.closed_at.desc(), Ticket.id.desc()]
        if closed
        else [urgency.desc(), Ticket.created_at, Ticket.id]
    )
    rows = db.session.execute(
        select(Ticket, urgency if not closed else literal(0).label("urgency"))
        .options(joinedload(Ticket.assignee), joinedload(Ticket.village), joinedload(Ticket.team))
        .where(*conditions)
        .order_by(*order)
        .limit(page_size)
        .offset((page - 1) * page_size)
    ).all()
    return QueuePage(
        tickets=[row[0] for row in rows],
        total=total,
        page=page,
        pages=pages,
        now=now,
        urgency={row[0].id: row[1] for row in rows},
    )


def topics() -> list[str]:
    """The filter's choices: the topic vocabulary (hotline.models.Topic), then any other value
    stored before it (an operator's own keyword file), so those requests stay findable."""
    stored = db.session.scalars(
        select(Ticket.topic).where(Ticket.topic.is_not(None), Ticket.topic.not_in(list(Topic)))
        .distinct().order_by(Ticket.topic)
    )
    return [*Topic, *stored]
