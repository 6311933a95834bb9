"""RQ jobs for the response team. Each takes ids and is idempotent (keys on the timeline,
stable RQ job ids), and runs inside the app context the worker pushed."""

from __future__ import annotations

from datetime import datetime

from rq import Queue

from hotline import messaging
from hotline.extensions import db
from hotline.outbox import JOB_RETRY, safe_job_id
from hotline.queueing import get_redis


def schedule_at(when_iso: str, job_id: str, func: str, *args) -> str:
    """Hand `func(*args)` to RQ's scheduler for `when` (the same job id twice is one job)."""
    when = datetime.fromisoformat(when_iso)
    job_id = safe_job_id(job_id)
    Queue("default", connection=get_redis()).enqueue_at(when, func, *args, job_id=job_id, retry=JOB_RETRY)
    return job_id


def send_sms(ticket_id: int, template: str, key: str, values: dict[str, str] | None = None) -> str:
    """`values` fill the template's placeholders besides `{code}` (a visit's date)."""
    try:
        return messaging.send_ticket_sms(ticket_id, template, key, **(values or {}))
    finally:
        db.session.remove()


def return_to_queue(ticket_id: int, attempt: int) -> bool:
    from hotline.staff.outcomes import return_to_queue as back

    try:
        return back(ticket_id, attempt)
    finally:
        db.session.remove()


def visit_reminder(visit_id: int) -> str:
    """The day-before SMS, unless the request was closed or the visit rebooked since."""
    from hotline.models import HomeVisit, TicketStatus

    try:
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
    finally:
        db.session.remove()


def notify_volunteer(visit_id: int) -> str:
    from hotline.staff.telephony import notify_volunteer as notify

    try:
        return notify(visit_id)
    finally:
        db.session.remove()


def place_callback(ticket_id: int, staff_id: int, key: str) -> str:
    from hotline.staff.telephony import place_callback as place
    from hotline.voice.twiml import render

    try:
        return place(ticket_id, staff_id, key, render)
    finally:
        db.session.remove()
