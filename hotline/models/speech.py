"""Transcriptions of voice messages: one row per recording, whatever happened to it.

Kept apart from `voice_messages` so a recording is never lost when its
transcription fails: the row says why (no model, unreadable audio, not yet
downloadable) and `hotline transcribe --pending` can run it again.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Model
from .core import Ticket, UTCDateTime, VoiceMessage, utcnow


class TranscriptionStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    WAITING_FOR_AUDIO = "waiting_for_audio"  # Twilio answered 404/5xx: retried with backoff
    NO_MODEL = "no_model"  # no speech model for the language: re-run after `models install`
    UNREADABLE = "unreadable_audio"  # corrupt, empty or an undecodable format
    FAILED = "failed"  # refused or rejected download; needs a person
    DONE = "done"

    @classmethod
    def pending_values(cls) -> tuple[str, ...]:
        """What `hotline transcribe --pending` runs again."""
        return tuple(s.value for s in cls if s not in (cls.DONE, cls.RUNNING))


class Transcription(Model):
    """What Vosk heard in one voice message, with enough detail for staff to judge it."""

    __tablename__ = "transcriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    voice_message_id: Mapped[int] = mapped_column(ForeignKey("voice_messages.id"), unique=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    status: Mapped[str] = mapped_column(String(24), default=TranscriptionStatus.QUEUED, index=True)
    language: Mapped[str | None] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(Text)
    confidence: Mapped[float | None] = mapped_column(Float)
    low_confidence: Mapped[bool] = mapped_column(Boolean, default=False)
    #: [{"word", "start", "end", "conf"}, …] as Vosk reports them (seconds, 0–1).
    words: Mapped[list | None] = mapped_column(JSON)
    audio_seconds: Mapped[float | None] = mapped_column(Float)
    model_name: Mapped[str | None] = mapped_column(String(200))
    processing_seconds: Mapped[float | None] = mapped_column(Float)
    #: The downloaded recording, relative to the data folder (kept for staff to play).
    audio_path: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    #: How many times it was queued; part of the job id so a re-run is a new job.
    runs: Mapped[int] = mapped_column(Integer, default=1)
    #: The RQ job working on it: RQ retrying that same job (after a timeout or a killed
    #: worker) may take it over at once; any other job waits until it is stale.
    job_id: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    voice_message: Mapped[VoiceMessage] = relationship()
    ticket: Mapped[Ticket] = relationship()
