"""RQ jobs for the response team. Each takes ids and is idempotent (keys on the timeline,
stable RQ job ids), runs inside the app context the worker pushed, and is one unit of
work (hotline.unit_of_work): committed when it returns, rolled back when it raises.

Work for later (a no-answer retry, a visit reminder) is an outbox row with `run_at`:
the relay enqueues it when it comes due, so it needs no job of its own here.
"""

from __future__ import annotations

from hotline import jobs, messaging
from hotline.extensions import db
from hotline.unit_of_work import in_unit_of_work


@jobs.send_ticket_sms.implementation
@in_unit_of_work(release_session=True)
def send_sms(ticket_id: int, template: str, key: str, values: dict[str, str] | None = None) -> str:
    """`values` fill the template's placeholders besides `{code}` (a visit's date)."""
    return messaging.send_ticket_sms(ticket_id, template, key, **(values or {}))


@jobs.return_to_queue.implementation
@in_unit_of_work(release_session=True)
def return_to_queue(ticket_id: int, attempt: int) -> bool:
    from hotline.staff.outcomes import return_to_queue as back

    return back(ticket_id, attempt)


@jobs.visit_reminder.implementation
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


@jobs.notify_volunteer.implementation
@in_unit_of_work(release_session=True)
def notify_volunteer(visit_id: int) -> str:
    from hotline.staff.telephony import notify_volunteer as notify

    return notify(visit_id)


@jobs.place_callback.implementation
@in_unit_of_work(release_session=True)
def place_callback(ticket_id: int, staff_id: int, key: str) -> str:
    from hotline.staff.telephony import place_callback as place
    from hotline.voice.twiml import render

    return place(ticket_id, staff_id, key, render)
