"""The voice hot path (hotline.ivr.engine): one read and one write per step, on SQLite and
PostgreSQL, and still idempotent when the call or the caller changed between a step and
Twilio's retry of it."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import event, select

from hotline.extensions import db
from hotline.models import Call, CallStep, Resident, Ticket
from tests.voice_helpers import count, spoken

#: Run on the PostgreSQL leg of the `database_url` fixture only.
postgresql_only = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def test_a_retried_language_choice_replays_after_the_call_moved_on(twilio):
    call = twilio.call()
    call.start()
    action = call.gather().get("action")
    call.press("2")  # M'Nông
    first = call.last_response.data
    call.press("3")
    call.press("1")  # office hours: the call's outcome becomes "information"
    steps = count(CallStep)

    # The same number, in another call, switches to Vietnamese.
    other = twilio.call(call.params["From"])
    other.start()
    other.press("1")  # the main menu: "1" is a procedure, not a language
    db.session.remove()
    db.session.scalars(select(Resident)).one().language = "vi"
    db.session.commit()

    again = twilio.post(action, dict(call.params, Digits="2"))
    assert again.status_code == 200
    assert again.data == first
    assert count(CallStep) == steps + 2  # only the other call's two steps
    assert count(Resident) == 1
    db.session.remove()
    stored = db.session.scalars(select(Call).where(Call.call_sid == call.sid)).one()
    assert stored.language == "mnong"
    assert stored.outcome == "information"


def test_a_retried_greeting_replays_the_first_answer_after_the_caller_chose_a_language(twilio):
    call = twilio.call()
    call.start()
    first = call.last_response.data
    assert call.gather().get("action").startswith("/twilio/voice/step?node=choose_language")
    call.press("1")  # the number now remembers Vietnamese: a new call would be welcomed back

    call.start()
    assert call.last_response.data == first
    assert count(Call) == 1


def test_a_retried_status_read_out_replays_after_the_request_was_resolved(twilio):
    first_call = twilio.call()
    first_call.start()
    for key in ("1", "1", "1"):
        first_call.press(key)
    ticket = db.session.scalars(select(Ticket)).one()

    call = twilio.call()
    call.start()  # welcomed back in Vietnamese, then the open request's status
    first = call.last_response.data
    assert spoken(ticket.code) in call.said()
    db.session.remove()
    db.session.get(Ticket, ticket.id).status = "resolved"
    db.session.commit()

    call.start()
    assert call.last_response.data == first


def test_a_returning_callers_greeting_is_one_read_and_its_writes(app, twilio):
    first_call = twilio.call()
    first_call.start()
    for key in ("1", "1", "1"):
        first_call.press(key)
    ticket = db.session.scalars(select(Ticket)).one()
    db.session.remove()

    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(statement.lstrip().split(None, 1)[0].upper())

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        call = twilio.call()
        call.start()
        call.press("3")  # the information menu: a step that changes nothing in the call
    finally:
        event.remove(db.engine, "before_cursor_execute", record)

    # The welcome in the remembered language and the open request's status came from one query.
    assert call.history[0].find("Say").get("language") == "vi-VN"
    assert spoken(ticket.code) in " ".join(el.text or "" for el in call.history[0].iter("Say"))
    if db.engine.dialect.name == "postgresql":
        # A read, then one statement writes the call and the step; no BEGIN, no COMMIT.
        assert seen == ["SELECT", "WITH", "SELECT", "INSERT"]
    else:
        assert seen == ["SELECT", "INSERT", "INSERT", "SELECT", "INSERT"]


@postgresql_only  # synchronous_commit is PostgreSQL's
def test_a_request_waits_for_the_disk_and_a_menu_step_does_not(app, twilio):
    modes: list[str] = []

    def record(conn, cursor, statement, parameters, *args):
        if isinstance(parameters, dict) and "commit_mode" in parameters:
            modes.append(parameters["commit_mode"])

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        call = twilio.call()
        call.start()
        for key in ("1", "1", "1"):
            call.press(key)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert modes == ["off", "off", "off", "on"]
    assert count(Ticket) == 1


@postgresql_only  # a PostgreSQL server closing connections
def test_a_step_after_the_database_dropped_its_connections_still_answers(app, twilio):
    call = twilio.call()
    call.start()
    db.session.remove()
    server_url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(server_url, autocommit=True) as admin:
        killed = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()[0]
    assert killed >= 1  # the pool's connections are gone

    call.press("1")
    assert call.gather() is not None  # the main menu, not the apology
    assert count(CallStep) == 2
