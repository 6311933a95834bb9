"""Retention periods (Decree 13/2023/ND-CP: personal data kept no longer than needed), applied
every night and on demand (`hotline retention [--dry-run]`).

Settings (hotline/config.py, `HOTLINE_RETENTION_*`), counted from the day a request closed:
- RETENTION_RECORDINGS_DAYS (90): voice recordings (files deleted from disk, Twilio's URL
  forgotten) and their transcripts;
- RETENTION_TEXTS_DAYS (730, 24 months): the request's text, SMS in and out, notes and the
  timeline data that carries texts or numbers, call steps, and the resident's number on the
  request, its calls and SMS; then the resident row once nothing of theirs is left.
  Calls and SMS on no request count from the day they came in;
- RETENTION_AUDIT_DAYS (1825, 5 years): audit log entries (kept longest: they prove who
  read and changed what).

Open requests are never touched. Each request gets a timeline line saying what went ("đã
xoá sau 90 ngày"); the request row itself stays with its dates, status, channel, reason,
topic, team and village, so reports count the same before and after.

Each pass selects only what still has something to remove, so a run that is repeated (an
RQ retry, a second night after a missed one) removes nothing twice. A dry run is the same
run rolled back: what it reports is exactly what would go.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import delete, exists, func, or_, select

from . import clock
from .extensions import db
from .models import (
    AuditEntry,
    Call,
    CallStep,
    EventKind,
    Resident,
    SmsMessage,
    SmsOutbound,
    Ticket,
    TicketEvent,
    TicketStatus,
    Transcription,
    VoiceMessage,
)
from .personal_data import (
    ERASED_LINE,
    KEEP_LINES,
    Removed,
    delete_files_after_commit,
    note_removal,
    remove_numbers,
    remove_recordings,
    remove_texts,
)


@dataclass
class Report:
    recordings: Removed
    texts: Removed
    audit_entries: int = 0

    def lines(self) -> list[str]:
        r, t = self.recordings, self.texts
        return [
            f"recordings and transcripts ({days('RETENTION_RECORDINGS_DAYS')} days after closing): "
            f"{r.tickets} request(s), {r.recordings} recording file(s), {r.transcripts} transcript(s)",
            f"texts and numbers ({days('RETENTION_TEXTS_DAYS')} days): {t.tickets} request(s), "
            f"{t.texts} text(s), {t.call_steps} call step(s), {t.numbers} number(s), "
            f"{t.residents} resident(s)",
            f"audit log ({days('RETENTION_AUDIT_DAYS')} days): {self.audit_entries} entr(y/ies)",
        ]

    def as_dict(self) -> dict:
        return {
            "recordings": self.recordings.counts(),
            "texts": self.texts.counts(),
            "audit_entries": self.audit_entries,
        }


def days(setting: str) -> int:
    value = int(current_app.config[setting])
    if value < 1:
        raise ValueError(f"HOTLINE_{setting} must be at least 1 day, not {value}")
    return value


def _closed_before(cutoff: datetime):
    closed = func.coalesce(Ticket.closed_at, Ticket.updated_at)
    return Ticket.status.notin_(TicketStatus.open_values()) & (closed < cutoff)


def apply(now: datetime | None = None) -> Report:
    """Remove what the retention periods say is due (flushes; the edge commits)."""
    now = now or clock.now()
    data_dir = Path(current_app.config["DATA_DIR"])
    report = Report(Removed(), Removed())

    recordings_days = days("RETENTION_RECORDINGS_DAYS")
    has_recording = (
        exists().where(
            Transcription.ticket_id == Ticket.id,
            or_(Transcription.audio_path.isnot(None), Transcription.text.isnot(None)),
        )
        | exists().where(VoiceMessage.ticket_id == Ticket.id, VoiceMessage.recording_url.isnot(None))
        | Ticket.transcript.isnot(None)
    )
    cutoff = now - timedelta(days=recordings_days)
    for ticket in db.session.scalars(select(Ticket).where(_closed_before(cutoff), has_recording)):
        report.recordings.tickets += 1
        report.recordings.add(remove_recordings(ticket, data_dir))
        note_removal(ticket, "recordings", recordings_days, actor="retention")

    texts_days = days("RETENTION_TEXTS_DAYS")
    cutoff = now - timedelta(days=texts_days)
    has_text = (
        Ticket.phone.isnot(None)
        | Ticket.body.isnot(None)
        | exists().where(
            SmsMessage.ticket_id == Ticket.id, or_(SmsMessage.body != "", SmsMessage.phone.isnot(None))
        )
        | exists().where(SmsOutbound.ticket_id == Ticket.id, SmsOutbound.body != "")
        | exists().where(
            Call.ticket_id == Ticket.id,
            or_(Call.phone.isnot(None), exists().where(CallStep.call_id == Call.id)),
        )
        | exists().where(
            TicketEvent.ticket_id == Ticket.id,
            TicketEvent.kind.notin_(list(KEEP_LINES)),
            or_(TicketEvent.message.isnot(None), TicketEvent.data.isnot(None)),
        )
        # once per request in any case: its first line's data names the sender
        | ~exists().where(
            TicketEvent.ticket_id == Ticket.id,
            TicketEvent.kind == EventKind.PERSONAL_DATA_REMOVED,
            or_(TicketEvent.message.like("texts removed%"), TicketEvent.message == ERASED_LINE),
        )
    )
    for ticket in db.session.scalars(select(Ticket).where(_closed_before(cutoff), has_text)):
        report.texts.tickets += 1
        report.texts.add(remove_texts(ticket))
        report.texts.add(remove_numbers(ticket))
        note_removal(ticket, "texts", texts_days, actor="retention")
    report.texts.add(_unattached(cutoff))

    audit_cutoff = now - timedelta(days=days("RETENTION_AUDIT_DAYS"))
    result = db.session.execute(delete(AuditEntry).where(AuditEntry.created_at < audit_cutoff))
    report.audit_entries = result.rowcount or 0  # type: ignore[attr-defined]

    db.session.flush()
    delete_files_after_commit(report.recordings.files)
    return report


def _unattached(cutoff: datetime) -> Removed:
    """Calls and SMS on no request (a hang-up, a STOP, an hours question), and residents with
    nothing left of theirs: by the day they came in."""
    removed = Removed()
    for call in db.session.scalars(
        select(Call).where(
            Call.ticket_id.is_(None),
            Call.started_at < cutoff,
            or_(Call.phone.isnot(None), Call.from_number.isnot(None)),
        )
    ):
        call.phone, call.from_number = None, None
        removed.call_steps += len(call.steps)
        call.steps.clear()
        removed.numbers += 1
    for sms in db.session.scalars(
        select(SmsMessage).where(
            SmsMessage.ticket_id.is_(None),
            SmsMessage.created_at < cutoff,
            or_(SmsMessage.phone.isnot(None), SmsMessage.body != ""),
        )
    ):
        sms.phone, sms.from_number, sms.body, sms.reply, sms.input_flags = None, None, "", None, None
        removed.texts += 1
    for out in db.session.scalars(
        select(SmsOutbound).where(
            SmsOutbound.ticket_id.is_(None), SmsOutbound.created_at < cutoff, SmsOutbound.body != ""
        )
    ):
        out.phone, out.body, out.error = "", "", None
        removed.texts += 1
    db.session.flush()
    in_use = or_(
        exists().where(Ticket.resident_id == Resident.id),
        exists().where(Ticket.phone == Resident.phone),
        exists().where(Call.phone == Resident.phone),
        exists().where(SmsMessage.phone == Resident.phone),
    )
    for resident in db.session.scalars(select(Resident).where(Resident.created_at < cutoff, ~in_use)):
        db.session.delete(resident)
        removed.residents += 1
    return removed
