"""Step storage: the call and its steps as the voice hot path reads and writes them.

Each webhook of a call carries a step number `n` in its URL; the document answered for
(CallSid, n) is stored with the step's side effects, committed together, so a provider's
retry gets the same document byte for byte and creates nothing twice (`answer_step`).

Every caller waits on these webhooks, so this is Core statements built once rather than
ORM units of work: one query reads everything a step may need (the call, the stored
answer to a retry, the caller's remembered language and open request), and one statement
on PostgreSQL writes the caller's language, the call and the step
(bench/voice_webhooks.py measures it).

This is the voice step's unit of work: `answer_step` commits once, after the step is
written; everything the walker calls on the way (a request, a voice message, an outbox
row) only flushes into the same transaction.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, String, Update, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError

from .. import tickets, training
from ..extensions import db
from ..models import Call, CallStep, Resident, Staff, Ticket, utcnow


@dataclass
class CallState:
    """The call as a step sees and changes it: read by the step's one query, written back
    with the step (an insert on first sight, else an update of the columns that changed)."""

    call_sid: str
    from_number: str | None
    phone: str | None
    to_number: str | None
    language: str | None = None
    ticket_id: int | None = None
    outcome: str | None = None
    #: None until the call has a row (the first step inserts it).
    id: int | None = None
    changed: set[str] = field(default_factory=set)
    #: The caller chose a language: their number remembers it for the next call.
    remember_language: bool = False
    #: The role of the active staff account whose registered phone this is, when it has a
    #: recording-booth PIN (the booth's door asks for it); None for everyone else.
    staff_role: str | None = None

    def change(self, name: str, value: Any) -> None:
        if getattr(self, name) != value:
            setattr(self, name, value)
            self.changed.add(name)

    def new_row(self, now: datetime) -> dict[str, Any]:
        """The calls row a first step inserts (a practice-phone call carries its rehearsal)."""
        return {**{name: getattr(self, name) for name in CALL_STATE_COLUMNS},
                "status": "in-progress", "started_at": now, "training_run_id": training.current_run_id()}


@dataclass(frozen=True)
class RequestSummary:
    """What the status read-out needs of a request."""

    code: str
    status: str


@dataclass(frozen=True)
class Answer:
    """What a step produced: the rendered document, and whether the step created something a
    resident relies on (a request, a voice message), so its commit waits for the disk."""

    document: str
    durable: bool = False


#: Walks the flow for a step that has no stored answer: (the call, the caller's open request).
Produce = Callable[[CallState, "RequestSummary | None"], Answer]


def _open_request_id(phone: Any) -> Any:
    return tickets.latest_open_ticket_id(phone).scalar_subquery()


def _read_call_statement() -> Any:
    """(call_sid, seq, phone) → the call's row if any, the document stored for this step, the
    language the caller's number remembers, and the caller's open request."""
    wanted = select(bindparam("call_sid", type_=String).label("call_sid")).subquery("wanted")
    open_request = TICKETS.alias("open_request")
    phone = bindparam("phone", type_=String)
    remembered = select(RESIDENTS.c.language).where(RESIDENTS.c.phone == phone).scalar_subquery()
    staff_role = select(STAFF.c.role).where(
        STAFF.c.phone == phone, STAFF.c.active.is_(True), STAFF.c.pin_hash.is_not(None)).scalar_subquery()
    # A correlated lookup, not a join: PostgreSQL keeps the plan it made for the prepared
    # statement while the tables were nearly empty, and a join may then scan every step.
    stored = select(STEPS.c.twiml).where(
        STEPS.c.call_id == CALLS.c.id, STEPS.c.seq == bindparam("seq")).scalar_subquery()
    return select(
        CALLS.c.id, CALLS.c.language, CALLS.c.ticket_id, CALLS.c.outcome, stored.label("twiml"),
        remembered.label("remembered_language"), staff_role.label("staff_role"),
        open_request.c.code.label("open_code"), open_request.c.status.label("open_status"),
    ).select_from(
        wanted.outerjoin(CALLS, CALLS.c.call_sid == wanted.c.call_sid)
        .outerjoin(open_request, open_request.c.id == _open_request_id(phone))
    )


def _remember_language(dialect: Any) -> Any:
    """The caller's number remembers the language (a resident created on first contact), in
    one statement two calls from one number can run at once."""
    upsert = dialect.insert(RESIDENTS).values(
        phone=bindparam("caller_phone"), language=bindparam("caller_language"),
        created_at=bindparam("remembered_at", type_=RESIDENTS.c.created_at.type))
    return upsert.on_conflict_do_update(
        index_elements=[RESIDENTS.c.phone], set_={"language": upsert.excluded.language})


CALLS, STEPS, RESIDENTS, TICKETS, STAFF = (  # as Tables (a model's __table__ is typed as any FromClause)
    db.metadata.tables[model.__tablename__] for model in (Call, CallStep, Resident, Ticket, Staff)
)
CALL_STATE_COLUMNS = ("call_sid", "from_number", "phone", "to_number", "language", "ticket_id", "outcome")
STEP_COLUMNS = ("call_id", "seq", "node", "digits", "twiml", "created_at")
#: Built once: the hot path only binds values (SQLAlchemy's compiled cache does the rest).
READ_CALL = _read_call_statement()
REMEMBER_LANGUAGE = {"postgresql": _remember_language(postgresql), "sqlite": _remember_language(sqlite)}
INSERT_CALL = insert(CALLS).returning(CALLS.c.id)
UPDATE_CALL = update(CALLS).where(CALLS.c.id == bindparam("call_id"))
INSERT_STEP = insert(STEPS)


@functools.cache
def _write_in_one_statement(new_call: bool, changed: frozenset[str], remember_language: bool) -> Any:
    """PostgreSQL: the caller's language, the call (inserted, or what changed) and the step in
    one statement (data-modifying CTEs), one round trip; built once per shape.

    It also sets how its transaction commits (`commit_mode`): a step that only moved through
    menus need not wait for the disk (a database crash could forget it; the provider's retry
    would simply run it again); one that created a request or a voice message does.
    """
    def bound(table: Any, name: str, prefix: str = "") -> Any:
        return bindparam(prefix + name, type_=table.c[name].type)

    call: Insert | Update | None
    if new_call:
        columns = (*CALL_STATE_COLUMNS, "status", "started_at", "training_run_id")
        call = insert(CALLS).values({name: bound(CALLS, name, "call_") for name in columns})
    elif changed:
        call = update(CALLS).where(CALLS.c.id == bound(STEPS, "call_id")).values(
            {name: bound(CALLS, name, "call_") for name in sorted(changed)})
    else:
        call = None
    if call is None:
        call_id = bound(STEPS, "call_id")
    else:
        call_id = call.returning(CALLS.c.id).cte("written_call").c.id
    step = select(call_id, *(bound(STEPS, name) for name in STEP_COLUMNS[1:]))
    statement = insert(STEPS).from_select(list(STEP_COLUMNS), step).returning(
        func.set_config("synchronous_commit", bindparam("commit_mode", type_=String), True))
    if remember_language:
        statement = statement.add_cte(_remember_language(postgresql).cte("remembered"))
    return statement


def answer_step(
    call_sid: str, from_number: str | None, phone: str | None, to_number: str | None,
    seq: int, node: str, digits: str | None, produce: Produce,
) -> str:
    """One webhook, committed whole: the call (on first sight), the step's side effects and its
    document together; a retry, or a twin that lost the race, gets the stored document."""
    for _ in range(3):
        call = CallState(call_sid=call_sid, from_number=from_number, phone=phone, to_number=to_number)
        try:
            return _answer_once(call, seq, node, digits, produce)
        except IntegrityError:  # a twin of this request committed first: answer what it answered
            db.session.rollback()
        except DBAPIError as error:
            # The pool's connection died (a database restart): the step runs again on a fresh
            # one; it was committed whole (the run again replays it) or not at all.
            if not error.connection_invalidated:
                raise
            db.session.rollback()
    raise RuntimeError(f"step {seq} of call {call_sid!r} kept conflicting")


def _answer_once(call: CallState, seq: int, node: str, digits: str | None, produce: Produce) -> str:
    with _statement_connection() as autocommit:
        reader = autocommit if autocommit is not None else db.session.connection()
        stored, open_request = read_call(reader, call, seq)
        if stored is not None:
            return stored
        answer = produce(call, open_request)
        if autocommit is not None and not db.session().in_transaction():
            write_step(autocommit, call, seq, node, digits, answer)
        else:  # the step's side effects (a request, its SMS in the outbox) commit with it
            write_step(db.session.connection(), call, seq, node, digits, answer)
            db.session.commit()
    return answer.document


def read_call(connection: Connection, call: CallState, seq: int) -> tuple[str | None, RequestSummary | None]:
    """Everything a step may need, in one round trip (see READ_CALL): fills in `call` from its
    row (or the language the caller's number remembers) and returns the document stored for
    this step, if any, and the caller's open request."""
    found = connection.execute(READ_CALL, {"call_sid": call.call_sid, "seq": seq, "phone": call.phone}).one()
    if found.id is None:
        call.language = found.remembered_language
    else:
        call.id, call.language, call.ticket_id, call.outcome = (
            found.id, found.language, found.ticket_id, found.outcome)
    call.staff_role = found.staff_role
    open_request = RequestSummary(found.open_code, found.open_status) if found.open_code else None
    return found.twiml, open_request


@contextlib.contextmanager
def _statement_connection() -> Iterator[Connection | None]:
    """PostgreSQL: a connection outside the session's transaction, where the step's read and
    (for a step that wrote nothing else) its write are one statement each, each its own
    transaction: no BEGIN and COMMIT round trips. A twin of the step still loses on the unique
    (call, seq) and replays the winner's document. SQLite: None (the session's transaction)."""
    if db.engine.dialect.name != "postgresql":
        yield None
        return
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        yield connection


def write_step(
    connection: Connection, call: CallState, seq: int, node: str, digits: str | None, answer: Answer,
) -> None:
    """The caller's language if they chose one, the call on first sight (else what the step
    changed in it) and the step's document: one statement on PostgreSQL, a few on SQLite."""
    now = utcnow()
    step = {"seq": seq, "node": node, "digits": digits, "twiml": answer.document, "created_at": now}
    language = {"caller_phone": call.phone, "caller_language": call.language, "remembered_at": now}
    if connection.dialect.name == "postgresql":
        statement = _write_in_one_statement(call.id is None, frozenset(call.changed), call.remember_language)
        written = {f"call_{name}": value for name, value in call.new_row(now).items()}
        commit_mode = "on" if answer.durable else "off"
        connection.execute(
            statement, {**step, **language, **written, "call_id": call.id, "commit_mode": commit_mode})
        return
    if call.remember_language:
        connection.execute(REMEMBER_LANGUAGE["sqlite"], language)
    if call.id is None:
        call.id = connection.execute(INSERT_CALL, call.new_row(now)).scalar_one()
    elif call.changed:
        changes = {name: getattr(call, name) for name in call.changed}
        connection.execute(UPDATE_CALL, {"call_id": call.id, **changes})
    connection.execute(INSERT_STEP, {"call_id": call.id, **step})
