"""A resident's rights under Decree 13/2023/ND-CP, per phone number: to see everything the
hotline holds about them (`export`), and to have it erased (`erase`).

`export` gathers the resident, their requests with timelines, calls, SMS in and out, voice
messages with transcripts, and writes one zip: `du-lieu.json` (everything, as data),
`tom-tat.txt` (a summary a person reads, in Vietnamese) and `ghi-am/` (the recordings).

`erase` removes the resident row and, on each of their requests, the number, texts,
recordings and transcripts (hotline.personal_data), cancels requests still open (nobody
can call them back), and leaves the requests as anonymous rows so reports still count
them. It is irreversible (the backups age out by their own rule, docs/privacy.md) and
audited: who, when, why, and how much went — with the number masked, so the audit log
does not keep what was erased. A number that calls again after an erase is a new resident.

Both are domain functions (they flush; the edge commits) and both write the audit log.
"""

from __future__ import annotations

import io
import json
import logging
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import or_, select

from . import clock
from .extensions import db
from .log_privacy import mask_phone
from .models import (
    Call,
    HomeVisit,
    Resident,
    SmsMessage,
    SmsOptOut,
    SmsOutbound,
    Ticket,
    TicketStatus,
    Transcription,
    VoiceMessage,
)
from .personal_data import (
    Removed,
    delete_files_after_commit,
    note_removal,
    remove_numbers,
    remove_recordings,
    remove_texts,
)
from .phones import to_e164
from .staff import audit

log = logging.getLogger(__name__)


class NotAPhoneNumber(ValueError):
    pass


def normalise(raw: str) -> str:
    phone = to_e164(raw, current_app.config.get("DEFAULT_REGION", "VN"))
    if phone is None:
        raise NotAPhoneNumber(raw)
    return phone


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _tickets(phone: str) -> list[Ticket]:
    resident_id = select(Resident.id).where(Resident.phone == phone).scalar_subquery()
    return list(
        db.session.scalars(
            select(Ticket)
            .where(or_(Ticket.phone == phone, Ticket.resident_id == resident_id))
            .order_by(Ticket.id)
        )
    )


def gather(phone: str) -> dict[str, Any]:
    """Everything held about `phone`, as plain data (the export's du-lieu.json)."""
    resident = db.session.scalar(select(Resident).where(Resident.phone == phone))
    tickets = _tickets(phone)
    ticket_ids = [t.id for t in tickets]
    data: dict[str, Any] = {
        "phone": phone,
        "exported_at": clock.now().isoformat(),
        "resident": None
        if resident is None
        else {
            "phone": resident.phone,
            "language": resident.language,
            "village": resident.village.name if resident.village else None,
            "created_at": _when(resident.created_at),
        },
        "sms_opted_out": db.session.get(SmsOptOut, phone) is not None,
        "requests": [],
        "calls": [],
        "sms_received": [],
        "sms_sent": [],
    }
    transcriptions = (
        {
            row.voice_message_id: row
            for row in db.session.scalars(
                select(Transcription).where(Transcription.ticket_id.in_(ticket_ids))
            )
        }
        if ticket_ids
        else {}
    )
    for ticket in tickets:
        voice = db.session.scalars(
            select(VoiceMessage).where(VoiceMessage.ticket_id == ticket.id).order_by(VoiceMessage.id)
        ).all()
        visits = db.session.scalars(select(HomeVisit).where(HomeVisit.ticket_id == ticket.id)).all()
        data["requests"].append(
            {
                "code": ticket.code,
                "channel": ticket.channel,
                "reason": ticket.reason,
                "topic": ticket.topic,
                "language": ticket.language,
                "status": ticket.status,
                "outcome": ticket.outcome,
                "elderly": ticket.elderly,
                "village": ticket.village.name if ticket.village else None,
                "text": ticket.body,
                "transcript": ticket.transcript,
                "created_at": _when(ticket.created_at),
                "closed_at": _when(ticket.closed_at),
                "timeline": [
                    {
                        "at": _when(e.created_at),
                        "kind": e.kind,
                        "by": e.actor,
                        "text": e.message,
                        "data": e.data,
                    }
                    for e in ticket.events
                ],
                "home_visits": [
                    {"on": v.visit_on.isoformat(), "volunteer": v.volunteer.name} for v in visits
                ],
                "voice_messages": [
                    {
                        "recording_sid": m.recording_sid,
                        "seconds": m.duration_seconds,
                        "recorded_at": _when(m.created_at),
                        "transcript": transcriptions[m.id].text if m.id in transcriptions else None,
                        "file": _recording_name(transcriptions.get(m.id)),
                    }
                    for m in voice
                ],
            }
        )
    for call in db.session.scalars(select(Call).where(Call.phone == phone).order_by(Call.id)):
        data["calls"].append(
            {
                "call_sid": call.call_sid,
                "started_at": _when(call.started_at),
                "ended_at": _when(call.ended_at),
                "status": call.status,
                "outcome": call.outcome,
                "seconds": call.duration_seconds,
                "language": call.language,
                "request": call.ticket.code if call.ticket else None,
                "keys_pressed": [step.digits for step in call.steps if step.digits],
            }
        )
    for sms in db.session.scalars(
        select(SmsMessage).where(SmsMessage.phone == phone).order_by(SmsMessage.id)
    ):
        data["sms_received"].append(
            {
                "at": _when(sms.received_at or sms.created_at),
                "text": sms.body,
                "reply": sms.reply,
                "request": sms.ticket.code if sms.ticket else None,
            }
        )
    for out in db.session.scalars(
        select(SmsOutbound).where(SmsOutbound.phone == phone).order_by(SmsOutbound.id)
    ):
        data["sms_sent"].append({"at": _when(out.created_at), "text": out.body, "status": out.status})
    return data


def _recording_name(row: Transcription | None) -> str | None:
    return f"ghi-am/{Path(row.audio_path).name}" if row is not None and row.audio_path else None


def summary(data: dict[str, Any]) -> str:
    """du-lieu.json told in Vietnamese, for the resident (read aloud or printed)."""
    from flask_babel import force_locale

    from .staff.labels import CHANNELS, REASONS, STATUSES, TOPICS, label

    zone = current_app.config["TIMEZONE"]

    def local(value: str | None) -> str:
        if not value:
            return "—"
        from zoneinfo import ZoneInfo

        return datetime.fromisoformat(value).astimezone(ZoneInfo(zone)).strftime("%d/%m/%Y %H:%M")

    with force_locale("vi"):
        lines = [
            "DỮ LIỆU CÁ NHÂN DO ĐƯỜNG DÂY NÓNG CỦA XÃ LƯU GIỮ",
            f"Số điện thoại: {data['phone']}",
            f"Ngày xuất: {local(data['exported_at'])}",
            "",
        ]
        resident = data["resident"]
        if resident:
            lines += [
                f"Liên hệ lần đầu: {local(resident['created_at'])}",
                f"Thôn/bon: {resident['village'] or 'chưa rõ'}",
                f"Ngôn ngữ: {resident['language'] or 'chưa rõ'}",
            ]
        else:
            lines.append("Không có hồ sơ người dân nào với số này.")
        if data["sms_opted_out"]:
            lines.append("Số này đã yêu cầu không nhận tin nhắn (STOP).")
        lines += ["", f"Yêu cầu hỗ trợ: {len(data['requests'])}"]
        for request in data["requests"]:
            lines.append(
                f"- Mã {request['code']}, {local(request['created_at'])}: "
                f"{label(REASONS, request['reason'])}, "
                f"qua {label(CHANNELS, request['channel'])}, "
                f"thủ tục: {label(TOPICS, request['topic']) if request['topic'] else 'chưa rõ'}, "
                f"tình trạng: {label(STATUSES, request['status'])}"
            )
            if request["text"]:
                lines.append(f"  Nội dung: {request['text']}")
            for message in request["voice_messages"]:
                lines.append(
                    f"  Tin nhắn thoại {local(message['recorded_at'])}"
                    + (f" (tệp {message['file']})" if message["file"] else "")
                )
                if message["transcript"]:
                    lines.append(f"  Bản chép lời: {message['transcript']}")
            for visit in request["home_visits"]:
                lines.append(f"  Hẹn đến nhà ngày {visit['on']} ({visit['volunteer']})")
        lines += ["", f"Cuộc gọi: {len(data['calls'])}"]
        for call in data["calls"]:
            lines.append(f"- {local(call['started_at'])}, {call['seconds'] or 0} giây")
        lines += ["", f"Tin nhắn SMS đã nhận: {len(data['sms_received'])}"]
        for sms in data["sms_received"]:
            lines.append(f"- {local(sms['at'])}: {sms['text']}")
        lines += ["", f"Tin nhắn SMS đã gửi: {len(data['sms_sent'])}"]
        for sms in data["sms_sent"]:
            lines.append(f"- {local(sms['at'])}: {sms['text']}")
        lines += [
            "",
            "Dữ liệu đầy đủ ở tệp du-lieu.json; các bản ghi âm ở thư mục ghi-am/.",
            "Người dân có quyền yêu cầu sửa hoặc xoá dữ liệu này (Nghị định 13/2023/NĐ-CP).",
        ]
    return "\n".join(lines) + "\n"


def export(raw_phone: str, *, actor: str) -> tuple[str, bytes]:
    """(file name, zip bytes) of everything held about the number; the export is audited."""
    phone = normalise(raw_phone)
    data = gather(phone)
    data_dir = Path(current_app.config["DATA_DIR"])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("du-lieu.json", json.dumps(data, ensure_ascii=False, indent=2))
        archive.writestr("tom-tat.txt", summary(data))
        for row in db.session.scalars(
            select(Transcription).where(Transcription.ticket_id.in_([t.id for t in _tickets(phone)]))
        ):
            if row.audio_path and (data_dir / row.audio_path).is_file():
                archive.write(data_dir / row.audio_path, _recording_name(row))
    audit.record(actor, "resident_exported", mask_phone(phone), requests=len(data["requests"]))
    log.info("resident data of %s exported by %s", phone, actor)
    stamp = clock.now().strftime("%Y%m%d-%H%M%S")
    return f"du-lieu-{phone.lstrip('+')}-{stamp}.zip", buffer.getvalue()


def erase(raw_phone: str, *, actor: str, reason: str) -> Removed:
    """Erase the number's data (irreversible); the requests stay as anonymous counts."""
    if not reason.strip():
        raise ValueError("an erase needs its reason (the resident's request, its date)")
    phone = normalise(raw_phone)
    data_dir = Path(current_app.config["DATA_DIR"])
    removed = Removed()
    for ticket in _tickets(phone):
        removed.tickets += 1
        removed.add(remove_recordings(ticket, data_dir))
        removed.add(remove_texts(ticket))
        removed.add(remove_numbers(ticket))
        if ticket.status in TicketStatus.open_values():
            ticket.status, ticket.closed_at = TicketStatus.CANCELLED, clock.now()
        note_removal(ticket, "erased", actor=actor)
    # Calls and SMS on no request (a hang-up before the menu, a STOP) carry the number too.
    for call in db.session.scalars(select(Call).where(Call.phone == phone)):
        call.phone, call.from_number = None, None
        call.steps.clear()
        removed.numbers += 1
    for sms in db.session.scalars(select(SmsMessage).where(SmsMessage.phone == phone)):
        sms.phone, sms.from_number, sms.body, sms.reply = None, None, "", None
        removed.texts += 1
    for out in db.session.scalars(select(SmsOutbound).where(SmsOutbound.phone == phone)):
        out.phone, out.body = "", ""
        if out.status == "pending":
            out.status = "not_sent"
        removed.texts += 1
    resident = db.session.scalar(select(Resident).where(Resident.phone == phone))
    if resident is not None:
        db.session.delete(resident)
        removed.residents += 1
    db.session.flush()
    delete_files_after_commit(removed.files)
    audit.record(actor, "resident_erased", mask_phone(phone), reason=reason.strip(), **removed.counts())
    log.info("resident data of %s erased by %s", phone, actor)
    return removed
