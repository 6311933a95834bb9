"""/healthz says what is wrong, and answers 503 only when calls cannot be taken (no database)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rq import Queue, Worker

from hotline import outbox
from hotline.extensions import db
from hotline.models import OutboxMessage, utcnow
from hotline.queueing import get_redis
from tests.conftest import make_app


def health(client):
    response = client.get("/healthz")
    return response.status_code, response.json


def start_worker(queues):
    """A real RQ worker, registered with its heartbeat as `hotline worker` does, without working."""
    redis = get_redis()
    worker = Worker([Queue(name, connection=redis) for name in queues], connection=redis)
    worker.register_birth()
    return worker


def test_a_quiet_line_with_its_workers_is_ok(client):
    workers = [start_worker(["default"]), start_worker(["asr"])]
    try:
        status, body = health(client)
    finally:
        for worker in workers:
            worker.register_death()
    assert status == 200
    assert body["status"] == "ok" and body["problems"] == []
    assert (body["database"], body["redis"]) == ("ok", "ok")
    assert body["outbox"] == {"pending": 0, "oldest_pending_age_seconds": None, "scheduled": 0,
                              "set_aside": 0, "relayed_unfinished": 0, "oldest_unfinished_age_seconds": None,
                              "failed": 0}
    assert set(body["workers"]) == {"default", "asr"}
    for kind in body["workers"].values():
        assert kind["count"] == 1 and 0 <= kind["last_heartbeat_age_seconds"] < 60


def test_a_queue_without_a_worker_is_named(client):
    worker = start_worker(["default"])
    try:
        status, body = health(client)
    finally:
        worker.register_death()
    assert status == 200 and body["status"] == "degraded"
    assert body["problems"] == ["no_worker:asr"]
    assert body["workers"]["asr"] == {"count": 0, "last_heartbeat_age_seconds": None}


def test_relay_lag_set_aside_and_unfinished_rows_are_reported(app, client):
    long_ago = utcnow() - timedelta(hours=2)
    db.session.add_all([
        OutboxMessage(job_id="waiting-1", func="workers.jobs.send_request_confirmation", args=[1],
                      created_at=long_ago),
        OutboxMessage(job_id="bad/id", func="workers.jobs.send_request_confirmation", args=[2]),
        OutboxMessage(job_id="lost-1", func="workers.jobs.send_request_confirmation", args=[3],
                      created_at=long_ago, relayed_at=long_ago),
        OutboxMessage(job_id="failed-1", func="workers.jobs.send_request_confirmation", args=[4],
                      created_at=long_ago, relayed_at=long_ago, failed_at=long_ago),
    ])
    db.session.commit()
    outbox.relay_pending(get_redis(), limit=2)  # waiting-1 goes, bad/id is set aside
    db.session.add(OutboxMessage(job_id="waiting-2", func="workers.jobs.send_request_confirmation",
                                 args=[5], created_at=long_ago))
    db.session.commit()

    status, body = health(client)
    assert status == 200 and body["status"] == "degraded"
    problems = set(body["problems"])
    assert {"relay_lag", "outbox_set_aside", "jobs_failed", "jobs_unfinished"} <= problems
    state = body["outbox"]
    counts = (state["pending"], state["set_aside"], state["relayed_unfinished"], state["failed"])
    assert counts == (1, 1, 2, 1)
    assert state["oldest_pending_age_seconds"] >= 7200
    assert state["oldest_unfinished_age_seconds"] >= 7200
    assert body["outbox_pending"] == 1


def test_with_redis_down_calls_are_still_taken_and_it_says_so(app_factory):
    app = app_factory(REDIS_URL="redis://127.0.0.1:1/0")  # nothing listens on port 1
    with app.app_context():
        status, body = health(app.test_client())
    assert status == 200
    assert body["status"] == "degraded"
    assert body["database"] == "ok"
    assert body["redis"].startswith("down: ")
    assert "redis_down" in body["problems"]
    assert body["workers"] is None
    assert body["outbox"]["pending"] == 0


@pytest.mark.parametrize("url", [
    "postgresql://postgres@127.0.0.1:1/hotline",  # nothing listens on port 1
    "sqlite:////nonexistent-folder/hotline.db",
])
def test_with_the_database_down_it_answers_503(url, tmp_path, redis_url):
    app = make_app(tmp_path, url, redis_url)
    with app.app_context():
        status, body = health(app.test_client())
        db.engine.dispose()
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["database"].startswith("down: ")
    assert body["problems"][0] == "database_down"
    assert body["redis"] == "ok"  # still probed: the report names every part
    assert body["outbox"] is None
