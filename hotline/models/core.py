"""SQLAlchemy 2 models: residents, calls and their steps, requests (tickets),
their timeline, and the outbox that carries work to the queue."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Model, UTCDateTime, utcnow
from .org import Staff, Team, Village


class Channel(StrEnum):
    VOICE = "voice"
    SMS = "sms"


class TicketReason(StrEnum):
    CALLBACK_REQUESTED = "callback_requested"
    DROPPED_CALL = "dropped_call"
    MISSED_CALL = "missed_call"
    VOICEMAIL = "voicemail"
    SMS = "sms"


class TicketStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"

    @classmethod
    def open_values(cls) -> tuple[str, ...]:
        return (cls.OPEN.value, cls.IN_PROGRESS.value)


class Resident(Model):
    """A phone number that has called or texted, or that the residents import listed."""

    __tablename__ = "residents"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    language: Mapped[str | None] = mapped_column(String(16))
    #: The one village reference (the name lives on the village); routes their requests.
    village_id: Mapped[int | None] = mapped_column(ForeignKey("villages.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    village: Mapped[Village | None] = relationship()


class Ticket(Model):
    """A request for help: what the response team works from."""

    __tablename__ = "tickets"
    __table_args__ = (Index("ix_tickets_queue", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"))
    channel: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32))
    topic: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=TicketStatus.OPEN, index=True)
    body: Mapped[str | None] = mapped_column(Text)
    transcript: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Routing and the response team's work (hotline.staff): each nullable or with a default,
    # so the voice and SMS code that creates requests needs to know nothing about them.
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    village_id: Mapped[int | None] = mapped_column(ForeignKey("villages.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Failed callback attempts (no answer); raises urgency, three ends the request.
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: When a no-answer request comes back into the queue (set by the scheduled retry).
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The on-time target: created_at + the configured hours, fixed when the request arrives.
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    elderly: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    outcome: Mapped[str | None] = mapped_column(String(24))
    #: A rehearsal's request (hotline.training): None for every real one. Kept out of the real
    #: queue, reports, exports and API; shown in the training queue and the trainer's page.
    training_run_id: Mapped[int | None] = mapped_column(ForeignKey("training_runs.id"), index=True)

    resident: Mapped[Resident | None] = relationship()
    team: Mapped[Team | None] = relationship()
    village: Mapped[Village | None] = relationship()
    assignee: Mapped[Staff | None] = relationship()
    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id", cascade="all, delete-orphan"
    )

    @property
    def can_call_back(self) -> bool:
        return self.phone is not None


class TicketEvent(Model):
    """One line of a request's timeline: who or what did what, and when."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    message: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict | None] = mapped_column(JSON)
    actor: Mapped[str] = mapped_column(String(64), default="system")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="events")


class Call(Model):
    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    from_number: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    to_number: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(24), default="in-progress")
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    #: What the caller got: request, person, voice_message, information (None: a dropped call).
    outcome: Mapped[str | None] = mapped_column(String(24))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: A call on the practice phone (hotline.training): the wipe finds it by this even when it
    #: opened no request and came from no number. None for every real call.
    training_run_id: Mapped[int | None] = mapped_column(ForeignKey("training_runs.id"))

    ticket: Mapped[Ticket | None] = relationship()
    steps: Mapped[list[CallStep]] = relationship(
        back_populates="call", order_by="CallStep.seq", cascade="all, delete-orphan"
    )


class CallStep(Model):
    """One webhook of a call. (call, seq) is unique: a Twilio retry replays the stored TwiML."""

    __tablename__ = "call_steps"
    __table_args__ = (UniqueConstraint("call_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"))
    seq: Mapped[int] = mapped_column(Integer)
    node: Mapped[str] = mapped_column(String(64))
    digits: Mapped[str | None] = mapped_column(String(32))
    twiml: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    call: Mapped[Call] = relationship(back_populates="steps")


class OutboxMessage(Model):
    """A job written in the same transaction as the rows it is about.

    The relay (hotline.outbox.relay_pending) moves it into RQ, so a webhook
    never waits on Redis and no job is lost while Redis is down. A row lives
    pending → relayed → finished (or failed after RQ's retries); one the relay
    cannot hand over is set aside with its reason so it never blocks the rows
    after it; see docs/outbox-and-health.md.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(String(120), unique=True)
    func: Mapped[str] = mapped_column(String(200))
    args: Mapped[list] = mapped_column(JSON, default=list)
    queue: Mapped[str] = mapped_column(String(40), default="default")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    relayed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    #: Set by the job's success callback (or the reconcile pass, from RQ's record).
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    #: RQ gave up on the job after its retries: counted, not enqueued again. Not indexed: a
    #: failed row is never finished, so `finished_at IS NULL` finds it (hotline.outbox states).
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The relay could not enqueue it (bad job id, unknown func, bad args): kept for a person.
    #: Not indexed: such a row is never relayed, so `relayed_at IS NULL` finds it.
    set_aside_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    set_aside_reason: Mapped[str | None] = mapped_column(Text)
    #: Not before this moment (hotline.clock): the relay leaves the row in the database until
    #: then, so work for later survives a Redis that loses its data. Empty: as soon as possible.
    run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class VoiceMessage(Model):
    """A caller's recorded message, one per Twilio RecordingSid, attached to a request."""

    __tablename__ = "voice_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_sid: Mapped[str] = mapped_column(String(64), unique=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    call_sid: Mapped[str | None] = mapped_column(String(64))
    recording_url: Mapped[str | None] = mapped_column(Text)
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    language: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ticket: Mapped[Ticket] = relationship()
