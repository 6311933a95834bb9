"""RQ jobs for the response team. Each takes ids and is idempotent (keys on the timeline,
stable RQ job ids), runs inside the app context the worker pushed, and is one unit of
work (hotline.unit_of_work): committed when it returns, rolled back when it raises."""

from __future__ import annotations

from datetime import datetime

from rq import Queue

from hotline import messaging
from hotline.extensions import db
from hotline.outbox import JOB_RETRY, safe_job_id
from hotline.queueing import get_redis
from hotline.unit_of_work import in_unit_of_work


def schedule_at(when_iso: str, job_id: str, func: str, *args) -> str:
    """Hand `func(*args)` to RQ's scheduler for `when` (the same job id twice is one job)."""
    when = datetime.fromisoformat(when_iso)
    job_id = safe_job_id(job_id)
    Queue("default", connection=get_redis()).enqueue_at(when, func, *args, job_id=job_id, retry=JOB_RETRY)
    return job_id


@in_unit_of_work(release_session=True)
def send_sms(ticket_id: int, template: str, key: str, values: dict[str, str] | None = None) -> str:
    """`values` fill the template's placeholders besides `{code}` (a visit's date)."""
    return messaging.send_ticket_sms(ticket_id, template, key, **(values or {}))


@in_unit_of_work(release_session=True)
def return_to_queue(ticket_id: int, attempt: int) -> bool:
    from hotline.staff.outcomes import return_to_queue as back

    return back(ticket_id, attempt)


@in_unit_of_work(release_session=True)
def visit_reminder(visit_id: int) -> str:
    """The day-before SMS, unless the request was closed or the visit rebooked since."""
    from hotline.models import HomeVisit, TicketStatus

    visit = db.session.get(HomeVisit, visit_id)
    if visit is None or visit.ticket.status not in TicketStatus.open_values():
        return "skipped"
    booked = [e for e in visit.ticket.events if e.kind == "visit_booked"]
    latest = max((e.data or {}).get("visit_id", 0) for e in booked)
    if latest != visit.id:
        return "skipped"
    return messaging.send_ticket_sms(
        visit.ticket_id, "visit_reminder", f"visit-reminder-{visit.id}", date=f"{visit.visit_on:%d/%m}"
    )


@in_unit_of_work(release_session=True)
def notify_volunteer(visit_id: int) -> str:
    from hotline.staff.telephony import notify_volunteer as notify

    return notify(visit_id)


@in_unit_of_work(release_session=True)
def place_callback(ticket_id: int, staff_id: int, key: str) -> str:
    from hotline.staff.telephony import place_callback as place
    from hotline.voice.twiml import render

    return place(ticket_id, staff_id, key, render)
