"""A rehearsal's progress against its scenario's checklist, read from the timelines of the
requests the run opened (hotline.training_scenarios.Step is the vocabulary).

The rule, one line per step (`RULES`): a step is done by the first timeline line, on any
of the run's requests, that it accepts, and its time is that line's. What the resident
does (open a request, leave a voice message, text) counts whoever wrote the line; what
the volunteer does counts only when the trainee did it: the line's `actor` is the
trainee's username, or its data names them as `staff` (a callback the worker placed for
them). So a trainer who claims a trainee's request to show how does not tick the
trainee's box.

Pure reads: plain values out (`StepState`, `RunProgress`), nothing written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from .extensions import db
from .models import EventKind, Outcome, Staff, Ticket, TicketEvent, TrainingRun
from .training_scenarios import Scenario, Step


@dataclass(frozen=True)
class Line:
    """What the rules read of one timeline line."""

    kind: str
    actor: str
    data: Mapping[str, Any]
    at: datetime
    code: str  # the request's code


#: Who wrote the timeline lines of a resident's texts (hotline.sms.pipeline).
SMS_RESIDENT = "resident:sms"


def _by(line: Line, trainee: str) -> bool:
    return line.actor == trainee or line.data.get("staff") == trainee


def _kind(*kinds: EventKind) -> Callable[[Line, str], bool]:
    """Any line of these kinds, whoever wrote it (the resident's side, the hotline's)."""
    return lambda line, trainee: line.kind in kinds


def _trainee(*kinds: EventKind,
             also: Callable[[Line], bool] = lambda line: True) -> Callable[[Line, str], bool]:
    """A line of these kinds that the trainee wrote (and that `also` accepts)."""
    return lambda line, trainee: line.kind in kinds and _by(line, trainee) and also(line)


#: What ticks each step.
RULES: dict[Step, Callable[[Line, str], bool]] = {
    Step.REQUEST_OPENED: _kind(EventKind.CREATED),
    Step.VOICE_MESSAGE_LEFT: _kind(EventKind.VOICE_MESSAGE),
    Step.TRANSCRIPT_ARRIVED: _kind(EventKind.TRANSCRIPTION_DONE),
    # A text the resident sent: the request it opened, a line on an open one (written by
    # "resident:sms", hotline.sms.pipeline), or a text kept as it came (sms_in).
    Step.SMS_RECEIVED: lambda line, trainee: line.kind == EventKind.SMS_IN or line.actor == SMS_RESIDENT,
    Step.CLAIMED: _trainee(EventKind.CLAIMED),
    # The trainee pressed "call back" (the worker then writes "placed", naming them as staff).
    Step.CALLED_BACK: _trainee(EventKind.CALLBACK_REQUESTED, EventKind.CALLBACK_PLACED),
    # A note of its own, or the note written with an outcome, a visit or a transfer.
    Step.NOTE_WRITTEN: lambda line, trainee: _by(line, trainee) and (
        line.kind == EventKind.NOTE
        or (line.kind in (EventKind.OUTCOME, EventKind.VISIT_BOOKED, EventKind.TRANSFERRED)
            and bool(line.data.get("note")))),
    # Any outcome the request page offers: resolved, no answer, wrong number, a visit, a transfer.
    Step.OUTCOME_RECORDED: _trainee(EventKind.OUTCOME, EventKind.VISIT_BOOKED, EventKind.TRANSFERRED),
    Step.OUTCOME_RESOLVED: _trainee(EventKind.OUTCOME,
                                    also=lambda line: line.data.get("outcome") == Outcome.RESOLVED),
    Step.VISIT_BOOKED: _trainee(EventKind.VISIT_BOOKED),
}


@dataclass(frozen=True)
class StepState:
    step: Step
    done: bool
    when: datetime | None = None
    code: str | None = None  # the request whose timeline ticked it


@dataclass(frozen=True)
class RunProgress:
    run_id: int
    trainee: str  # username
    trainee_name: str
    scenario: str  # the scenario's name (its file name)
    started_at: datetime
    phone: str | None
    requests: tuple[tuple[str, str], ...]  # (code, status), the newest first
    steps: tuple[StepState, ...]

    @property
    def done(self) -> int:
        return sum(1 for state in self.steps if state.done)


def decide(checklist: Sequence[Step | str], lines: Iterable[Line], trainee: str) -> list[StepState]:
    """Each step of `checklist`, in its order: done or not, when, on which request."""
    ordered = sorted(lines, key=lambda line: line.at)
    states = []
    for step in map(Step, checklist):
        first = next((line for line in ordered if RULES[step](line, trainee)), None)
        states.append(StepState(step, True, first.at, first.code) if first else StepState(step, False))
    return states


def runs_progress(runs: Sequence[TrainingRun], scenarios: Mapping[str, Scenario]) -> list[RunProgress]:
    """The progress of each run, in the order given; two queries whatever the number of runs. A
    run of a scenario no longer on disk has no checklist (its requests still show)."""
    ids = [run.id for run in runs]
    tickets: dict[int, list[Ticket]] = {run_id: [] for run_id in ids}
    if ids:
        for ticket in db.session.scalars(
                select(Ticket).where(Ticket.training_run_id.in_(ids)).order_by(Ticket.id.desc())):
            tickets[ticket.training_run_id or 0].append(ticket)
    codes = {ticket.id: (ticket.code, ticket.training_run_id)
             for found in tickets.values() for ticket in found}
    lines: dict[int, list[Line]] = {run_id: [] for run_id in ids}
    if codes:
        rows = db.session.execute(
            select(TicketEvent.ticket_id, TicketEvent.kind, TicketEvent.actor, TicketEvent.data,
                   TicketEvent.created_at)
            .join(Ticket, Ticket.id == TicketEvent.ticket_id)
            .where(Ticket.training_run_id.in_(ids))
            .order_by(TicketEvent.created_at, TicketEvent.id))
        for ticket_id, kind, actor, data, at in rows:
            code, run_id = codes[ticket_id]
            lines[run_id or 0].append(Line(kind, actor or "", data or {}, at, code))
    found = []
    for run in runs:
        scenario = scenarios.get(run.scenario)
        username = run.trainee.username
        found.append(RunProgress(
            run_id=run.id, trainee=username, trainee_name=run.trainee.name, scenario=run.scenario,
            started_at=run.started_at, phone=run.phone,
            requests=tuple((t.code, t.status) for t in tickets[run.id]),
            steps=tuple(decide(scenario.steps, lines[run.id], username) if scenario else ()),
        ))
    return found


def run_progress(run: TrainingRun, scenarios: Mapping[str, Scenario]) -> RunProgress:
    return runs_progress([run], scenarios)[0]


def recent_runs(trainee: str | None = None, limit: int = 100) -> list[TrainingRun]:
    """The latest runs, the newest first; one trainee's (by username) when `trainee` is given."""
    query = select(TrainingRun).order_by(TrainingRun.started_at.desc(), TrainingRun.id.desc()).limit(limit)
    if trainee is not None:
        query = query.where(TrainingRun.trainee_id.in_(select(Staff.id).where(Staff.username == trainee)))
    return list(db.session.scalars(query))


def trainees() -> list[tuple[str, str]]:
    """(username, name) of everyone who has rehearsed, by name: the trainer page's filter."""
    rows = db.session.execute(
        select(Staff.username, Staff.name).where(Staff.id.in_(select(TrainingRun.trainee_id)))
        .order_by(Staff.name, Staff.username))
    return [(username, name) for username, name in rows]
