"""Wiping the training space (`hotline training reset`, the trainer page's button): every
rehearsal and everything it made, so a new group of volunteers starts from an empty space.

What goes, found from the runs (hotline.training): the requests a run opened
(`Ticket.training_run_id`) with their timelines, voice messages, transcriptions and
recording files, home visits, SMS in and out (of those requests, or to and from a run's
simulated number), calls and their steps (every practice-phone call, `Call.training_run_id`),
the resident rows and STOP/START state of run numbers, the audit rows about those
requests (by code), the outbox rows of their jobs, then the runs. Nothing else is
touched: a real request, call, SMS or resident is never about a training request or
number (tests/test_training_reset.py compares every real table before and after).

Why the outbox rows too: SQLite reuses the highest row ids once they are deleted, and a
job's id names its request (`staff-sms-resolved-<ticket id>`), so a training job left
behind would make the outbox skip the same job of the next real request given that id.

Domain code: it deletes and flushes; the edge commits, and the files go only after that
commit (`personal_data.delete_files_after_commit`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

from sqlalchemy import delete, func, or_, select

from . import jobs
from .extensions import db
from .models import (
    AuditEntry,
    Call,
    CallStep,
    HomeVisit,
    OutboxMessage,
    Resident,
    SmsMessage,
    SmsOptOut,
    SmsOutbound,
    Ticket,
    TicketEvent,
    TrainingRun,
    Transcription,
    VoiceMessage,
)
from .personal_data import delete_files_after_commit
from .staff import audit
from .transcription.pipeline import kept_recording


@dataclass
class Wiped:
    """What one reset removed (the command's report, the page's message, the audit row)."""

    rehearsals: int = 0
    tickets: int = 0
    timeline_lines: int = 0
    voicemails: int = 0
    transcripts: int = 0
    recordings: int = 0  # files in the data folder
    visits: int = 0
    texts: int = 0  # SMS in and out
    calls: int = 0
    call_steps: int = 0
    residents: int = 0
    numbers: int = 0  # STOP/START state of run numbers
    audit_entries: int = 0
    jobs: int = 0

    def counts(self) -> dict[str, int]:
        return {field.name: getattr(self, field.name) for field in fields(self)}


def _ids(query) -> list[int]:
    return list(db.session.scalars(query))


def _delete(model, *where) -> int:
    result = db.session.execute(delete(model).where(*where).execution_options(synchronize_session=False))
    return result.rowcount or 0  # type: ignore[attr-defined]


def reset(actor: str, data_dir: Path | str) -> Wiped:
    """Delete the whole training space (see the module's docstring); audited as `training_reset`."""
    data_dir = Path(data_dir)
    wiped = Wiped()
    runs = list(db.session.execute(select(TrainingRun.id, TrainingRun.phone, TrainingRun.started_at)))
    phones = [phone for _id, phone, _at in runs if phone]
    tickets = list(db.session.execute(
        select(Ticket.id, Ticket.code).where(Ticket.training_run_id.is_not(None))))
    ticket_ids = [ticket_id for ticket_id, _code in tickets]
    codes = [code for _id, code in tickets]

    def of_requests(column, phone_column=None):
        """Rows of a training request, or of a run's number."""
        clauses = [column.in_(ticket_ids)]
        if phone_column is not None and phones:
            clauses.append(phone_column.in_(phones))
        return or_(*clauses)

    voice = list(db.session.execute(
        select(VoiceMessage.id, VoiceMessage.recording_sid).where(VoiceMessage.ticket_id.in_(ticket_ids))))
    voice_ids = [voice_id for voice_id, _sid in voice]
    transcriptions = or_(Transcription.ticket_id.in_(ticket_ids),
                         Transcription.voice_message_id.in_(voice_ids))
    files = {data_dir / path
             for path in db.session.scalars(select(Transcription.audio_path).where(transcriptions)) if path}
    for _id, sid in voice:  # where the worker keeps a downloaded or locally delivered recording
        files |= {data_dir / kept_recording(sid, suffix) for suffix in (".wav", ".mp3")}
    files = {path for path in files if path.is_file()}
    wiped.recordings = len(files)

    visit_ids = _ids(select(HomeVisit.id).where(HomeVisit.ticket_id.in_(ticket_ids)))
    sms_in_ids = _ids(select(SmsMessage.id).where(of_requests(SmsMessage.ticket_id, SmsMessage.phone)))
    sms_out_ids = _ids(select(SmsOutbound.id).where(
        or_(of_requests(SmsOutbound.ticket_id, SmsOutbound.phone), SmsOutbound.inbound_id.in_(sms_in_ids))))
    call_ids = _ids(select(Call.id).where(
        or_(of_requests(Call.ticket_id, Call.phone), Call.training_run_id.is_not(None))))

    wiped.jobs = _delete_jobs(runs, {"ticket": set(ticket_ids), "sms_out": set(sms_out_ids),
                                     "visit": set(visit_ids), "voice_message": set(voice_ids)})
    wiped.transcripts = _delete(Transcription, transcriptions)
    wiped.voicemails = _delete(VoiceMessage, VoiceMessage.id.in_(voice_ids))
    wiped.visits = _delete(HomeVisit, HomeVisit.id.in_(visit_ids))
    wiped.texts = _delete(SmsOutbound, SmsOutbound.id.in_(sms_out_ids))
    wiped.texts += _delete(SmsMessage, SmsMessage.id.in_(sms_in_ids))
    wiped.call_steps = _delete(CallStep, CallStep.call_id.in_(call_ids))
    wiped.calls = _delete(Call, Call.id.in_(call_ids))
    wiped.timeline_lines = _delete(TicketEvent, TicketEvent.ticket_id.in_(ticket_ids))
    wiped.audit_entries = _delete(AuditEntry, AuditEntry.target.in_(codes)) if codes else 0
    wiped.tickets = _delete(Ticket, Ticket.id.in_(ticket_ids))
    if phones:
        wiped.residents = _delete(Resident, Resident.phone.in_(phones))
        wiped.numbers = _delete(SmsOptOut, SmsOptOut.phone.in_(phones))
    wiped.rehearsals = _delete(TrainingRun, TrainingRun.id.in_([run_id for run_id, _phone, _at in runs]))
    db.session.expire_all()  # rows the session had loaded may be gone
    audit.record(actor, "training_reset", None, **wiped.counts())
    db.session.flush()
    delete_files_after_commit(sorted(files))
    return wiped


def _delete_jobs(runs, ids: dict[str, set[int]]) -> int:
    """Outbox rows of jobs about the training rows: none can be older than the first run, so
    only rows since then are read (the outbox keeps every finished job)."""
    if not runs:
        return 0
    since = min(started for _id, _phone, started in runs)
    names = list(jobs.ABOUT_REQUESTS)
    rows = db.session.execute(select(OutboxMessage.id, OutboxMessage.func, OutboxMessage.args).where(
        OutboxMessage.created_at >= since, OutboxMessage.func.in_(names)))
    doomed = [row_id for row_id, name, args in rows
              if args and isinstance(args[0], int) and args[0] in ids[jobs.ABOUT_REQUESTS[name]]]
    return _delete(OutboxMessage, OutboxMessage.id.in_(doomed)) if doomed else 0


def space_size() -> dict[str, int]:
    """How much the training space holds now: rehearsals and their requests (the page shows it)."""
    return {
        "rehearsals": db.session.scalar(select(func.count()).select_from(TrainingRun)) or 0,
        "tickets": db.session.scalar(
            select(func.count()).select_from(Ticket).where(Ticket.training_run_id.is_not(None))) or 0,
    }
