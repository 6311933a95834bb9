"""Prompt recordings made by staff (by phone in the recording booth, or in the browser):
who recorded which prompt in which language, when, and whether it is heard now.

The file a caller hears lives in the data folder (`hotline.prompts`); these rows are the
history behind it and the candidates waiting to be kept or approved.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Model, UTCDateTime, utcnow
from .org import Staff


class RecordingStatus(StrEnum):
    PENDING = "pending"  # recorded, waiting for "1 keep" (phone) or "approve" (browser)
    KEPT = "kept"  # kept by phone: the worker fetches it from Twilio and puts it live
    LIVE = "live"  # converted and in the data folder: callers hear it (the latest one)
    DISCARDED = "discarded"  # "2 again", "3 skip", or replaced before it was approved
    FAILED = "failed"  # could not be fetched or converted (`problem` says why)


class PromptRecording(Model):
    __tablename__ = "prompt_recordings"

    id: Mapped[int] = mapped_column(primary_key=True)
    language: Mapped[str] = mapped_column(String(16), index=True)
    prompt: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(8))  # "phone" or "browser"
    status: Mapped[str] = mapped_column(String(12), default=RecordingStatus.PENDING)
    #: Twilio's RecordingSid (phone): a retried webhook finds the row it made.
    recording_sid: Mapped[str | None] = mapped_column(String(34), unique=True)
    recording_url: Mapped[str | None] = mapped_column(String(500))
    call_sid: Mapped[str | None] = mapped_column(String(34))
    #: The uploaded or fetched file, relative to the data folder, until it is live.
    file: Mapped[str | None] = mapped_column(String(200))
    #: The version in the URL callers' provider fetches (changes with every new recording).
    version: Mapped[str | None] = mapped_column(String(40))
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    problem: Mapped[str | None] = mapped_column(String(300))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    live_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    recorded_by: Mapped[Staff | None] = relationship(foreign_keys=[recorded_by_id])
    approved_by: Mapped[Staff | None] = relationship(foreign_keys=[approved_by_id])
