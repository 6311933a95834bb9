"""`GET /metrics`: the line in Prometheus' text exposition format, for a scraper, without login.

Two kinds of numbers, kept right under gunicorn's several worker processes in two ways:

* **State** — outbox backlog and the age of its oldest row, rows scheduled for later,
  set-aside and failed rows, RQ queue depths, workers, SMS sent and failed, transcriptions
  waiting — is read from the database and Redis at scrape time by `LineCollector`. Every
  web process sees the same database and Redis, so whichever gunicorn worker answers the
  scrape gives the same numbers, on one machine or many, and nothing is held in memory
  or on disk.
* **Webhook latency** is known only inside the process that served the request: a
  prometheus_client Histogram per endpoint. Under gunicorn it runs in prometheus_client's
  multiprocess mode: `hotline/gunicorn_conf.py` gives the master a fresh
  PROMETHEUS_MULTIPROC_DIR before any worker imports prometheus_client, each worker
  writes its own memory-mapped file, and a scrape adds them all up. Without that
  variable (the test client, `flask run`, any single process) the histogram is an
  ordinary in-process one. Counts restart with the web process; Prometheus' rate()
  expects that.

Nothing personal is exported: labels are URL rules (`/twilio/voice`, never a path with
a number in it), queue names and status words. Restrict who may fetch the page at the
proxy (docs/outbox-and-health.md).
"""

from __future__ import annotations

import os
import time

from flask import Blueprint, Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import func, select

from . import outbox
from .extensions import db
from .messaging import TrainingProvider
from .models import SmsOutbound, Ticket, TicketEvent, Transcription, TranscriptionStatus, utcnow
from .queueing import get_redis
from .training import real_requests

bp = Blueprint("metrics", __name__)

#: Requests a provider makes and a caller waits on (Twilio gives up after 15 s).
WEBHOOK_PREFIXES = ("/twilio/", "/sms-gateway/", "/audio/")
#: Twilio waits at most 15 s; the buckets bracket that.
BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0)

WEBHOOK_SECONDS = Histogram(
    "hotline_webhook_duration_seconds", "Time to answer a provider's webhook, per endpoint.",
    ["endpoint"], buckets=BUCKETS, registry=None,
)
WEBHOOK_RESPONSES = Counter(
    "hotline_webhook_responses", "Webhook answers per endpoint and HTTP status.",
    ["endpoint", "status"], registry=None,
)
#: Transcription states still on their way to text (see TranscriptionStatus).
TRANSCRIPTION_WAITING = (
    TranscriptionStatus.QUEUED, TranscriptionStatus.RUNNING,
    TranscriptionStatus.WAITING_FOR_AUDIO, TranscriptionStatus.NO_MODEL,
)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.before_request(_start_timer)
    app.after_request(_observe)


def _webhook_rule() -> str | None:
    rule = request.url_rule.rule if request.url_rule is not None else None
    return rule if rule is not None and rule.startswith(WEBHOOK_PREFIXES) else None


def _start_timer() -> None:
    if _webhook_rule() is not None:
        g.metrics_started = time.perf_counter()


def _observe(response: Response) -> Response:
    started = g.pop("metrics_started", None)
    rule = _webhook_rule()
    if started is not None and rule is not None:
        WEBHOOK_SECONDS.labels(rule).observe(time.perf_counter() - started)
        WEBHOOK_RESPONSES.labels(rule, str(response.status_code)).inc()
    return response


# --- read at scrape time ---------------------------------------------------------------

def _gauge(name: str, documentation: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=labels)


def sms_counts() -> dict[tuple[str, str], int]:
    """(kind, status) → messages. "reply": the SMS outbox (replies, notices), by row status;
    "request": SMS about a request sent straight by a job (confirmations, outcomes, visits),
    by the outcome on its timeline. A timeline line that mirrors an SMS-outbox row (it
    carries `sms_id`) is that row, not counted twice."""
    counts: dict[tuple[str, str], int] = {}
    for status, number in db.session.execute(
        select(SmsOutbound.status, func.count())
        .where(SmsOutbound.provider.is_distinct_from(TrainingProvider.name))  # rehearsals sent nothing
        .group_by(SmsOutbound.status)
    ):
        counts[("reply", status)] = number
    outcomes = ("sms_sent", "sms_failed", "sms_not_sent")
    for kind, number in db.session.execute(
        select(TicketEvent.kind, func.count())
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .where(TicketEvent.kind.in_(outcomes), TicketEvent.data["sms_id"].as_integer().is_(None),
               real_requests(Ticket))
        .group_by(TicketEvent.kind)
    ):
        counts[("request", kind.removeprefix("sms_"))] = number
    for status in ("sent", "failed"):  # always present, so an alert's rate() has a series
        counts.setdefault(("reply", status), 0)
        counts.setdefault(("request", status), 0)
    return counts


def transcription_counts() -> dict[str, int]:
    counts = {status.value: 0 for status in TranscriptionStatus}
    for status, number in db.session.execute(
        select(Transcription.status, func.count()).group_by(Transcription.status)
    ):
        counts[status] = number
    return counts


class LineCollector:
    """Gauges computed from the database and Redis on each scrape; a part that is down
    gives its `_up` gauge 0 and leaves its other families out, never an error page."""

    def collect(self):
        yield from self._database()
        yield from self._redis()

    def _database(self):
        up = _gauge("hotline_database_up", "1 when the database answered this scrape.")
        try:
            state = outbox.summary(utcnow())
            sms = sms_counts()
            transcriptions = transcription_counts()
        except Exception:  # reported as a 0, not raised: a scrape must always answer
            db.session.rollback()
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up

        rows = _gauge("hotline_outbox_rows", "Outbox rows by state (finished rows are not counted).",
                      ["state"])
        for name, value in (("pending", state.pending), ("scheduled", state.scheduled),
                            ("set_aside", state.set_aside), ("relayed_unfinished", state.relayed_unfinished),
                            ("failed", state.failed)):
            rows.add_metric([name], value)
        yield rows
        pending_age = _gauge("hotline_outbox_oldest_pending_age_seconds",
                             "How long the oldest due row has waited for the relay (0 when none waits).")
        pending_age.add_metric([], state.oldest_pending_age or 0.0)
        yield pending_age
        unfinished_age = _gauge("hotline_outbox_oldest_unfinished_age_seconds",
                                "Since when the oldest relayed, unfinished job was relayed (0: none).")
        unfinished_age.add_metric([], state.oldest_unfinished_age or 0.0)
        yield unfinished_age

        messages = _gauge("hotline_sms_messages", "SMS to residents by kind and status.", ["kind", "status"])
        for (kind, status), number in sorted(sms.items()):
            messages.add_metric([kind, status], number)
        yield messages

        by_status = _gauge("hotline_transcriptions", "Voice-message transcriptions by status.", ["status"])
        for status, number in sorted(transcriptions.items()):
            by_status.add_metric([status], number)
        yield by_status
        waiting = _gauge("hotline_transcriptions_waiting",
                         "Transcriptions not yet done: queued, running, waiting for audio or a model.")
        waiting.add_metric([], sum(transcriptions[s.value] for s in TRANSCRIPTION_WAITING))
        yield waiting

    def _redis(self):
        from rq import Queue, Worker

        from .health import expected_queues

        up = _gauge("hotline_redis_up", "1 when Redis answered this scrape.")
        redis = get_redis()
        try:
            if redis is None:
                raise ConnectionError("no Redis configured")
            names = sorted(set(expected_queues()) | {queue.name for queue in Queue.all(connection=redis)})
            depths = []
            for name in names:
                queue = Queue(name, connection=redis)
                depths.append((name, "queued", queue.count))
                for state, registry in (("started", queue.started_job_registry),
                                        ("scheduled", queue.scheduled_job_registry),
                                        ("failed", queue.failed_job_registry)):
                    depths.append((name, state, redis.zcard(registry.key)))  # no clean-up side effects
            workers = dict.fromkeys(names, 0)
            for worker in Worker.all(connection=redis):
                for name in worker.queue_names():
                    workers[name] = workers.get(name, 0) + 1
        except Exception:  # reported as a 0, not raised
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        jobs = _gauge("hotline_rq_jobs", "RQ jobs per queue: waiting (queued), running, scheduled "
                      "(retry back-off) and failed for good.", ["queue", "state"])
        for name, state, number in depths:
            jobs.add_metric([name, state], number)
        yield jobs
        listening = _gauge("hotline_rq_workers", "RQ workers listening on each queue.", ["queue"])
        for name, number in sorted(workers.items()):
            listening.add_metric([name], number)
        yield listening


class _ThisProcess:
    """The webhook histogram and counter of this one process (no multiprocess folder)."""

    def collect(self):
        yield from WEBHOOK_SECONDS.collect()
        yield from WEBHOOK_RESPONSES.collect()


@bp.get("/metrics")
def metrics() -> Response:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(LineCollector())
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
