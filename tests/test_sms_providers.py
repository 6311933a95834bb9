"""Outbound SMS through each provider's documented API (local fakes), with a real RQ worker."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hotline import messaging
from hotline.extensions import db
from hotline.models import SmsOutbound, Ticket
from hotline.unit_of_work import unit_of_work
from tests.conftest import PUBLIC_URL, TEST_AUTH_TOKEN, run_queued_jobs, twilio_rest_config
from tests.fake_sms_gateway_api import FakeSmsGatewayAPI
from tests.sms_fixtures import all_tickets, gateway_event, gateway_post, gateway_sms, outbound, twilio_sms
from tests.twilio_sim import TwilioSim
from workers import sms as sms_jobs


@pytest.fixture
def gateway_api():
    api = FakeSmsGatewayAPI("hotline", "gateway-password").start()
    yield api
    api.stop()




def twilio_app(app_factory, api, **extra):
    return app_factory(**twilio_rest_config(api, **extra))


def gateway_app(app_factory, api, **extra):
    return app_factory(
        SMS_PROVIDER="gateway", SMS_GATEWAY_URL=api.base_url, SMS_GATEWAY_LOGIN=api.login,
        SMS_GATEWAY_PASSWORD=api.password, **extra,
    )


def test_replies_go_through_twilio_rest_once_with_retries(app_factory, twilio_api):
    app = twilio_app(app_factory, twilio_api)
    with app.app_context():
        sim = TwilioSim(app.test_client(), twilio_api.auth_token, PUBLIC_URL)
        twilio_sms(sim, "lam cccd cho me", "0912345678")
        row_id = outbound()[0].id
        twilio_api.fail_next(503)
        with pytest.raises(messaging.TransientSendError):
            sms_jobs.send_sms(row_id)
        assert sms_jobs.send_sms(row_id) == "sms_sent"
        run_queued_jobs(app)  # the relayed job runs too: still one SMS
        assert sms_jobs.send_sms(row_id) == "already_done"

        assert len(twilio_api.messages) == 1
        sent = twilio_api.messages[0]
        assert (sent["To"], sent["From"]) == ("+84912345678", "+842633000000")
        assert sent["StatusCallback"] == f"{PUBLIC_URL}/twilio/sms/status"
        row = outbound()[0]
        assert (row.status, row.provider, row.provider_status) == ("sent", "twilio", "queued")
        assert row.attempts == 2
        assert row.provider_id == sent["sid"]
        ticket = all_tickets()[0]
        assert ticket.code in sent["Body"]
        events = [e for e in ticket.events if e.kind == "sms_sent"]
        assert len(events) == 1 and events[0].data["status"] == "queued"

        # Twilio's status callback records delivery on the row and the timeline.
        sim.post("/twilio/sms/status", {"MessageSid": sent["sid"], "MessageStatus": "delivered"})
        assert outbound()[0].status == "delivered"
        assert "sms_delivered" in [e.kind for e in all_tickets()[0].events]


def test_a_refused_reply_is_recorded_not_retried(app_factory, twilio_api):
    app = twilio_app(app_factory, twilio_api)
    with app.app_context():
        twilio_sms(TwilioSim(app.test_client(), twilio_api.auth_token, PUBLIC_URL), "lam cccd")
        twilio_api.fail_next(400)
        row_id = outbound()[0].id
        assert sms_jobs.send_sms(row_id) == "sms_failed"
        assert sms_jobs.send_sms(row_id) == "already_done"
        assert outbound()[0].status == "failed"


def test_replies_go_through_the_android_gateway_api(app_factory, gateway_api):
    app = gateway_app(app_factory, gateway_api)
    with app.app_context():
        client = app.test_client()
        gateway_sms(client, "xin goi lai cho toi", "0912345678")
        gateway_api.fail_next(503)
        run_queued_jobs(app)  # first try fails; RQ schedules a retry (not run in burst mode)
        row = outbound()[0]
        assert row.status == "pending" and row.attempts == 1 and "503" in row.error
        assert sms_jobs.send_sms(row.id) == "sms_sent"
        assert sms_jobs.send_sms(outbound()[0].id) == "already_done"

        assert len(gateway_api.messages) == 1
        sent = gateway_api.messages[0]
        assert sent["phoneNumbers"] == ["+84912345678"]
        ticket = all_tickets()[0]
        assert ticket.reason == "callback_requested" and ticket.code in sent["textMessage"]["text"]
        row = outbound()[0]
        assert (row.provider, row.provider_status, row.provider_id) == ("gateway", "Pending", sent["id"])

        # The device reports delivery through a signed sms:delivered webhook.
        event = gateway_event({"messageId": sent["id"], "phoneNumber": "+84912345678",
                               "deliveredAt": "2026-11-26T11:47:00.000+07:00"}, event="sms:delivered")
        assert gateway_post(client, event).status_code == 200
        assert outbound()[0].status == "delivered"


def test_a_gateway_send_repeated_after_a_crash_is_not_sent_twice(app_factory, gateway_api):
    app = gateway_app(app_factory, gateway_api)
    with app.app_context():
        gateway_sms(app.test_client(), "lam cccd")
        row = outbound()[0]
        provider = messaging.current_provider()
        provider.send(row.phone, row.body, row.key)  # accepted, then the worker died before commit
        assert sms_jobs.send_sms(row.id) == "sms_sent"  # the gateway refuses the same id: 409
        assert len(gateway_api.messages) == 1
        assert outbound()[0].provider_status == "Duplicate"


def test_ticket_sms_respect_opt_out_and_use_the_configured_provider(app_factory, gateway_api):
    app = gateway_app(app_factory, gateway_api)
    with app.app_context():
        client = app.test_client()
        gateway_sms(client, "lam cccd", "0912345678")
        run_queued_jobs(app)
        gateway_sms(client, "STOP", "0912345678", received_at="2026-11-26T11:47:00+07:00")
        gateway_sms(client, "them tin", "0912345678", received_at="2026-11-26T11:48:00+07:00")
        run_queued_jobs(app)
        texts = [m["textMessage"]["text"] for m in gateway_api.messages]
        assert len(texts) == 2 and texts[1].startswith("Ban se khong nhan")  # STOP is confirmed
        ticket_id = all_tickets()[0].id
        with unit_of_work():  # as the job runs it
            kind = messaging.send_ticket_sms(ticket_id, "request_confirmation", "confirmation")
        assert kind == "sms_not_sent"
        assert len(gateway_api.messages) == 2
        db.session.remove()
        event = db.session.get(Ticket, ticket_id).events[-1]
        assert event.message == "not sent: the resident opted out (STOP)"


def test_without_a_provider_replies_are_recorded_as_not_sent(app, client, work_queue):
    gateway_sms(client, "lam cccd")
    work_queue()
    row = db.session.scalars(select(SmsOutbound)).one()
    assert row.status == "not_sent" and row.error == "not sent: no provider configured"
    assert "sms_not_sent" in [e.kind for e in all_tickets()[0].events]


def test_the_provider_is_configuration(app_factory, twilio_api, gateway_api):
    both = dict(SMS_GATEWAY_URL=gateway_api.base_url, SMS_GATEWAY_PASSWORD=gateway_api.password)
    with twilio_app(app_factory, twilio_api, **both).app_context():
        assert messaging.current_provider().name == "gateway"  # unset: the gateway when configured
    with twilio_app(app_factory, twilio_api, SMS_PROVIDER="twilio", **both).app_context():
        assert messaging.current_provider().name == "twilio"
    with app_factory(SMS_PROVIDER="gateway").app_context():
        assert messaging.current_provider() is None
    assert TEST_AUTH_TOKEN  # the default app has a token but no account: no Twilio provider
    with app_factory().app_context():
        assert messaging.current_provider() is None


def test_a_reply_queued_before_stop_is_not_sent_after_it(app_factory, gateway_api):
    app = gateway_app(app_factory, gateway_api)
    with app.app_context():
        client = app.test_client()
        gateway_sms(client, "lam cccd", "0912345678")
        gateway_sms(client, "STOP", "0912345678", received_at="2026-11-26T11:47:00+07:00")
        run_queued_jobs(app)
        texts = [m["textMessage"]["text"] for m in gateway_api.messages]
        assert len(texts) == 1 and texts[0].startswith("Ban se khong nhan")  # only the STOP confirmation
        first = outbound()[0]
        assert (first.status, first.error) == ("not_sent", "not sent: the resident opted out (STOP)")
