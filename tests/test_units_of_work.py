"""Who commits: each edge (an SMS webhook, a dashboard form post, an API call, a job) is one
unit of work. A failure right after the domain call (its rows flushed, not yet committed)
leaves nothing of the action behind, on SQLite and PostgreSQL; the domain functions only
flush, so nothing they did can commit half-way.

The voice webhooks have their own (tests/test_voice_units_of_work.py).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from rq import Queue, Retry
from rq.job import Job
from rq.registry import ScheduledJobRegistry
from sqlalchemy import func, select

from hotline import jobs, messaging, outbox
from hotline.extensions import db
from hotline.models import AuditEntry, LoginFailure, OutboxMessage, SmsMessage, SmsOutbound, Ticket, utcnow
from hotline.queueing import get_redis
from hotline.staff import accounts, claims, outcomes, sms_commands
from hotline.unit_of_work import unit_of_work
from tests.sms_fixtures import twilio_sms
from tests.staff_fixtures import *  # noqa: F403  (fixtures)
from tests.staff_fixtures import csrf_from, fresh_request_globals

LAN = "+84911000001"  # Lan's phone: a volunteer of team 1 (tests/staff_fixtures.World)


class Injected(RuntimeError):
    """The failure a test injects: a bug, a full disk, a dropped connection."""


def then_fail(real, ran: list):
    """`real`, then a failure right after it returned, its rows flushed into the transaction."""

    def broken(*args, **kwargs):
        ran.append(real(*args, **kwargs))
        db.session.flush()
        raise Injected("after the domain call")

    return broken


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def stored(ticket_id: int) -> dict:
    """What an action on a request may have written, read afresh from the database."""
    db.session.remove()
    ticket = db.session.get(Ticket, ticket_id)
    return {
        "ticket": (ticket.status, ticket.assignee_id, ticket.outcome),
        "events": sorted(event.kind for event in ticket.events),
        "audit": sorted(entry.action for entry in db.session.scalars(select(AuditEntry))),
        "jobs": sorted(db.session.scalars(select(OutboxMessage.job_id))),
    }


def open_request(world, phone: str = "+84987650001") -> tuple[int, str]:
    """An open request of team 1 from a resident (not from a staff member's number)."""
    ticket = world.ticket(world.village_a, phone=phone)
    return ticket.id, ticket.code


# --- an SMS carrying a volunteer's command ---------------------------------------------------------


def test_an_sms_command_is_one_unit_with_its_message_and_reply(world, twilio):
    """The control: `XONG <code>` claims, resolves, writes the timeline, the audit log, the
    resident's SMS job and the reply, all in the one commit of the SMS webhook."""
    tid, code = open_request(world)
    before = stored(tid)
    assert twilio_sms(twilio, f"XONG {code}", from_number=LAN).status_code == 200
    after = stored(tid)
    assert after["ticket"] == ("resolved", world.vol_a.id, "resolved")
    assert after["events"] == sorted([*before["events"], "claimed", "outcome"])
    assert after["audit"] == sorted([*before["audit"], "claim", "outcome"])
    reply = db.session.scalars(select(SmsOutbound)).one()
    assert after["jobs"] == sorted([*before["jobs"], f"staff-sms-resolved-{tid}", f"sms-out-{reply.id}"])
    message = db.session.scalars(select(SmsMessage)).one()
    assert message.intent == "prehandler" and message.reply.startswith(f"Da ghi yeu cau {code}")


@pytest.mark.parametrize("failing", ["after the resolve", "the reply"])
def test_an_sms_command_that_fails_after_the_domain_call_stores_only_the_bare_message(
    world, twilio, monkeypatch, failing
):
    tid, code = open_request(world)
    before = stored(tid)
    ran: list = []
    if failing == "after the resolve":
        monkeypatch.setattr(outcomes, "resolve", then_fail(outcomes.resolve, ran))
    else:
        real_reply = sms_commands.reply

        def reply(name, staff, **values):
            ran.append(name)
            if name == "done":
                db.session.flush()
                raise Injected("rendering the reply")
            return real_reply(name, staff, **values)

        monkeypatch.setattr(sms_commands, "reply", reply)

    response = twilio_sms(twilio, f"XONG {code}", from_number=LAN)

    assert response.status_code == 200  # Twilio hears an answer (an empty one)
    assert ran  # the claim and the resolve ran, and flushed …
    assert stored(tid) == before  # … but no claim, no resolve, no timeline line, audit row or job
    assert count(SmsOutbound) == 0
    message = db.session.scalars(select(SmsMessage)).one()  # no message is ever dropped:
    assert (message.intent, message.body, message.reply) == ("unhandled", f"XONG {code}", None)
    assert message.ticket_id != tid  # kept as a request of its own, for staff to read


# --- the dashboard's form posts ------------------------------------------------------------------


def test_a_claim_posted_from_the_dashboard_that_fails_after_the_domain_call_stores_nothing(
    world, login, monkeypatch
):
    tid, code = open_request(world)
    lan = login("lan")
    before = stored(tid)
    ran: list = []
    monkeypatch.setattr(claims, "claim", then_fail(claims.claim, ran))
    with pytest.raises(Injected):  # (TESTING: the error reaches the test instead of a 500 page)
        lan.post(f"/staff/t/{code}/claim")
    assert len(ran) == 1 and ran[0].ticket.id == tid
    assert stored(tid) == before

    monkeypatch.undo()
    assert lan.post(f"/staff/t/{code}/claim").status_code == 302  # the fault gone, the claim goes through
    assert stored(tid)["ticket"] == ("in_progress", world.vol_a.id, None)


def test_an_outcome_posted_from_the_dashboard_that_fails_after_the_domain_call_stores_nothing(
    world, login, monkeypatch
):
    tid, code = open_request(world)
    lan = login("lan")
    assert lan.post(f"/staff/t/{code}/claim").status_code == 302
    before = stored(tid)
    assert before["ticket"] == ("in_progress", world.vol_a.id, None)
    ran: list = []
    monkeypatch.setattr(outcomes, "resolve", then_fail(outcomes.resolve, ran))
    with pytest.raises(Injected):
        lan.post(f"/staff/t/{code}/outcome", data={"outcome": "resolved", "note": "đã hướng dẫn"})
    assert len(ran) == 1
    assert stored(tid) == before  # still claimed, no outcome line, no audit row, no SMS job

    monkeypatch.undo()
    lan.post(f"/staff/t/{code}/outcome", data={"outcome": "resolved"})
    after = stored(tid)
    assert after["ticket"][0] == "resolved" and f"staff-sms-resolved-{tid}" in after["jobs"]


def test_the_audit_log_notes_the_address_the_edge_passes(world, login, twilio):
    tid, code = open_request(world)
    lan = login("lan")
    lan.post(f"/staff/t/{code}/claim")  # from the test client's address (the session is bound to it)
    _, other_code = open_request(world, phone="+84987650002")
    twilio_sms(twilio, f"NHAN {other_code}", from_number=LAN)  # an SMS command: no client address
    db.session.remove()
    claims_logged = dict(db.session.execute(
        select(AuditEntry.target, AuditEntry.ip).where(AuditEntry.action == "claim")).all())
    assert claims_logged == {code: "127.0.0.1", other_code: None}


def test_a_failed_login_is_counted_in_its_own_unit_although_the_login_fails(app, world):
    client = app.test_client()
    fresh_request_globals()
    token = csrf_from(client.get("/staff/login").get_data(as_text=True))
    fresh_request_globals()
    response = client.post("/staff/login", data={"username": "lan", "password": "wrong", "csrf_token": token},
                           environ_base={"REMOTE_ADDR": "198.51.100.4"})
    assert response.status_code == 401
    db.session.remove()
    failure = db.session.scalars(select(LoginFailure)).one()
    assert (failure.username, failure.ip) == ("lan", "198.51.100.4")
    logged = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "login_failed")).one()
    assert (logged.actor, logged.ip) == ("lan", "198.51.100.4")


# --- the JSON API --------------------------------------------------------------------------------


def api_caller(app, username: str):
    """A client that sends `username`'s bearer token."""
    staff = db.session.scalar(select(accounts.Staff).where(accounts.Staff.username == username))
    with unit_of_work():
        headers = {"Authorization": f"Bearer {accounts.new_api_token(staff, actor='test')}"}
    client = app.test_client()

    class Caller:
        def post(self, path, json=None):
            return client.post(path, json=json, headers=headers)

    return Caller()


def test_a_claim_and_an_outcome_through_the_api_that_fail_after_the_domain_call_store_nothing(
    app, world, monkeypatch
):
    tid, code = open_request(world)
    lan = api_caller(app, "lan")
    before = stored(tid)
    ran: list = []
    monkeypatch.setattr(claims, "claim", then_fail(claims.claim, ran))
    with pytest.raises(Injected):
        lan.post(f"/api/tickets/{code}/claim")
    assert len(ran) == 1 and stored(tid) == before

    monkeypatch.undo()
    assert lan.post(f"/api/tickets/{code}/claim").json["assignee"] == "lan"
    before = stored(tid)
    monkeypatch.setattr(outcomes, "no_answer", then_fail(outcomes.no_answer, ran))
    with pytest.raises(Injected):
        lan.post(f"/api/tickets/{code}/outcome", json={"outcome": "no_answer", "note": "không bắt máy"})
    assert len(ran) == 2 and stored(tid) == before  # no attempt counted, no retry scheduled

    monkeypatch.undo()
    answer = lan.post(f"/api/tickets/{code}/outcome", json={"outcome": "no_answer"}).json
    assert (answer["attempts"], answer["status"], answer["assignee"]) == (1, "open", None)


# --- jobs ----------------------------------------------------------------------------------------


def fail_first_run(real, marker: Path):
    """`real`, then a failure after its first run only. Each job runs in its own forked work
    horse, so the first run is remembered in a file, not in memory."""

    def broken(*args, **kwargs):
        result = real(*args, **kwargs)
        db.session.flush()
        if not marker.exists():
            marker.write_text(repr(result))
            raise Injected("after the domain call, in the job")
        return result

    return broken


def run_retry(job_id: str, work_queue) -> None:
    """What RQ's scheduler does when the retry's time comes: the job goes back in its queue."""
    redis = get_redis()
    assert job_id in ScheduledJobRegistry("default", connection=redis).get_job_ids()
    job = Job.fetch(job_id, connection=redis)
    ScheduledJobRegistry("default", connection=redis).remove(job)
    Queue("default", connection=redis).enqueue_job(job)
    work_queue()


def test_a_follow_up_job_that_fails_after_the_domain_call_commits_nothing_and_its_retry_once(
    world, work_queue, monkeypatch, tmp_path
):
    """The scheduled retry of a callback (`workers.staff_jobs.return_to_queue`)."""
    ticket = world.ticket(world.village_a)
    tid = ticket.id
    ticket.attempts, ticket.next_attempt_at = 1, utcnow() + timedelta(hours=2)  # after a no-answer
    outbox.add_job("retry-due-1", jobs.return_to_queue, tid, 1)
    db.session.commit()
    before = stored(tid)
    marker = tmp_path / "first-run"
    monkeypatch.setattr(outcomes, "return_to_queue", fail_first_run(outcomes.return_to_queue, marker))
    monkeypatch.setattr(outbox, "JOB_RETRY", Retry(max=1, interval=60))  # the retry waits: look first

    work_queue()
    assert marker.read_text() == "True"  # the job did its work, and failed right after …
    assert stored(tid) == before  # … which left nothing: no timeline line, still waiting
    assert db.session.get(Ticket, tid).next_attempt_at is not None

    run_retry("retry-due-1", work_queue)  # RQ's retry runs it again: done, once
    after = stored(tid)
    assert after["events"] == sorted([*before["events"], "retry_due"])
    assert db.session.get(Ticket, tid).next_attempt_at is None


def test_an_sms_send_job_that_fails_after_the_domain_call_commits_nothing_and_its_retry_once(
    app, twilio, work_queue, monkeypatch, tmp_path
):
    """`workers.sms.send_sms` with no provider configured: the row is marked not sent, on the timeline."""
    twilio_sms(twilio, "lam cccd")  # a request, and its reply queued
    db.session.remove()
    row = db.session.scalars(select(SmsOutbound)).one()
    job_id, tid = f"sms-out-{row.id}", row.ticket_id
    before = stored(tid)
    marker = tmp_path / "first-run"
    monkeypatch.setattr(messaging, "send_outbound", fail_first_run(messaging.send_outbound, marker))
    monkeypatch.setattr(outbox, "JOB_RETRY", Retry(max=1, interval=60))

    work_queue()
    assert marker.read_text() == "'sms_not_sent'"
    assert stored(tid) == before
    row = db.session.scalars(select(SmsOutbound)).one()
    assert (row.status, row.attempts, row.error) == ("pending", 0, None)

    run_retry(job_id, work_queue)
    assert stored(tid)["events"].count("sms_not_sent") == 1
    row = db.session.scalars(select(SmsOutbound)).one()
    assert (row.status, row.attempts) == ("not_sent", 1)


# --- the helper ------------------------------------------------------------------------------------


def test_units_of_work_do_not_nest(app):
    """An inner commit would make the outer action half done: opening one inside another fails,
    and the outer one rolls back."""
    with pytest.raises(RuntimeError, match="do not nest"), unit_of_work():
        db.session.add(AuditEntry(actor="test", action="outer"))
        with unit_of_work():
            pass
    db.session.remove()
    assert count(AuditEntry) == 0
    with unit_of_work():  # and the session is usable again
        db.session.add(AuditEntry(actor="test", action="after"))
    db.session.remove()
    assert count(AuditEntry) == 1
