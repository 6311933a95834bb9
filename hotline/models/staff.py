"""Staff, teams, villages, the duty roster, office hours, home visits and the audit log.

The response team's columns on core tables (a request's team, village, assignee,
attempts…; a resident's village) are declared in those classes (hotline.models.core).
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, time
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Model
from .core import Ticket, UTCDateTime, utcnow


class Role(StrEnum):
    """What a staff member may see and do (checked in hotline.staff.access)."""

    VOLUNTEER = "volunteer"  # their team's requests
    LEAD = "lead"  # their team's requests, assigns them
    ADMIN = "admin"  # everything, settings


class Outcome(StrEnum):
    RESOLVED = "resolved"
    NO_ANSWER = "no_answer"
    UNREACHABLE = "unreachable"  # no answer after the last try
    WRONG_NUMBER = "wrong_number"
    HOME_VISIT = "home_visit"
    TRANSFERRED = "transferred"


class Team(Model):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))

    villages: Mapped[list[Village]] = relationship(back_populates="team", order_by="Village.name")


class Village(Model):
    """A thôn or bon; the team that covers it gets its residents' requests."""

    __tablename__ = "villages"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)

    team: Mapped[Team | None] = relationship(back_populates="villages")


def new_session_nonce() -> str:
    return secrets.token_hex(16)


class Staff(Model):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    role: Mapped[str] = mapped_column(String(16), default=Role.VOLUNTEER)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    #: sha256 of the API token: the token itself is shown once and never stored.
    api_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    language: Mapped[str] = mapped_column(String(8), default="vi")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Part of every session cookie; a new one ends all sessions (hotline.staff.accounts).
    session_nonce: Mapped[str | None] = mapped_column(String(32), default=new_session_nonce)

    team: Mapped[Team | None] = relationship()

    # Flask-Login's protocol.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_nonce}"


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
