"""SMS tables: every message in and out, and who asked not to be texted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Model
from .core import Ticket, UTCDateTime, utcnow


class SmsMessage(Model):
    """One inbound SMS, stored before anything else happens to it: nothing is dropped.

    (provider, dedup_key) is unique: Twilio's MessageSid, or for the Android
    gateway (whose ids derive from content) a hash of phone, text and receive time.
    """

    __tablename__ = "sms_messages"
    __table_args__ = (UniqueConstraint("provider", "dedup_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    dedup_key: Mapped[str] = mapped_column(String(80))
    provider_id: Mapped[str | None] = mapped_column(String(80))
    from_number: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    body: Mapped[str] = mapped_column(Text, default="")
    intent: Mapped[str | None] = mapped_column(String(24))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    #: The reply as decided when the message came in (replayed to a provider that retries).
    reply: Mapped[str | None] = mapped_column(Text)
    #: Why no reply went out (per-number cap, opted out, no number), if none did.
    no_reply_reason: Mapped[str | None] = mapped_column(String(40))
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    #: What the webhook found wrong with the provider's fields ({field: problem}), None if nothing:
    #: the message is stored cleaned, and this says so (hotline.webhook_input).
    input_flags: Mapped[dict | None] = mapped_column(JSON)

    ticket: Mapped[Ticket | None] = relationship()


class SmsOutbound(Model):
    """One SMS we send, once per `key`; a worker moves it through the provider."""

    __tablename__ = "sms_outbound"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    phone: Mapped[str] = mapped_column(String(20), index=True)
    body: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16), default="reply")  # reply | notice
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("sms_messages.id"))
    provider: Mapped[str | None] = mapped_column(String(16))
    provider_id: Mapped[str | None] = mapped_column(String(80), index=True)
    #: pending → sent (accepted by the provider) → delivered | failed; or not_sent.
    status: Mapped[str] = mapped_column(String(24), default="pending")
    provider_status: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    ticket: Mapped[Ticket | None] = relationship()


class SmsOptOut(Model):
    """A number that sent STOP: no SMS goes to it until it sends START."""

    __tablename__ = "sms_opt_outs"

    phone: Mapped[str] = mapped_column(String(20), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
