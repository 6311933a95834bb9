"""Prompts recorded by the commune's own voices: the recording booth's PIN, each take
made by phone or in the browser, and putting a kept take live.

A take is a `PromptRecording` row. By phone (the recording booth, `hotline.ivr.booth`)
Twilio records it and the row holds its RecordingSid and URL; "1 keep" marks it kept
and queues `store_prompt_recording`, which fetches it from Twilio (only from
`TWILIO_API_BASE`, like voice messages), converts it to 8 kHz mono and puts it in the
data folder, where callers hear it from the next step on. In the browser the file is
uploaded (a recording made with the microphone, or a WAV/MP3/OGG/M4A) and waits for a
lead or admin to approve it; approving queues the same job.

Domain functions: they flush and never commit (the voice step, the page, the job and the
CLI each commit once).
"""

from __future__ import annotations

import functools
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import select

from . import jobs, outbox
from .extensions import db
from .models import PromptRecording, RecordingStatus, Role, Staff, utcnow
from .staff import audit

#: Roles that may record prompts (the booth's door in ivr_flows/main.yaml names its own).
RECORDING_ROLES = (Role.LEAD.value, Role.ADMIN.value)
PIN = re.compile(r"^[0-9]{4,8}$")
#: Uploads bigger than this are refused (a minute of 48 kHz stereo WAV is ~11 MB).
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
UPLOAD_SUFFIXES = (".wav", ".mp3", ".ogg", ".m4a", ".webm", ".flac")

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash("00000000")


class PinRefused(ValueError):
    """Not a PIN (4 to 8 digits)."""


def set_pin(staff: Staff, pin: str, *, actor: str) -> None:
    """Set the PIN that opens the recording booth from `staff`'s registered phone (argon2)."""
    if not PIN.match(pin or ""):
        raise PinRefused("a PIN is 4 to 8 digits")
    staff.pin_hash = _hasher.hash(pin)
    audit.record(actor, "pin_set", staff.username)
    db.session.flush()


def booth_staff(phone: str | None, roles: tuple[str, ...] | list[str]) -> Staff | None:
    """The active staff member with a PIN whose registered phone is `phone`, if their role may record."""
    if not phone:
        return None
    staff = db.session.scalar(select(Staff).where(Staff.phone == phone, Staff.active.is_(True)))
    if staff is None or staff.pin_hash is None or staff.role not in roles:
        return None
    return staff


def check_pin(staff: Staff | None, pin: str | None) -> bool:
    """True when `pin` is the staff member's PIN (the same time is spent when there is no staff)."""
    digits = (pin or "").replace("#", "").replace("*", "")
    stored = staff.pin_hash if staff is not None and staff.pin_hash else _dummy_hash()
    try:
        matches = bool(_hasher.verify(stored, digits))
    except (VerificationError, InvalidHashError):
        matches = False
    return matches and staff is not None and staff.pin_hash is not None


def pin_locked(staff: Staff | None, phone: str | None, call_sid: str) -> None:
    """Three wrong PINs: the call ends, and the audit log says from which phone and call."""
    audit.record(f"phone:{phone or 'unknown'}", "booth_pin_locked",
                 staff.username if staff else None, call_sid=call_sid)
    db.session.flush()


def booth_entered(staff: Staff, call_sid: str) -> None:
    audit.record(staff.username, "booth_entered", staff.username, call_sid=call_sid)
    db.session.flush()


# --- takes -------------------------------------------------------------------------


def phone_take(
    *, staff: Staff, language: str, prompt: str, recording_sid: str, recording_url: str | None,
    duration: int | None, call_sid: str,
) -> PromptRecording:
    """The booth recorded a take (once per RecordingSid: a retried webhook finds it)."""
    take = db.session.scalar(select(PromptRecording).where(PromptRecording.recording_sid == recording_sid))
    if take is None:
        take = PromptRecording(
            language=language, prompt=prompt, channel="phone", status=RecordingStatus.PENDING,
            recording_sid=recording_sid, recording_url=recording_url, call_sid=call_sid,
            duration_seconds=duration, recorded_by_id=staff.id)
        db.session.add(take)
        db.session.flush()
    return take


def take_by_sid(recording_sid: str | None) -> PromptRecording | None:
    if not recording_sid:
        return None
    return db.session.scalar(select(PromptRecording).where(PromptRecording.recording_sid == recording_sid))


def keep(take: PromptRecording, staff: Staff) -> None:
    """Keep (by phone) or approve (in the browser): the worker puts it live."""
    if take.status not in (RecordingStatus.PENDING, RecordingStatus.FAILED):
        return
    take.status = RecordingStatus.KEPT
    take.approved_by_id = staff.id
    take.problem = None
    audit.record(staff.username, "prompt_approved", f"{take.language}/{take.prompt}",
                 recording=take.id, channel=take.channel)
    db.session.flush()
    outbox.add_job(f"prompt-recording-{take.id}-{uuid.uuid4().hex[:8]}", jobs.store_prompt_recording, take.id)


def discard(take: PromptRecording) -> None:
    if take.status == RecordingStatus.PENDING:
        take.status = RecordingStatus.DISCARDED
        db.session.flush()


def upload_take(*, staff: Staff, language: str, prompt: str, filename: str, data: bytes) -> PromptRecording:
    """A take uploaded in the browser (recorded with the microphone, or a file): kept in the
    data folder until approved."""
    suffix = Path(filename or "").suffix.lower() or ".wav"
    if suffix not in UPLOAD_SUFFIXES:
        raise ValueError(f"unsupported file type {suffix}")
    if not data:
        raise ValueError("empty file")
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValueError("file too large")
    relative = Path("prompts") / "takes" / f"{uuid.uuid4().hex}{suffix}"
    target = Path(current_app.config["DATA_DIR"]) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    take = PromptRecording(language=language, prompt=prompt, channel="browser",
                           status=RecordingStatus.PENDING, file=str(relative), recorded_by_id=staff.id)
    db.session.add(take)
    audit.record(staff.username, "prompt_uploaded", f"{language}/{prompt}")
    db.session.flush()
    return take


# --- what the booth and the page show -------------------------------------------------


@dataclass(frozen=True)
class LiveRecording:
    """Who recorded the prompt callers hear now, and when."""

    recorded_by: str | None
    channel: str
    live_at: datetime | None


def live_recordings(language: str | None = None) -> dict[tuple[str, str], LiveRecording]:
    """(language, prompt) → the latest live take, for the status table and the page."""
    query = select(PromptRecording).where(PromptRecording.status == RecordingStatus.LIVE)
    if language:
        query = query.where(PromptRecording.language == language)
    found: dict[tuple[str, str], LiveRecording] = {}
    for take in db.session.scalars(query.order_by(PromptRecording.live_at, PromptRecording.id)):
        found[(take.language, take.prompt)] = LiveRecording(
            take.recorded_by.name if take.recorded_by else None, take.channel, take.live_at)
    return found


def in_hand(language: str) -> set[str]:
    """Prompts of `language` kept or approved: on their way live, or live (a web process lists
    the data folder again only every half minute)."""
    return set(db.session.scalars(select(PromptRecording.prompt).where(
        PromptRecording.language == language,
        PromptRecording.status.in_((RecordingStatus.KEPT, RecordingStatus.LIVE)))))


def pending_takes(language: str) -> dict[str, PromptRecording]:
    """The newest take waiting for approval, per prompt."""
    found: dict[str, PromptRecording] = {}
    query = select(PromptRecording).where(
        PromptRecording.language == language,
        PromptRecording.status.in_((RecordingStatus.PENDING, RecordingStatus.KEPT, RecordingStatus.FAILED)),
    ).order_by(PromptRecording.id)
    for take in db.session.scalars(query):
        found[take.prompt] = take
    return found


def mark_live(take: PromptRecording, version: int, duration: float) -> None:
    take.status = RecordingStatus.LIVE
    take.version = str(version)
    take.live_at = utcnow()
    if take.duration_seconds is None:
        take.duration_seconds = round(duration)
    db.session.flush()


def mark_failed(take: PromptRecording, problem: str) -> None:
    take.status = RecordingStatus.FAILED
    take.problem = problem[:300]
    db.session.flush()


def store(recording_id: int) -> str:
    """The job's work: fetch the kept take (Twilio's media, only from TWILIO_API_BASE; or the
    uploaded file), convert it to 8 kHz mono and put it live. A second run changes nothing;
    a take that cannot be fetched or read is marked failed with the reason (shown on the page).
    """
    from .transcription.download import DownloadFailed, DownloadRefused, NotYetAvailable, fetch, media_url

    take = db.session.get(PromptRecording, recording_id)
    if take is None:
        return "no such recording"
    if take.status != RecordingStatus.KEPT:
        return f"nothing to do ({take.status})"
    config = current_app.config
    data_dir = Path(config["DATA_DIR"])
    library = current_app.extensions["hotline.prompts"]
    if take.file is None:
        safe_sid = re.sub(r"[^A-Za-z0-9_-]", "_", take.recording_sid or "")
        relative = Path("prompts") / "takes" / f"{safe_sid}.wav"
        try:
            url = media_url(take.recording_url or "", config["TWILIO_API_BASE"])
            sid, token = config.get("TWILIO_ACCOUNT_SID"), config.get("TWILIO_AUTH_TOKEN")
            fetch(url, data_dir / relative, auth=(sid, token) if sid and token else None,
                  delays=[float(d) for d in config["ASR_DOWNLOAD_DELAYS"]])
        except (DownloadRefused, DownloadFailed) as error:
            mark_failed(take, str(error))
            return f"failed: {error}"
        except NotYetAvailable:
            raise  # RQ retries later; the take stays kept
        take.file = str(relative)
    try:
        target = library.recordings_dir / take.language / f"{take.prompt}.wav"
        from .prompts import convert_to_telephony

        duration = convert_to_telephony(data_dir / take.file, target)
        library.refresh()
    except Exception as error:  # an unreadable file is the take's problem, said on the page
        mark_failed(take, f"cannot read the recording: {error}")
        return "failed: unreadable"
    mark_live(take, target.stat().st_mtime_ns, duration)
    return f"{take.language}/{take.prompt} live"
