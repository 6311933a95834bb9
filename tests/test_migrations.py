"""Migrations on SQLite and PostgreSQL: the models are exactly what the migrations build, and
0010 carries rows of the old shape (a village string, SMS's `pension`, timeline lines told
apart only by their English sentence) into the new one, and back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_babel import force_locale
from flask_migrate import downgrade, upgrade

from hotline.extensions import db
from hotline.models import Resident, Ticket, TicketEvent
from hotline.staff import timeline
from tests.conftest import make_app

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


@pytest.fixture
def migrating(empty_database_url, redis_url, tmp_path):
    app = make_app(tmp_path, empty_database_url, redis_url)
    with app.app_context():
        yield app.extensions["migrate"].directory
        db.session.remove()
        db.engine.dispose()


def test_the_models_are_what_the_migrations_build(migrating):
    """What `flask db migrate` (autogenerate) would write now: nothing."""
    upgrade(directory=migrating)
    with db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert differences == []


def table(name: str, *columns: str) -> sa.TableClause:
    types = {"data": sa.JSON(), "created_at": sa.DateTime(timezone=True)}
    return sa.table(name, *(sa.column(c, types.get(c)) for c in columns))


VILLAGES = table("villages", "id", "code", "name", "team_id")
TEAMS = table("teams", "id", "code", "name")
RESIDENTS = table("residents", "id", "phone", "village", "village_id", "created_at")
TICKETS = table("tickets", "id", "code", "phone", "resident_id", "channel", "reason", "topic", "status",
                "created_at", "updated_at", "attempts", "elderly")
EVENTS = table("ticket_events", "id", "ticket_id", "kind", "message", "data", "actor", "created_at")
AUDIT = table("audit_log", "actor", "action", "target", "data")

#: (kind, stored sentence, data as written then, data it must have after 0010)
OLD_LINES = [
    ("sms_not_sent", "not sent: the resident opted out (STOP)", {"key": "k"},
     {"key": "k", "reason": "opted_out"}),
    ("sms_not_sent", "no reply: reply_cap", {"sms_id": 4}, {"sms_id": 4, "no_reply": "reply_cap"}),
    ("sms_failed", "not sent: Twilio refused (21211)", {"provider": "twilio"},
     {"provider": "twilio", "detail": "Twilio refused (21211)"}),
    ("callback_failed", "not placed: Twilio refused (403)", {"key": "c"},
     {"key": "c", "reason": "refused", "http_status": 403}),
    ("flag", "marked elderly", None, {"elderly": True}),
    ("sms_in", "(empty SMS)", {"intent": "unhandled"}, {"intent": "unhandled", "empty": True}),
    ("transcription_failed", "recording not downloaded: 404 Not Found", {"recording_sid": "RE1"},
     {"recording_sid": "RE1", "step": "download", "detail": "404 Not Found"}),
    ("staff_sms_failed", "volunteer not texted: bad number", {"volunteer": "lan"},
     {"volunteer": "lan", "detail": "bad number"}),
    ("outcome", "resolved by Lan: called twice", {"outcome": "resolved"},
     {"outcome": "resolved", "note": "called twice"}),
    ("transferred", "transferred to Tổ 1", {"to": "t1"}, {"to": "t1", "note": None}),
    ("note", "chị Lan gọi lại", None, None),  # typed text: nothing to add
]


def seed_old_rows(connection) -> dict[str, int]:
    """Rows as 0009 held them; returns the villages' ids by code (ids come from the sequences,
    so the rows the migration adds get theirs too)."""
    inserted = connection.execute(TEAMS.insert().values(code="t1", name="Tổ 1").returning(TEAMS.c.id))
    team = inserted.scalar_one()
    ids = {}
    for code, name, team_id in (("thon-1", "Thôn 1", team), ("bon-a", "Bon Bu Nor", team),
                                ("bon-b", "Bon Bu Nor", None)):
        ids[code] = connection.execute(
            VILLAGES.insert().values(code=code, name=name, team_id=team_id).returning(VILLAGES.c.id)
        ).scalar_one()
    residents = [
        (1, "thon-1", None),          # the importer's code
        (2, " thôn  1 ", None),       # the name, typed with other spaces
        (3, "THON 1", None),          # the name without accents, in capitals
        (4, "Thôn Mới", None),        # no such village: one is created
        (5, "thôn mới", None),        # …and found again, not created twice
        (6, "Bon Bu Nor", None),      # two villages of that name: none is guessed
        (7, "Thôn 1", ids["bon-b"]),  # both: the id wins
        (8, None, None),
    ]
    connection.execute(RESIDENTS.insert(), [
        {"id": i, "phone": f"+8491200000{i}", "village": v, "village_id": vid, "created_at": NOW}
        for i, v, vid in residents
    ])
    connection.execute(TICKETS.insert(), [
        {"id": 1, "code": "1001", "phone": "+84912000001", "resident_id": 1, "channel": "sms",
         "reason": "sms", "topic": "pension", "status": "open", "created_at": NOW, "updated_at": NOW,
         "attempts": 0, "elderly": False},
        {"id": 2, "code": "1002", "phone": "+84912000004", "resident_id": 4, "channel": "voice",
         "reason": "callback_requested", "topic": "pension_allowance", "status": "open", "created_at": NOW,
         "updated_at": NOW, "attempts": 0, "elderly": False},
        {"id": 3, "code": "1003", "phone": "+84912000006", "resident_id": 6, "channel": "sms",
         "reason": "sms", "topic": "my_own_topic", "status": "open", "created_at": NOW, "updated_at": NOW,
         "attempts": 0, "elderly": False},
    ])
    connection.execute(EVENTS.insert(), [
        {"id": n, "ticket_id": 1, "kind": kind, "message": message, "data": before, "actor": "lan",
         "created_at": NOW}
        for n, (kind, message, before, _) in enumerate(OLD_LINES, start=1)
    ])
    return ids


def test_0010_carries_old_rows_into_the_new_shape_and_back(migrating):
    upgrade(directory=migrating, revision="0009")
    with db.engine.begin() as connection:
        ids = seed_old_rows(connection)
    upgrade(directory=migrating, revision="0010")

    villages = {v.code: v for v in db.session.execute(sa.select(VILLAGES)).all()}
    assert sorted(villages) == ["bon-a", "bon-b", "thon-1", "thon-moi"]
    new = villages["thon-moi"]
    assert (new.name, new.team_id) == ("Thôn Mới", None)
    one, fresh = ids["thon-1"], new.id
    linked = dict(db.session.execute(sa.select(Resident.id, Resident.village_id)).all())
    assert linked == {1: one, 2: one, 3: one, 4: fresh, 5: fresh, 6: None, 7: ids["bon-b"], 8: None}
    audit = sorted((a.action, a.target, a.data["village"]) for a in db.session.execute(sa.select(AUDIT)))
    assert audit == [("resident_village_ambiguous", "resident:6", "Bon Bu Nor"),
                     ("village_from_resident", "thon-moi", "Thôn Mới")]

    topics = dict(db.session.execute(sa.select(Ticket.id, Ticket.topic)).all())
    assert topics == {1: "pension_allowance", 2: "pension_allowance", 3: "my_own_topic"}

    stored = dict(db.session.execute(sa.select(EVENTS.c.id, EVENTS.c.data)).all())
    assert [stored[n] for n in range(1, len(OLD_LINES) + 1)] == [
        after if after is not None else before for _, _, before, after in OLD_LINES
    ]
    # The dashboard now renders those rows from their data, in Vietnamese.
    # The timeline rows of request 1 (read by themselves: later migrations add request columns).
    events = db.session.scalars(
        sa.select(TicketEvent).where(TicketEvent.ticket_id == 1).order_by(TicketEvent.id)).all()
    with force_locale("vi"):
        lines = timeline.lines(events)
    assert [lines[e.id] for e in events] == [
        "chưa gửi: người dân đã từ chối nhận tin (STOP)",
        "không trả lời: số này đã nhận quá nhiều tin trả lời trong một giờ qua",
        "không gửi được: Twilio refused (21211)",
        "không gọi được: Twilio từ chối (403)",
        "đã đánh dấu người cao tuổi",
        "(tin nhắn trống)",
        "không tải được bản ghi: 404 Not Found",
        "chưa nhắn được cho tình nguyện viên: bad number",
        "lan đã giải quyết xong: called twice",  # no account "lan" here: the username
        "đã chuyển sang Tổ 1",
        "chị Lan gọi lại",
    ]
    db.session.remove()

    downgrade(directory=migrating, revision="0009")
    with db.engine.connect() as connection:
        back = dict(connection.execute(sa.select(RESIDENTS.c.id, RESIDENTS.c.village)).all())
        topics = dict(connection.execute(sa.select(TICKETS.c.id, TICKETS.c.topic)).all())
    assert back == {1: "Thôn 1", 2: "Thôn 1", 3: "Thôn 1", 4: "Thôn Mới", 5: "Thôn Mới", 6: None,
                    7: "Bon Bu Nor", 8: None}
    assert topics == {1: "pension", 2: "pension_allowance", 3: "my_own_topic"}
