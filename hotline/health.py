"""`GET /healthz`: can this web process serve calls, and what else is wrong on the line?

Calls need only the database, so the answer is 503 only when the database does
not answer; everything else that is wrong (Redis down, the relay lagging, rows
set aside, jobs failed or lost, no worker for a queue) is named in `problems`
with status "degraded" and a 200, so a load balancer keeps sending calls while
an operator's monitor still sees the fault. Every probe is short (Redis has
2-second timeouts, hotline.queueing) and nothing here raises: a health check
that errors tells nobody anything. Fields: docs/outbox-and-health.md.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from . import outbox
from .extensions import db
from .queueing import get_redis, redis_state

bp = Blueprint("health", __name__)

#: Thresholds, each overridable in the config (HOTLINE_HEALTH_… in the environment).
DEFAULTS = {
    # the oldest row waiting for the relay since it came due (rows scheduled for later are not lag)
    "HEALTH_RELAY_LAG_SECONDS": 60,
    # a relayed job neither finished nor failed after this long (retries back off up to 15 min)
    "HEALTH_UNFINISHED_AGE_SECONDS": 3600,
    # an idle RQ worker beats about every worker_ttl - 15 s (405 s by default)
    "HEALTH_WORKER_STALE_SECONDS": 480,
    # the last good backup (hotline.backup) older than this: "backup_stale" (also in config.py)
    "BACKUP_MAX_AGE_HOURS": 36,
}


def setting(name: str) -> Any:
    return current_app.config.get(name, DEFAULTS.get(name))


def expected_queues() -> list[str]:
    """The queues a worker must listen on (the Procfile's `worker` and `asr`)."""
    configured = current_app.config.get("HEALTH_WORKER_QUEUES")
    if configured:
        return list(configured)
    return ["default", current_app.config.get("ASR_QUEUE", "asr")]


def database_check() -> tuple[str, outbox.Summary | None]:
    try:
        db.session.execute(text("SELECT 1"))
        return "ok", outbox.summary()
    except Exception as error:  # reported, not raised: this is the health check
        db.session.rollback()
        return f"down: {error.__class__.__name__}", None


def worker_heartbeats(redis, now: datetime) -> dict[str, dict[str, Any]]:
    """Per queue: how many RQ workers listen on it and how old the freshest heartbeat is."""
    from rq import Worker

    def nobody() -> dict[str, Any]:
        return {"count": 0, "last_heartbeat_age_seconds": None}

    kinds = {name: nobody() for name in expected_queues()}  # listed even with no worker
    for worker in Worker.all(connection=redis):
        beat = worker.last_heartbeat
        age = round((now - outbox.as_utc(beat)).total_seconds(), 1) if beat else None
        for queue in worker.queue_names():
            kind = kinds.setdefault(queue, nobody())
            kind["count"] += 1
            if age is not None and (kind["last_heartbeat_age_seconds"] is None
                                    or age < kind["last_heartbeat_age_seconds"]):
                kind["last_heartbeat_age_seconds"] = age
    return kinds


def outbox_fields(state: outbox.Summary | None) -> dict[str, Any] | None:
    if state is None:
        return None

    def rounded(seconds: float | None) -> float | None:
        return round(seconds, 1) if seconds is not None else None

    return {
        "pending": state.pending,
        "oldest_pending_age_seconds": rounded(state.oldest_pending_age),
        "scheduled": state.scheduled,
        "set_aside": state.set_aside,
        "relayed_unfinished": state.relayed_unfinished,
        "oldest_unfinished_age_seconds": rounded(state.oldest_unfinished_age),
        "failed": state.failed,
    }


def problems_of(database: str, redis: str, state: outbox.Summary | None,
                workers: dict[str, dict[str, Any]] | None) -> list[str]:
    """Short stable codes a monitor can match on (docs/outbox-and-health.md lists them)."""
    found = []
    if database != "ok":
        found.append("database_down")
    if redis != "ok":
        found.append("redis_down" if redis != "not configured" else "redis_not_configured")
    if state is not None:
        if (state.oldest_pending_age or 0) > setting("HEALTH_RELAY_LAG_SECONDS"):
            found.append("relay_lag")
        if state.set_aside:
            found.append("outbox_set_aside")
        if state.failed:
            found.append("jobs_failed")
        if (state.oldest_unfinished_age or 0) > setting("HEALTH_UNFINISHED_AGE_SECONDS"):
            found.append("jobs_unfinished")
    backup = backup_fields()
    if backup is not None and backup["age_hours"] > setting("BACKUP_MAX_AGE_HOURS"):
        found.append("backup_stale")
    for queue, kind in sorted((workers or {}).items()):
        if not kind["count"]:
            found.append(f"no_worker:{queue}")
        elif (kind["last_heartbeat_age_seconds"] or 0) > setting("HEALTH_WORKER_STALE_SECONDS"):
            found.append(f"worker_stale:{queue}")
    return found


def backup_fields() -> dict[str, Any] | None:
    """The last good backup (hotline.backup): when, and its age in hours; None before the first."""
    from .backup import last_backup

    last = last_backup(current_app.config["DATA_DIR"])
    if last is None:
        return None
    from . import clock

    return {"last_at": last["at"].isoformat(),
            "age_hours": round((clock.now() - last["at"]).total_seconds() / 3600, 2)}


@bp.get("/healthz")
def healthz():
    database, state = database_check()
    redis = redis_state()
    workers = None
    if redis == "ok":
        try:
            # RQ stamps heartbeats with the wall clock, not the hotline's (hotline.clock).
            workers = worker_heartbeats(get_redis(), datetime.now(UTC))
        except Exception as error:  # Redis went away mid-check: reported, not raised
            redis = f"down: {error.__class__.__name__}"
    problems = problems_of(database, redis, state, workers)
    # Calls need only the database: with Redis down the outbox holds the jobs.
    status = 200 if database == "ok" else 503
    body = {
        "status": "unavailable" if status != 200 else ("degraded" if problems else "ok"),
        "database": database,
        "redis": redis,
        "outbox_pending": state.pending if state else None,
        "outbox": outbox_fields(state),
        "workers": workers,
        "backup": backup_fields(),
        "problems": problems,
    }
    return jsonify(body), status
