"""The worker process: build the app once, load what is heavy, then let RQ fork.

Started through `hotline worker` (see the Procfile), never `rq worker`, so every
job runs inside the app context with the configuration already loaded.

A worker outlives Redis blips: when Redis cannot be reached at start, or the
connection drops and RQ's work loop gives up, it waits (1 s, doubling to 10 s)
and starts working again, instead of exiting and leaving the queues unserved.
On each (re)start it hands the jobs of workers that died on this machine (killed,
out of memory) back to RQ at once, instead of RQ's own ~90 s heartbeat expiry
plus up to 10 minutes until its next maintenance pass: see `recover_abandoned_jobs`.

Jobs are named in hotline.jobs and their bodies bound by the modules in JOB_MODULES;
the worker refuses to start while a declared job has no body, runs a job's name
through the registry (`RegisteredJob`), and ends the job's database session itself
(`HotlineWorker.handle_execution_ended`), so no body has to.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from collections.abc import Iterable, Sequence
from datetime import datetime

import psutil
from flask import Flask
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Queue, Worker
from rq.exceptions import SchedulerNotFound, StopRequested
from rq.executions import Execution
from rq.job import Job
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from rq.scheduler import RQScheduler
from rq.scripts import release_lock

from hotline import jobs
from hotline.extensions import db
from hotline.queueing import get_redis
from workers import asr, privacy_jobs, prompts, sms, staff_jobs
from workers import jobs as request_jobs

log = logging.getLogger(__name__)

#: The modules that bind the bodies of the jobs hotline.jobs declares (one left out is
#: caught by `jobs.registry.check()` when the worker starts).
JOB_MODULES = (request_jobs, sms, staff_jobs, asr, privacy_jobs, prompts)

#: Functions run once per worker process before it starts taking jobs
#: (e.g. loading a speech model); subsystems append to it in their init_app.
PRELOAD_HOOK = "hotline.worker_preload"

#: Pauses before reaching for Redis again: the first, the longest (doubling in between).
RECONNECT_FIRST, RECONNECT_MAX = 1.0, 10.0
#: A worker that worked this long before losing Redis starts again from RECONNECT_FIRST.
RECONNECT_STABLE_AFTER = 60.0


class RegisteredJob(Job):
    """An RQ job whose function is a job name of hotline.jobs (or a former dotted name of one):
    it runs the body workers/ bound to that name. Any other function name (a job put in a
    queue straight from code, by its import path) RQ imports as it always did."""

    @property
    def func(self):
        spec = jobs.find(self.func_name)
        if spec is None:
            return super().func
        if spec.body is None:  # the start-up check makes this unreachable in `hotline worker`
            raise jobs.JobRegistryError(f"job {spec.name} has no implementation in this worker")
        return spec.body


class HotlineWorker(Worker):
    """RQ's forking worker, told apart from a stop it was asked for, and quick to look after itself.

    RQ runs its maintenance (cleaning registries, restarting a scheduler that died with
    a Redis blip) when a blocking dequeue times out (worker_ttl - 15 s) and at most every
    `maintenance_interval`; RQ's defaults (405 s, 600 s) would leave retries scheduled
    for 10 s waiting for minutes after a blip, so both come down to half a minute.
    """

    max_connection_wait_time = RECONNECT_MAX  # RQ's own retry loop while it waits for jobs
    stop_signalled = False
    job_class = RegisteredJob

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("worker_ttl", 45)
        kwargs.setdefault("maintenance_interval", 30)
        super().__init__(*args, **kwargs)

    def handle_execution_ended(self, job: Job, queue: Queue, heartbeat_ttl: int) -> None:
        """End the job's database session: a transaction it left open (a read after its
        commit, a write it never committed) is rolled back and its connection returned.

        RQ calls this in the work horse as soon as the job's function has returned or
        raised, before the success or failure callback, so `outbox.job_finished` never
        waits on a lock the job still holds (SQLite's one writer, a PostgreSQL row lock).
        """
        try:
            db.session.remove()
        except Exception:  # a dead connection: the horse exits anyway, the job's result stands
            log.exception("job %s: could not end its database session", job.id)
        super().handle_execution_ended(job, queue, heartbeat_ttl)

    def request_stop(self, signum, frame):
        self.stop_signalled = True
        try:
            super().request_stop(signum, frame)
        except RedisError:  # RQ asks Redis whether a job runs; with Redis down, just stop
            raise StopRequested() from None


def run_worker(
    app: Flask, queues: Sequence[str], *, burst: bool = False, with_scheduler: bool = True
) -> bool:
    jobs.registry.check()  # a job without a body stops the worker now, not when its first row comes
    redis = get_redis()
    if redis is None:
        raise RuntimeError("no Redis configured: set REDIS_URL or start `hotline up`")
    app.extensions["hotline.worker_queues"] = tuple(queues)  # preload hooks load only what these need
    for preload in app.extensions.get(PRELOAD_HOOK, []):
        preload(app)
    engine = db.engine
    # A forked work horse must not reuse the parent's database connections.
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
    if burst:
        worker = HotlineWorker(_queues(queues, redis), connection=redis)
        return worker.work(burst=True, with_scheduler=with_scheduler)
    return _work_through_outages(redis, queues, with_scheduler)


def _queues(names: Sequence[str], redis: Redis) -> list[Queue]:
    return [Queue(name, connection=redis, job_class=RegisteredJob) for name in names]


def _work_through_outages(redis: Redis, queues: Sequence[str], with_scheduler: bool) -> bool:
    """RQ's work loop, started again whenever it ends without having been asked to stop."""
    worked = False
    pause = RECONNECT_FIRST
    gone: list[str] = []  # names of this process's earlier workers: dead whatever Redis says
    while True:
        began = time.monotonic()
        worker = None
        try:
            worker = HotlineWorker(_queues(queues, redis), connection=redis)
            recover_abandoned_jobs(worker.queues, redis, dead_workers=gone)
            worked = worker.work(with_scheduler=with_scheduler) or worked
            problem = "stopped working"
        except (RedisConnectionError, RedisTimeoutError) as error:
            problem = f"lost Redis ({error})"
        except StopRequested:
            return worked
        if worker is not None and worker.stop_signalled:
            return worked
        if worker is not None:
            gone.append(worker.name)
        if time.monotonic() - began >= RECONNECT_STABLE_AFTER:
            pause = RECONNECT_FIRST
        log.warning("worker %s; starting again in %g s", problem, pause)
        try:
            if worker is not None and worker.horse_pid:
                worker.wait_for_horse()  # a job still running finishes (or fails) first
            _pause(pause)
        except StopRequested:
            return worked
        pause = min(pause * 2, RECONNECT_MAX)


def _pause(seconds: float) -> None:
    """Sleep; SIGTERM or SIGINT (from `hotline up` or a platform) ends the wait and the worker."""

    def stop(signum, frame):
        raise StopRequested()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        time.sleep(seconds)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# --- jobs of dead workers --------------------------------------------------------------


def recover_abandoned_jobs(
    queues: Iterable[Queue], redis: Redis, *, dead_workers: Iterable[str] = ()
) -> list[str]:
    """Hand the jobs of workers that died on this machine back to RQ now; return their ids.

    A job whose worker was killed stays "started" until its heartbeat lapses (up to
    90 s) and a maintenance pass notices. A worker that starts looks at once: an
    execution whose worker is gone (no hash, marked dead, one of `dead_workers`, or
    on this host with its pid no longer the process that registered) is expired, and
    RQ's own `StartedJobRegistry.cleanup` then retries the job (every job here
    carries a Retry: outbox.JOB_RETRY) or fails it. The retry it schedules (after
    the first interval, for a provider's bad moment) is queued at once instead, and
    a job it failed with tries left is put back on its queue. Jobs are idempotent,
    so a job that had got half-way runs again safely. A scheduler lock held by a
    dead scheduler on this host is released too, so jobs scheduled for later do not
    wait a minute for the lock to expire.
    """
    host = socket.gethostname()
    dead = set(dead_workers)
    recovered: list[str] = []
    for queue in queues:
        _release_dead_scheduler_lock(queue.name, redis, host)
        registry = StartedJobRegistry(queue.name, connection=redis)
        expired: dict[str, str] = {}  # execution's registry entry → job id
        for job_id, execution_id in registry.get_job_and_execution_ids(cleanup=False):
            try:
                execution = Execution.fetch(execution_id, job_id, redis)
            except ValueError:  # its hash expired: the registry entry has expired too
                continue
            if _worker_is_dead(execution.worker_name, redis, host, dead):
                expired[execution.composite_key] = job_id
        if expired:
            redis.zadd(registry.key, dict.fromkeys(expired, 0), xx=True)
            log.warning("handing back %d job(s) of dead workers on %s: %s",
                        len(expired), queue.name, ", ".join(expired.values()))
        registry.cleanup()
        scheduled = ScheduledJobRegistry(queue.name, connection=redis)
        failed = FailedJobRegistry(queue.name, connection=redis)
        for job_id in expired.values():
            job = queue.fetch_job(job_id)
            if job is None:
                continue
            if job_id in scheduled:
                # The retry the cleanup scheduled runs now: a dead worker is not a provider's
                # bad moment to wait out.
                scheduled.requeue(job_id)
            elif job.retries_left != 0 and job_id in failed:
                # Failed with tries left (no Retry at all, or an RQ that fails abandoned jobs
                # without retrying them). Retries spent: it stays failed.
                failed.requeue(job_id)
        recovered += expired.values()
    return recovered


def _worker_is_dead(name: str, redis: Redis, host: str, dead: set[str]) -> bool:
    if not name:
        return False  # unknown: leave it to RQ's heartbeat expiry
    if name in dead:
        return True
    worker = Worker.find_by_key(Worker.redis_worker_namespace_prefix + name, connection=redis)
    if worker is None or redis.hexists(worker.key, "death"):
        return True
    return worker.hostname == host and not _same_process_alive(worker.pid, worker.last_heartbeat)


def _release_dead_scheduler_lock(queue_name: str, redis: Redis, host: str) -> None:
    key = RQScheduler.get_locking_key(queue_name)
    holder = redis.get(key)
    if holder is None:
        return
    name = holder.decode() if isinstance(holder, bytes) else str(holder)
    try:
        scheduler = RQScheduler.fetch(name, redis)
    except SchedulerNotFound:
        return  # no word on who holds it: the lock expires on its own within a minute
    if scheduler.hostname == host and not _same_process_alive(scheduler.pid, scheduler.last_heartbeat):
        release_lock(redis, key, name)


def _same_process_alive(pid: int | None, heartbeat: datetime | None) -> bool:
    """Is `pid` still the process that sent `heartbeat`? (Not dead, and not a newer process that
    reused the pid: that one was created after the last heartbeat of the one that died.)"""
    if not pid:
        return False
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        created = process.create_time()
    except psutil.NoSuchProcess:
        return False
    return heartbeat is None or created <= heartbeat.timestamp()
