"""The store: timeline kinds are one enum, topics one vocabulary shared by every channel, each
with a label in both languages; a resident holds one village reference."""

from __future__ import annotations

import ast
import re
from datetime import timedelta
from pathlib import Path

import pytest
from babel.support import Translations
from flask_babel import force_locale
from sqlalchemy import inspect, select

from hotline.extensions import db
from hotline.ivr.flow import load_flow
from hotline.models import EventKind, Resident, Ticket, Topic, Village
from hotline.sms.keywords import Keywords
from hotline.staff import labels, reports, timeline
from hotline.tickets import add_event
from tests.sms_fixtures import twilio_sms
from tests.staff_fixtures import *  # noqa: F403  (fixtures)

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = Translations.load(str(ROOT / "hotline" / "translations"), ["vi"])


# --- timeline kinds ----------------------------------------------------------------------


def kind_literals(paths: list[Path], base: Path) -> list[str]:
    """`add_event(...)` calls whose kind is a string (a literal or an f-string), not an EventKind."""
    found = []
    for path in paths:
        for call in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(call, ast.Call):
                continue
            if (getattr(call.func, "id", None) or getattr(call.func, "attr", None)) != "add_event":
                continue
            kinds = [*call.args[1:2], *(k.value for k in call.keywords if k.arg == "kind")]
            if any(isinstance(k, ast.JoinedStr | ast.Constant) for k in kinds):
                found.append(f"{path.relative_to(base)}:{call.lineno}")
    return found


def test_no_add_event_call_passes_a_string():
    paths = [*sorted((ROOT / "hotline").rglob("*.py")), *sorted((ROOT / "workers").rglob("*.py"))]
    assert len(paths) > 50
    assert kind_literals(paths, ROOT) == []


def test_the_scan_finds_a_string_kind(tmp_path):
    (tmp_path / "bad.py").write_text(
        'add_event(t, EventKind.NOTE, "x")\n'
        'tickets.add_event(t, "note", "x")\n'
        'add_event(t, f"sms_{status}")\n'
        'add_event(t, kind="note")\n'
        'add_event(t, EventKind(f"sms_{status}"))\n',
        encoding="utf-8",
    )
    assert kind_literals([tmp_path / "bad.py"], tmp_path) == ["bad.py:2", "bad.py:3", "bad.py:4"]


def test_add_event_takes_only_an_event_kind(app, world):
    ticket = world.ticket(world.village_a)
    for kind in ("note", "something_new"):  # a plain string, even one with a member's value
        with pytest.raises(TypeError, match="is not an EventKind"):
            add_event(ticket, kind, "x")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        EventKind("sms_queued")  # what `EventKind(f"sms_{status}")` does with a status it lacks
    event = add_event(ticket, EventKind.NOTE, "x")
    assert event.kind == "note"  # the value stored rows already hold


def test_a_recording_still_in_progress_writes_no_line_and_a_lost_one_writes_its_kind(app, world, twilio):
    """Twilio's recording statuses map onto kinds; `in-progress` is no loss and no kind."""
    from hotline.ivr.call_status import callback_for_unfinished_call
    from hotline.models import Call

    world.resident("+84912000444", world.village_a)
    call = Call(call_sid="CA" + "4" * 32, phone="+84912000444", status="completed")
    db.session.add(call)
    callback_for_unfinished_call(call, "dropped_call")
    db.session.commit()
    code = call.ticket.code
    for status in ("in-progress", "failed"):
        params = {"CallSid": "CA" + "4" * 32, "RecordingSid": "RE" + "5" * 32, "RecordingStatus": status}
        response = twilio.post("/twilio/recording", params)
        assert response.status_code == 204
    db.session.remove()
    ticket = db.session.scalar(select(Ticket).where(Ticket.code == code))
    assert [e.kind for e in ticket.events] == ["created", "recording_failed"]


def test_stored_kinds_are_still_members():
    """Values equal the strings stored before the enum: every kind the timeline knew."""
    assert {k.value for k in EventKind} >= {
        "created", "claimed", "released", "reassigned", "outcome", "note", "visit_booked", "transferred",
        "routed", "flag", "retry_due", "cancelled", "callback_requested", "callback_placed",
        "callback_failed", "dropped_call", "missed_call", "voice_message", "recording_failed",
        "recording_absent", "sms_in", "sms_sent", "sms_not_sent", "sms_failed", "sms_delivered",
        "staff_sms_sent", "staff_sms_not_sent", "staff_sms_failed", "transcription_done",
        "transcription_failed", "transcription_no_model", "transcription_waiting_for_audio",
        "transcription_unreadable_audio",
    }


def english_and_vietnamese(label) -> tuple[str, str]:
    msgid = label._args[0]
    return msgid, CATALOGUE.gettext(msgid)


@pytest.mark.parametrize(
    ("enum", "table"), [(EventKind, labels.EVENT_KINDS), (Topic, labels.TOPICS)], ids=["kind", "topic"]
)
def test_every_member_has_a_vietnamese_and_an_english_label(enum, table):
    assert sorted(table) == sorted(enum)
    for member in enum:
        english, vietnamese = english_and_vietnamese(table[member])
        assert english, member
        assert vietnamese and vietnamese != english, (member, english)


def test_every_kind_renders_from_kind_and_data():
    assert sorted(timeline.RENDERERS) == sorted(EventKind)
    source = (ROOT / "hotline" / "staff" / "timeline.py").read_text(encoding="utf-8")
    assert "event.message ==" not in source and ".startswith(" not in source


# --- topics --------------------------------------------------------------------------------


def test_every_topic_a_channel_can_store_is_in_the_vocabulary_and_every_topic_is_reachable():
    flow = load_flow(ROOT / "ivr_flows" / "main.yaml")
    voice = {
        option["topic"]
        for node in flow.nodes.values()
        for option in (node.get("options") or {}).values()
        if "topic" in option
    } | {node["topic"] for node in flow.nodes.values() if "topic" in node}
    sms = set(Keywords.load(ROOT / "ivr_flows" / "sms" / "keywords.yaml").topics.values())
    assert voice <= set(Topic) and sms <= set(Topic)
    assert voice | sms == set(Topic)
    assert "pension_allowance" in voice & sms


def test_the_broken_topic_fixtures_exist():
    """tests/test_voice_flows.py and tests/test_data_files.py check their exact messages."""
    for path in ("tests/flows/unknown_topic.yaml", "tests/data_files/sms_keywords-unknown_topic.yaml"):
        first = (ROOT / path).read_text(encoding="utf-8").splitlines()[0]
        assert re.search(r'unknown topic.*\(known: vneid, civil_status, .*, other\)$', first), path


def test_pension_by_sms_and_by_phone_is_one_topic_one_label_one_report_row(app, world, login, twilio):
    assert twilio_sms(twilio, "luong huu thang nay chua nhan", "+84912000111").status_code == 200
    call = twilio.call("+84912000222")
    call.start()
    call.press("1")  # Tiếng Việt
    call.press("1")  # a procedure
    call.press("4")  # pension and allowances
    db.session.remove()
    rows = db.session.scalars(select(Ticket).order_by(Ticket.id)).all()
    assert len(rows) == 2
    assert [t.channel for t in rows] == ["sms", "voice"]
    assert {t.topic for t in rows} == {"pension_allowance"}
    with force_locale("vi"):
        assert {labels.label("topic", t.topic) for t in rows} == {"lương hưu, trợ cấp xã hội"}

    admin = login("admin")
    queue = admin.get("/staff/?status=active&topic=pension_allowance").get_data(as_text=True)
    assert all(t.code in queue for t in rows)
    day = rows[0].created_at.date()
    params = reports.ReportParams(start=day - timedelta(days=1), end=day + timedelta(days=1),
                                  by="topic", period="month", staff=None)
    report = reports.build(params)
    assert [(r.group, r.received) for r in report.rows] == [("pension_allowance", 2)]
    page = admin.get(f"/staff/reports?start={params.start}&end={params.end}&by=topic&period=month")
    assert "lương hưu, trợ cấp xã hội" in page.get_data(as_text=True)


# --- residents ---------------------------------------------------------------------------


def test_a_resident_holds_one_village_reference(app, world):
    columns = {c["name"] for c in inspect(db.engine).get_columns("residents")}
    assert "village_id" in columns and "village" not in columns
    resident = world.resident("+84912000333", world.village_b)
    db.session.commit()
    assert isinstance(resident.village, Village) and resident.village.id == world.village_b.id
    ticket = world.ticket(phone="+84912000333")
    db.session.commit()
    assert db.session.get(Resident, resident.id).village_id == world.village_b.id
    assert (ticket.village_id, ticket.team_id) == (world.village_b.id, world.village_b.team_id)


def test_a_refused_sms_renders_from_its_data_whichever_provider(app_factory, redis_url):
    """The SMS Gateway's refusal carries its own `error`; the line's words are the `detail`."""
    from tests.fake_sms_gateway_api import FakeSmsGatewayAPI
    from tests.sms_fixtures import gateway_sms, outbound
    from workers import sms as sms_jobs

    api = FakeSmsGatewayAPI("hotline", "gateway-password").start()
    try:
        app = app_factory(SMS_PROVIDER="gateway", SMS_GATEWAY_URL=api.base_url, SMS_GATEWAY_LOGIN=api.login,
                          SMS_GATEWAY_PASSWORD=api.password)
        with app.app_context():
            gateway_sms(app.test_client(), "lam cccd", "0912345678")
            api.fail_next(400)
            assert sms_jobs.send_sms(outbound()[0].id) == "sms_failed"
            db.session.remove()
            ticket = db.session.scalars(select(Ticket)).one()
            event = next(e for e in ticket.events if e.kind == EventKind.SMS_FAILED)
            assert event.data["detail"] == event.message.removeprefix("not sent: ") and "error" in event.data
            with force_locale("vi"):
                line = timeline.lines([event])[event.id]
            assert line == "không gửi được: " + event.data["detail"]
    finally:
        api.stop()
