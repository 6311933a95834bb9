"""Outbox → RQ → worker, with a real Redis and a real forking RQ worker."""

from __future__ import annotations

import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import select

from hotline import outbox
from hotline.extensions import db
from hotline.models import OutboxMessage, Ticket
from hotline.queueing import get_redis
from tests.conftest import run_queued_jobs, twilio_rest_config


def callback_request(twilio, from_number="+84912345678"):
    call = twilio.call(from_number)
    call.start()
    call.press("1")
    call.press("1")
    call.press("1")  # the procedure menu: VNeID
    db.session.remove()
    ticket = db.session.scalars(select(Ticket).order_by(Ticket.id.desc())).first()
    db.session.expunge(ticket)  # keep its loaded fields readable after the session goes
    return ticket


def timeline(ticket_id):
    db.session.remove()
    return [(e.kind, e.message) for e in db.session.get(Ticket, ticket_id).events]


def test_without_a_provider_the_timeline_says_not_sent(twilio, work_queue):
    ticket = callback_request(twilio)
    work_queue()
    assert ("sms_not_sent", "not sent: no provider configured") in timeline(ticket.id)


def test_the_relay_moves_outbox_rows_into_rq_once(twilio):
    ticket = callback_request(twilio)
    redis = get_redis()
    assert outbox.pending_count() == 1
    assert outbox.relay_pending(redis) == 1
    assert outbox.pending_count() == 0
    assert outbox.relay_pending(redis) == 0
    queue = Queue("default", connection=redis)
    assert queue.job_ids == [f"sms-confirmation-{ticket.id}"]


def test_with_redis_down_callers_notice_nothing_and_the_relay_catches_up(
    app_factory, redis_url, tmp_path
):
    from tests.conftest import PUBLIC_URL, TEST_AUTH_TOKEN
    from tests.twilio_sim import TwilioSim

    dead = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    app = app_factory(REDIS_URL=dead)
    with app.app_context():
        sim = TwilioSim(app.test_client(), TEST_AUTH_TOKEN, PUBLIC_URL)
        ticket = callback_request(sim)
        assert ticket is not None
        assert app.test_client().get("/healthz").status_code == 200
        assert outbox.relay_pending(get_redis()) == 0
        row = db.session.scalars(select(OutboxMessage)).one()
        assert row.relayed_at is None and row.last_error

    healthy = app_factory()  # Redis is back
    with healthy.app_context():
        assert outbox.relay_pending(get_redis()) == 1
        assert Queue("default", connection=Redis.from_url(redis_url)).count == 1


def test_confirmation_sms_goes_through_twilio_rest_once(app_factory, twilio_api):
    from tests.conftest import PUBLIC_URL
    from tests.twilio_sim import TwilioSim

    app = app_factory(**twilio_rest_config(twilio_api))
    with app.app_context():
        sim = TwilioSim(app.test_client(), twilio_api.auth_token, PUBLIC_URL)
        ticket = callback_request(sim)
        twilio_api.fail_next(503)  # first try: Twilio hiccups; RQ retries

        from hotline.messaging import TransientSendError
        from workers import jobs

        with pytest.raises(TransientSendError):
            jobs.send_request_confirmation(ticket.id)
        assert jobs.send_request_confirmation(ticket.id) == "sms_sent"
        # The relay and a real worker run it again: still one SMS.
        run_queued_jobs(app)

        assert len(twilio_api.messages) == 1
        sent = twilio_api.messages[0]
        assert sent["To"] == "+84912345678"
        assert sent["From"] == "+842633000000"
        assert ticket.code in sent["Body"]
        assert len(sent["Body"]) <= 160 and sent["Body"].isascii()
        kinds = [kind for kind, _ in timeline(ticket.id)]
        assert kinds.count("sms_sent") == 1


def test_a_refused_sms_is_recorded_not_retried(app_factory, twilio_api):
    from tests.conftest import PUBLIC_URL
    from tests.twilio_sim import TwilioSim
    from workers import jobs

    app = app_factory(**twilio_rest_config(twilio_api))
    with app.app_context():
        ticket = callback_request(TwilioSim(app.test_client(), twilio_api.auth_token, PUBLIC_URL))
        twilio_api.fail_next(400)
        assert jobs.send_request_confirmation(ticket.id) == "sms_failed"
        assert jobs.send_request_confirmation(ticket.id) == "already_done"
