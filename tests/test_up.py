"""`hotline up` on a fresh data folder: healthy, a signed call makes one request,
the worker runs the confirmation job, Ctrl-C stops everything it started."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import requests

from hotline.embedded_redis import free_port
from tests.twilio_sim import sign

pytestmark = pytest.mark.slow


def signed_post(base, token, path, params):
    url = base + path
    return requests.post(url, data=params, headers={"X-Twilio-Signature": sign(token, url, params)},
                         timeout=10)


def test_hotline_up_end_to_end(tmp_path):
    port = free_port()
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "DATABASE_URL", "TWILIO_AUTH_TOKEN", "TWILIO_ACCOUNT_SID")}
    env.update(HOTLINE_DATA_DIR=str(data), HOTLINE_PUBLIC_URL=f"http://127.0.0.1:{port}")
    process = subprocess.Popen(
        [sys.executable, "-m", "hotline", "up", "--port", str(port), "--host", "127.0.0.1"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    output: list[str] = []
    try:
        for line in process.stdout:
            output.append(line)
            if "Ctrl-C stops everything" in line:
                break
            assert process.poll() is None, "".join(output)
        text = "".join(output)
        assert f"{base}/twilio/voice" in text
        token = (data / "twilio_auth_token").read_text().strip()
        assert token in text  # printed so local tools can sign
        health = requests.get(f"{base}/healthz", timeout=5).json()
        assert health["database"] == "ok" and health["redis"] == "ok"

        # Unsigned: refused.
        assert requests.post(f"{base}/twilio/voice", data={"CallSid": "CAx"}).status_code == 403

        params = {"CallSid": "CA" + "e2e0001".zfill(32), "From": "0912345678", "To": "+842633000000"}
        first = signed_post(base, token, "/twilio/voice", params)
        assert first.status_code == 200 and b"<Gather" in first.content
        second = signed_post(base, token, "/twilio/voice/step?node=choose_language&n=1&attempt=1",
                             dict(params, Digits="1"))
        third = signed_post(base, token, "/twilio/voice/step?node=main_menu&n=2&attempt=1",
                            dict(params, Digits="1"))
        fourth = signed_post(base, token, "/twilio/voice/step?node=procedure_menu&n=3&attempt=1",
                             dict(params, Digits="1"))
        assert second.status_code == 200 and third.status_code == 200 and fourth.status_code == 200
        assert b"<Hangup" in fourth.content

        def tickets():
            result = subprocess.run(
                [sys.executable, "-m", "hotline", "tickets", "list", "--json"],
                env=env, capture_output=True, text=True, check=True,
            )
            return json.loads(result.stdout)

        rows = tickets()
        assert len(rows) == 1 and rows[0]["phone"] == "+84912345678"

        # The relay and worker run the confirmation job; its outcome lands on the timeline.
        from sqlalchemy import create_engine
        from sqlalchemy import text as sql

        engine = create_engine(f"sqlite:///{data / 'hotline.db'}")
        deadline = time.monotonic() + 30
        message = None
        while time.monotonic() < deadline and message is None:
            with engine.connect() as conn:
                message = conn.execute(sql(
                    "SELECT message FROM ticket_events WHERE kind = 'sms_not_sent'")).scalar()
            time.sleep(0.2)
        engine.dispose()
        assert message == "not sent: no provider configured"
    finally:
        os.killpg(process.pid, signal.SIGINT) if process.poll() is None else None
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
    # Everything it started is gone: web, worker, relay and the embedded Redis.
    time.sleep(0.5)
    leftovers = subprocess.run(["pgrep", "-s", str(process.pid)], capture_output=True, text=True).stdout
    assert leftovers.strip() == ""
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{base}/healthz", timeout=2)
    assert not (data / "redis.url").exists()
