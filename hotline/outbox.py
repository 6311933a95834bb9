"""The transactional outbox: webhooks write jobs as rows; a relay hands them to RQ.

A webhook's rows and its jobs commit together or not at all, and Redis being
down never reaches a caller: the relay catches up when Redis returns. Every
outbox row has a stable `job_id`, used as the RQ job id, so a row relayed twice
(a crash between enqueue and commit) is still one logical job, and jobs are
written to be idempotent anyway.
"""

from __future__ import annotations

import logging
from typing import Any

from redis.exceptions import RedisError
from rq import Queue, Retry
from sqlalchemy import func, select

from .extensions import db
from .models import OutboxMessage, utcnow

log = logging.getLogger(__name__)

#: Transient failures (provider 5xx, network) are retried with growing pauses.
JOB_RETRY = Retry(max=5, interval=[10, 30, 60, 300, 900])


def add_job(job_id: str, func: str, *args: Any, queue: str = "default") -> OutboxMessage | None:
    """Queue `func(*args)` once per `job_id`, in the caller's transaction."""
    pending = next(
        (m for m in db.session.new if isinstance(m, OutboxMessage) and m.job_id == job_id), None
    )
    if pending is not None:
        return None
    if db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.job_id == job_id)):
        return None
    message = OutboxMessage(job_id=job_id, func=func, args=list(args), queue=queue)
    db.session.add(message)
    return message


def pending_count() -> int:
    return db.session.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.relayed_at.is_(None))
    )


def relay_pending(redis, limit: int = 100) -> int:
    """Move up to `limit` pending rows into RQ; return how many went.

    Several relays may run (one per machine): on PostgreSQL each takes rows
    with SKIP LOCKED so they never hand over the same row at the same time.
    """
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.relayed_at.is_(None))
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(db.session.scalars(query))
    relayed = 0
    try:
        for row in rows:
            row.attempts += 1
            Queue(row.queue, connection=redis).enqueue(
                row.func, *row.args, job_id=row.job_id, retry=JOB_RETRY
            )
            row.relayed_at = utcnow()
            row.last_error = None
            relayed += 1
    except RedisError as error:
        log.warning("outbox relay: Redis unavailable (%s); %d rows wait", error, len(rows) - relayed)
        if relayed < len(rows):
            rows[relayed].last_error = str(error)[:500]
    finally:
        db.session.commit()
    return relayed


def relay_forever(interval: float = 0.5, max_pause: float = 5.0) -> None:
    """The relay loop: poll often while work flows, back off while Redis is down."""
    import time

    from sqlalchemy.exc import SQLAlchemyError

    from .queueing import get_redis

    pause = interval
    while True:
        try:
            pending = db.session.scalar(
                select(func.count()).select_from(OutboxMessage)
                .where(OutboxMessage.relayed_at.is_(None))
            )
            relayed = relay_pending(get_redis()) if pending else 0
        except SQLAlchemyError as error:
            log.warning("outbox relay: database unavailable (%s)", error)
            db.session.rollback()
            relayed, pending = 0, 1
        finally:
            db.session.remove()
        if pending and not relayed:
            pause = min(pause * 2, max_pause)
        else:
            pause = interval
        if not relayed:
            time.sleep(pause)
