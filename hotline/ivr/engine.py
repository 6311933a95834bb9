"""From a Twilio voice webhook to the next TwiML document.

Each webhook of a call carries a step number `n` in its URL; the TwiML answered
for (CallSid, n) is stored with the step's side effects, committed together, so
a Twilio retry gets the same document and creates nothing twice.

Every caller waits on these webhooks, so the hot path is Core statements built
once rather than ORM units of work: one query reads everything a step may need
(the call, the stored answer to a retry, the caller's remembered language and
open request), and one statement on PostgreSQL writes the caller's language, the
call and the step (bench/voice_webhooks.py measures it).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app, has_request_context, request, url_for
from sqlalchemy import String, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError
from twilio.twiml.voice_response import VoiceResponse

from .. import office_hours, outbox, tickets, voicemail
from ..extensions import db
from ..models import (
    Call,
    CallStep,
    Channel,
    Resident,
    Ticket,
    TicketReason,
    utcnow,
)
from ..phones import to_e164
from ..prompts import PromptLibrary
from .flow import Flow, FlowError, load_flow
from .nodes import NODE_TYPES

#: Non-interactive nodes followed within one document before the engine gives up.
MAX_NODES_PER_STEP = 32
RECORDING_CALLBACK_PATH = "/twilio/recording"
FINAL_CALL_STATUSES = {"completed", "busy", "no-answer", "failed", "canceled"}
#: Final statuses of a call nobody answered (the hotline never served its greeting).
MISSED_CALL_STATUSES = {"busy", "no-answer", "failed", "canceled"}
#: Seconds of silence between the digits of a code: slow enough for an elderly listener.
DIGIT_PAUSE_SECONDS = 1


def init_app(app) -> None:
    """Load and check the flow once; a broken flow stops the app from starting."""
    from pathlib import Path

    try:
        office_hours.init_app(app)
        flow = load_flow(Path(app.config["FLOWS_DIR"]) / "main.yaml")
    except FlowError as error:
        app.logger.error("refusing to start: the voice flow is broken:\n%s", error)
        raise
    app.extensions["hotline.flow"] = flow
    app.extensions["hotline.prompts"] = PromptLibrary(flow, app.config["AUDIO_DIR"])


def current_flow() -> Flow:
    return current_app.extensions["hotline.flow"]


def prompt_library() -> PromptLibrary:
    return current_app.extensions["hotline.prompts"]


def spoken_digits(code: str) -> str:
    """`209745` → `2, 0, 9, 7, 4, 5`: how a code appears in a text (the call reads digit prompts)."""
    return ", ".join(code)


def public_base_url() -> str:
    """Where Twilio fetches recordings: the public URL, or the one the proxy forwarded."""
    base = current_app.config.get("PUBLIC_URL")
    if base:
        return base
    return request.url_root if has_request_context() else ""


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

    def change(self, name: str, value: Any) -> None:
        if getattr(self, name) != value:
            setattr(self, name, value)
            self.changed.add(name)

    def new_row(self, now: datetime) -> dict[str, Any]:
        """The calls row a first step inserts."""
        return {**{name: getattr(self, name) for name in CALL_STATE_COLUMNS},
                "status": "in-progress", "started_at": now}


@dataclass(frozen=True)
class RequestSummary:
    """What the status read-out needs of a request."""

    code: str
    status: str


@dataclass
class CallContext:
    flow: Flow
    call: CallState
    next_seq: int
    node_id: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    #: The node whose webhook this step answers (recorded with the step).
    step_node: str = ""
    #: The step created something a resident relies on (a request, a voice message): its commit
    #: waits for the disk. Steps that only move through menus need not (see _write_in_one_statement).
    durable: bool = False
    #: The caller's open request as read with the call (False: not read yet).
    open_request: RequestSummary | None | bool = False

    @property
    def language(self) -> str:
        return self.call.language or self.flow.default_language

    def step_url(self, node_id: str, attempt: int = 1) -> str:
        return url_for("voice.step", node=node_id, n=self.next_seq, attempt=attempt)

    def speak(self, verb: Any, prompt_key: str, language: str | None = None) -> None:
        """Play the prompt's recording, else say its text with the language's voice."""
        rendered = prompt_library().render(language or self.language, prompt_key, public_base_url())
        if rendered.kind == "play":
            verb.play(rendered.value)
        else:
            verb.say(rendered.value.format_map(_Blank(self.values)), **dict(rendered.attributes))

    def speak_in_every_language(self, verb: Any, prompt_key: str) -> None:
        """The language menu: each language offers itself (a language with neither a recording
        nor a voice is skipped rather than repeating the Vietnamese)."""
        library = prompt_library()
        for language in self.flow.languages:
            if language == self.flow.default_language or library.source(language, prompt_key) != "missing":
                self.speak(verb, prompt_key, language)

    def read_digits(self, verb: Any, digits: str) -> None:
        for index, digit in enumerate(digits):
            if index:
                verb.pause(length=DIGIT_PAUSE_SECONDS)
            self.speak(verb, f"digit_{digit}")

    def read_code(self, verb: Any) -> None:
        """The request's code, digit by digit, twice: callers write it down the second time."""
        code = self.values.get("raw_code") or self.call_ticket_code()
        if not code:
            return
        self.speak(verb, "your_code_is")
        self.read_digits(verb, code)
        verb.pause(length=DIGIT_PAUSE_SECONDS)
        self.speak(verb, "code_again")
        self.read_digits(verb, code)

    def call_ticket_code(self) -> str | None:
        if self.call.ticket_id is None:
            return None
        return db.session.connection().execute(TICKET_CODE, {"ticket_id": self.call.ticket_id}).scalar()

    def caller_open_request(self) -> RequestSummary | None:
        """The caller's most recent open request (read with the call, else now)."""
        if self.open_request is False:
            found = db.session.connection().execute(OPEN_REQUEST, {"phone": self.call.phone}).first()
            self.open_request = RequestSummary(*found) if found else None
        return self.open_request

    def find_request(self, code: str) -> RequestSummary | None:
        found = db.session.connection().execute(REQUEST_BY_CODE, {"code": code}).first()
        return RequestSummary(*found) if found else None

    def read_status(self, verb: Any, request: RequestSummary) -> None:
        self.values["raw_code"] = request.code
        self.read_code(verb)
        self.speak(verb, f"status_{request.status}")
        self.reached("information")

    def reached(self, outcome: str) -> None:
        """What the caller got from this call; a call that ends with none is a dropped call."""
        if self.call.outcome in (None, "information"):
            self.call.change("outcome", outcome)

    def staff_numbers(self) -> list[str]:
        if "staff" not in self.values:
            self.values["staff"] = office_hours.on_duty_numbers(utcnow())
        return self.values["staff"]

    def ring_seconds(self) -> int:
        return office_hours.ring_seconds()

    def office_open(self) -> bool:
        return office_hours.is_open(utcnow())

    def set_language(self, language: str) -> None:
        """The call speaks it from now on, and the caller's next call remembers it."""
        self.call.change("language", language)
        self.call.remember_language = self.call.phone is not None

    def create_request(self, *, reason: str, topic: str | None) -> None:
        self.durable = True
        ticket = tickets.create_ticket(
            phone=self.call.phone,
            channel=Channel.VOICE,
            reason=reason,
            topic=topic,
            language=self.language,
            event_data={"call_sid": self.call.call_sid},
        )
        db.session.flush()
        self.open_request = False  # read again if the flow reads it out
        self.call.change("ticket_id", ticket.id)
        self.values["raw_code"] = ticket.code
        self.values["code"] = spoken_digits(ticket.code)
        self.reached("request")
        if ticket.phone:
            outbox.add_job(
                f"sms-confirmation-{ticket.id}", "workers.jobs.send_request_confirmation", ticket.id
            )

    def recording_callback_url(self) -> str:
        """Where Twilio reports a finished recording (the recording webhook)."""
        return RECORDING_CALLBACK_PATH

    def attach_voice_message(self) -> None:
        self.durable = True
        duration = self.params.get("RecordingDuration") or ""
        ticket = voicemail.record_voice_message(
            call_sid=self.call.call_sid,
            from_number=self.call.from_number,
            recording_sid=self.params["RecordingSid"],
            recording_url=self.params.get("RecordingUrl"),
            duration=int(duration) if duration.isdigit() else None,
            language=self.language,
        )
        self.call.ticket_id = ticket.id  # voicemail attached it to the call already
        self.values["raw_code"] = ticket.code
        self.values["code"] = spoken_digits(ticket.code)

    def call_finished(self) -> None:
        self.values["finished"] = True


class _Blank(dict):
    """Prompt placeholders with no value read as nothing rather than failing."""

    def __missing__(self, key: str) -> str:
        return ""


def _open_request_id(phone: Any) -> Any:
    return tickets.latest_open_ticket_id(phone).scalar_subquery()


def _read_call_statement() -> Any:
    """(call_sid, seq, phone) → the call's row if any, the TwiML stored for this step, the
    language the caller's number remembers, and the caller's open request."""
    wanted = select(bindparam("call_sid", type_=String).label("call_sid")).subquery("wanted")
    open_request = TICKETS.alias("open_request")
    phone = bindparam("phone", type_=String)
    remembered = select(RESIDENTS.c.language).where(RESIDENTS.c.phone == phone).scalar_subquery()
    # A correlated lookup, not a join: PostgreSQL keeps the plan it made for the prepared
    # statement while the tables were nearly empty, and a join may then scan every step.
    stored = select(STEPS.c.twiml).where(
        STEPS.c.call_id == CALLS.c.id, STEPS.c.seq == bindparam("seq")).scalar_subquery()
    return select(
        CALLS.c.id, CALLS.c.language, CALLS.c.ticket_id, CALLS.c.outcome, stored.label("twiml"),
        remembered.label("remembered_language"),
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


CALLS, STEPS, RESIDENTS, TICKETS = Call.__table__, CallStep.__table__, Resident.__table__, Ticket.__table__
CALL_STATE_COLUMNS = ("call_sid", "from_number", "phone", "to_number", "language", "ticket_id", "outcome")
STEP_COLUMNS = ("call_id", "seq", "node", "digits", "twiml", "created_at")
#: Built once: the hot path only binds values (SQLAlchemy's compiled cache does the rest).
READ_CALL = _read_call_statement()
OPEN_REQUEST = select(TICKETS.c.code, TICKETS.c.status).where(
    TICKETS.c.id == _open_request_id(bindparam("phone")))
REQUEST_BY_CODE = select(TICKETS.c.code, TICKETS.c.status).where(TICKETS.c.code == bindparam("code"))
TICKET_CODE = select(TICKETS.c.code).where(TICKETS.c.id == bindparam("ticket_id"))
REMEMBER_LANGUAGE = {"postgresql": _remember_language(postgresql), "sqlite": _remember_language(sqlite)}
INSERT_CALL = insert(CALLS).returning(CALLS.c.id)
UPDATE_CALL = update(CALLS).where(CALLS.c.id == bindparam("call_id"))
INSERT_STEP = insert(STEPS)


@functools.cache
def _write_in_one_statement(new_call: bool, changed: frozenset[str], remember_language: bool) -> Any:
    """PostgreSQL: the caller's language, the call (inserted, or what changed) and the step in
    one statement (data-modifying CTEs), one round trip; built once per shape.

    It also sets how its transaction commits (`commit_mode`): a step that only moved through
    menus need not wait for the disk (a database crash could forget it; Twilio's retry would
    simply run it again); one that created a request or a voice message does.
    """
    def bound(table: Any, name: str, prefix: str = "") -> Any:
        return bindparam(prefix + name, type_=table.c[name].type)

    if new_call:
        columns = (*CALL_STATE_COLUMNS, "status", "started_at")
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


def _new_call(params: Mapping[str, str]) -> Call:
    raw_from = params.get("From")
    phone = to_e164(raw_from, current_app.config["DEFAULT_REGION"])
    # Read only: two first calls from one number at once must not race to create the resident.
    resident = db.session.scalar(select(Resident).where(Resident.phone == phone)) if phone else None
    return Call(
        call_sid=params.get("CallSid") or "",
        from_number=raw_from,
        phone=phone,
        to_number=params.get("To"),
        language=resident.language if resident else None,
    )


def find_or_start_call(params: Mapping[str, str]) -> Call:
    """The call with this CallSid, created (and committed) on first sight."""
    call_sid = params.get("CallSid") or ""
    call = db.session.scalar(select(Call).where(Call.call_sid == call_sid))
    if call is not None:
        return call
    call = _new_call(params)
    db.session.add(call)
    try:
        db.session.commit()
    except IntegrityError:  # the same call arrived twice at once
        db.session.rollback()
        call = db.session.scalar(select(Call).where(Call.call_sid == call_sid))
    return call


def run_step(
    params: Mapping[str, str], seq: int, node_id: str, digits: str | None, attempt: int,
) -> str:
    """One webhook, committed whole: the call (on first sight), the step's side effects and its
    TwiML together; a retry, or a twin that lost the race, gets the stored TwiML."""
    for _ in range(3):
        try:
            return _run_step_once(params, seq, node_id, digits, attempt)
        except IntegrityError:  # a twin of this request committed first: answer what it answered
            db.session.rollback()
        except DBAPIError as error:
            # The pool's connection died (a database restart): the step runs again on a fresh
            # one; it was committed whole (the run again replays it) or not at all.
            if not error.connection_invalidated:
                raise
            db.session.rollback()
    raise RuntimeError(f"step {seq} of call {params.get('CallSid')!r} kept conflicting")


def _read_call(
    connection: Connection, params: Mapping[str, str], seq: int,
) -> tuple[CallState, str | None, RequestSummary | None]:
    """Everything a step may need, in one round trip (see READ_CALL)."""
    call_sid = params.get("CallSid") or ""
    raw_from = params.get("From")
    phone = to_e164(raw_from, current_app.config["DEFAULT_REGION"])
    found = connection.execute(READ_CALL, {"call_sid": call_sid, "seq": seq, "phone": phone}).one()
    call = CallState(call_sid=call_sid, from_number=raw_from, phone=phone, to_number=params.get("To"))
    if found.id is None:
        call.language = found.remembered_language
    else:
        call.id, call.language, call.ticket_id, call.outcome = (
            found.id, found.language, found.ticket_id, found.outcome)
    open_request = RequestSummary(found.open_code, found.open_status) if found.open_code else None
    return call, found.twiml, open_request


@contextlib.contextmanager
def _statement_connection() -> Iterator[Connection | None]:
    """PostgreSQL: a connection outside the session's transaction, where the step's read and
    (for a step that wrote nothing else) its write are one statement each, each its own
    transaction: no BEGIN and COMMIT round trips. A twin of the step still loses on the unique
    (call, seq) and replays the winner's TwiML. SQLite: None (the session's transaction)."""
    if db.engine.dialect.name != "postgresql":
        yield None
        return
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        yield connection


def _run_step_once(
    params: Mapping[str, str], seq: int, node_id: str, digits: str | None, attempt: int,
) -> str:
    with _statement_connection() as autocommit:
        reader = autocommit if autocommit is not None else db.session.connection()
        call, stored_twiml, open_request = _read_call(reader, params, seq)
        if stored_twiml is not None:
            return stored_twiml

        flow = current_flow()
        ctx = CallContext(flow=flow, call=call, next_seq=seq + 1, node_id=node_id, params=params,
                          step_node=node_id, open_request=open_request)
        response = VoiceResponse()
        node = flow.nodes.get(node_id)
        if seq == 0 or node is None:
            # The call's first step, or a step URL from an older version of the flow.
            next_id: str | None = flow.start if node is None else node_id
        else:
            next_id = NODE_TYPES[node["type"]].on_input(ctx, node_id, node, digits, attempt, response)
        follow(ctx, next_id, response)

        twiml = str(response)
        if autocommit is not None and not db.session().in_transaction():
            _write_step(autocommit, ctx, seq, digits, twiml)
        else:  # the step's side effects (a request, its SMS in the outbox) commit with it
            _write_step(db.session.connection(), ctx, seq, digits, twiml)
            db.session.commit()
    return twiml


def _write_step(connection: Connection, ctx: CallContext, seq: int, digits: str | None, twiml: str) -> None:
    """The caller's language if they chose one, the call on first sight (else what the step
    changed in it) and the step's TwiML: one statement on PostgreSQL, a few on SQLite."""
    call = ctx.call
    now = utcnow()
    step = {"seq": seq, "node": ctx.step_node, "digits": digits, "twiml": twiml, "created_at": now}
    language = {"caller_phone": call.phone, "caller_language": call.language, "remembered_at": now}
    if connection.dialect.name == "postgresql":
        statement = _write_in_one_statement(call.id is None, frozenset(call.changed), call.remember_language)
        written = {f"call_{name}": value for name, value in call.new_row(now).items()}
        commit_mode = "on" if ctx.durable else "off"
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


def follow(ctx: CallContext, node_id: str | None, response: VoiceResponse) -> None:
    for _ in range(MAX_NODES_PER_STEP):
        if node_id is None:
            return
        ctx.node_id = node_id
        node = ctx.flow.nodes[node_id]
        node_id = NODE_TYPES[node["type"]].enter(ctx, node, response)
    raise RuntimeError(f"flow {ctx.flow.name}: more than {MAX_NODES_PER_STEP} nodes without input")


def answer_call(params: Mapping[str, str]) -> str:
    return run_step(params, 0, current_flow().start, None, 1)


def continue_call(params: Mapping[str, str], node_id: str, seq: int, attempt: int) -> str:
    digits = (params.get("Digits") or "").strip() or None
    return run_step(params, seq, node_id, digits, attempt)


def record_call_status(params: Mapping[str, str]) -> Call:
    """Twilio's status callback: the call's final state and length."""
    call = find_or_start_call(params)
    status = params.get("CallStatus") or call.status
    call.status = status
    duration = params.get("CallDuration")
    if duration and duration.isdigit():
        call.duration_seconds = int(duration)
    if status in FINAL_CALL_STATUSES and call.ended_at is None:
        call.ended_at = utcnow()
        reason = unfinished_call_reason(call, status)
        if reason is not None:
            callback_for_unfinished_call(call, reason)
    db.session.commit()
    return call


def unfinished_call_reason(call: Call, status: str) -> str | None:
    """`missed_call` when the greeting was never served, `dropped_call` when the caller
    left before getting a request, a person, a voice message or information."""
    if status in MISSED_CALL_STATUSES or not call.steps:
        return TicketReason.MISSED_CALL
    if call.outcome is None and call.ticket is None:
        return TicketReason.DROPPED_CALL
    return None


def callback_for_unfinished_call(call: Call, reason: str) -> None:
    """A callback request, at most one per caller while one is open (later calls join it).

    A withheld number gets none: nobody could call it back, and the call is still recorded.
    """
    if call.phone is None:
        return
    data = {"call_sid": call.call_sid, "status": call.status}
    ticket = tickets.open_ticket_for(call.phone)
    if ticket is not None:
        tickets.add_event(ticket, reason, f"{reason.replace('_', ' ')} from the same number", data=data)
    else:
        ticket = tickets.create_ticket(
            phone=call.phone, channel=Channel.VOICE, reason=reason, language=call.language, event_data=data
        )
    call.ticket = ticket


def apology_twiml() -> str:
    """What a caller hears when something inside the hotline failed: never silence."""
    flow = current_app.extensions.get("hotline.flow")
    response = VoiceResponse()
    text = "Xin lỗi, hệ thống đang bận. Vui lòng gọi lại sau ít phút."
    attributes = {"language": "vi-VN"}
    if flow is not None:
        try:
            text, language = flow.prompt_text("system_busy", flow.default_language)
            attributes = flow.say_attributes(language)
        except KeyError:
            pass
    response.say(text, **attributes)
    response.hangup()
    return str(response)
