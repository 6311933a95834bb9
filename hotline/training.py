"""The training space: what keeps a rehearsal on the browser phone apart from real work.

A trainee rehearses a scenario (`ivr_flows/training/*.yaml`) as a `TrainingRun`: the
simulated resident gets a number of the run's own, and the simulator's edge runs the real
voice and SMS code inside `rehearsing(run)`, so every request it opens and every call carry
the run's id (`Ticket.training_run_id`, `Call.training_run_id`) and every SMS it queues is
marked for the training provider.

What that buys, and where it is enforced:
- Nothing reaches a phone: SMS to a training request or queued while rehearsing go to
  `messaging.TrainingProvider` (stored, shown in the simulator's thread, never sent); a
  callback or a volunteer's text about a training request is written on its timeline as
  what would have happened (hotline.staff.telephony).
- Real work never sees it: the queue, "take the next request", reports, CSV exports, the
  API and `hotline tickets list` read `real_requests()` unless a trainer asks for the
  training space (`space_clause`).
- One command wipes it: `hotline training reset` (`reset`).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.sql import ColumnElement

from .extensions import db
from .models import Role, SmsMessage, SmsOutbound, Staff, Ticket, TrainingRun

#: The run whose simulated calls and texts the current unit of work carries (None: real).
_current_run: contextvars.ContextVar[int | None] = contextvars.ContextVar("training_run", default=None)

#: Simulated residents' numbers: this prefix and five digits, the run's id (valid Vietnamese
#: mobile numbers, as the real code requires, in a block the commune does not serve).
NUMBER_PREFIX = "+849999"

#: The two spaces a staff page can show.
REAL, TRAINING = "real", "training"
#: Who runs training sessions: the trainer's page, and the training space in reports and the API.
TRAINER_ROLES = (Role.LEAD, Role.ADMIN)
SPACES = (REAL, TRAINING)


@contextlib.contextmanager
def rehearsing(run_id: int) -> Iterator[None]:
    """Run real code as the simulated resident of run `run_id`: what it creates is training."""
    token = _current_run.set(run_id)
    try:
        yield
    finally:
        _current_run.reset(token)


def current_run_id() -> int | None:
    return _current_run.get()


def space_clause(t: Any = Ticket, space: str = REAL) -> ColumnElement[bool]:
    """The requests of one space, on the ORM `Ticket` or a Core table with the column."""
    if space == TRAINING:
        return t.training_run_id.is_not(None)
    return t.training_run_id.is_(None)


def real_requests(t: Any = Ticket) -> ColumnElement[bool]:
    """The WHERE clause every real view of the requests adds: no rehearsal's requests."""
    return space_clause(t, REAL)


def space_for(staff: Staff | None, args: Any) -> str:
    """The space a report, an export or the API shows: the real one, unless a trainer asks for
    the training space (`?space=training`)."""
    if args.get("space") == TRAINING and staff is not None and staff.role in TRAINER_ROLES:
        return TRAINING
    return REAL


def is_training(ticket: Ticket | None) -> bool:
    return ticket is not None and ticket.training_run_id is not None


def run_number(run_id: int) -> str:
    return f"{NUMBER_PREFIX}{run_id % 100_000:05d}"


def start_run(trainee: Staff, scenario: str, *, withheld: bool = False) -> TrainingRun:
    """A new rehearsal of `scenario` for `trainee`, with its own simulated number (none when
    the scenario's resident hides their number)."""
    run = TrainingRun(trainee=trainee, scenario=scenario)
    db.session.add(run)
    db.session.flush()
    if not withheld:
        run.phone = run_number(run.id)
    db.session.flush()
    return run


def run_requests(run: TrainingRun) -> list[Ticket]:
    """The requests a run's calls and texts opened, the newest first."""
    return list(db.session.scalars(
        select(Ticket).where(Ticket.training_run_id == run.id).order_by(Ticket.id.desc())))


def thread(run: TrainingRun) -> list[dict[str, Any]]:
    """The simulated resident's SMS thread, oldest first: what they sent, and what the hotline
    would have sent them (never sent: the training provider kept it)."""
    if run.phone is None:
        return []
    inbound = db.session.scalars(select(SmsMessage).where(SmsMessage.phone == run.phone))
    outbound = db.session.scalars(select(SmsOutbound).where(SmsOutbound.phone == run.phone))
    lines = [{"id": f"in-{m.id}", "from": "resident", "body": m.body or "", "at": m.created_at}
             for m in inbound]
    lines += [{"id": f"out-{m.id}", "from": "hotline", "body": m.body, "at": m.created_at, "status": m.status}
              for m in outbound]
    return sorted(lines, key=lambda line: (line["at"], line["id"]))
