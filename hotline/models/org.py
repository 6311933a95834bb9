"""Who works the requests: teams, the villages each covers, and staff accounts.

Apart from the rest of the response team's tables (hotline.models.staff) because requests
and residents (hotline.models.core) refer to these, and those refer to requests.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Model, UTCDateTime, utcnow


class Role(StrEnum):
    """What a staff member may see and do (checked in hotline.staff.access)."""

    VOLUNTEER = "volunteer"  # their team's requests
    LEAD = "lead"  # their team's requests, assigns them
    ADMIN = "admin"  # everything, settings


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
    #: argon2 hash of the PIN that opens the recording booth by phone (hotline.prompt_booth).
    pin_hash: Mapped[str | None] = mapped_column(String(200))
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
