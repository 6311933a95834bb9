"""The transactional outbox: webhooks write jobs as rows; a relay hands them to RQ.

A webhook's rows and its jobs commit together or not at all, and Redis being
down never reaches a caller: the relay catches up when Redis returns. Every
outbox row has a stable `job_id`, used as the RQ job id, so a row relayed twice
(a crash between enqueue and commit) is still one logical job, and jobs are
written to be idempotent anyway.

A row's life (docs/outbox-and-health.md):

    scheduled ──run_at──▶ pending ──relay──▶ relayed ──worker──▶ finished    (success callback)
                             │                  │  ▲
                             │                  │  └── reconcile: job gone from Redis → enqueued again
                             │                  └────▶ failed                (RQ gave up after its retries)
                             └──▶ set aside (a reason a person can act on; `hotline outbox retry ID`)

Work for later (a no-answer retry, a visit reminder) is a row with `run_at`: it stays
in the database until it is due by hotline.clock, then is relayed like any other. So
it survives a Redis that loses its data, and RQ's scheduler is needed only for RQ's
own retry back-off.

No single row can stop the line: whatever makes one row unqueueable (a job id
RQ refuses, a name that is no job of hotline.jobs, arguments that do not fit)
sets that row aside and the pass goes on; only Redis itself being down stops a pass.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, overload

from flask import current_app
from redis.exceptions import RedisError
from rq import Callback, Queue, Retry
from rq.job import Job, JobStatus
from rq.utils import as_text
from sqlalchemy import func, select, update
from sqlalchemy.exc import SQLAlchemyError

from . import jobs
from .extensions import db
from .models import OutboxMessage, utcnow

log = logging.getLogger(__name__)

#: Transient failures (provider 5xx, network) are retried with growing pauses.
JOB_RETRY = Retry(max=5, interval=[10, 30, 60, 300, 900])
#: Runs in the work horse after the job returned: stamps the row's `finished_at`.
ON_SUCCESS = Callback("hotline.outbox.job_finished")

#: A relayed job that has been neither finished nor seen in Redis for this long is lost.
RECONCILE_GRACE_SECONDS = 60
#: How often `relay_forever` runs a reconcile pass.
RECONCILE_EVERY_SECONDS = 30

#: What RQ accepts as a job id (rq.job.JOB_ID_PATTERN), within the column's length.
_RQ_SAFE = re.compile(r"[A-Za-z0-9_-]{1,100}")
#: The shape `safe_job_id` gives a mapped id; a raw id of that shape is mapped too, so a
#: raw id can never equal another id's mapping.
_MAPPED = re.compile(r".*-x[0-9a-f]{16}")


def safe_job_id(raw: str) -> str:
    """A job id RQ accepts, stable for `raw`, never equal to another raw id's.

    Ids RQ accepts pass unchanged; anything else (a provider id with a slash, a
    space, accents, or too long) keeps its safe characters for the reader and
    gains a hash of the original, so two raw ids never share a job.
    """
    if _RQ_SAFE.fullmatch(raw) and not _MAPPED.fullmatch(raw):
        return raw
    kept = re.sub(r"[^A-Za-z0-9_-]+", "_", raw)[:80]
    return f"{kept}-x{hashlib.sha256(raw.encode()).hexdigest()[:16]}"


def add_job(
    job_id: str, job: jobs.JobSpec, *args: Any, queue: str | None = None, run_at: datetime | None = None
) -> OutboxMessage | None:
    """Queue `job(*args)` once per `job_id`, in the caller's transaction; not before `run_at`.

    `job` is a declaration of hotline.jobs, never a name: arguments that do not fit it
    raise TypeError here, in the caller's test, instead of setting the row aside later.
    `queue` overrides the job's own (the asr queue's name is a setting).
    """
    if not isinstance(job, jobs.JobSpec):
        raise TypeError(f"add_job takes a job declared in hotline.jobs, not {job!r}")
    job.check_arguments(args)
    job_id = safe_job_id(job_id)
    pending = next(
        (m for m in db.session.new if isinstance(m, OutboxMessage) and m.job_id == job_id), None
    )
    if pending is not None:
        return None
    if db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.job_id == job_id)):
        return None
    message = OutboxMessage(
        job_id=job_id, func=job.name, args=list(args), queue=queue or job.queue, run_at=run_at
    )
    db.session.add(message)
    return message


# --- states -------------------------------------------------------------------------
# Every state is found through one of two indexes, `relayed_at IS NULL` (scheduled, pending,
# set aside) or `finished_at IS NULL` (relayed, failed), so /healthz and the relay's polling
# stay cheap however many finished rows the table keeps, and SQLite's planner has no wrong
# index to pick. `run_at` needs no index of its own: it only splits the few unrelayed rows.

def _is_waiting():
    """Not relayed, not set aside: pending now or scheduled for later."""
    return OutboxMessage.relayed_at.is_(None) & OutboxMessage.set_aside_at.is_(None)


def _is_pending(now: datetime | None = None):
    """Waiting and due: what the relay takes."""
    now = now or utcnow()
    return _is_waiting() & (OutboxMessage.run_at.is_(None) | (OutboxMessage.run_at <= now))


def _is_scheduled(now: datetime | None = None):
    """Waiting for its `run_at`: not the relay's backlog."""
    now = now or utcnow()
    return _is_waiting() & (OutboxMessage.run_at > now)


def _is_set_aside():
    return OutboxMessage.relayed_at.is_(None) & OutboxMessage.set_aside_at.is_not(None)


def _is_unfinished():
    """Relayed, and neither finished nor failed for good: RQ should hold it."""
    return (
        OutboxMessage.finished_at.is_(None)
        & OutboxMessage.relayed_at.is_not(None)
        & OutboxMessage.failed_at.is_(None)
    )


def _is_failed():
    return OutboxMessage.finished_at.is_(None) & OutboxMessage.failed_at.is_not(None)


#: The CLI's sections, the ones needing a person first.
STATES = {
    "set_aside": (_is_set_aside, OutboxMessage.set_aside_at),
    "failed": (_is_failed, OutboxMessage.failed_at),
    "unfinished": (_is_unfinished, OutboxMessage.relayed_at),
    "pending": (_is_pending, OutboxMessage.id),
    "scheduled": (_is_scheduled, OutboxMessage.run_at),
}


def pending_count() -> int:
    """Rows due now (scheduled rows not yet due are not counted: the relay has nothing to do)."""
    query = select(func.count()).select_from(OutboxMessage).where(_is_pending())
    return db.session.execute(query).scalar_one()


@dataclass(frozen=True)
class Summary:
    """How the outbox stands: what /healthz, /metrics, `hotline outbox` and the dashboard show."""

    pending: int  # due now: the relay's backlog
    oldest_pending_age: float | None  # seconds since the oldest due row came due; None when none
    set_aside: int
    relayed_unfinished: int
    oldest_unfinished_age: float | None
    failed: int
    scheduled: int = 0  # waiting for a later `run_at`: neither backlog nor lag


def summary(now: datetime | None = None) -> Summary:
    """One small query per state, each through an index (never a scan of finished rows)."""
    now = now or utcnow()

    def count_and_oldest(where, column) -> tuple[int, float | None]:
        count, oldest = db.session.execute(
            select(func.count(), func.min(column)).select_from(OutboxMessage).where(where)
        ).one()
        if oldest is not None and oldest.tzinfo is None:  # MIN() comes back naive on SQLite
            oldest = oldest.replace(tzinfo=now.tzinfo)
        return count, (max(0.0, (now - oldest).total_seconds()) if oldest is not None else None)

    def count(where) -> int:
        return db.session.execute(select(func.count()).select_from(OutboxMessage).where(where)).scalar_one()

    # A scheduled row that came due has waited since its run_at, not since it was written.
    came_due = func.coalesce(OutboxMessage.run_at, OutboxMessage.created_at)
    pending, pending_age = count_and_oldest(_is_pending(now), came_due)
    unfinished, unfinished_age = count_and_oldest(_is_unfinished(), OutboxMessage.relayed_at)
    return Summary(
        pending=pending,
        oldest_pending_age=pending_age,
        set_aside=count(_is_set_aside()),
        relayed_unfinished=unfinished,
        oldest_unfinished_age=unfinished_age,
        failed=count(_is_failed()),
        scheduled=count(_is_scheduled(now)),
    )


def rows_in(state: str, limit: int = 50) -> list[OutboxMessage]:
    where, order = STATES[state]
    return list(db.session.scalars(select(OutboxMessage).where(where()).order_by(order).limit(limit)))


# --- relaying -----------------------------------------------------------------------

def _enqueue(row: OutboxMessage, redis) -> None:
    """Hand one row to RQ, or raise: RedisError when Redis is down, anything else when the row
    itself is wrong (checked here, not left to fail five times on a worker).

    RQ gets the job's registered name (a row written before the registry, with a dotted
    path, is enqueued under its job's name); the worker runs the name (workers.main)."""
    job = jobs.find(row.func)
    if job is None:
        raise LookupError(f"no job named {row.func!r} in hotline.jobs")
    if not isinstance(row.args, list):
        raise TypeError(f"args must be a list, not {type(row.args).__name__}")
    job.check_arguments(row.args)  # TypeError: the arguments do not fit
    Queue(row.queue, connection=redis).enqueue(
        job.name, *row.args, job_id=row.job_id, retry=JOB_RETRY, on_success=ON_SUCCESS
    )


def _set_aside(row: OutboxMessage, error: Exception) -> None:
    row.set_aside_at = utcnow()
    row.set_aside_reason = f"{error.__class__.__name__}: {error}"[:500]
    log.error("outbox row %s (%s) set aside: %s", row.id, row.func, row.set_aside_reason)


def relay_pending(redis, limit: int = 100) -> int:
    """Move up to `limit` rows that are due (no `run_at`, or `run_at` passed) into RQ; return
    how many went. Rows scheduled for later stay in the database until their time.

    A row RQ cannot take for a reason of its own is set aside and the pass goes
    on; Redis being down ends the pass (the rest wait for the next one).
    Several relays may run (one per machine): on PostgreSQL each takes rows
    with SKIP LOCKED so they never hand over the same row at the same time.

    A pass is the relay's own edge (called by the relay loop, `hotline relay --once` and
    `hotline outbox reconcile`, never by domain code) and commits itself, in `finally`,
    not through hotline.unit_of_work: what it did cannot be rolled back (Redis has the
    jobs), so the rows must say so even when the pass stops half-way.
    """
    query = select(OutboxMessage).where(_is_pending()).order_by(OutboxMessage.id).limit(limit)
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(db.session.scalars(query))
    relayed = 0
    row = None
    try:
        for row in rows:
            row.attempts += 1
            try:
                _enqueue(row, redis)
            except RedisError:
                raise
            except Exception as error:  # the row's own fault: set aside, the others go on
                _set_aside(row, error)
                continue
            row.relayed_at = utcnow()
            row.last_error = None
            relayed += 1
    except RedisError as error:
        log.warning("outbox relay: Redis unavailable (%s); rows wait", error)
        if row is not None:
            row.last_error = str(error)[:500]
    finally:
        db.session.commit()
    return relayed


def job_finished(job: Job, connection, result: Any) -> None:
    """RQ's success callback, in the work horse: the row is finished, reconcile leaves it be.

    Its own short transaction, apart from the job's session. If the database
    does not answer, the job still succeeds: the reconcile pass reads RQ's
    record of it instead, or runs the (idempotent) job once more.
    """
    try:
        with db.engine.begin() as connection_:
            connection_.execute(
                update(OutboxMessage)
                .where(OutboxMessage.job_id == job.id, OutboxMessage.finished_at.is_(None))
                .values(finished_at=utcnow())
            )
    except SQLAlchemyError as error:
        log.warning("outbox: could not mark job %s finished (%s); reconcile will", job.id, error)


# --- reconciling ----------------------------------------------------------------------

@dataclass
class Reconciled:
    requeued: int = 0
    finished: int = 0
    failed: int = 0
    set_aside: int = 0


def _ids_rq_holds(redis, queue_name: str) -> set[str]:
    """Every job id RQ keeps somewhere for `queue_name`: waiting, being taken, running,
    scheduled (retry back-off) or deferred."""
    queue = Queue(queue_name, connection=redis)
    lists = [queue.key, getattr(queue, "intermediate_queue_key", None)]
    ids = {as_text(entry) for key in lists if key for entry in redis.lrange(key, 0, -1)}
    for registry in (queue.started_job_registry, queue.scheduled_job_registry, queue.deferred_job_registry):
        # Read the sorted sets directly: no registry clean-up as a side effect. The started
        # registry keeps "job_id:execution_id"; job ids never hold a colon.
        ids.update(as_text(entry).split(":")[0] for entry in redis.zrange(registry.key, 0, -1))
    return ids


@overload
def as_utc(moment: datetime) -> datetime: ...


@overload
def as_utc(moment: datetime | None) -> datetime | None: ...


def as_utc(moment: datetime | None) -> datetime | None:
    """RQ's timestamps are UTC; older RQ versions leave them naive."""
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def _failure_reason(job: Job, status: str) -> str:
    try:
        result = job.latest_result()
        text = (result.exc_string or "").strip() if result is not None else ""
    except Exception:  # an unreadable result record still leaves the status to report
        text = ""
    last = text.splitlines()[-1] if text else ""
    return f"RQ job {status}" + (f": {last}" if last else "")


def reconcile(redis, *, now: datetime | None = None, grace: float | None = None,
              limit: int = 500) -> Reconciled:
    """Compare relayed, unfinished rows with what Redis holds.

    For rows relayed longer than `grace` seconds ago: a job RQ finished is
    stamped finished; one RQ failed for good (after its retries) is counted as
    failed, never enqueued again; one Redis no longer holds (a restart without
    its data, a FLUSHALL) is enqueued again. Raises RedisError when Redis is down.
    Commits what it did whatever happens, like `relay_pending` (the same reason).
    """
    now = now or utcnow()
    if grace is None:
        grace = float(current_app.config.get("OUTBOX_RECONCILE_GRACE_SECONDS", RECONCILE_GRACE_SECONDS))
    query = (
        select(OutboxMessage)
        .where(_is_unfinished(), OutboxMessage.relayed_at <= now - timedelta(seconds=grace))
        .order_by(OutboxMessage.relayed_at)
        .limit(limit)
    )
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(db.session.scalars(query))
    done = Reconciled()
    if not rows:
        return done
    try:
        jobs = Job.fetch_many([row.job_id for row in rows], connection=redis)
        held: dict[str, set[str]] = {}
        for row, job in zip(rows, jobs, strict=True):
            status = job.get_status(refresh=False) if job is not None else None
            if job is not None and status == JobStatus.FINISHED:
                row.finished_at = as_utc(job.ended_at) or now
                done.finished += 1
                continue
            if job is not None and status in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
                row.failed_at = as_utc(job.ended_at) or now
                row.last_error = _failure_reason(job, status.value)[:500]
                done.failed += 1
                continue
            if job is not None:
                if row.queue not in held:
                    held[row.queue] = _ids_rq_holds(redis, row.queue)
                if row.job_id in held[row.queue]:
                    continue  # waiting, running or backing off: RQ has it
            row.attempts += 1
            try:
                _enqueue(row, redis)
            except RedisError:
                raise
            except Exception as error:  # e.g. its function was removed since: a person decides
                row.relayed_at = None
                _set_aside(row, error)
                done.set_aside += 1
                continue
            row.relayed_at = now
            row.last_error = "enqueued again: Redis no longer held the job"
            log.warning("outbox: job %s was lost from Redis; enqueued again", row.job_id)
            done.requeued += 1
    finally:
        db.session.commit()
    return done


_next_reconcile = 0.0


def reconcile_when_due(redis) -> Reconciled | None:
    """Run `reconcile` at most every OUTBOX_RECONCILE_EVERY_SECONDS (for the relay loop)."""
    global _next_reconcile
    clock = time.monotonic()
    if redis is None or clock < _next_reconcile:
        return None
    _next_reconcile = clock + float(
        current_app.config.get("OUTBOX_RECONCILE_EVERY_SECONDS", RECONCILE_EVERY_SECONDS)
    )
    try:
        return reconcile(redis)
    except RedisError as error:
        log.warning("outbox reconcile: Redis unavailable (%s)", error)
    except SQLAlchemyError:
        raise  # the relay loop's own handling: roll back, back off
    except Exception:  # e.g. a job record Redis holds but RQ cannot read: relaying goes on
        log.exception("outbox reconcile pass failed; the relay goes on")
    db.session.rollback()
    return None


# --- putting rows back ------------------------------------------------------------------

class NotRetryable(Exception):
    """The row is not set aside or failed, or its job id is taken by another row."""


def put_back(row_id: int) -> OutboxMessage:
    """Make a set-aside or failed row pending again (flushes; the caller commits).

    A job id RQ refuses (written before ids were made safe) is replaced by its
    safe form, so the probe's poison row can run once the cause is fixed.
    """
    row = db.session.get(OutboxMessage, row_id)
    if row is None:
        raise LookupError(row_id)
    if row.set_aside_at is None and row.failed_at is None:
        raise NotRetryable(f"row {row_id} is not set aside or failed")
    if not _RQ_SAFE.fullmatch(row.job_id):
        new_id = safe_job_id(row.job_id)
        if db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.job_id == new_id)):
            raise NotRetryable(f"row {row_id}: job id {new_id} belongs to another row")
        row.job_id = new_id
    row.set_aside_at = row.set_aside_reason = None
    row.failed_at = row.finished_at = row.relayed_at = None
    row.last_error = None
    db.session.flush()
    return row


def relay_forever(interval: float = 0.5, max_pause: float = 5.0) -> None:
    """The relay loop: poll often while work flows, back off while Redis is down."""
    import time

    from sqlalchemy.exc import SQLAlchemyError

    from .queueing import get_redis

    pause = interval
    while True:
        try:
            pending = pending_count()
            relayed = relay_pending(get_redis()) if pending else 0
            reconcile_when_due(get_redis())
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
