"""What the hotline holds about a resident, and the two ways it is taken away: the retention
periods (hotline.retention) and a resident's erase request (hotline.resident_data).

Both keep what reports count — a request's row with its dates, status, channel, reason,
topic, team and village — and take away what says who the resident is or what they said:
numbers, SMS texts, notes, transcripts and recordings, the data timeline lines carry (an
SMS line holds the number and the text sent), and the call steps (keys pressed, TwiML
read out). A timeline line says what was removed and why, so staff reading the request
later know the gap is deliberate.

Domain functions: they flush, the edge commits (hotline/unit_of_work.py). Files are deleted
only after the unit commits (`after_commit`), so a rolled-back erase leaves the recordings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, event, select, update

from .extensions import db
from .models import (
    Call,
    CallStep,
    EventKind,
    SmsMessage,
    SmsOutbound,
    Ticket,
    TicketEvent,
    Transcription,
    VoiceMessage,
)
from .tickets import add_event


@dataclass
class Removed:
    """What one pass took away (counts, for the command's report and the audit log)."""

    recordings: int = 0
    transcripts: int = 0
    texts: int = 0
    call_steps: int = 0
    numbers: int = 0
    residents: int = 0
    tickets: int = 0
    files: list[Path] = field(default_factory=list)

    def add(self, other: Removed) -> None:
        for name in ("recordings", "transcripts", "texts", "call_steps", "numbers", "residents", "tickets"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.files += other.files

    def counts(self) -> dict[str, int]:
        return {
            name: getattr(self, name)
            for name in (
                "tickets",
                "recordings",
                "transcripts",
                "texts",
                "call_steps",
                "numbers",
                "residents",
            )
        }


def delete_files_after_commit(paths: list[Path]) -> None:
    """Unlink `paths` once the session's transaction commits (never if it rolls back: a dry
    run, a failed erase; the listener then goes, so a later commit deletes nothing)."""
    if not paths:
        return
    session = db.session()

    def unlink(_session) -> None:
        event.remove(session, "after_rollback", forget)
        for path in paths:
            path.unlink(missing_ok=True)

    def forget(_session) -> None:
        event.remove(session, "after_commit", unlink)

    event.listen(session, "after_commit", unlink, once=True)
    event.listen(session, "after_rollback", forget, once=True)


def remove_recordings(ticket: Ticket, data_dir: Path) -> Removed:
    """Recordings and transcripts of one request: files (after commit), texts, Twilio's URL."""
    removed = Removed()
    for row in db.session.scalars(select(Transcription).where(Transcription.ticket_id == ticket.id)):
        if row.audio_path:
            removed.files.append(data_dir / row.audio_path)
            removed.recordings += 1
            row.audio_path = None
        if row.text or row.words:
            removed.transcripts += 1
        row.text, row.words, row.error = None, None, None
    db.session.execute(
        update(VoiceMessage).where(VoiceMessage.ticket_id == ticket.id).values(recording_url=None)
    )
    if ticket.transcript:
        ticket.transcript = None
    return removed


def remove_texts(ticket: Ticket) -> Removed:
    """What was said and typed about one request: its text, SMS in and out, timeline data
    and sentences of lines that carry text (notes, SMS, outcomes with notes), call steps."""
    removed = Removed()
    if ticket.body:
        ticket.body = None
        removed.texts += 1
    for sms in db.session.scalars(select(SmsMessage).where(SmsMessage.ticket_id == ticket.id)):
        if sms.body or sms.reply:
            removed.texts += 1
        sms.body, sms.reply, sms.input_flags = "", None, None
    for out in db.session.scalars(select(SmsOutbound).where(SmsOutbound.ticket_id == ticket.id)):
        if out.body:
            removed.texts += 1
        out.body, out.error = "", None
        if out.status == "pending":
            out.status = "not_sent"
    for line in db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)):
        if line.kind in KEEP_LINES:
            if line.data and PERSONAL_KEYS & line.data.keys():  # a request's first line names its sender
                line.data = {k: v for k, v in line.data.items() if k not in PERSONAL_KEYS}
                removed.numbers += 1
            continue
        if line.message or line.data:
            removed.texts += 1
        line.message, line.data = None, None
    call_ids = select(Call.id).where(Call.ticket_id == ticket.id)
    result = db.session.execute(delete(CallStep).where(CallStep.call_id.in_(call_ids)))
    removed.call_steps += result.rowcount or 0  # type: ignore[attr-defined]
    return removed


def remove_numbers(ticket: Ticket) -> Removed:
    """The resident's number on one request, its calls and SMS."""
    removed = Removed()
    if ticket.phone:
        removed.numbers += 1
    ticket.phone, ticket.resident_id = None, None
    db.session.execute(update(Call).where(Call.ticket_id == ticket.id).values(phone=None, from_number=None))
    db.session.execute(update(VoiceMessage).where(VoiceMessage.ticket_id == ticket.id).values(call_sid=None))
    db.session.execute(
        update(SmsMessage).where(SmsMessage.ticket_id == ticket.id).values(phone=None, from_number=None)
    )
    db.session.execute(update(SmsOutbound).where(SmsOutbound.ticket_id == ticket.id).values(phone=""))
    return removed


def note_removal(ticket: Ticket, why: str, days: int | None = None, *, actor: str = "system") -> None:
    """The timeline line that says what went and why ("removed after 90 days")."""
    if why == "erased":
        message = ERASED_LINE
    else:
        message = f"{why} removed after {days} days"
    add_event(ticket, EventKind.PERSONAL_DATA_REMOVED, message, data={"why": why, "days": days}, actor=actor)


ERASED_LINE = "personal data erased at the resident's request"

#: Keys of timeline data that hold a number or a text (the rest are ids, codes and statuses).
PERSONAL_KEYS = frozenset({"from", "to", "phone", "body", "text", "note", "detail", "transcript"})

#: Timeline lines with no resident's text: kept whole (the request's history stays readable).
KEEP_LINES = frozenset(
    {
        EventKind.CREATED,
        EventKind.CLAIMED,
        EventKind.RELEASED,
        EventKind.REASSIGNED,
        EventKind.TRANSFERRED,
        EventKind.ROUTED,
        EventKind.RETRY_DUE,
        EventKind.CANCELLED,
        EventKind.FLAG,
        EventKind.TRANSCRIPTION_DONE,
        EventKind.PERSONAL_DATA_REMOVED,
    }
)
