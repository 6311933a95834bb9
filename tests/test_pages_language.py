"""Every page a person reads, in Vietnamese and in English, with a request holding every kind
of timeline line and an audit log holding every kind of action: no stored key
(`pension_allowance`, `visit_booked`), no Python value (`{'to': …}`, `None`), no English on
a Vietnamese page, no line that fell back to its stored English sentence."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from html import unescape
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from hotline import training
from hotline.extensions import db
from hotline.models import AuditEntry, EventKind, Ticket, TrainingRun, utcnow
from hotline.staff import audit, labels
from hotline.staff.importer import COLUMNS
from hotline.staff.queue import STATUS_FILTERS
from hotline.staff.reports import DIMENSIONS, PERIODS
from hotline.tickets import add_event, create_ticket
from hotline.training_reset import Wiped
from tests.staff_fixtures import *  # noqa: F403  (fixtures)
from tests.staff_fixtures import csrf_from, fresh_request_globals

ROOT = Path(__file__).resolve().parent.parent
STORED = "STORED-SENTENCE"  # what a line shows when it falls back to its stored message

#: Every timeline kind with the data its writers give it (one variant per sentence).
EVENTS: dict[EventKind, list[tuple[dict, str]]] = {
    EventKind.CREATED: [({}, "system"), ({"sms_id": 7, "linked": "654321"}, "resident:sms")],
    EventKind.CLAIMED: [({"staff": "lan"}, "lan")],
    EventKind.RELEASED: [({}, "lan")],
    EventKind.REASSIGNED: [({"to": "hung"}, "thu")],
    EventKind.OUTCOME: [
        ({"outcome": "resolved", "note": "đã hướng dẫn"}, "lan"),
        ({"outcome": "wrong_number", "note": None}, "lan"),
        ({"outcome": "no_answer", "attempt": 1, "max_attempts": 3, "retry_at": "2026-11-30T03:00:00+00:00"},
         "lan"),
        ({"outcome": "no_answer", "attempt": 3, "max_attempts": 3}, "lan"),
    ],
    EventKind.NOTE: [({}, "lan"), ({"linked": "654321", "sms_id": 7}, "resident:sms")],
    EventKind.VISIT_BOOKED: [({"visit_on": "2026-12-02", "volunteer": "hung", "note": None}, "lan")],
    EventKind.TRANSFERRED: [({"to": "T02", "note": "nhờ tổ 2"}, "thu")],
    EventKind.ROUTED: [({"village": "V01"}, "lan")],
    EventKind.FLAG: [({"elderly": True}, "lan"), ({"elderly": False}, "lan")],
    EventKind.RETRY_DUE: [({"attempt": 2}, "system")],
    EventKind.CANCELLED: [({}, "resident:sms")],
    EventKind.CALLBACK_REQUESTED: [
        ({"staff": "lan"}, "lan"),
        ({"sms_id": 7}, "resident:sms"),
        ({"call_sid": "CA" + "3" * 32, "channel": "voice", "topic": "land", "keys": ["1", "6"]},
         "resident:voice"),
    ],
    EventKind.CALLBACK_PLACED: [({"staff": "lan", "sid": "CA" + "1" * 32}, "system")],
    EventKind.CALLBACK_FAILED: [
        ({"reason": "refused", "http_status": 403}, "system"),
        ({"reason": "no_credentials"}, "system"),
    ],
    EventKind.DROPPED_CALL: [
        ({"call_sid": "CA" + "4" * 32, "status": "completed"}, "system"),
        ({"call_sid": "CA" + "4" * 32, "status": "completed", "heard": "status", "last_node": "main_menu",
          "keys": ["2"]}, "system"),
    ],
    EventKind.MISSED_CALL: [({}, "system")],
    EventKind.VOICE_MESSAGE: [({}, "system")],
    EventKind.RECORDING_FAILED: [({}, "system")],
    EventKind.RECORDING_ABSENT: [({}, "system")],
    EventKind.SMS_IN: [({"empty": True}, "resident:sms"), ({}, "resident:sms")],
    EventKind.SMS_SENT: [
        ({"status": "twiml"}, "system"),
        ({"provider": "twilio", "status": "queued"}, "system"),
        ({"provider": "gateway", "status": "Pending"}, "system"),
    ],
    EventKind.SMS_NOT_SENT: [
        *(({"reason": reason}, "system") for reason in ("no_number", "opted_out", "no_provider")),
        *(({"no_reply": reason}, "system")
          for reason in ("no_number", "opted_out", "reply_cap", "repeat", "ceiling")),
    ],
    EventKind.SMS_FAILED: [
        ({"provider_id": "SM" + "2" * 32, "status": "undelivered"}, "system"),
        ({"detail": "503"}, "system"),
    ],
    EventKind.SMS_DELIVERED: [({"provider_id": "SM" + "2" * 32, "status": "delivered"}, "system")],
    EventKind.STAFF_SMS_SENT: [({"volunteer": "hung"}, "system")],
    EventKind.STAFF_SMS_NOT_SENT: [({"volunteer": "hung"}, "system")],
    EventKind.STAFF_SMS_FAILED: [({"detail": "503"}, "system")],
    EventKind.TRANSCRIPTION_DONE: [
        ({"empty": True}, "system"),
        ({"confidence": 0.42, "low_confidence": True}, "system"),
        ({"confidence": 0.91, "low_confidence": False}, "system"),
    ],
    EventKind.TRANSCRIPTION_NO_MODEL: [({"language": "mnong"}, "system")],
    EventKind.TRANSCRIPTION_FAILED: [({"step": "download", "detail": "404"}, "system"),
                                     ({"step": "asr", "detail": "0 B"}, "system")],
    EventKind.PERSONAL_DATA_REMOVED: [
        ({"why": "recordings", "days": 90}, "system"),
        ({"why": "texts", "days": 365}, "system"),
        ({"why": "erased", "days": None}, "admin"),
    ],
    EventKind.TRANSCRIPTION_WAITING_FOR_AUDIO: [({"detail": "404"}, "system")],
    EventKind.TRANSCRIPTION_UNREADABLE_AUDIO: [({"detail": "0 B"}, "system")],
}
#: Lines that show what a person typed, as written.
TYPED = {EventKind.NOTE: "gọi lại sau 5 giờ chiều", EventKind.SMS_IN: "cho hoi ve bhyt"}

#: Every audit action with the details its writers give it.
AUDIT = [
    ("lan", "login", None, {}),
    ("?", "login_failed", None, {}),
    ("lan", "logout", None, {}),
    ("cli", "password_set", "lan", {}),
    ("cli", "api_token_issued", "lan", {}),
    ("admin", "staff_created", "hung", {"role": "volunteer"}),
    ("admin", "staff_changed", "hung",
     {"role": "lead", "team": "T01", "phone": "+84911000003", "active": True}),
    ("admin", "village_team", "V01", {"team": "T01"}),
    ("lan", "claim", "123456", {"via": "sms"}),
    ("lan", "release", "123456", {"previous": "lan", "via": "web"}),
    ("thu", "reassign", "123456", {"previous": "lan", "to": "hung"}),
    ("lan", "outcome", "123456", {"outcome": "resolved", "via": "api"}),
    ("lan", "outcome", "123456", {"outcome": "no_answer", "attempt": 2}),
    ("lan", "visit_booked", "123456", {"visit_on": "2026-12-02", "volunteer": "hung"}),
    ("thu", "transfer", "123456", {"to": "T02", "previous": None}),
    ("lan", "note", "123456", {}),
    ("lan", "set_village", "123456", {"village": "V01"}),
    ("lan", "set_elderly", "123456", {"elderly": False}),
    ("lan", "callback", "123456", {}),
    ("admin", "login_unlocked", "hung", {}),
    ("admin", "password_reset", "hung", {}),
    ("admin", "team_added", "T03", {"name": "Tổ 3"}),
    ("admin", "village_added", "V09", {"name": "Thôn 9", "team": "T01"}),
    ("admin", "village_added", "V10", {"name": "Thôn 10", "team": None}),
    ("thu", "pin_set", "thu", {}),
    ("phone:+84911000002", "booth_pin_locked", "thu", {"call_sid": "CA" + "5" * 32}),
    ("phone:unknown", "booth_pin_locked", None, {"call_sid": "CA" + "5" * 32}),
    ("thu", "booth_entered", "thu", {"call_sid": "CA" + "5" * 32}),
    ("thu", "prompt_uploaded", "mnong/main_menu", {}),
    ("thu", "prompt_approved", "mnong/main_menu", {"recording": 4, "channel": "browser"}),
    ("thu", "prompt_approved", "mnong/welcome", {"recording": 5, "channel": "phone"}),
    ("lan", "recording_played", "123456", {"voice_message": 3}),
    ("lan", "transcript_read", "123456", {"voice_messages": [3, 4]}),
    ("lan", "transcript_read", None, {"requests": ["123456", "654321"], "via": "api"}),
    ("admin", "resident_exported", "+84912***678", {"requests": 2}),
    ("admin", "resident_erased", "+84912***678",
     {"reason": "đơn yêu cầu ngày 02/12", "tickets": 2, "recordings": 1, "transcripts": 1, "texts": 3,
      "call_steps": 5, "numbers": 2, "residents": 1}),
    *(("admin", f"import_{kind.replace('-', '_')}", None, {"rows": 3}) for kind in COLUMNS),
    ("thu", "training_reset", None, dict.fromkeys(Wiped().counts(), 2)),
]

SNAKE_KEY = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
PYTHON_VALUE = re.compile(r"\{'|'\}|': |\[\]|\[\'|\bNone\b|\bTrue\b|\bFalse\b|object at 0x|<built-in")
#: English words no Vietnamese sentence of the dashboard uses.
ENGLISH = re.compile(
    r"\b(the|and|of|by|is|not|with|from|for|please|request|requests|page|this|your|unknown|other|"
    r"queued|sent|delivered|failed|claimed|resolved|cancelled|calling|call|message|voice|team|"
    r"village|week|month|total|empty|row|column|missing|login|logged|outcome|visit|transferred)\b",
    re.IGNORECASE,
)


def visible_text(html: str) -> str:
    """What a person reads: text and the labels of controls, less scripts, the CSRF token and
    the language switch (each language named in itself: "Tiếng Việt · English")."""
    html = re.sub(r"<script.*?</script>|<style.*?</style>", " ", html, flags=re.S)
    html = re.sub(r'<form[^>]*class="inline lang".*?</form>', " ", html, flags=re.S)
    attributes = re.findall(r'(?:aria-label|title|placeholder|alt)="([^"]*)"', html)
    text = re.sub(r"<[^>]+>", " ", html)
    return unescape(" ".join([text, *attributes]))


def problems(text: str, vietnamese: bool) -> list[str]:
    found = [f"key {m}" for m in SNAKE_KEY.findall(text)]
    found += [f"python {m}" for m in PYTHON_VALUE.findall(text)]
    found += [f"stored sentence {STORED}"] * text.count(STORED)
    found += [f"unlabelled {m}" for m in re.findall(r"(?:other|khác) \([^)]*\)", text)]
    if vietnamese:
        found += [f"english {m[0]!r} in …{m[1]}…" for m in
                  ((m.group(), text[max(m.start() - 30, 0):m.end() + 30]) for m in ENGLISH.finditer(text))]
    return found


@pytest.fixture
def every_kind(world):
    """A request with every timeline line, a resolved one with a home visit, and an audit log
    with every action."""
    ticket = world.ticket(world.village_a, topic="pension_allowance", elderly=True)
    ticket.language = "mnong"
    for kind in EventKind:
        for data, actor in EVENTS[kind]:
            message = TYPED.get(kind, f"{STORED} {kind}") if not data.get("empty") else f"{STORED} {kind}"
            add_event(ticket, kind, message, data=data, actor=actor)
    done = world.ticket(world.village_a, topic="vneid", channel="sms", reason="sms")
    done.status, done.outcome, done.closed_at = "resolved", "resolved", utcnow()
    sms = world.ticket(world.village_a, topic="civil_status", channel="sms", reason="sms", age_minutes=4000)
    sms.next_attempt_at = utcnow() + timedelta(hours=2)
    for actor, action, target, data in AUDIT:
        db.session.add(AuditEntry(actor=actor, action=action, target=target, data=data or None))
    db.session.commit()
    return ticket, done, sms


def test_every_timeline_kind_and_audit_action_is_covered_here():
    assert set(EVENTS) == set(EventKind)
    assert {action for _, action, _, _ in AUDIT} == set(labels.AUDIT_ACTIONS)


def test_every_audit_action_written_in_the_code_has_a_label():
    """An action someone adds (`audit.record(actor, "user_unlocked", …)`) gets its words here."""
    written = set()
    for path in (ROOT / "hotline").rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        written.update(re.findall(r'audit\.record\(\s*[^,]+,\s*"([a-z_]+)"', source))
    written.update(f"import_{kind.replace('-', '_')}" for kind in COLUMNS)
    assert len(written) > 20
    assert sorted(written - set(labels.AUDIT_ACTIONS)) == []


def test_every_caller_language_has_a_name():
    flow = yaml.safe_load((ROOT / "ivr_flows" / "main.yaml").read_text(encoding="utf-8"))
    assert set(flow["languages"]) <= set(labels.LANGUAGE_NAMES)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_page_reads_in_the_persons_language(every_kind, world, login, app, lang):
    ticket, done, sms = every_kind
    vietnamese = lang == "vi"
    pages: dict[str, str] = {}

    anonymous = app.test_client()
    fresh_request_globals()
    token = csrf_from(anonymous.get("/staff/login").get_data(as_text=True))
    fresh_request_globals()
    anonymous.post("/staff/lang", data={"lang": lang, "csrf_token": token})
    fresh_request_globals()
    pages["landing page"] = anonymous.get("/").get_data(as_text=True)
    pages["login banner"] = anonymous.get("/staff/t/123456", follow_redirects=True).get_data(as_text=True)
    banner = "Hãy đăng nhập để xem trang này." if vietnamese else "Log in to see this page."
    assert banner in pages["login banner"]

    lan, admin = login("lan"), login("admin")
    for client in (lan, admin):
        client.post("/staff/lang", data={"lang": lang})
    for status in STATUS_FILTERS:
        pages[f"queue {status}"] = lan.get(f"/staff/?status={status}").get_data(as_text=True)
        pages[f"rows {status}"] = lan.get(f"/staff/?status={status}&partial=1").get_data(as_text=True)
    for item in (ticket, done, sms):
        pages[f"request {item.code}"] = lan.get(f"/staff/t/{item.code}").get_data(as_text=True)
    other = world.ticket(world.village_b)
    pages["another team's request"] = lan.get(f"/staff/t/{other.code}").get_data(as_text=True)
    pages["no such request"] = lan.get("/staff/t/000000").get_data(as_text=True)
    pages["settings, refused"] = lan.get("/staff/admin").get_data(as_text=True)
    # The practice phone and the training space (hotline.training): a rehearsal's request
    # with the lines only a rehearsal writes.
    pages["practice phone, no scenario"] = admin.get("/staff/simulator").get_data(as_text=True)
    lan.post("/staff/simulator/run", data={"scenario": "scam-call-report"})
    pages["practice phone"] = lan.get("/staff/simulator").get_data(as_text=True)
    run_id = db.session.scalars(select(TrainingRun.id)).one()
    with training.rehearsing(run_id):
        rehearsal = create_ticket(phone=training.run_number(run_id), channel="sms", reason="sms",
                                  topic="scam")
    add_event(rehearsal, EventKind.SMS_SENT, "", data={"key": "k", "to": rehearsal.phone, "body": "…",
                                                       "provider": "training", "status": "simulated"})
    add_event(rehearsal, EventKind.CALLBACK_PLACED, "", data={"key": "c", "staff": "lan", "sid": "training",
                                                              "status": "simulated", "training": True})
    db.session.commit()
    pages["training queue"] = lan.get("/staff/?space=training").get_data(as_text=True)
    pages["training request"] = lan.get(f"/staff/t/{rehearsal.code}").get_data(as_text=True)
    pages["training report"] = admin.get("/staff/reports?space=training").get_data(as_text=True)
    pages["bad address"] = lan.get("/staff/reports?start=yesterday").get_data(as_text=True)
    for by in DIMENSIONS:
        for period in PERIODS:
            url = f"/staff/reports?by={by}&period={period}"
            pages[f"report {by} {period}"] = admin.get(url).get_data(as_text=True)
            csv_text = admin.get(f"/staff/reports.csv?by={by}&period={period}").get_data(as_text=True)
            pages[f"csv {by} {period}"] = csv_text
    pages["settings"] = admin.get("/staff/admin").get_data(as_text=True)
    pages["accounts"] = admin.get("/staff/admin/accounts").get_data(as_text=True)
    pages["teams and villages"] = admin.get("/staff/admin/places").get_data(as_text=True)
    pages["residents' data"] = admin.get("/staff/privacy").get_data(as_text=True)
    pages["prompts"] = admin.get("/staff/prompts").get_data(as_text=True)
    pages["prompts, Vietnamese"] = admin.get("/staff/prompts?lang=vi").get_data(as_text=True)
    pages["prompts, refused"] = lan.get("/staff/prompts").get_data(as_text=True)
    rehearsal = training.start_run(world.vol_a, "vneid-elderly-mnong")
    with training.rehearsing(rehearsal.id):
        rehearsed = create_ticket(phone=rehearsal.phone, channel="voice", reason="voicemail", language="vi")
    db.session.commit()
    lan.post(f"/staff/t/{rehearsed.code}/claim")
    pages["trainer page"] = admin.get("/staff/training").get_data(as_text=True)
    assert "data-run=" in pages["trainer page"]
    pages["trainer page, refused"] = lan.get("/staff/training").get_data(as_text=True)
    unconfirmed = admin.post("/staff/training/reset", follow_redirects=True)
    pages["trainer page, not confirmed"] = unconfirmed.get_data(as_text=True)
    pages["trainer page, wiped"] = admin.post(
        "/staff/training/reset", data={"confirm": "yes"}, follow_redirects=True).get_data(as_text=True)
    bad = io.BytesIO("code,name,team\nV09,,T01\nV10,Thôn 10,T77\nV10,Thôn 10,\n".encode())
    pages["import errors"] = admin.post(
        "/staff/admin/import", data={"kind": "villages", "file": (bad, "v.csv")},
        content_type="multipart/form-data", follow_redirects=True,
    ).get_data(as_text=True)

    found = {name: problems(visible_text(html), vietnamese) for name, html in pages.items()}
    bad = {name: p for name, p in found.items() if p}
    assert not bad, "\n".join(f"{name}: {sorted(set(p))}" for name, p in bad.items())
    # The request page shows each line's sentence and its writer in words.
    text = visible_text(pages[f"request {ticket.code}"])
    lines = len(db.session.scalars(select(Ticket).where(Ticket.id == ticket.id)).one().events)
    assert lines == 1 + sum(len(v) for v in EVENTS.values())  # and the row create_ticket wrote
    if vietnamese:
        for expected in ("tổng đài (tự động)", "người dân, qua SMS", "tiếng M'Nông", "lương hưu",
                         "đang chờ gửi", "Tuần ", "dòng 2, cột \"tên\": trống"):
            assert expected in text + visible_text(pages["report none week"]) + visible_text(
                pages["import errors"]), expected
        resolved = " ".join(visible_text(pages[f"request {done.code}"]).split())
        assert "đã giải quyết đã giải quyết" not in resolved
    audit_text = visible_text(pages["settings"])
    assert ("Trần Văn Hùng" in audit_text) and ("02/12/2026" in audit_text)


def test_audit_entries_read_as_sentences(world, app):
    from flask_babel import force_locale

    entry = audit.record("thu", "reassign", "123456", previous="lan", to="hung")
    created = audit.record("admin", "staff_created", "hung", role="volunteer")
    db.session.flush()
    with force_locale("vi"):
        assert audit.describe([created])[created.id] == (
            "Quản trị · tạo tài khoản · Trần Văn Hùng · vai trò: tình nguyện viên"
        )
    with force_locale("vi"):
        assert audit.describe([entry])[entry.id] == (
            "Phạm Thu · giao lại yêu cầu · 123456 · trước đó: Nguyễn Thị Lan · cho: Trần Văn Hùng"
        )
    with force_locale("en"):
        assert audit.describe([entry])[entry.id] == (
            "Phạm Thu · request reassigned · 123456 · before: Nguyễn Thị Lan · to: Trần Văn Hùng"
        )
    approved = audit.record("thu", "prompt_approved", "mnong/welcome", recording=5, channel="phone")
    locked = audit.record("phone:unknown", "booth_pin_locked", None, call_sid="CA" + "5" * 32)
    read = audit.record("lan", "transcript_read", None, requests=["123456", "654321"], via="api")
    db.session.flush()
    with force_locale("vi"):
        said = audit.describe([approved, locked, read])
    assert said[approved.id] == ("Phạm Thu · duyệt bản ghi âm lời nhắc · tiếng M'Nông: «Xin chào, đây là "
                                 "đường dây hỗ trợ dịch vụ công…» · bản ghi âm số: 5 · "
                                 "đã ghi âm: qua điện thoại")
    assert said[locked.id].startswith(
        "một máy giấu số · khóa đường dây ghi âm vì nhập sai mã PIN · cuộc gọi: CA")
    assert said[read.id] == "Nguyễn Thị Lan · xem bản ghi lời · yêu cầu: 123456, 654321 · cách: qua API"
    db.session.rollback()
