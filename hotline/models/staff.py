"""The response team's work: the duty roster, office hours, home visits, the audit log and
failed logins. Teams, villages and staff accounts are in hotline.models.org; the team's
columns on requests and residents are declared in those classes (hotline.models.core).
"""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Integer,
    String,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Model, UTCDateTime, utcnow
from .core import Ticket
from .org import Staff, new_session_nonce  # noqa: F401  (new_session_nonce: hotline.staff.accounts)


class Outcome(StrEnum):
    RESOLVED = "resolved"
    NO_ANSWER = "no_answer"
    UNREACHABLE = "unreachable"  # no answer after the last try
    WRONG_NUMBER = "wrong_number"
    HOME_VISIT = "home_visit"
    TRANSFERRED = "transferred"


class RosterShift(Model):
    """A weekly duty slot: who takes "talk to a person" calls, and when (local time)."""

    __tablename__ = "roster_shifts"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    weekday: Mapped[int] = mapped_column(Integer)  # 0 = Monday
    starts: Mapped[time] = mapped_column(Time)
    ends: Mapped[time] = mapped_column(Time)
    position: Mapped[int] = mapped_column(Integer, default=0)  # ring order

    staff: Mapped[Staff] = relationship()


class OfficeHours(Model):
    __tablename__ = "office_hours"
    __table_args__ = (UniqueConstraint("weekday", "opens"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    weekday: Mapped[int] = mapped_column(Integer)  # 0 = Monday
    opens: Mapped[time] = mapped_column(Time)
    closes: Mapped[time] = mapped_column(Time)


class HomeVisit(Model):
    __tablename__ = "home_visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    visit_on: Mapped[date] = mapped_column(Date)
    booked_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ticket: Mapped[Ticket] = relationship()
    volunteer: Mapped[Staff] = relationship()


class AuditEntry(Model):
    """Who changed what, for every change made by a person (UI, API, SMS, CLI)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str | None] = mapped_column(String(120))
    data: Mapped[dict | None] = mapped_column(JSON)
    ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class LoginFailure(Model):
    """Failed logins, counted per username and per address to slow down guessing."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    ip: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
