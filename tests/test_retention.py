"""Retention periods, applied with the hotline's clock moved forward (hotline.clock): recordings
and transcripts go 90 days after a request closes, texts and numbers after 24 months, the
audit log after five years; open requests are never touched; reports count the same; the
timeline says what went; `--dry-run` says exactly what would go and changes nothing; the
nightly pass is an outbox row with run_at that a real worker runs, scheduling the next."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from hotline import clock
from hotline.extensions import db
from hotline.models import (
    AuditEntry,
    OutboxMessage,
    Resident,
    SmsMessage,
    Ticket,
    TicketStatus,
    Transcription,
    VoiceMessage,
)
from hotline.staff import audit, reports
from tests.conftest import run_queued_jobs
from tests.sms_fixtures import twilio_sms
from tests.staff_fixtures import *  # noqa: F403 - the world and login fixtures

CLOSED_PHONE = "+84912345678"
OPEN_PHONE = "+84987000111"
TEXT = "toi can lam so do dat cho nha o thon 3"
TRANSCRIPT = "nho can bo goi lai cho toi ve chuyen luong huu"


def two_requests(app, world, twilio) -> tuple[str, str, Path]:
    """A closed request with an SMS and a transcribed voice message, and an open one."""
    assert twilio_sms(twilio, TEXT, from_number=CLOSED_PHONE).status_code == 200
    assert (
        twilio_sms(twilio, "nha toi bi mat so ho khau can lam lai", from_number=OPEN_PHONE).status_code == 200
    )
    db.session.remove()
    closed = db.session.scalar(select(Ticket).where(Ticket.phone == CLOSED_PHONE))
    message = VoiceMessage(
        recording_sid="RE" + "6" * 32,
        ticket_id=closed.id,
        call_sid="CA" + "6" * 32,
        recording_url="https://api.twilio.com/x/RE666",
    )
    db.session.add(message)
    db.session.flush()
    audio = Path(app.config["DATA_DIR"]) / "recordings" / f"{message.recording_sid}.wav"
    audio.parent.mkdir(parents=True, exist_ok=True)
    audio.write_bytes(b"RIFF a resident's voice")
    db.session.add(
        Transcription(
            voice_message_id=message.id,
            ticket_id=closed.id,
            status="done",
            text=TRANSCRIPT,
            audio_path=f"recordings/{message.recording_sid}.wav",
        )
    )
    closed.transcript = TRANSCRIPT
    closed.status, closed.closed_at = TicketStatus.RESOLVED, clock.now()
    for ticket in db.session.scalars(select(Ticket)):
        ticket.village_id, ticket.team_id = world.village_a.id, world.team_a.id
    db.session.commit()
    open_code = db.session.scalar(select(Ticket.code).where(Ticket.phone == OPEN_PHONE))
    assert open_code is not None
    return closed.code, open_code, audio


def retention(app, *args) -> dict:
    result = app.test_cli_runner().invoke(args=["retention", "--json", *args])
    assert result.exit_code == 0, result.output
    db.session.remove()
    return json.loads(result.output)


def received() -> list[tuple[str, str, int, int]]:
    start = clock.now().date() - timedelta(days=3000)
    report = reports.build(
        reports.ReportParams(
            start=start, end=clock.now().date() + timedelta(days=1), by="village", period="month"
        )
    )
    return [(row.period, row.group, row.received, row.processed) for row in report.rows]


def later(days: int) -> None:
    clock.set_offset(clock.offset() + timedelta(days=days))


def test_nothing_goes_before_its_time(app, world, twilio):
    _, _, audio = two_requests(app, world, twilio)
    later(89)
    report = retention(app)
    assert report["recordings"]["tickets"] == 0 and report["texts"]["tickets"] == 0
    assert audio.exists()


def test_recordings_go_after_90_days_texts_after_24_months_open_requests_never(app, world, twilio, login):
    closed_code, open_code, audio = two_requests(app, world, twilio)
    counted = received()
    later(91)

    dry = retention(app, "--dry-run")
    assert dry["dry_run"] and dry["recordings"]["tickets"] == 1 and dry["recordings"]["recordings"] == 1
    assert dry["recordings"]["transcripts"] == 1 and dry["texts"]["tickets"] == 0
    assert audio.exists() and db.session.scalar(select(Transcription.text)) == TRANSCRIPT  # nothing changed
    audit.record("admin", "settings_read")  # a later commit in the same session deletes nothing either
    db.session.commit()
    assert audio.exists()

    done = retention(app)
    assert {k: v for k, v in done.items() if k != "dry_run"} == {
        k: v for k, v in dry.items() if k != "dry_run"
    }  # the dry run said exactly this
    assert not audio.exists()
    row = db.session.scalars(select(Transcription)).one()
    assert row.text is None and row.audio_path is None
    assert db.session.scalar(select(VoiceMessage.recording_url)) is None
    closed = db.session.scalar(select(Ticket).where(Ticket.code == closed_code))
    assert closed.transcript is None and closed.phone == CLOSED_PHONE  # texts and numbers stay for now
    assert db.session.scalar(select(SmsMessage.body).where(SmsMessage.phone == CLOSED_PHONE)) == TEXT
    page = login("lan").get(f"/staff/t/{closed_code}").get_data(as_text=True)
    assert "ghi âm và bản chép lời đã xoá sau 90 ngày" in page
    assert received() == counted
    assert retention(app)["recordings"]["tickets"] == 0  # a second run removes nothing twice

    later(731 - 91)
    done = retention(app)
    assert done["texts"]["tickets"] == 1 and done["texts"]["residents"] == 1
    closed = db.session.scalar(select(Ticket).where(Ticket.code == closed_code))
    assert closed.phone is None and closed.body is None and closed.status == "resolved"
    sms = db.session.scalar(select(SmsMessage).where(SmsMessage.ticket_id == closed.id))
    assert sms.body == "" and sms.phone is None and sms.from_number is None
    assert db.session.scalar(select(Resident.id).where(Resident.phone == CLOSED_PHONE)) is None
    everything = json.dumps([(e.message, e.data) for e in closed.events], ensure_ascii=False)
    assert TEXT not in everything and CLOSED_PHONE not in everything
    assert closed.events[-1].kind == "personal_data_removed"
    # The open request is untouched, however old.
    still_open = db.session.scalar(select(Ticket).where(Ticket.code == open_code))
    assert still_open.phone == OPEN_PHONE and still_open.status == "open"
    assert db.session.scalar(select(Resident.id).where(Resident.phone == OPEN_PHONE)) is not None
    assert received() == counted
    assert retention(app)["texts"]["tickets"] == 0


def test_the_audit_log_is_kept_five_years(app, world):
    audit.record("admin", "staff_changed", "lan")
    db.session.commit()
    later(1824)
    assert retention(app)["audit_entries"] == 0
    later(2)
    assert retention(app)["audit_entries"] >= 1
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_the_nightly_pass_runs_from_the_outbox_and_schedules_the_next(app, world, twilio):
    from hotline import nightly

    _, _, audio = two_requests(app, world, twilio)
    from hotline.unit_of_work import unit_of_work

    with unit_of_work():
        nightly.schedule_all()
    with unit_of_work():
        nightly.schedule_all()  # a second start of the relay adds nothing
    rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.func == "apply_retention")).all()
    assert len(rows) == 1 and rows[0].run_at > clock.now()
    first_night = rows[0].job_id

    later(91)  # tonight's row is due, and the closed request's recordings are 91 days old
    db.session.remove()
    run_queued_jobs(app, ("default",))
    assert not audio.exists()
    rows = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.func == "apply_retention").order_by(OutboxMessage.id)
    ).all()
    assert rows[0].job_id == first_night and rows[0].finished_at is not None
    assert len(rows) == 2 and rows[1].run_at > clock.now()  # the next night's, waiting
    local = rows[1].run_at.astimezone(ZoneInfo(app.config["TIMEZONE"]))
    assert (local.hour, local.minute) == (app.config["RETENTION_HOUR"], 0)


def test_the_relay_start_schedules_tonights_retention_pass_and_backup_once(app):
    from hotline import nightly

    nightly.schedule_at_start()
    nightly.schedule_at_start()
    db.session.remove()
    rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.func)).all()
    assert [r.func for r in rows] == ["apply_retention", "nightly_backup"]
    assert all(r.run_at > clock.now() and r.relayed_at is None for r in rows)
