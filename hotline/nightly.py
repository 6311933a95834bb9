"""The nightly work on residents' data: the retention pass (hotline.retention) at
RETENTION_HOUR and the backup (hotline.backup) at BACKUP_HOUR, local time.

Each night's run is an outbox row with `run_at` (the way the hotline schedules all work for
later: it waits in the database, not in Redis), keyed by the night (`retention-2026-11-30`),
so however many processes schedule it, it runs once. Each run schedules the next night's;
the relay schedules tonight's when it starts (`schedule_at_start`), so a fresh install, or
one whose chain broke (a row set aside), starts again by itself.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app

from . import clock, jobs
from .outbox import add_job

log = logging.getLogger(__name__)

#: (job id prefix, job, setting with the local hour)
NIGHTLY = (
    ("retention", jobs.apply_retention, "RETENTION_HOUR"),
    ("backup", jobs.nightly_backup, "BACKUP_HOUR"),
)


def next_run(now: datetime, hour: int, zone: ZoneInfo) -> datetime:
    """The next `hour`:00 in `zone` strictly after `now` (aware UTC)."""
    local = now.astimezone(zone)
    moment = datetime.combine(local.date(), time(hour), tzinfo=zone)
    if moment <= local:
        moment = datetime.combine(local.date() + timedelta(days=1), time(hour), tzinfo=zone)
    return moment.astimezone(now.tzinfo)


def schedule(job: jobs.JobSpec, *, after: datetime | None = None) -> date:
    """The next night's row for `job` (once per night); returns that night's local date."""
    prefix, _, setting = next(entry for entry in NIGHTLY if entry[1] is job)
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    when = next_run(after or clock.now(), int(current_app.config[setting]), zone)
    night = when.astimezone(zone).date()
    add_job(f"{prefix}-{night.isoformat()}", job, night.isoformat(), run_at=when)
    return night


def schedule_all() -> None:
    for _, job, _ in NIGHTLY:
        schedule(job)


def schedule_at_start() -> None:
    """`hotline relay` (which `hotline up` and the Procfile run) makes sure tonight's rows exist."""
    from sqlalchemy.exc import SQLAlchemyError

    from .unit_of_work import unit_of_work

    try:
        with unit_of_work():
            schedule_all()
    except SQLAlchemyError as error:  # the database is down: the next start (or night) tries again
        log.warning("could not schedule the nightly retention and backup: %s", error)
