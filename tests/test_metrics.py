"""/metrics: Prometheus' text format, parsed with prometheus_client's own parser, with the
right numbers after real webhooks, a relay pass and a real worker; and one count across
gunicorn's several worker processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from hotline import outbox
from hotline.embedded_redis import free_port
from hotline.extensions import db
from hotline.models import OutboxMessage
from hotline.queueing import get_redis
from hotline.voicemail import record_voice_message
from tests.conftest import PUBLIC_URL, make_app, migrate_once, run_queued_jobs, twilio_rest_config
from tests.sms_fixtures import twilio_sms
from tests.twilio_sim import TwilioSim

FAMILIES = {
    "hotline_webhook_duration_seconds": "histogram",
    "hotline_webhook_responses": "counter",
    "hotline_database_up": "gauge",
    "hotline_redis_up": "gauge",
    "hotline_outbox_rows": "gauge",
    "hotline_outbox_oldest_pending_age_seconds": "gauge",
    "hotline_outbox_oldest_unfinished_age_seconds": "gauge",
    "hotline_sms_messages": "gauge",
    "hotline_transcriptions": "gauge",
    "hotline_transcriptions_waiting": "gauge",
    "hotline_rq_jobs": "gauge",
    "hotline_rq_workers": "gauge",
}


class CountingSim(TwilioSim):
    """Twilio, keeping count of the webhooks it posted per URL rule."""

    def __init__(self, *args):
        super().__init__(*args)
        self.posted: Counter[str] = Counter()

    def post(self, path, params, **kwargs):
        self.posted[urlsplit(path).path] += 1
        return super().post(path, params, **kwargs)


def scrape(client) -> tuple[str, dict]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=")
    text = response.get_data(as_text=True)
    return text, {family.name: family for family in text_string_to_metric_families(text)}


def value(families, name, suffix="", **labels) -> float:
    """One sample's value; 0 when the series is absent (a histogram child not yet observed)."""
    for sample in families[name].samples:
        if sample.name == name + suffix and all(sample.labels.get(k) == v for k, v in labels.items()):
            return sample.value
    return 0.0


def test_metrics_have_every_family_with_the_right_numbers(app_factory, twilio_api):
    app = app_factory(**twilio_rest_config(twilio_api))
    with app.app_context():
        client = app.test_client()
        _, before = scrape(client)
        sim = CountingSim(client, twilio_api.auth_token, PUBLIC_URL)

        call = sim.call("+84912345678")  # a callback request: one confirmation SMS job
        call.start()
        for key in "111":
            call.press(key)
        assert twilio_sms(sim, "Toi muon lam can cuoc", "+84987654321").status_code == 200  # one reply
        assert client.post("/twilio/voice", data={"CallSid": "CAforged"}).status_code == 403  # unsigned
        record_voice_message(call_sid=None, from_number=None, recording_sid="RE" + "a" * 32,
                             recording_url="https://api.twilio.com/rec/REa", duration=6, language="vi")
        db.session.add(OutboxMessage(job_id="bad/id", func="workers.jobs.send_request_confirmation",
                                     args=[1]))
        db.session.commit()

        text, families = scrape(client)
        for name, kind in FAMILIES.items():
            assert families[name].type == kind, name
        # No personal data: no number, in any form, and no request code.
        for needle in ("912345678", "987654321", "84912", "CAforged", "RE" + "a" * 32):
            assert needle not in text

        # Webhook latency: one observation per webhook posted, per URL rule.
        assert set(sim.posted) == {"/twilio/voice", "/twilio/voice/step", "/twilio/sms"}
        for rule, posted in sim.posted.items():
            extra = 1 if rule == "/twilio/voice" else 0  # the forged one counts: Twilio's view of us
            added = (value(families, "hotline_webhook_duration_seconds", "_count", endpoint=rule)
                     - value(before, "hotline_webhook_duration_seconds", "_count", endpoint=rule))
            assert added == posted + extra, rule
            assert value(families, "hotline_webhook_duration_seconds", "_bucket", endpoint=rule, le="+Inf") \
                == value(families, "hotline_webhook_duration_seconds", "_count", endpoint=rule)
        forbidden = {"endpoint": "/twilio/voice", "status": "403"}
        forged = (value(families, "hotline_webhook_responses", "_total", **forbidden)
                  - value(before, "hotline_webhook_responses", "_total", **forbidden))
        assert forged == 1
        assert not any(s.labels.get("endpoint") == "/metrics"
                       for s in families["hotline_webhook_duration_seconds"].samples)

        # The confirmation, the SMS reply, the transcription; and the row RQ would refuse.
        assert value(families, "hotline_database_up") == 1 and value(families, "hotline_redis_up") == 1
        assert value(families, "hotline_outbox_rows", state="pending") == 4
        assert value(families, "hotline_outbox_oldest_pending_age_seconds") >= 0
        assert value(families, "hotline_transcriptions", status="queued") == 1
        assert value(families, "hotline_transcriptions_waiting") == 1
        assert value(families, "hotline_sms_messages", kind="reply", status="pending") == 1
        assert value(families, "hotline_rq_workers", queue="default") == 0

        assert outbox.relay_pending(get_redis()) == 3
        _, families = scrape(client)
        assert value(families, "hotline_outbox_rows", state="pending") == 0
        assert value(families, "hotline_outbox_rows", state="set_aside") == 1
        assert value(families, "hotline_outbox_rows", state="relayed_unfinished") == 3
        assert value(families, "hotline_outbox_oldest_pending_age_seconds") == 0
        assert value(families, "hotline_rq_jobs", queue="default", state="queued") == 2
        assert value(families, "hotline_rq_jobs", queue="asr", state="queued") == 1

        run_queued_jobs(app)  # the default queue: both SMS go out through (fake) Twilio
        assert len(twilio_api.messages) == 2
        _, families = scrape(client)
        assert value(families, "hotline_sms_messages", kind="request", status="sent") == 1
        assert value(families, "hotline_sms_messages", kind="reply", status="sent") == 1
        assert value(families, "hotline_sms_messages", kind="request", status="failed") == 0
        assert value(families, "hotline_outbox_rows", state="relayed_unfinished") == 1  # the transcription
        assert value(families, "hotline_rq_jobs", queue="default", state="queued") == 0
        assert value(families, "hotline_rq_jobs", queue="asr", state="queued") == 1
        assert value(families, "hotline_transcriptions_waiting") == 1


def test_metrics_answer_with_redis_down(app_factory):
    app = app_factory(REDIS_URL="redis://127.0.0.1:1/0")  # nothing listens on port 1
    with app.app_context():
        _, families = scrape(app.test_client())
    assert value(families, "hotline_redis_up") == 0
    assert value(families, "hotline_database_up") == 1
    assert "hotline_rq_jobs" not in families and "hotline_outbox_rows" in families


def test_metrics_answer_with_the_database_down(tmp_path, redis_url):
    app = make_app(tmp_path, "postgresql://postgres@127.0.0.1:1/hotline", redis_url)
    with app.app_context():
        _, families = scrape(app.test_client())
        db.engine.dispose()
    assert value(families, "hotline_database_up") == 0
    assert value(families, "hotline_redis_up") == 1
    assert "hotline_outbox_rows" not in families


@pytest.mark.slow
def test_one_count_across_gunicorns_worker_processes(tmp_path, redis_url, sqlite_database):
    """Each gunicorn worker writes its own file; every scrape, whichever worker answers, adds them up."""
    migrate_once(make_app(tmp_path, sqlite_database, redis_url))
    folder = tmp_path / "prometheus"
    folder.mkdir()
    (folder / "counter_1.db").write_bytes(b"a dead run's leftovers")  # must be emptied at start
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROMETHEUS", "HOTLINE_", "prometheus"))}
    env.update(DATABASE_URL=sqlite_database, REDIS_URL=redis_url, HOTLINE_DATA_DIR=str(tmp_path / "data"),
               PROMETHEUS_MULTIPROC_DIR=str(folder))
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:hotline.gunicorn_conf",
         "--bind", f"127.0.0.1:{port}", "--workers", "3", "hotline:create_app()"],
        env=env, cwd=Path(__file__).resolve().parent.parent,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert web.poll() is None, "gunicorn exited"
            try:
                if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or a worker still booting
                pass
            assert time.monotonic() < deadline, "gunicorn did not answer"
            time.sleep(0.1)
        for n in range(30):  # unsigned: 403, each on a new connection, spread over the workers
            response = requests.post(f"{base}/twilio/voice", data={"CallSid": f"CA{n}"}, timeout=10,
                                     headers={"Connection": "close"})
            assert response.status_code == 403
        for _ in range(6):
            text = requests.get(f"{base}/metrics", timeout=10).text
            families = {family.name: family for family in text_string_to_metric_families(text)}
            assert value(families, "hotline_webhook_duration_seconds", "_count",
                         endpoint="/twilio/voice") == 30
            assert value(families, "hotline_webhook_responses", "_total",
                         endpoint="/twilio/voice", status="403") == 30
        assert not (folder / "counter_1.db").exists()
        assert list(folder.glob("histogram_*.db"))
    finally:
        web.terminate()
        web.wait(30)
