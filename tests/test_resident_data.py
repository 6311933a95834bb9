"""A resident's rights per phone number: export everything (zip: JSON, Vietnamese summary,
recordings) by command and by the admin's button; erase (irreversible, audited, requests
kept as anonymous counts; the number starts fresh); and every staff access to a recording
or a transcript in the audit log. On SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from sqlalchemy import func, select

from hotline.extensions import db
from hotline.models import (
    AuditEntry,
    Call,
    CallStep,
    Resident,
    SmsMessage,
    SmsOutbound,
    Ticket,
    TicketEvent,
    Transcription,
    VoiceMessage,
)
from hotline.staff import reports
from tests.sms_fixtures import twilio_sms
from tests.staff_fixtures import *  # noqa: F403 - the world and login fixtures

PHONE = "+84912345678"
OTHER = "+84987000111"
TEXT = "xin giup toi lam the bao hiem y te cho me toi"
TRANSCRIPT = "toi can lam lai can cuoc cong dan"
AUDIO = b"RIFF....WAVEfmt the resident's own voice"


def resident_with_everything(app, world, twilio) -> tuple[str, Path]:
    """A call that asks for help, an SMS, and a voice message transcribed and kept on disk."""
    call = twilio.call(PHONE)
    call.start()
    call.press("1")
    call.press("1")
    call.status("completed", 30)
    assert twilio_sms(twilio, TEXT, from_number=PHONE).status_code == 200
    twilio_sms(twilio, "mot yeu cau cua nguoi khac", from_number=OTHER)
    db.session.remove()
    ticket = db.session.scalars(select(Ticket).where(Ticket.phone == PHONE).order_by(Ticket.id)).first()
    message = VoiceMessage(
        recording_sid="RE" + "5" * 32,
        ticket_id=ticket.id,
        call_sid=call.sid,
        recording_url="https://api.twilio.com/x/RE555",
    )
    db.session.add(message)
    db.session.flush()
    audio = Path(app.config["DATA_DIR"]) / "recordings" / f"{message.recording_sid}.wav"
    audio.parent.mkdir(parents=True, exist_ok=True)
    audio.write_bytes(AUDIO)
    db.session.add(
        Transcription(
            voice_message_id=message.id,
            ticket_id=ticket.id,
            status="done",
            text=TRANSCRIPT,
            confidence=0.8,
            audio_path=f"recordings/{message.recording_sid}.wav",
        )
    )
    ticket.transcript = TRANSCRIPT
    for row in db.session.scalars(select(Ticket)):
        row.village_id, row.team_id = world.village_a.id, world.team_a.id
    db.session.commit()
    return ticket.code, audio


def received_by_village() -> list[tuple[str, str, int]]:
    from datetime import timedelta

    from hotline import clock

    today = clock.now().date()
    report = reports.build(
        reports.ReportParams(
            start=today - timedelta(days=2), end=today + timedelta(days=2), by="village", period="day"
        )
    )
    return [(row.period, row.group, row.received) for row in report.rows]


def test_export_by_command_holds_everything_about_the_number_and_nothing_else(
    app, world, twilio, runner, tmp_path
):
    code, audio = resident_with_everything(app, world, twilio)
    result = runner.invoke(
        args=["residents", "export", "0912 345 678", "--out", str(tmp_path), "--by", "admin"]
    )
    assert result.exit_code == 0, result.output
    path = Path(result.output.strip())
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        data = json.loads(archive.read("du-lieu.json"))
        summary = archive.read("tom-tat.txt").decode()
        assert archive.read("ghi-am/" + audio.name) == AUDIO
    assert sorted(names) == sorted(["du-lieu.json", "tom-tat.txt", "ghi-am/" + audio.name])
    assert data["phone"] == PHONE and data["resident"]["phone"] == PHONE
    codes = [r["code"] for r in data["requests"]]
    assert codes == [code]  # the SMS joined the open request the call made
    assert any(r["transcript"] == TRANSCRIPT for r in data["requests"])
    assert [s["text"] for s in data["sms_received"]] == [TEXT]
    assert len(data["calls"]) == 1 and data["calls"][0]["keys_pressed"]
    assert "mot yeu cau cua nguoi khac" not in json.dumps(data)  # another resident's
    # The summary reads Vietnamese: labels, not keys.
    assert "Số điện thoại: +84912345678" in summary and TEXT in summary and TRANSCRIPT in summary
    assert "Yêu cầu hỗ trợ: 1" in summary and "tình trạng: mới" in summary
    assert "dropped_call" not in summary and "open" not in summary
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "resident_exported")).one()
    assert entry.actor == "admin" and entry.target == "+84912***678"


def test_the_admins_button_downloads_the_same_export_and_volunteers_cannot(app, world, twilio, login):
    resident_with_everything(app, world, twilio)
    admin = login("admin")
    page = admin.get("/staff/privacy").get_data(as_text=True)
    assert "90 ngày" in page and "730 ngày" in page  # retention periods, in Vietnamese
    response = admin.post("/staff/privacy/export", data={"phone": "0912345678"})
    assert response.status_code == 200 and response.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        assert json.loads(archive.read("du-lieu.json"))["phone"] == PHONE
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "resident_exported")).one()
    assert entry.actor == "admin" and entry.ip is not None
    bad = admin.post("/staff/privacy/export", data={"phone": "khong phai so"})
    assert bad.status_code == 302
    volunteer = login("lan")
    assert volunteer.get("/staff/privacy").status_code == 403
    assert volunteer.post("/staff/privacy/export", data={"phone": PHONE}).status_code == 403


def test_erase_removes_the_resident_and_keeps_anonymous_counts(app, world, twilio, runner):
    code, audio = resident_with_everything(app, world, twilio)
    before = received_by_village()
    tickets_before = db.session.scalar(select(func.count()).select_from(Ticket))

    refused = runner.invoke(args=["residents", "erase", PHONE, "--reason", "yeu cau ngay 30/11"], input="n\n")
    assert refused.exit_code != 0 and db.session.scalar(select(Resident.id).where(Resident.phone == PHONE))
    result = runner.invoke(
        args=["residents", "erase", PHONE, "--reason", "yeu cau ngay 30/11", "--by", "admin", "--yes"]
    )
    assert result.exit_code == 0, result.output
    counts = json.loads(result.output)
    assert counts["tickets"] == 1 and counts["recordings"] == 1 and counts["residents"] == 1
    db.session.remove()

    assert not audio.exists()  # deleted once the erase committed
    assert db.session.scalar(select(Resident.id).where(Resident.phone == PHONE)) is None
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == tickets_before
    assert db.session.scalar(select(func.count()).select_from(Ticket).where(Ticket.phone == PHONE)) == 0
    everything = json.dumps(
        [
            [(t.phone, t.body, t.transcript) for t in db.session.scalars(select(Ticket))],
            [(e.message, e.data) for e in db.session.scalars(select(TicketEvent))],
            [(s.phone, s.from_number, s.body, s.reply) for s in db.session.scalars(select(SmsMessage))],
            [(o.phone, o.body) for o in db.session.scalars(select(SmsOutbound))],
            [(c.phone, c.from_number) for c in db.session.scalars(select(Call))],
            [(t.text, t.words, t.audio_path) for t in db.session.scalars(select(Transcription))],
            [(v.recording_url, v.call_sid) for v in db.session.scalars(select(VoiceMessage))],
            [(a.target, a.data) for a in db.session.scalars(select(AuditEntry))],
        ],
        ensure_ascii=False,
        default=str,
    )
    for secret in (PHONE, "912345678", TEXT, TRANSCRIPT):
        assert secret not in everything
    assert "nguoi khac" in everything  # the other resident's SMS stays
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(CallStep)
            .join(Call)
            .where(Call.ticket_id.in_(select(Ticket.id).where(Ticket.code == code)))
        )
        == 0
    )
    erased = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "resident_erased")).one()
    assert erased.actor == "admin" and erased.target == "+84912***678"
    assert erased.data["reason"] == "yeu cau ngay 30/11" and erased.created_at is not None
    erased_at = erased.created_at
    # Reports count the same requests, now anonymous; the timeline says why the gap.
    assert received_by_village() == before
    ticket = db.session.scalar(select(Ticket).where(Ticket.code == code))
    assert ticket.status == "cancelled" and ticket.events[-1].kind == "personal_data_removed"

    # The number calls again: a new resident, no old request, nothing remembered.
    call = twilio.call(PHONE)
    call.start()
    assert code not in call.said()
    assert twilio_sms(twilio, "toi lai can giup", from_number=PHONE).status_code == 200
    db.session.remove()
    fresh = db.session.scalar(select(Resident).where(Resident.phone == PHONE))
    assert fresh is not None and fresh.created_at >= erased_at
    new = db.session.scalars(select(Ticket).where(Ticket.phone == PHONE)).one()
    assert new.code != code and new.status == "open"


def test_erase_needs_a_reason_and_a_phone_number(app, runner):
    assert runner.invoke(args=["residents", "erase", PHONE, "--yes"]).exit_code != 0
    result = runner.invoke(args=["residents", "erase", "abc", "--reason", "x", "--yes"])
    assert result.exit_code != 0 and "not a phone number" in result.output


def test_erased_timeline_reads_vietnamese(app, world, twilio, login):
    code, _ = resident_with_everything(app, world, twilio)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["residents", "erase", PHONE, "--reason", "r", "--yes"]).exit_code == 0
    page = login("lan").get(f"/staff/t/{code}").get_data(as_text=True)
    assert "đã xoá dữ liệu cá nhân theo yêu cầu của người dân" in page


def test_every_staff_access_to_a_recording_or_transcript_is_audited(app, world, twilio, login):
    code, audio = resident_with_everything(app, world, twilio)
    message_id = db.session.scalar(select(VoiceMessage.id))
    volunteer = login("lan")
    assert volunteer.get(f"/staff/t/{code}").status_code == 200
    assert volunteer.get(f"/staff/t/{code}/voice/{message_id}").data == AUDIO
    db.session.remove()
    rows = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action.in_(("transcript_read", "recording_played")))
        .order_by(AuditEntry.id)
    ).all()
    assert [(r.actor, r.action, r.target) for r in rows] == [
        ("lan", "transcript_read", code),
        ("lan", "recording_played", code),
    ]
    assert rows[1].data == {"voice_message": message_id} and rows[1].ip
    # Refused access is not served, so not logged as read.
    assert login("minh").get(f"/staff/t/{code}/voice/{message_id}").status_code in (403, 404)
    db.session.remove()
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.actor == "minh", AuditEntry.action == "recording_played")
        )
        == 0
    )
