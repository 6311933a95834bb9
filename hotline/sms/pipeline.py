"""One inbound SMS, from any provider, to its rows, its request and its reply.

The order is the contract: store the message (deduplicated on the provider's
key) → staff pre-handlers → keyword → act → put it on the sender's open request
→ decide the reply (opt-out, throttling of repeats: `hotline.messaging.reply_throttle`)
→ the outbox job. All of it is one
unit of work, committed by the edge (the webhook, `hotline sms`): a staff command
that claims and resolves, its timeline, its SMS jobs and the reply commit together
or not at all. Nothing is dropped: every message is a row in `sms_messages`, and a
message that asks for nothing known becomes (or joins) a request; when handling
fails, the edge rolls back and stores the message bare (`store_unhandled`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import phonenumbers
from flask import current_app
from sqlalchemy import select

from .. import messaging, office_hours, tickets
from ..codes import is_valid_code
from ..directory import is_official_number
from ..extensions import db
from ..models import (
    Channel,
    EventKind,
    Resident,
    SmsMessage,
    SmsOutbound,
    Ticket,
    TicketReason,
    TicketStatus,
    utcnow,
)
from ..phones import to_e164
from .keywords import Intent, Keywords, Match
from .text import GSM7_SEGMENT, clean_inbound

PREHANDLERS = "hotline.sms_prehandlers"
#: How a reply leaves: queued for a worker, answered inline in TwiML, or only returned (CLI).
REPLY_QUEUE, REPLY_TWIML, REPLY_RETURN = "queue", "twiml", "return"
#: Examples shown when a typo looked like an action we never take on a guess.
GUARDED_EXAMPLES = {"cancel": ("HUY", "HUY <ma>"), "stop": ("TUCHOI", "TUCHOI")}
GUARDED_EXAMPLES_EN = {"cancel": ("CANCEL", "CANCEL <code>"), "stop": ("STOP", "STOP")}


class NoReply(StrEnum):
    NO_NUMBER = "no_number"
    OPTED_OUT = "opted_out"
    REPEAT = messaging.THROTTLE_REPEAT  # the same text answered enough this hour (a notice said when)
    CEILING = messaging.THROTTLE_CEILING  # very many replies this hour (a loop?): a notice said when


@dataclass
class Inbound:
    message: SmsMessage
    reply: str | None
    duplicate: bool = False


def keywords() -> Keywords:
    kw = current_app.extensions.get("hotline.sms_keywords")
    if kw is None:
        kw = Keywords.load(Path(current_app.config["FLOWS_DIR"]) / "sms" / "keywords.yaml")
        current_app.extensions["hotline.sms_keywords"] = kw
    return kw


def receive_sms(
    *,
    provider: str,
    dedup_key: str,
    from_number: str | None,
    text: str | None,
    provider_id: str | None = None,
    received_at: datetime | None = None,
    reply_mode: str = REPLY_QUEUE,
    flags: dict[str, str] | None = None,
) -> Inbound:
    """Handle one inbound SMS once per (provider, dedup_key); a retry gets the same reply.

    The same message delivered twice at once: the twin that loses fails on the unique
    (provider, dedup_key) with IntegrityError; the edge runs this again (`commit_once`),
    which then finds the winner's message and answers its reply.

    `flags`: what the webhook found wrong with the fields (stored on the message)."""
    existing = _existing(provider, dedup_key)
    if existing is not None:
        return Inbound(existing, existing.reply, duplicate=True)
    # Flushes happen where ids are needed, not before every query (half the database time).
    with db.session.no_autoflush:
        return _handle(provider, dedup_key, from_number, text, provider_id, received_at, reply_mode, flags)


def _existing(provider: str, dedup_key: str) -> SmsMessage | None:
    return db.session.scalar(
        select(SmsMessage).where(SmsMessage.provider == provider, SmsMessage.dedup_key == dedup_key)
    )


def _handle(
    provider, dedup_key, from_number, text, provider_id, received_at, reply_mode, flags=None,
) -> Inbound:
    body = clean_inbound(text)
    from_number, provider_id = clean_inbound(from_number) or None, clean_inbound(provider_id) or None
    phone = to_e164(from_number, current_app.config["DEFAULT_REGION"])
    message = SmsMessage(
        provider=provider, dedup_key=dedup_key, provider_id=provider_id,
        from_number=(from_number or "")[:64] or None, phone=phone, body=body,
        received_at=received_at or utcnow(), input_flags=flags,
    )
    db.session.add(message)

    reply = _prehandled(phone, body)
    if reply is not None:
        message.intent = "prehandler"
        db.session.flush()
        _decide_reply(message, messaging.one_segment(reply), reply_mode, capped=False)
        return Inbound(message, message.reply)

    match = keywords().match(body)
    message.intent = match.intent.value
    db.session.flush()  # the message's id goes on the timeline and into the reply's key
    context = _Context(message, match, phone, body)
    reply = context.act()
    open_ticket = context.attached
    if open_ticket is not None and context.ticket is not open_ticket:
        tickets.add_event(
            open_ticket, EventKind.SMS_IN, body or "(empty SMS)",
            data={"sms_id": message.id, "intent": message.intent, "empty": not body}, actor="resident:sms",
        )
    message.ticket = context.ticket or open_ticket
    _decide_reply(
        message, reply, reply_mode, force=match.intent in (Intent.STOP, Intent.START),
        language=context.language,
    )
    return Inbound(message, message.reply)


def _prehandled(phone: str | None, body: str) -> str | None:
    """Staff commands by SMS (registered by other subsystems) come before resident keywords.

    Their replies are folded and cut to one segment by the caller, like every reply we send.
    A handler that fails raises through: what it did half-way must not commit with the
    message, so the edge rolls the whole SMS back and stores the message bare instead.
    """
    if phone is None:
        return None
    for handler in current_app.extensions.get(PREHANDLERS, []):
        reply = handler(phone, body)
        if reply is not None:
            return reply
    return None


def _decide_reply(
    message: SmsMessage, reply: str | None, reply_mode: str, *, capped: bool = True, force: bool = False,
    language: str | None = None,
) -> None:
    if reply is None:
        return
    reply = messaging.fit_for_sms(reply)
    phone = message.phone
    if phone is None:
        message.no_reply_reason = NoReply.NO_NUMBER
    elif not force and messaging.is_opted_out(phone):
        message.no_reply_reason = NoReply.OPTED_OUT
    elif capped:
        throttle = messaging.reply_throttle(phone, message.body, exclude_id=message.id)
        if throttle is not None:
            message.no_reply_reason = NoReply(throttle.reason)
            _note_not_sent(message, reply)
            if throttle.notice:  # said once: when this text will be answered again
                _send(message, messaging.throttle_notice(throttle, language), reply_mode, "notice")
            return
    if message.no_reply_reason or phone is None:
        _note_not_sent(message, reply)
        return
    _send(message, reply, reply_mode, "optout" if force else "reply")


def _note_not_sent(message: SmsMessage, reply: str) -> None:
    if message.ticket is not None:
        tickets.add_event(
            message.ticket, EventKind.SMS_NOT_SENT, f"no reply: {message.no_reply_reason}",
            data={"sms_id": message.id, "body": reply, "no_reply": message.no_reply_reason},
        )


def _send(message: SmsMessage, reply: str, reply_mode: str, kind: str) -> None:
    """The reply (or a throttling notice) on its way: returned, inline TwiML, or queued."""
    phone = message.phone
    assert phone is not None
    message.reply = reply
    if reply_mode == REPLY_RETURN:
        return
    if reply_mode == REPLY_TWIML:
        row = SmsOutbound(
            key=f"reply-{message.id}", phone=phone, body=reply, kind=kind, ticket=message.ticket,
            inbound_id=message.id, provider=message.provider, status="sent",
            provider_status="twiml", sent_at=utcnow(),
        )
        db.session.add(row)
        if message.ticket is not None:
            tickets.add_event(
                message.ticket, EventKind.SMS_SENT, "SMS reply sent through Twilio (TwiML)",
                data={"key": row.key, "to": phone, "body": reply, "provider": "twilio", "status": "twiml"},
            )
        return
    messaging.queue_sms(
        f"reply-{message.id}", phone, reply, ticket=message.ticket, inbound_id=message.id, kind=kind,
        new_key=True,
    )


class _Context:
    """One message's intent carried out; each `on_<intent>` returns the reply text.

    `attached`: the open request the message goes on (its timeline), when no new one is made.
    Language follows the resident: the language they chose (LANGUAGE), else English only for
    a message that is clearly English (`Match.english`), else Vietnamese, so a bare `STOP` or
    `HELP` from a Vietnamese phone is answered in Vietnamese.
    """

    def __init__(self, message: SmsMessage, match: Match, phone: str | None, body: str):
        self.message = message
        self.match = match
        self.phone = phone
        self.body = body
        self.open_ticket = tickets.open_ticket_for(phone)
        self.attached = self.open_ticket
        self.ticket: Ticket | None = None
        resident = (
            db.session.scalar(select(Resident).where(Resident.phone == phone)) if phone else None
        )
        languages = messaging.reply_languages()
        if resident is not None and resident.language in languages:
            self.language = resident.language
        elif match.english and "en" in languages:
            self.language = "en"
        else:
            self.language = "vi"

    def say(self, template: str, **values: Any) -> str:
        return messaging.render_sms(template, self.language, **values)

    def state(self, ticket: Ticket) -> str:
        return messaging.render_sms(f"state_{ticket.status}", self.language)

    def topic_name(self, topic: str | None) -> str:
        return self.say(f"topic_{topic or 'other'}")

    def act(self) -> str:
        return getattr(self, f"on_{self.match.intent.value}")()

    # --- intents -------------------------------------------------------------------

    def on_empty(self) -> str:
        return self.on_help()

    def on_smalltalk(self) -> str:
        """"ok", "cảm ơn", 👍: a friendly word; nothing opened (it lands on an open request)."""
        return self.say("sms_smalltalk")

    def on_address(self) -> str:
        """Where the office is: the one address the voice menu reads too (office_hours.yaml ›
        address); cut to one segment, since a commune writes it as long as it likes."""
        address = office_hours.current().address
        if not address:
            return self.say("sms_address_none")
        return messaging.one_segment(self.say("sms_address", address=address))

    def on_help(self) -> str:
        hint = self.match.hint
        if hint == "cancel" and self.match.code:
            return self.say("sms_confirm_cancel", code=self.match.code)
        if hint in GUARDED_EXAMPLES:
            keyword, example = (GUARDED_EXAMPLES_EN if self.language == "en" else GUARDED_EXAMPLES)[hint]
            return self.say("sms_did_you_mean", keyword=keyword, example=example)
        return self.say("sms_help")

    def on_request(self) -> str:
        """One request per need: a message joins the sender's open request about the same
        procedure (or the latest one, when either names none); a different procedure from a
        number whose open requests are all about something else opens a second request,
        linked to the latest one on both timelines, and the reply names which code is which."""
        topic = self.match.topic
        open_tickets = tickets.open_tickets_for(self.phone)
        same = next((t for t in open_tickets if topic and t.topic == topic), None)
        if same is not None:
            self.attached = same
            return self.say("sms_request_added", code=same.code)
        latest = self.open_ticket
        if latest is not None and not (topic and all(t.topic for t in open_tickets)):
            return self.say("sms_request_added", code=latest.code)
        self.ticket = tickets.create_ticket(
            phone=self.phone, channel=Channel.SMS, reason=TicketReason.SMS, topic=topic,
            language=self.language, body=self.body, actor="resident:sms",
            event_data={"sms_id": self.message.id, "from": self.message.from_number,
                        **({"linked": latest.code} if latest is not None else {})},
        )
        db.session.flush()
        if latest is None:
            return self.say("sms_request_created", code=self.ticket.code)
        self.attached = None
        tickets.add_event(
            latest, EventKind.NOTE, f"another request from this number: {self.ticket.code} ({topic})",
            data={"linked": self.ticket.code, "sms_id": self.message.id}, actor="resident:sms",
        )
        return self.say(
            "sms_request_second", code=self.ticket.code, topic=self.topic_name(topic),
            other=latest.code, other_topic=self.topic_name(latest.topic),
        )

    def on_callback(self) -> str:
        if self.open_ticket is not None:
            tickets.add_event(
                self.open_ticket, EventKind.CALLBACK_REQUESTED, "callback asked for by SMS",
                data={"sms_id": self.message.id}, actor="resident:sms",
            )
            return self.say("sms_callback_added", code=self.open_ticket.code)
        self.ticket = tickets.create_ticket(
            phone=self.phone, channel=Channel.SMS, reason=TicketReason.CALLBACK_REQUESTED,
            topic=self.match.topic, language=self.language, body=self.body, actor="resident:sms",
            event_data={"sms_id": self.message.id},
        )
        db.session.flush()
        return self.say("sms_callback_created", code=self.ticket.code)

    def on_status(self) -> str:
        code = self.match.code
        if code is None:
            open_tickets = tickets.open_tickets_for(self.phone)
            if not open_tickets:
                return self.say("sms_status_needs_code")
            if len(open_tickets) > 1:
                first, second = open_tickets[:2]
                return self.say("sms_status_two", code=first.code, state=self.state(first),
                                other=second.code, other_state=self.state(second))
            ticket = open_tickets[0]
        elif not is_valid_code(code):
            return self.say("sms_code_invalid", code=code)
        else:
            found = tickets.get_by_code(code)
            if found is None:
                return self.say("sms_status_unknown", code=code)
            ticket = found
        when = ticket.updated_at or ticket.created_at
        return self.say("sms_status", code=ticket.code, state=self.state(ticket), date=_local_date(when))

    def on_cancel(self) -> str:
        """Cancels only with the code typed; without one, asks about the open request (never acts,
        never opens a request)."""
        code = self.match.code
        if code is None:
            if self.open_ticket is not None:
                return self.say("sms_confirm_cancel", code=self.open_ticket.code)
            return self.say("sms_cancel_needs_code")
        if not is_valid_code(code):
            return self.say("sms_code_invalid", code=code)
        ticket = tickets.get_by_code(code)
        if ticket is None or self.phone is None or ticket.phone != self.phone:
            return self.say("sms_cancel_not_yours", code=code)
        if ticket.status not in TicketStatus.open_values():
            return self.say("sms_cancel_closed", code=code, state=self.state(ticket))
        ticket.status = TicketStatus.CANCELLED
        ticket.closed_at = utcnow()
        tickets.add_event(
            ticket, EventKind.CANCELLED, "cancelled by the resident by SMS",
            data={"sms_id": self.message.id}, actor="resident:sms",
        )
        self.ticket = ticket
        return self.say("sms_cancel_done", code=code)

    def on_verify(self) -> str:
        number = _phone_from_digits(self.match.phone)
        if number is None:
            return self.say("sms_verify_needs_phone")
        shown = phonenumbers.format_number(
            phonenumbers.parse(number), phonenumbers.PhoneNumberFormat.NATIONAL
        ).replace(" ", "")
        template = "sms_verify_official" if is_official_number(number) else "sms_verify_not_official"
        return self.say(template, phone=shown)

    def on_hours(self) -> str:
        """The hours from the data (the dashboard's, else office_hours.yaml), in one segment:
        the short wording when the week is too irregular for the full one."""
        hours = office_hours.weekly_hours()
        if not hours:
            return self.say("sms_hours_none")
        days = [d.strip() for d in self.say("sms_hours_days").split(",")]
        week = office_hours.describe_week(hours, days)
        reply = self.say("sms_hours", hours=week)
        if len(reply) > GSM7_SEGMENT:
            reply = messaging.one_segment(self.say("sms_hours_short", hours=week))
        return reply

    def on_language(self) -> str:
        language = self.match.language
        if language not in messaging.reply_languages() or self.phone is None:
            return self.say("sms_language_usage")
        tickets.resident_for(self.phone, language, chosen=True)
        self.language = language
        return self.say("sms_language_set")

    def on_stop(self) -> str:
        if self.phone is not None:
            messaging.set_opted_out(self.phone, True)
        return self.say("sms_stopped")

    def on_start(self) -> str:
        if self.phone is not None:
            messaging.set_opted_out(self.phone, False)
        return self.say("sms_started")


def _phone_from_digits(digits: str | None) -> str | None:
    if not digits:
        return None
    if digits.startswith("84") and len(digits) in (11, 12):
        digits = "+" + digits
    return to_e164(digits, current_app.config["DEFAULT_REGION"])


def _local_date(when: datetime) -> str:
    from zoneinfo import ZoneInfo

    return when.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).strftime("%d/%m/%Y")


def store_unhandled(
    *,
    provider: str,
    dedup_key: str,
    from_number: str | None,
    text: str | None,
    provider_id: str | None = None,
    received_at: datetime | None = None,
    reply_mode: str = REPLY_QUEUE,
    flags: dict[str, str] | None = None,
) -> Inbound:
    """After a failure in handling (its unit rolled back): keep the message and make it a request
    staff will see, in a unit of work of its own."""
    existing = _existing(provider, dedup_key)
    if existing is not None:
        return Inbound(existing, existing.reply, duplicate=True)
    body = clean_inbound(text)
    phone = to_e164(from_number, current_app.config["DEFAULT_REGION"])
    ticket = tickets.open_ticket_for(phone) or tickets.create_ticket(
        phone=phone, channel=Channel.SMS, reason=TicketReason.SMS, body=body, actor="resident:sms",
    )
    message = SmsMessage(
        provider=provider, dedup_key=dedup_key, provider_id=provider_id,
        from_number=(from_number or "")[:64] or None, phone=phone, body=body, intent="unhandled",
        received_at=received_at or utcnow(), ticket=ticket, input_flags=flags,
    )
    db.session.add(message)
    tickets.add_event(ticket, EventKind.SMS_IN, body or "(empty SMS)",
                      data={"intent": "unhandled", "empty": not body})
    return Inbound(message, None)
