"""How fast /healthz and /metrics answer on a year of a busy line's rows.

Seeds `--rows` finished outbox rows (a few pending, set aside, relayed and failed among
them), as many SMS timeline lines and SMS-outbox rows, then times both pages through
the test client against a Redis of its own. /healthz is what a load balancer polls
every few seconds; /metrics what Prometheus scrapes every 15–30 s.

    .venv/bin/python bench/health_metrics.py [--db sqlite|postgresql] [--rows 200000] [--repeat 50]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert  # noqa: E402

from bench.staff_bench_db import bench_app  # noqa: E402
from hotline.embedded_redis import EmbeddedRedis  # noqa: E402
from hotline.extensions import db  # noqa: E402
from hotline.models import OutboxMessage, SmsOutbound, Ticket, TicketEvent, utcnow  # noqa: E402


def seed(rows: int) -> None:
    now = utcnow()
    ticket = Ticket(code="1000001", phone="+84900000000", channel="voice", reason="callback_requested")
    db.session.add(ticket)
    db.session.flush()
    batch = 10_000
    for start in range(0, rows, batch):
        chunk = range(start, min(rows, start + batch))
        db.session.execute(insert(OutboxMessage), [
            {"job_id": f"job-{i}", "func": "workers.jobs.send_request_confirmation", "args": [i],
             "queue": "default", "created_at": now - timedelta(minutes=i), "attempts": 1,
             "relayed_at": None if i % 5000 == 0 else now - timedelta(minutes=i),
             "finished_at": None if i % 1000 == 0 else now - timedelta(minutes=i),
             "set_aside_at": now if i == 1 else None,
             "failed_at": now if i % 50_000 == 7 else None}
            for i in chunk
        ])
        db.session.execute(insert(TicketEvent), [
            {"ticket_id": ticket.id, "kind": ("sms_sent", "sms_failed", "note")[i % 3], "message": "",
             "data": {"key": f"k{i}"}, "actor": "system", "created_at": now}
            for i in chunk
        ])
        db.session.execute(insert(SmsOutbound), [
            {"key": f"reply-{i}", "phone": "+84900000000", "body": "ok", "kind": "reply",
             "status": ("sent", "delivered", "failed")[i % 3], "attempts": 1, "created_at": now}
            for i in chunk
        ])
    db.session.commit()


def timings(client, path: str, repeat: int) -> list[float]:
    client.get(path)  # warm up
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(path)
        out.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return sorted(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        redis = EmbeddedRedis(Path(tmp), persistent=False)
        url = redis.start()
        try:
            with bench_app(args.db, REDIS_URL=url) as app:
                with app.app_context():
                    seed(args.rows)
                client = app.test_client()
                print(f"{args.db}, {args.rows:,} outbox rows, timeline lines and SMS rows")
                for path in ("/healthz", "/metrics"):
                    values = timings(client, path, args.repeat)
                    p95 = values[int(0.95 * (len(values) - 1))]
                    print(f"  {path:<9} median {statistics.median(values):6.1f} ms   p95 {p95:6.1f} ms")
        finally:
            redis.stop()


if __name__ == "__main__":
    main()
