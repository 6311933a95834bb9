"""What happened when the team called back: resolved, no answer, wrong number, home visit,
transferred; plus notes, routing and the callback itself.

Each function changes the rows, writes the timeline and the audit log, and puts
any SMS or scheduled work in the outbox, in the session, and returns: the edge's unit of
work (hotline.unit_of_work) commits it all at once, with whatever else the action did.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app

from .. import jobs, office_hours, training
from ..extensions import db
from ..messaging import twilio_client
from ..models import EventKind, HomeVisit, Outcome, Staff, Team, Ticket, TicketStatus, Village, utcnow
from ..outbox import add_job
from ..tickets import add_event
from . import access, audit
from .claims import ClaimError
from .rules import rules


def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def _hhmm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def _check_worker(ticket: Ticket, staff: Staff) -> None:
    access.check_can_see(staff, ticket)
    if ticket.status not in TicketStatus.open_values():
        raise ClaimError("closed", "request is closed")
    if ticket.assignee_id != staff.id and not access.can_assign(staff):
        raise ClaimError("not_yours", "claim the request first")


def _close(ticket: Ticket, status: str, outcome: str) -> None:
    ticket.status = status
    ticket.outcome = outcome
    ticket.closed_at = utcnow()
    ticket.next_attempt_at = None


def next_retry_time(attempt: int, now: datetime) -> datetime:
    """First retry a couple of hours later, later ones the next morning (local time); either
    moved to the next opening when the office is closed then (`in_office_hours`): a retry
    at 17:04 after a 17:00 close would wait all night at the top of an empty office's queue."""
    settings = rules()["retries"]
    if attempt <= 1:
        return in_office_hours(now + timedelta(hours=float(settings["first_delay_hours"])))
    local_now = now.astimezone(_tz())
    morning = datetime.combine(
        local_now.date() + timedelta(days=1), _hhmm(settings["next_morning"]), tzinfo=_tz()
    )
    return in_office_hours(morning)


def in_office_hours(when: datetime) -> datetime:
    """`when` if the office is open then, else the next opening after it, by the weekly
    hours and holidays the voice menu follows (hotline.office_hours). Unchanged when no
    office hours are set at all (nothing to wait for), or none in the coming year."""
    if office_hours.is_open(when):
        return when
    week = office_hours.weekly_hours()
    holidays = office_hours.current().holidays
    local = when.astimezone(_tz())
    for days_ahead in range(366):
        day = local.date() + timedelta(days=days_ahead)
        if day in holidays:
            continue
        for opens, _closes in sorted(week.get(day.weekday(), [])):
            opening = datetime.combine(day, opens, tzinfo=_tz())
            if opening > local:
                return opening.astimezone(when.tzinfo)
    return when


def resolve(ticket: Ticket, staff: Staff, note: str | None = None, *, via: str = "web") -> Ticket:
    _check_worker(ticket, staff)
    _close(ticket, TicketStatus.RESOLVED, Outcome.RESOLVED)
    add_event(
        ticket,
        EventKind.OUTCOME,
        f"resolved by {staff.name}" + (f": {note}" if note else ""),
        data={"outcome": Outcome.RESOLVED, "via": via, "note": note},
        actor=staff.username,
    )
    add_job(f"staff-sms-resolved-{ticket.id}", jobs.send_ticket_sms, ticket.id, "staff_resolved", "resolved")
    audit.record(staff.username, "outcome", ticket.code, outcome=Outcome.RESOLVED, via=via)
    return ticket


def no_answer(ticket: Ticket, staff: Staff, note: str | None = None, *, via: str = "web") -> Ticket:
    """Count the attempt; retry later, or after the last try ask the resident to call us."""
    _check_worker(ticket, staff)
    ticket.attempts = (ticket.attempts or 0) + 1
    attempt = ticket.attempts
    max_attempts = int(rules()["retries"]["max_attempts"])
    data = {"outcome": Outcome.NO_ANSWER, "attempt": attempt, "max_attempts": max_attempts, "via": via}
    if attempt >= max_attempts:
        _close(ticket, TicketStatus.RESOLVED, Outcome.UNREACHABLE)
        add_event(
            ticket,
            EventKind.OUTCOME,
            f"no answer (try {attempt} of {max_attempts}); SMS asks the resident to call the hotline",
            data=data,
            actor=staff.username,
        )
        add_job(
            f"staff-sms-unreachable-{ticket.id}",
            jobs.send_ticket_sms,
            ticket.id,
            "staff_unreachable",
            "unreachable",
        )
    else:
        when = next_retry_time(attempt, utcnow())
        ticket.next_attempt_at = when
        ticket.assignee_id = None
        ticket.claimed_at = None
        ticket.status = TicketStatus.OPEN
        ticket.outcome = Outcome.NO_ANSWER
        data["retry_at"] = when.isoformat()
        add_event(
            ticket,
            EventKind.OUTCOME,
            f"no answer (try {attempt} of {max_attempts}); back in the queue "
            f"at {when.astimezone(_tz()):%d/%m %H:%M}",
            data=data,
            actor=staff.username,
        )
        add_job(f"retry-{ticket.id}-{attempt}", jobs.return_to_queue, ticket.id, attempt, run_at=when)
    if note:
        add_event(ticket, EventKind.NOTE, note, actor=staff.username)
    audit.record(staff.username, "outcome", ticket.code, outcome=Outcome.NO_ANSWER, attempt=attempt)
    return ticket


def return_to_queue(ticket_id: int, attempt: int) -> bool:
    """The scheduled retry: the request shows in the queue again (once per attempt)."""
    ticket = db.session.get(Ticket, ticket_id)
    if (
        ticket is None
        or ticket.status not in TicketStatus.open_values()
        or ticket.attempts != attempt
        or ticket.next_attempt_at is None
    ):
        return False
    ticket.next_attempt_at = None
    add_event(
        ticket,
        EventKind.RETRY_DUE,
        f"back in the queue for callback try {attempt + 1}",
        data={"attempt": attempt + 1},
    )
    return True


def wrong_number(ticket: Ticket, staff: Staff, note: str | None = None, *, via: str = "web") -> Ticket:
    _check_worker(ticket, staff)
    _close(ticket, TicketStatus.CANCELLED, Outcome.WRONG_NUMBER)
    add_event(
        ticket,
        EventKind.OUTCOME,
        "wrong number" + (f": {note}" if note else ""),
        data={"outcome": Outcome.WRONG_NUMBER, "via": via, "note": note},
        actor=staff.username,
    )
    audit.record(staff.username, "outcome", ticket.code, outcome=Outcome.WRONG_NUMBER, via=via)
    return ticket


def book_visit(
    ticket: Ticket,
    staff: Staff,
    visit_on: date,
    volunteer: Staff,
    note: str | None = None,
    *,
    via: str = "web",
) -> HomeVisit:
    """Book a home visit: SMS to the resident now and the day before, SMS to the volunteer."""
    _check_worker(ticket, staff)
    today = utcnow().astimezone(_tz()).date()
    if visit_on < today:
        raise ClaimError("bad_date", "the visit date is in the past")
    if not volunteer.active or not access.can_see(volunteer, ticket):
        raise ClaimError("wrong_team", f"{volunteer.name} cannot work this request")
    visit = HomeVisit(ticket=ticket, volunteer=volunteer, visit_on=visit_on, booked_by=staff.username)
    db.session.add(visit)
    ticket.outcome = Outcome.HOME_VISIT
    ticket.assignee_id = volunteer.id
    ticket.claimed_at = ticket.claimed_at or utcnow()
    ticket.status = TicketStatus.IN_PROGRESS
    db.session.flush()
    add_event(
        ticket,
        EventKind.VISIT_BOOKED,
        f"home visit on {visit_on:%d/%m/%Y} by {volunteer.name}" + (f": {note}" if note else ""),
        data={
            "visit_id": visit.id,
            "visit_on": visit_on.isoformat(),
            "volunteer": volunteer.username,
            "via": via,
            "note": note,
        },
        actor=staff.username,
    )
    add_job(
        f"staff-sms-visit-{visit.id}",
        jobs.send_ticket_sms,
        ticket.id,
        "visit_booked",
        f"visit-booked-{visit.id}",
        {"date": f"{visit_on:%d/%m}"},
    )
    add_job(f"staff-sms-volunteer-{visit.id}", jobs.notify_volunteer, visit.id)
    remind_at = datetime.combine(
        visit_on - timedelta(days=1), _hhmm(rules()["visit_reminder_time"]), tzinfo=_tz()
    )
    if remind_at > utcnow():
        add_job(f"visit-reminder-{visit.id}", jobs.visit_reminder, visit.id, run_at=remind_at)
    audit.record(
        staff.username,
        "visit_booked",
        ticket.code,
        visit_on=visit_on.isoformat(),
        volunteer=volunteer.username,
    )
    return visit


def transfer(
    ticket: Ticket, staff: Staff, team: Team, note: str | None = None, *, via: str = "web"
) -> Ticket:
    _check_worker(ticket, staff)
    previous = ticket.team.code if ticket.team else None
    ticket.team_id = team.id
    ticket.assignee_id = None
    ticket.claimed_at = None
    ticket.status = TicketStatus.OPEN
    ticket.outcome = Outcome.TRANSFERRED
    add_event(
        ticket,
        EventKind.TRANSFERRED,
        f"transferred to {team.name}" + (f": {note}" if note else ""),
        data={"from": previous, "to": team.code, "via": via, "note": note},
        actor=staff.username,
    )
    audit.record(staff.username, "transfer", ticket.code, to=team.code, previous=previous)
    return ticket


def add_note(ticket: Ticket, staff: Staff, text: str, *, via: str = "web") -> None:
    access.check_can_see(staff, ticket)
    text = text.strip()
    if not text:
        raise ValueError("empty note")
    add_event(ticket, EventKind.NOTE, text[:4000], data={"via": via}, actor=staff.username)
    audit.record(staff.username, "note", ticket.code)


def set_village(ticket: Ticket, staff: Staff, village: Village) -> None:
    """Route a request by hand: its village decides its team."""
    access.check_can_see(staff, ticket)
    ticket.village_id = village.id
    ticket.team_id = village.team_id
    add_event(
        ticket,
        EventKind.ROUTED,
        f"village set to {village.name}",
        data={"village": village.code},
        actor=staff.username,
    )
    audit.record(staff.username, "set_village", ticket.code, village=village.code)


def set_elderly(ticket: Ticket, staff: Staff, elderly: bool) -> None:
    access.check_can_see(staff, ticket)
    ticket.elderly = elderly
    add_event(ticket, EventKind.FLAG, "marked elderly" if elderly else "elderly flag removed",
              data={"elderly": elderly}, actor=staff.username)
    audit.record(staff.username, "set_elderly", ticket.code, elderly=elderly)


def start_callback(ticket: Ticket, staff: Staff) -> dict:
    """Ring the staff member's phone through Twilio, then connect the resident with the hotline
    number as caller ID; without Twilio credentials, say which number to dial by hand."""
    access.check_can_see(staff, ticket)
    if not ticket.phone:
        raise ClaimError("no_number", "the resident's number is unknown")
    rehearsal = training.is_training(ticket)  # the same job, which then dials nobody
    if not rehearsal and (twilio_client() is None or not staff.phone):
        return {
            "mode": "manual",
            "dial": ticket.phone,
            "reason": "no_twilio" if staff.phone else "no_staff_phone",
        }
    key = uuid.uuid4().hex[:12]
    add_job(f"staff-callback-{ticket.id}-{key}", jobs.place_callback, ticket.id, staff.id, key)
    add_event(
        ticket,
        EventKind.CALLBACK_REQUESTED,
        f"{staff.name} is calling back through the hotline",
        data={"key": key, "staff": staff.username},
        actor=staff.username,
    )
    audit.record(staff.username, "callback", ticket.code)
    return {"mode": "training" if rehearsal else "twilio", "staff_phone": staff.phone, "key": key}
