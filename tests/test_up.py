"""`hotline up` on a fresh data folder: healthy, a signed call makes one request,
the worker runs the confirmation job, Ctrl-C stops everything it started."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import requests

from tests.up_fixtures import Up, wait_until

pytestmark = pytest.mark.slow


def test_hotline_up_end_to_end(tmp_path):
    up = Up(tmp_path)
    try:
        up.start()
        assert f"{up.base}/twilio/voice" in up.output
        assert up.token in up.output  # printed so local tools can sign
        assert f"Dashboard: http://127.0.0.1:{up.port}/" in up.output
        assert "No admin account yet" in up.output and "hotline users create admin" in up.output
        assert requests.get(f"{up.base}/", timeout=5).status_code == 200  # the landing page, not a 404
        for name in ("redis", "web", "relay", "worker", "asr"):
            assert up.pid(name)
        health = up.healthz().json()
        assert health["database"] == "ok" and health["redis"] == "ok"

        # Unsigned: refused.
        assert requests.post(f"{up.base}/twilio/voice", data={"CallSid": "CAx"}).status_code == 403

        call = up.call_for_help("0912345678")  # every answer 200 and TwiML
        assert call.history[0].find("Gather") is not None and call.hung_up()

        result = subprocess.run([sys.executable, "-m", "hotline", "tickets", "list", "--json"],
                                env=up.env, capture_output=True, text=True, check=True)
        rows = json.loads(result.stdout)
        assert len(rows) == 1 and rows[0]["phone"] == "+84912345678"

        # The relay and worker run the confirmation job; its outcome lands on the timeline.
        wait_until(lambda: up.confirmation_outcome("+84912345678"), 30, "the confirmation job")
        assert up.sql("SELECT message FROM ticket_events WHERE kind = 'sms_not_sent'") == [
            ("not sent: no provider configured",)]
    finally:
        up.stop()
    assert "stopping (Ctrl-C)" in up.output
    # Everything it started is gone: web, worker, relay and the embedded Redis.
    up.assert_nothing_left()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{up.base}/healthz", timeout=2)
    assert not (up.data / "redis.url").exists()
