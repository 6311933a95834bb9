"""The call context: what a node sees of the call while the walker runs a step, and the
domain work a node may ask for (a request, a voice message, office hours).

Its speaking helpers return call instructions (`instructions.py`) rather than writing
TwiML, and its domain work only flushes: the step's storage (`steps.answer_step`)
commits everything once, with the step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import bindparam, select

from .. import jobs, office_hours, outbox, tickets, voicemail
from ..extensions import db
from ..models import CallStep, Channel, EventKind, Ticket, utcnow
from ..prompts import PromptLibrary
from .definition import Flow
from .instructions import Pause, Prompt, Spoken, StepTarget
from .steps import CallState, RequestSummary

#: Seconds of silence between the digits of a code: slow enough for an elderly listener.
DIGIT_PAUSE_SECONDS = 1

TICKETS = Ticket.__table__
STEPS = CallStep.__table__
OPEN_REQUEST = select(TICKETS.c.code, TICKETS.c.status).where(
    TICKETS.c.id == tickets.latest_open_ticket_id(bindparam("phone")).scalar_subquery())
REQUEST_BY_CODE = select(TICKETS.c.code, TICKETS.c.status).where(TICKETS.c.code == bindparam("code"))
TICKET_CODE = select(TICKETS.c.code).where(TICKETS.c.id == bindparam("ticket_id"))


#: A prompt whose text names the office hours (`{hours}`) gets them, and the address and holidays.
OFFICE_PLACEHOLDER = "{hours}"


def spoken_digits(code: str) -> str:
    """`209745` → `2, 0, 9, 7, 4, 5`: how a code appears in a text (the call reads digit prompts)."""
    return ", ".join(code)


@dataclass
class CallContext:
    flow: Flow
    prompts: PromptLibrary
    call: CallState
    next_seq: int
    node_id: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    #: The step created something a resident relies on (a request, a voice message): its commit
    #: waits for the disk. Steps that only move through menus need not (see steps.write_step).
    durable: bool = False
    #: The caller's open request as read with the call (False: not read yet).
    open_request: RequestSummary | None | Literal[False] = False  # False: not read yet
    #: What the node put in its step target's `args` (the recording booth's stage…).
    args: dict[str, str] = field(default_factory=dict)

    @property
    def language(self) -> str:
        return self.call.language or self.flow.default_language

    # --- what the caller hears -------------------------------------------------------

    def step(self, node_id: str, attempt: int = 1, **args: str) -> StepTarget:
        """Where the caller's answer to `node_id` goes: the call's next step."""
        return StepTarget(node_id, self.next_seq, attempt, tuple(sorted(args.items())))

    def prompt(self, key: str, language: str | None = None) -> Prompt:
        """The prompt in the call's language (its recording, else its text: the renderer decides),
        with the values its placeholders may name (`{code}`; `{hours}`, `{holidays}`, `{address}`
        from the office hours, read only for a prompt that names them)."""
        if "hours" not in self.values and OFFICE_PLACEHOLDER in self.flow.prompts.get(
                self.flow.default_language, {}).get(key, ""):
            self.values.update(office_hours.spoken_values(utcnow()))
        values = tuple((name, value) for name, value in self.values.items() if isinstance(value, str))
        return Prompt(key, language or self.language, values)

    def prompt_in_every_language(self, key: str) -> tuple[Prompt, ...]:
        """The language menu: each language offers itself (a language with neither a recording
        nor a voice is skipped rather than repeating the Vietnamese)."""
        return tuple(
            self.prompt(key, language) for language in self.flow.languages
            if language == self.flow.default_language or self.prompts.source(language, key) != "missing"
        )

    def digits(self, digits: str) -> list[Spoken]:
        said: list[Spoken] = []
        for index, digit in enumerate(digits):
            if index:
                said.append(Pause(DIGIT_PAUSE_SECONDS))
            said.append(self.prompt(f"digit_{digit}"))
        return said

    def read_code(self) -> list[Spoken]:
        """The request's code, digit by digit, twice: callers write it down the second time."""
        code = self.values.get("raw_code") or self.call_ticket_code()
        if not code:
            return []
        return [self.prompt("your_code_is"), *self.digits(code), Pause(DIGIT_PAUSE_SECONDS),
                self.prompt("code_again"), *self.digits(code)]

    def read_status(self, request: RequestSummary, once: bool = False) -> list[Spoken]:
        self.values["raw_code"] = request.code
        said = self.read_code() if not once else [self.prompt("your_code_is"), *self.digits(request.code)]
        said.append(self.prompt(f"status_{request.status}"))
        self.reached("information")
        return said

    # --- what the call has and gets ----------------------------------------------------

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
        """A callback request; like SMS, a caller with an open request adds to it (the topic
        and the keys pressed go on its timeline) unless they chose a different procedure."""
        self.durable = True
        ticket = tickets.open_ticket_for(self.call.phone)
        if ticket is not None and topic and ticket.topic and topic != ticket.topic:
            ticket = None  # a new, different procedure: a request of its own
        if ticket is not None:
            if topic and not ticket.topic:
                ticket.topic = topic
            tickets.add_event(ticket, EventKind.CALLBACK_REQUESTED, "callback asked for again by phone",
                              data={"call_sid": self.call.call_sid, "channel": "voice", "topic": topic,
                                    "keys": self.keys_pressed()}, actor="resident:voice")
        else:
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
            outbox.add_job(f"sms-confirmation-{ticket.id}", jobs.send_request_confirmation, ticket.id)

    def keys_pressed(self) -> list[str]:
        """The keys this call pressed so far, step by step (this step's last)."""
        pressed: list[str] = []
        if self.call.id is not None:
            pressed = [digits for digits in db.session.connection().execute(
                select(STEPS.c.digits).where(STEPS.c.call_id == self.call.id).order_by(STEPS.c.seq)).scalars()
                if digits]
        if self.params.get("Digits"):
            pressed.append(self.params["Digits"])
        return pressed

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
