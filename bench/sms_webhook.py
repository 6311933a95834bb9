"""The SMS webhook under gunicorn, against a bare-Flask endpoint floor in the same run.

    .venv/bin/python bench/sms_webhook.py [--seconds 10] [--workers 2] [--clients 8]
        [--database-url postgresql://postgres@127.0.0.1:5432/hotline_bench]

Starts two gunicorn servers with the same worker count: the hotline app (a
fresh SQLite file in a temporary folder unless --database-url is given;
migrations applied) and a bare Flask app whose endpoint only parses the form
and answers an empty TwiML document. Both get the same load: `--clients`
threads posting Twilio-signed SMS (texts from the test corpus, from 5,000
different numbers, each with a new MessageSid) for `--seconds`. Prints
requests/s and latency percentiles for both and the ratio hotline/floor.
Replies go to the outbox (no Redis needed), as in production.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests
import yaml
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-auth-token-0123456789abcdef"


def bare_app():
    """The floor: Flask parsing a form and answering TwiML, nothing else."""
    from flask import Flask, Response, request

    app = Flask("bare")

    @app.post("/twilio/sms")
    def sms():
        request.form.get("Body")
        return Response('<?xml version="1.0" encoding="UTF-8"?><Response />', mimetype="text/xml")

    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(target: str, port: int, workers: int, env: dict[str, str]) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
           "--log-level", "warning", "--chdir", str(ROOT), target]
    proc = subprocess.Popen(cmd, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/", timeout=0.5)
            return proc
        except requests.RequestException:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"{target} did not start")


def load(port: int, seconds: float, clients: int, texts: list[str]) -> tuple[int, list[float], int]:
    url = f"http://127.0.0.1:{port}/twilio/sms"
    validator = RequestValidator(TOKEN)
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client() -> None:
        nonlocal errors
        session = requests.Session()
        rng = random.Random()
        mine: list[float] = []
        bad = 0
        while time.monotonic() < stop_at:
            params = {"MessageSid": "SM" + uuid.uuid4().hex, "AccountSid": "AC" + "0" * 32,
                      "From": f"+8491{rng.randrange(5000):07d}", "To": "+842633000000",
                      "Body": rng.choice(texts)}
            headers = {"X-Twilio-Signature": validator.compute_signature(url, params)}
            t0 = time.perf_counter()
            response = session.post(url, data=params, headers=headers)
            mine.append(time.perf_counter() - t0)
            bad += response.status_code != 200
        with lock:
            latencies.extend(mine)
            errors += bad

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(latencies), latencies, errors


def describe(name: str, n: int, latencies: list[float], errors: int, seconds: float) -> float:
    q = statistics.quantiles(latencies, n=100)
    rps = n / seconds
    print(f"{name:<22} {rps:>8.1f} req/s   p50 {q[49] * 1000:6.1f} ms   p95 {q[94] * 1000:6.1f} ms"
          f"   p99 {q[98] * 1000:6.1f} ms   errors {errors}")
    return rps


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    texts = [c["text"] for c in yaml.safe_load((ROOT / "tests/data/sms_corpus.yaml").read_text("utf-8"))]

    with tempfile.TemporaryDirectory() as data_dir:
        port_app, port_bare = free_port(), free_port()
        env = dict(os.environ, HOTLINE_DATA_DIR=data_dir, TWILIO_AUTH_TOKEN=TOKEN,
                   HOTLINE_PUBLIC_URL=f"http://127.0.0.1:{port_app}", PYTHONPATH=str(ROOT))
        env.pop("REDIS_URL", None)
        if args.database_url:
            env["DATABASE_URL"] = args.database_url
        subprocess.run([sys.executable, "-m", "hotline", "db", "upgrade"], env=env, check=True,
                       capture_output=True)
        servers = [
            start("hotline:create_app()", port_app, args.workers, env),
            start("bench.sms_webhook:bare_app()", port_bare, args.workers, env),
        ]
        try:
            print(f"{args.workers} gunicorn workers each, {args.clients} clients, {args.seconds:.0f} s, "
                  f"database {'SQLite' if not args.database_url else args.database_url.split(':')[0]}")
            floor = describe("bare Flask (floor)", *load(port_bare, args.seconds, args.clients, texts),
                             args.seconds)
            hotline = describe("hotline /twilio/sms", *load(port_app, args.seconds, args.clients, texts),
                               args.seconds)
            print(f"ratio hotline/floor: {hotline / floor:.2f}")
        finally:
            for server in servers:
                server.terminate()
                server.wait(10)


if __name__ == "__main__":
    main()
