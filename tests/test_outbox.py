"""The outbox relay no row can stop, and nothing relayed is lost when Redis loses its data.

Real Redis (flushed for real), both databases, real forking RQ workers; Twilio's REST
API is the local fake. Time is injected into the reconcile pass, never slept on.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from redis import Redis
from rq import Queue, Retry
from rq.job import Job
from sqlalchemy import select, text

from hotline import clock, jobs, outbox
from hotline.extensions import db
from hotline.models import OutboxMessage, Ticket, utcnow
from hotline.queueing import get_redis
from hotline.voicemail import record_voice_message
from tests.conftest import PUBLIC_URL, make_app, run_queued_jobs, twilio_rest_config
from tests.staff_fixtures import *  # noqa: F403  (fixtures)
from tests.test_queue import callback_request
from tests.twilio_sim import TwilioSim

RQ_JOB_ID = re.compile(r"[A-Za-z0-9_-]+")


# --- jobs the tests queue (registered here; the forked RQ work horse inherits the registry) ---

@jobs.job()
def outbox_test_note_run(path: str) -> str:
    """Leaves one line per run, so a test can count how often RQ really ran the job."""


@outbox_test_note_run.implementation
def note_run(path: str) -> str:
    with open(path, "a") as runs:
        runs.write("ran\n")
    return "ok"


@jobs.job()
def outbox_test_always_fails() -> None:
    """Fails every time, like a provider that refuses for good."""


@outbox_test_always_fails.implementation
def always_fails() -> None:
    raise RuntimeError("the provider refused for good")


# --- helpers --------------------------------------------------------------------------------

def rows() -> dict[str, OutboxMessage]:
    db.session.remove()
    return {row.job_id: row for row in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))}


def poison_rows() -> None:
    """Rows as the probe found them: a job id from a raw RecordingSid (written before ids were made
    safe), a function that no longer exists, and arguments that do not fit the function."""
    db.session.add_all([
        OutboxMessage(job_id="asr-RE/../evil-1", func="workers.asr.transcribe_voice_message", args=[1],
                      queue="asr"),
        OutboxMessage(job_id="gone-1", func="workers.jobs.no_such_job", args=[1]),
        OutboxMessage(job_id="bad-args-1", func="workers.jobs.send_request_confirmation", args=[1, 2, 3]),
    ])
    db.session.commit()


def signed_sim(app, api) -> TwilioSim:
    return TwilioSim(app.test_client(), api.auth_token, PUBLIC_URL)


def sms_timeline_kinds(ticket_id: int) -> list[str]:
    db.session.remove()
    return [e.kind for e in db.session.get(Ticket, ticket_id).events if e.kind.startswith("sms_")]


# --- job ids --------------------------------------------------------------------------------

def test_safe_job_ids_keep_safe_ids_and_map_the_rest_stably():
    assert outbox.safe_job_id("sms-confirmation-12") == "sms-confirmation-12"
    assert outbox.safe_job_id("asr-RE0123abcd-1") == "asr-RE0123abcd-1"
    mapped = outbox.safe_job_id("asr-RE/../evil-1")
    assert RQ_JOB_ID.fullmatch(mapped) and mapped.startswith("asr-RE_evil-1-x")
    assert outbox.safe_job_id("asr-RE/../evil-1") == mapped  # stable
    assert outbox.safe_job_id("asr-RE/../evil-1 ") != mapped  # a different raw id: a different job
    assert len(outbox.safe_job_id("x" * 500)) <= 120


@given(st.text(max_size=200), st.text(max_size=200))
def test_two_different_raw_ids_never_share_a_job_id(first, second):
    a, b = outbox.safe_job_id(first), outbox.safe_job_id(second)
    assert RQ_JOB_ID.fullmatch(a) and len(a) <= 120
    assert (a == b) == (first == second)


def test_a_safe_id_shaped_like_a_mapped_one_is_mapped_too():
    """Else a raw id could be chosen to equal another raw id's mapping."""
    mapped = outbox.safe_job_id("asr-RE/x-1")
    assert outbox.safe_job_id(mapped) != mapped


def test_a_raw_recording_sid_becomes_a_job_id_rq_accepts(app):
    ticket = record_voice_message(call_sid=None, from_number="0912345678", recording_sid="RE/../x y",
                                  recording_url="https://api.twilio.com/rec/RE1", duration=6, language="vi")
    db.session.commit()
    assert ticket is not None
    job_ids = list(rows())
    assert job_ids and all(RQ_JOB_ID.fullmatch(job_id) for job_id in job_ids)
    assert outbox.relay_pending(get_redis()) == len(job_ids)
    assert outbox.summary().set_aside == 0


def test_add_job_is_once_per_raw_id_after_mapping(app):
    assert outbox.add_job("asr-RE/1-1", jobs.transcribe_voice_message, 1) is not None
    db.session.commit()
    assert outbox.add_job("asr-RE/1-1", jobs.transcribe_voice_message, 1) is None
    assert outbox.add_job("asr-RE/2-1", jobs.transcribe_voice_message, 2) is not None
    db.session.commit()
    assert len(rows()) == 2


# --- rows set aside -------------------------------------------------------------------------

def test_poison_rows_are_set_aside_and_the_rows_after_them_relay_and_run_in_the_same_pass(
    app_factory, twilio_api
):
    app = app_factory(**twilio_rest_config(twilio_api))
    with app.app_context():
        poison_rows()
        ticket = callback_request(signed_sim(app, twilio_api))  # its confirmation is the last row

        assert outbox.relay_pending(get_redis()) == 1
        by_id = rows()
        assert by_id["asr-RE/../evil-1"].set_aside_reason.startswith("ValueError: Job ID must only contain")
        assert by_id["gone-1"].set_aside_reason == (
            "LookupError: no job named 'workers.jobs.no_such_job' in hotline.jobs")
        assert by_id["bad-args-1"].set_aside_reason.startswith("TypeError: too many positional arguments")
        for job_id in ("asr-RE/../evil-1", "gone-1", "bad-args-1"):
            assert by_id[job_id].set_aside_at is not None and by_id[job_id].relayed_at is None
        confirmation = by_id[f"sms-confirmation-{ticket.id}"]
        assert confirmation.relayed_at is not None and confirmation.set_aside_at is None

        run_queued_jobs(app)
        assert [m["To"] for m in twilio_api.messages] == ["+84912345678"]
        assert rows()[f"sms-confirmation-{ticket.id}"].finished_at is not None  # the success callback
        # Set-aside rows are not pending: the relay does not try them again and again.
        assert outbox.pending_count() == 0
        assert outbox.relay_pending(get_redis()) == 0
        state = outbox.summary()
        assert (state.pending, state.set_aside, state.relayed_unfinished, state.failed) == (0, 3, 0, 0)


def test_hotline_outbox_lists_set_aside_rows_and_retry_puts_one_back(app, runner, work_queue, tmp_path):
    record = tmp_path / "runs.txt"
    db.session.add(OutboxMessage(job_id="note/run 1", func=outbox_test_note_run.name, args=[str(record)]))
    db.session.commit()
    assert outbox.relay_pending(get_redis()) == 0
    row_id = rows()["note/run 1"].id

    for args in (["outbox"], ["outbox", "list"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output
        assert "set aside: 1" in result.output and "pending: 0" in result.output
        assert f"#{row_id}" in result.output and "note/run 1" in result.output
        assert "ValueError: Job ID must only contain letters" in result.output
    listed = json.loads(runner.invoke(args=["outbox", "list", "--json"]).output)
    assert listed["set_aside"] == 1
    assert [r["id"] for r in listed["rows"]["set_aside"]] == [row_id]

    result = runner.invoke(args=["outbox", "retry", str(row_id)])
    assert result.exit_code == 0, result.output
    job_id = outbox.safe_job_id("note/run 1")  # an id RQ refuses is replaced by its safe form
    row = rows()[job_id]
    assert row.id == row_id and row.set_aside_at is None and row.set_aside_reason is None
    assert outbox.pending_count() == 1
    work_queue()
    assert record.read_text() == "ran\n"
    assert rows()[job_id].finished_at is not None

    again = runner.invoke(args=["outbox", "retry", str(row_id)])
    assert again.exit_code == 1 and "not set aside or failed" in again.output
    missing = runner.invoke(args=["outbox", "retry", "987654"])
    assert missing.exit_code == 1 and "no outbox row 987654" in missing.output


# --- reconciling with Redis -------------------------------------------------------------------

def test_jobs_lost_when_redis_is_flushed_are_enqueued_again_after_the_grace_and_run_once(
    app_factory, twilio_api, redis_url, tmp_path
):
    app = app_factory(**twilio_rest_config(twilio_api))
    record = tmp_path / "runs.txt"
    with app.app_context():
        ticket = callback_request(signed_sim(app, twilio_api))
        outbox.add_job("note-1", outbox_test_note_run, str(record))
        db.session.commit()
        redis = get_redis()
        assert outbox.relay_pending(redis) == 2
        relayed_at = max(row.relayed_at for row in rows().values())

        Redis.from_url(redis_url).flushall()  # Redis restarts without its data

        soon = outbox.reconcile(redis, now=relayed_at + timedelta(seconds=30), grace=60)
        assert soon.requeued == 0  # within the grace period: not yet judged lost
        later = outbox.reconcile(redis, now=relayed_at + timedelta(seconds=61), grace=60)
        assert later.requeued == 2
        assert sorted(Queue("default", connection=redis).job_ids) == sorted(
            [f"sms-confirmation-{ticket.id}", "note-1"])
        assert all(row.attempts == 2 for row in rows().values())

        run_queued_jobs(app)
        assert record.read_text() == "ran\n"
        assert len(twilio_api.messages) == 1 and ticket.code in twilio_api.messages[0]["Body"]
        assert sms_timeline_kinds(ticket.id) == ["sms_sent"]
        assert all(row.finished_at is not None for row in rows().values())

        # Finished jobs are never enqueued again, whatever Redis forgets afterwards.
        Redis.from_url(redis_url).flushall()
        much_later = outbox.reconcile(redis, now=relayed_at + timedelta(days=1), grace=60)
        assert (much_later.requeued, much_later.finished, much_later.failed) == (0, 0, 0)
        assert Queue("default", connection=redis).count == 0
        run_queued_jobs(app)
        assert record.read_text() == "ran\n" and len(twilio_api.messages) == 1


def test_a_job_waiting_in_its_queue_is_left_alone(app, tmp_path):
    outbox.add_job("note-1", outbox_test_note_run, str(tmp_path / "runs.txt"))
    db.session.commit()
    redis = get_redis()
    assert outbox.relay_pending(redis) == 1
    relayed_at = rows()["note-1"].relayed_at
    done = outbox.reconcile(redis, now=relayed_at + timedelta(hours=1), grace=60)
    assert done == outbox.Reconciled()
    assert Queue("default", connection=redis).job_ids == ["note-1"]  # not enqueued twice


def test_a_finished_job_whose_callback_was_lost_is_stamped_from_rqs_record(app, work_queue, tmp_path):
    record = tmp_path / "runs.txt"
    outbox.add_job("note-1", outbox_test_note_run, str(record))
    db.session.commit()
    work_queue()
    row = rows()["note-1"]
    relayed_at = row.relayed_at
    row.finished_at = None  # as if the database had not answered the success callback
    db.session.commit()
    done = outbox.reconcile(get_redis(), now=relayed_at + timedelta(minutes=2), grace=60)
    assert (done.finished, done.requeued) == (1, 0)
    assert rows()["note-1"].finished_at is not None
    assert record.read_text() == "ran\n"


def test_a_job_rq_gave_up_on_is_counted_failed_not_enqueued_again(app, runner, work_queue, monkeypatch):
    monkeypatch.setattr(outbox, "JOB_RETRY", Retry(max=1))  # one retry, at once (no back-off to wait for)
    outbox.add_job("fails-1", outbox_test_always_fails)
    db.session.commit()
    work_queue()
    redis = get_redis()
    assert Queue("default", connection=redis).failed_job_registry.get_job_ids() == ["fails-1"]
    relayed_at = rows()["fails-1"].relayed_at

    done = outbox.reconcile(redis, now=relayed_at + timedelta(minutes=2), grace=60)
    assert (done.failed, done.requeued) == (1, 0)
    row = rows()["fails-1"]
    assert row.failed_at is not None and row.finished_at is None
    assert row.last_error == "RQ job failed: RuntimeError: the provider refused for good"
    again = outbox.reconcile(redis, now=relayed_at + timedelta(days=1), grace=60)
    assert again == outbox.Reconciled()
    assert outbox.summary().failed == 1
    listed = runner.invoke(args=["outbox"]).output
    assert "failed: 1" in listed and "RuntimeError: the provider refused for good" in listed


def test_the_relay_loop_reconciles(app, redis_url, tmp_path, monkeypatch):
    """relay_forever calls the reconcile pass; one loop turn, stopped at its sleep."""
    record = tmp_path / "runs.txt"
    outbox.add_job("note-1", outbox_test_note_run, str(record))
    db.session.commit()
    assert outbox.relay_pending(get_redis()) == 1
    Redis.from_url(redis_url).flushall()
    app.config["OUTBOX_RECONCILE_GRACE_SECONDS"] = 0

    class Stop(Exception):
        pass

    def stop(_seconds):
        raise Stop

    monkeypatch.setattr(outbox, "_next_reconcile", 0.0)
    monkeypatch.setattr("time.sleep", stop)
    try:
        outbox.relay_forever()
    except Stop:
        pass
    assert Queue("default", connection=get_redis()).job_ids == ["note-1"]
    assert rows()["note-1"].attempts == 2


def test_rows_relayed_before_the_upgrade_are_taken_as_finished(empty_database_url, redis_url, tmp_path):
    """Otherwise the first reconcile pass would run every historic job again."""
    from flask_migrate import upgrade

    app = make_app(tmp_path, empty_database_url, redis_url)
    with app.app_context():
        directory = app.extensions["migrate"].directory
        upgrade(directory=directory, revision="0006")
        with db.engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO outbox (job_id, func, args, queue, created_at, relayed_at, attempts) VALUES "
                "('old-1', 'workers.jobs.send_request_confirmation', '[1]', 'default', "
                "'2026-01-01 00:00:00+00:00', '2026-01-01 00:00:01+00:00', 1), "
                "('old-2', 'workers.jobs.send_request_confirmation', '[2]', 'default', "
                "'2026-01-01 00:00:00+00:00', NULL, 0)"))
        upgrade(directory=directory, revision="0007")
        upgrade(directory=directory)  # the model reads the latest columns; later revisions leave these rows
        by_id = rows()
        assert by_id["old-1"].finished_at == by_id["old-1"].relayed_at
        assert by_id["old-2"].finished_at is None and outbox.pending_count() == 1
        assert outbox.reconcile(get_redis(), now=utcnow(), grace=60) == outbox.Reconciled()
        db.session.remove()
        db.engine.dispose()


# --- the dashboard ------------------------------------------------------------------------------

def test_admins_and_leads_see_set_aside_jobs_on_the_queue_page_in_vietnamese(world, login):
    notice = "việc tự động (gửi SMS, chép lời ghi âm…) đang bị gác lại"
    assert notice not in login("admin").get("/staff/").get_data(as_text=True)  # nothing wrong: no notice

    poison_rows()
    assert outbox.relay_pending(get_redis()) == 0
    for username in ("admin", "thu"):
        page = login(username).get("/staff/").get_data(as_text=True)
        assert 'id="outbox-notice"' in page
        assert f"3 {notice} và 0 việc bị lỗi" in page
    volunteer = login("lan").get("/staff/").get_data(as_text=True)
    assert 'id="outbox-notice"' not in volunteer


def test_a_job_record_rq_cannot_read_does_not_stop_the_relay(app, tmp_path, monkeypatch):
    outbox.add_job("note-1", outbox_test_note_run, str(tmp_path / "runs.txt"))
    db.session.commit()
    redis = get_redis()
    assert outbox.relay_pending(redis) == 1
    redis.hset("rq:job:note-1", "status", "no-such-status")  # a record written by who knows what
    with pytest.raises(ValueError):
        outbox.reconcile(redis, now=utcnow() + timedelta(minutes=2), grace=60)
    db.session.rollback()
    app.config["OUTBOX_RECONCILE_GRACE_SECONDS"] = 0
    monkeypatch.setattr(outbox, "_next_reconcile", 0.0)
    assert outbox.reconcile_when_due(redis) is None  # logged, not raised
    outbox.add_job("note-2", outbox_test_note_run, str(tmp_path / "runs.txt"))
    db.session.commit()
    assert outbox.relay_pending(redis) == 1


def test_a_row_naming_no_registered_job_is_set_aside_even_an_importable_function(app):
    """Only jobs of hotline.jobs run from the outbox: a dotted path is not a way around the registry."""
    db.session.add(OutboxMessage(job_id="not-a-job", func="hotline.outbox.safe_job_id", args=["x"]))
    db.session.add(OutboxMessage(job_id="args-not-a-list", func=outbox_test_note_run.name,
                                 args={"path": "/tmp/x"}))
    db.session.commit()
    assert outbox.relay_pending(get_redis()) == 0
    by_id = rows()
    assert by_id["not-a-job"].set_aside_reason == (
        "LookupError: no job named 'hotline.outbox.safe_job_id' in hotline.jobs")
    assert by_id["args-not-a-list"].set_aside_reason == "TypeError: args must be a list, not dict"


# --- work for later: run_at ---------------------------------------------------------------------

def test_a_row_for_later_waits_in_the_database_survives_a_flushall_and_runs_when_due(
    app, redis_url, tmp_path
):
    record = tmp_path / "runs.txt"
    run_at = utcnow() + timedelta(hours=2)
    outbox.add_job("later-1", outbox_test_note_run, str(record), run_at=run_at)
    db.session.commit()
    redis = get_redis()

    assert outbox.relay_pending(redis) == 0  # not due: stays in the database
    state = outbox.summary()
    assert (state.pending, state.scheduled, state.oldest_pending_age) == (0, 1, None)
    assert outbox.pending_count() == 0
    assert [row.job_id for row in outbox.rows_in("scheduled")] == ["later-1"]
    assert outbox.rows_in("pending") == []
    Redis.from_url(redis_url).flushall()  # Redis loses its data before the row is due

    with clock.travel(timedelta(hours=2, seconds=1)):
        state = outbox.summary()
        assert (state.pending, state.scheduled) == (1, 0)
        # Its lag counts from when it came due, not from when it was written two hours ago.
        assert state.oldest_pending_age < 3600
        run_queued_jobs(app)
    assert record.read_text() == "ran\n"
    row = rows()["later-1"]
    assert row.finished_at is not None and row.relayed_at >= run_at


def test_rows_for_later_are_scheduled_not_lag_in_healthz_metrics_and_the_cli(app, client, runner):
    from tests.test_metrics import scrape, value

    far = utcnow() + timedelta(days=3)
    outbox.add_job("later-1", outbox_test_note_run, "/dev/null", run_at=far)
    db.session.add(OutboxMessage(job_id="old-1", func=outbox_test_note_run.name, args=["/dev/null"],
                                 created_at=utcnow() - timedelta(days=2), run_at=far))
    db.session.commit()

    body = client.get("/healthz").json
    assert body["outbox"]["scheduled"] == 2 and body["outbox"]["pending"] == 0
    assert body["outbox_pending"] == 0 and "relay_lag" not in body["problems"]
    _, families = scrape(client)
    assert value(families, "hotline_outbox_rows", state="scheduled") == 2
    assert value(families, "hotline_outbox_rows", state="pending") == 0
    assert value(families, "hotline_outbox_oldest_pending_age_seconds") == 0
    listed = runner.invoke(args=["outbox"]).output
    assert "pending: 0" in listed and "scheduled for later: 2" in listed and "later-1" in listed
    as_json = json.loads(runner.invoke(args=["outbox", "list", "--json"]).output)
    assert as_json["scheduled"] == 2
    assert {r["run_at"] for r in as_json["rows"]["scheduled"]} == {far.isoformat()}


def test_former_schedule_at_rows_become_rows_with_run_at(empty_database_url, redis_url, tmp_path):
    """Migration 0011: the old two-step scheduling (an outbox row whose job handed the real job to
    RQ's scheduler) becomes the real job with run_at, so nothing scheduled before the upgrade
    depends on Redis keeping it; downgrading writes it back."""
    from alembic.script import ScriptDirectory
    from flask_migrate import downgrade, upgrade

    app = make_app(tmp_path, empty_database_url, redis_url)
    with app.app_context():
        directory = app.extensions["migrate"].directory
        before = ScriptDirectory(directory).get_revision("0011").down_revision
        upgrade(directory=directory, revision=before)
        when = "2031-05-06T01:00:00+00:00"
        moment = sa.DateTime(timezone=True)
        outbox_table = sa.table(
            "outbox", sa.column("job_id"), sa.column("func"), sa.column("args", sa.JSON), sa.column("queue"),
            sa.column("created_at", moment), sa.column("relayed_at", moment),
            sa.column("finished_at", moment), sa.column("attempts"))
        created = utcnow()
        with db.engine.begin() as connection:
            connection.execute(outbox_table.insert(), [
                {"job_id": "schedule-retry-7-1", "func": "workers.staff_jobs.schedule_at",
                 "args": [when, "retry-7-1", "workers.staff_jobs.return_to_queue", 7, 1],
                 "queue": "default", "created_at": created, "relayed_at": None, "finished_at": None,
                 "attempts": 0},
                {"job_id": "schedule-visit-reminder-3", "func": "workers.staff_jobs.schedule_at",
                 "args": [when, "visit-reminder-3", "workers.staff_jobs.visit_reminder", 3],
                 "queue": "default", "created_at": created, "relayed_at": created, "finished_at": None,
                 "attempts": 1},
                {"job_id": "schedule-visit-reminder-2", "func": "workers.staff_jobs.schedule_at",
                 "args": [when, "visit-reminder-2", "workers.staff_jobs.visit_reminder", 2],
                 "queue": "default", "created_at": created, "relayed_at": created, "finished_at": created,
                 "attempts": 1},
            ])
        upgrade(directory=directory, revision="0011")
        by_id = rows()
        retry, reminder = by_id["retry-7-1"], by_id["visit-reminder-3"]
        assert (retry.func, retry.args, retry.relayed_at) == (
            "workers.staff_jobs.return_to_queue", [7, 1], None)
        assert retry.run_at.isoformat() == when
        assert (reminder.func, reminder.args, reminder.relayed_at) == (
            "workers.staff_jobs.visit_reminder", [3], None)
        assert by_id["schedule-visit-reminder-2"].func == "workers.staff_jobs.schedule_at"  # finished: kept
        assert outbox.summary().scheduled == 2 and outbox.relay_pending(get_redis()) == 0
        # When due, the relay enqueues each under its registered job's name.
        with clock.travel(retry.run_at - utcnow() + timedelta(seconds=1)):
            assert outbox.relay_pending(get_redis()) == 2
        enqueued = [Job.fetch(i, connection=get_redis()) for i in ("retry-7-1", "visit-reminder-3")]
        assert [job.func_name for job in enqueued] == ["return_to_queue", "visit_reminder"]

        db.session.remove()
        with db.engine.begin() as connection:  # one row for later again, to write back
            connection.execute(sa.text("UPDATE outbox SET relayed_at = NULL WHERE job_id = 'retry-7-1'"))
        downgrade(directory=directory, revision=before)
        with db.engine.connect() as connection:
            back = connection.execute(sa.text(
                "SELECT func, args FROM outbox WHERE job_id = 'schedule-retry-7-1'")).one()
        args = back.args if isinstance(back.args, list) else json.loads(back.args)
        assert back.func == "workers.staff_jobs.schedule_at"
        assert args == [when, "retry-7-1", "workers.staff_jobs.return_to_queue", 7, 1]
        db.session.remove()
        db.engine.dispose()
