"""Outgoing SMS to residents, sent by workers through the configured provider.

Two providers: Twilio's REST API, and "SMS Gateway for Android" (an Android
phone with a local SIM, through its API and the `android-sms-gateway` client):
Twilio offers no two-way SMS in Vietnam, so a local SIM is what a commune
really uses. `SMS_PROVIDER` picks one; unset, the gateway when it is
configured, else Twilio.

Every send is keyed so a job that runs twice sends once, respects STOP, is
folded into one GSM-7 segment unless `SMS_UNICODE` is set, and is written on
the request's timeline with the provider's status. With no provider configured
the timeline says so plainly instead of failing silently.

These functions write to the session and return; the jobs and webhooks that call them
commit (hotline.unit_of_work).
"""

from __future__ import annotations

import hashlib
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import requests
from flask import current_app
from sqlalchemy import select
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from . import data_files, tickets, training
from .data_files import DEFAULT_LANGUAGE, localized
from .extensions import db
from .models import EventKind, SmsMessage, SmsOptOut, SmsOutbound, Ticket, utcnow
from .sms.text import cut_to, segment_limit, to_gsm7, words

SMS_OUTCOME_KINDS = ("sms_sent", "sms_not_sent", "sms_failed")
#: Template files: the shared one, then the SMS keyword replies.
TEMPLATE_FILES = ("sms_templates.yaml", "sms/replies.yaml")


class TransientSendError(RuntimeError):
    """The provider failed in a way worth retrying (5xx, 429, network); RQ retries the job."""


class RefusedSendError(RuntimeError):
    """The provider refused this message for good (bad number, 4xx): recorded, not retried."""

    def __init__(self, message: str, data: dict[str, Any] | None = None):
        super().__init__(message)
        self.data = data or {}


@dataclass
class Sent:
    provider: str
    provider_id: str | None
    status: str


class Provider(Protocol):
    name: str
    label: str

    def send(self, to: str, body: str, key: str) -> Sent: ...


# --- templates -------------------------------------------------------------------------


def sms_templates() -> dict[str, dict[str, str]]:
    """Every template by name: the shared file's, then the keyword replies (checked at start-up)."""
    cache = current_app.extensions.get("hotline.sms_templates")
    if cache is None:
        cache = {}
        for name in TEMPLATE_FILES:
            cache.update(data_files.data(name))
        current_app.extensions["hotline.sms_templates"] = cache
    return cache


def check_templates(templates: dict[str, dict[str, str]], where: str) -> list[str]:
    """Texts `str.format` can fill, and no placeholder the default language's text lacks (the
    code sending a template passes what that text needs; another would fail only in that language)."""
    problems = []
    for name, texts in templates.items():
        expected = _placeholders(texts.get(DEFAULT_LANGUAGE, ""))
        for language, text in texts.items():
            here = f"{where} › {name} › {language}"
            found = _placeholders(text)
            if found is None:
                problems.append(f"{here}: unmatched {{ or }} in {text!r} (write {{{{ or }}}} for a brace)")
            elif expected is not None and found - expected:
                extra = ", ".join(f"{{{n}}}" for n in sorted(found - expected))
                problems.append(f"{here}: {extra} is not in the {DEFAULT_LANGUAGE} text")
    return problems


def _placeholders(text: str) -> set[str] | None:
    try:
        return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}
    except ValueError:
        return None


def reply_languages() -> set[str]:
    """Languages every template has a text in (others fall back to Vietnamese)."""
    texts = sms_templates().values()
    return set.intersection(*(set(t) for t in texts)) if texts else {"vi"}


def fit_for_sms(text: str) -> str:
    """GSM-7 (accents removed) unless Unicode replies are switched on."""
    return text if current_app.config.get("SMS_UNICODE") else to_gsm7(text)


def one_segment(text: str) -> str:
    """Fold for SMS, then cut to one segment (at a word, with "...") when it is longer.

    For replies whose text this module does not own (staff commands from a pre-handler):
    a resident or volunteer must never pay for a second segment.
    """
    text = fit_for_sms(text)
    return cut_to(text, segment_limit(text))


def render_sms(template: str, language: str | None, **values: Any) -> str:
    text = localized(sms_templates()[template], language)
    return fit_for_sms(text.format(**values))


# --- providers -------------------------------------------------------------------------


class TwilioProvider:
    name = "twilio"
    label = "Twilio"

    def __init__(self, client: Client, sender: str, status_callback: str | None = None):
        self.client = client
        self.sender = sender
        self.status_callback = status_callback

    def send(self, to: str, body: str, key: str) -> Sent:
        extra = {"status_callback": self.status_callback} if self.status_callback else {}
        try:
            sent = self.client.messages.create(to=to, from_=self.sender, body=body, **extra)
        except TwilioRestException as error:
            if error.status >= 500 or error.status == 429:
                raise TransientSendError(f"Twilio answered {error.status}") from error
            raise RefusedSendError(
                f"Twilio refused ({error.status}: {error.msg})", {"error_code": error.code}
            ) from error
        except OSError as error:  # network: worth retrying
            raise TransientSendError(str(error)) from error
        return Sent(self.name, sent.sid, sent.status)


class GatewayProvider:
    """SMS Gateway for Android, through its documented `POST /messages` API."""

    name = "gateway"
    label = "SMS Gateway"

    def __init__(self, url: str, login: str | None, password: str):
        self.url = url
        self.login = login
        self.password = password

    @staticmethod
    def message_id(key: str) -> str:
        """A stable id per send: the gateway refuses an id twice, so a re-run cannot send twice."""
        return "hl-" + hashlib.sha256(key.encode()).hexdigest()[:29]

    def send(self, to: str, body: str, key: str) -> Sent:
        from android_sms_gateway import APIClient, Message, TextMessage
        from android_sms_gateway.errors import APIError

        message = Message(
            phone_numbers=[to], text_message=TextMessage(text=body),
            id=self.message_id(key), with_delivery_report=True, ttl=24 * 3600,
        )
        try:
            with APIClient(self.login, self.password, base_url=self.url) as client:
                state = client.send(message)
        except APIError as error:
            status = error.status_code or 0
            if status == 409:  # this id was accepted before: the send already happened
                return Sent(self.name, message.id, "Duplicate")
            if status >= 500 or status in (0, 429):
                raise TransientSendError(f"SMS Gateway answered {status}") from error
            raise RefusedSendError(f"SMS Gateway refused ({status})", {"error": str(error)}) from error
        except (requests.RequestException, OSError) as error:
            raise TransientSendError(str(error)) from error
        return Sent(self.name, state.id, state.state.value)


class TrainingProvider:
    """Where every SMS of a rehearsal goes (hotline.training): stored and shown in the
    simulator's thread, never handed to a real provider."""

    name = "training"
    label = "the training simulator (not sent to any phone)"

    def send(self, to: str, body: str, key: str) -> Sent:
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        return Sent(provider=self.name, provider_id=f"TR{digest}", status="simulated")


#: A data folder `hotline demo` filled holds this file: its numbers are invented, so nothing
#: there is ever sent or dialled, whatever the configuration says (docs/demo.md).
DEMO_MARKER = "demo-commune"


def is_demo_folder() -> bool:
    return (Path(current_app.config["DATA_DIR"]) / DEMO_MARKER).exists()


def twilio_client() -> Client | None:
    """A REST client when real credentials and a sending number are configured (never in a
    demo folder)."""
    config = current_app.config
    if is_demo_folder():
        return None
    if config.get("TWILIO_AUTH_TOKEN_IS_LOCAL") or not config.get("TWILIO_ACCOUNT_SID"):
        return None
    if not config.get("PHONE_NUMBER"):
        return None
    client = Client(config["TWILIO_ACCOUNT_SID"], config["TWILIO_AUTH_TOKEN"])
    client.api.base_url = config["TWILIO_API_BASE"].rstrip("/")
    return client


def current_provider() -> Provider | None:
    """The provider that sends, from configuration; None when none is usable (or in a demo
    folder, whose numbers are invented)."""
    config = current_app.config
    if is_demo_folder():
        return None
    choice = (config.get("SMS_PROVIDER") or "").lower()
    gateway_ready = bool(config.get("SMS_GATEWAY_PASSWORD"))
    if choice == "gateway" or (not choice and gateway_ready):
        if not gateway_ready:
            return None
        return GatewayProvider(
            config["SMS_GATEWAY_URL"], config.get("SMS_GATEWAY_LOGIN"), config["SMS_GATEWAY_PASSWORD"]
        )
    client = twilio_client()
    if client is None:
        return None
    public = config.get("PUBLIC_URL")
    callback = f"{public.rstrip('/')}/twilio/sms/status" if public else None
    return TwilioProvider(client, config["PHONE_NUMBER"], callback)


# --- opt-out ---------------------------------------------------------------------------


def is_opted_out(phone: str | None) -> bool:
    return phone is not None and db.session.get(SmsOptOut, phone) is not None


def set_opted_out(phone: str, opted_out: bool) -> None:
    row = db.session.get(SmsOptOut, phone)
    if opted_out and row is None:
        db.session.add(SmsOptOut(phone=phone))
    elif not opted_out and row is not None:
        db.session.delete(row)


# --- reply throttling ------------------------------------------------------------------

#: Why a reply was held back (`SmsMessage.no_reply_reason`): the same text answered too often,
#: or (against loops that vary their text) very many replies to one number.
THROTTLE_REPEAT, THROTTLE_CEILING = "repeat", "ceiling"
THROTTLE_WINDOW = timedelta(hours=1)


@dataclass
class Throttle:
    """A reply held back: `notice` is True when this number has not yet been told until when."""

    reason: str
    until: datetime  # UTC: from then on the same text is answered again
    notice: bool


def reply_throttle(phone: str, body: str, *, exclude_id: int | None = None) -> Throttle | None:
    """Whether the reply to `body` from `phone` is held back; None when it goes out.

    No number is ever silent: every distinct question (status, help, a confirmation) is
    answered. Held back are only repeats of the same text (folded: case, accents, spaces do
    not make it new: `TRA CỨU` = `tracuu`) once `SMS_REPEAT_REPLIES_PER_HOUR` answers to it
    went out in the last hour, and, as a guard against loops that change their text, every
    reply past `SMS_REPLY_CEILING_PER_HOUR`. The first held-back message gets one notice saying when it
    will be answered; later ones in the hour get nothing (they are still stored and land on
    the request). Counted from the messages themselves (`sms_messages`), so replies shown by
    `hotline sms` count like sent ones.
    """
    config = current_app.config
    since = utcnow() - THROTTLE_WINDOW
    query = select(SmsMessage.body, SmsMessage.created_at, SmsMessage.no_reply_reason).where(
        SmsMessage.phone == phone, SmsMessage.created_at >= since, SmsMessage.reply.is_not(None),
    )
    if exclude_id is not None:
        query = query.where(SmsMessage.id != exclude_id)
    rows = db.session.execute(query).all()
    answered = [row for row in rows if row.no_reply_reason is None]
    noticed = any(row.no_reply_reason in (THROTTLE_REPEAT, THROTTLE_CEILING) for row in rows)
    key = _same_text(body)
    same = sorted(row.created_at for row in answered if _same_text(row.body) == key)
    repeats = int(config["SMS_REPEAT_REPLIES_PER_HOUR"])
    if len(same) >= repeats:
        return Throttle(THROTTLE_REPEAT, _aware(same[-repeats]) + THROTTLE_WINDOW, notice=not noticed)
    ceiling = int(config["SMS_REPLY_CEILING_PER_HOUR"])
    if len(answered) >= ceiling:
        times = sorted(row.created_at for row in answered)
        return Throttle(THROTTLE_CEILING, _aware(times[-ceiling]) + THROTTLE_WINDOW, notice=not noticed)
    return None


def _same_text(body: str | None) -> str:
    """What makes two texts the same: letters and digits, folded (`TRA CỨU` = `tracuu`)."""
    return "".join(words(body or ""))


def _aware(when: datetime) -> datetime:
    from datetime import UTC

    return when if when.tzinfo else when.replace(tzinfo=UTC)


def throttle_notice(throttle: Throttle, language: str | None) -> str:
    """The one notice a held-back number gets: when its text will be answered (local HH:MM)."""
    from zoneinfo import ZoneInfo

    local = throttle.until.astimezone(ZoneInfo(current_app.config["TIMEZONE"]))
    return render_sms(f"sms_throttled_{throttle.reason}", language, time=local.strftime("%H:%M"))


# --- sending ---------------------------------------------------------------------------


def deliver(phone: str | None, body: str, key: str, *, honour_opt_out: bool = True, rehearsal: bool = False):
    """Send through the provider: (kind, message, data) for the timeline; raises when retryable.

    `rehearsal`: the SMS belongs to the training space, so the training provider takes it
    and nothing leaves the machine (hotline.training).

    The data says what the sentence says (a `reason` code, the refusal's `detail`): the
    dashboard renders the line from it (hotline.staff.timeline)."""
    data: dict[str, Any] = {"key": key, "to": phone, "body": body}
    if phone is None:
        return "sms_not_sent", "not sent: no caller number", {**data, "reason": "no_number"}
    if honour_opt_out and is_opted_out(phone):
        return "sms_not_sent", "not sent: the resident opted out (STOP)", {**data, "reason": "opted_out"}
    provider = TrainingProvider() if rehearsal else current_provider()
    if provider is None:
        return "sms_not_sent", "not sent: no provider configured", {**data, "reason": "no_provider"}
    try:
        sent = provider.send(phone, body, key)
    except RefusedSendError as error:
        data.update(provider=provider.name, **error.data)
        data["detail"] = str(error)
        return "sms_failed", f"not sent: {error}", data
    data.update(provider=sent.provider, sid=sent.provider_id, status=sent.status)
    return "sms_sent", f"SMS sent through {provider.label} ({sent.status})", data


def already_sent(ticket: Ticket, key: str) -> bool:
    return any(
        event.kind in SMS_OUTCOME_KINDS and (event.data or {}).get("key") == key
        for event in ticket.events
    )


def send_ticket_sms(ticket_id: int, template: str, key: str, **values: str) -> str:
    """Send one templated SMS about a request; returns the outcome kind.

    The template gets `{code}` from the request and any other placeholder from
    `values` (strings, so a job carrying them stays JSON-safe in the outbox).
    """
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None:
        return "no_such_ticket"
    if already_sent(ticket, key):
        return "already_done"
    body = render_sms(template, ticket.language, **{**values, "code": ticket.code})
    kind, message, data = deliver(ticket.phone, body, f"ticket-{ticket.id}-{key}",
                                  rehearsal=training.is_training(ticket))
    data["key"] = key
    tickets.add_event(ticket, EventKind(kind), message, data=data)
    return kind


def queue_sms(
    key: str, phone: str, body: str, *, ticket: Ticket | None = None, inbound_id: int | None = None,
    kind: str = "reply",
    new_key: bool = False,
) -> SmsOutbound | None:
    """Write an SMS to send and its job, in the caller's transaction; once per key.

    `new_key`: the caller knows the key cannot exist yet (it holds a fresh row's id).
    """
    from . import jobs
    from .outbox import add_job

    if not new_key and db.session.scalar(select(SmsOutbound.id).where(SmsOutbound.key == key)):
        return None
    row = SmsOutbound(
        key=key, phone=phone, body=fit_for_sms(body), ticket=ticket, inbound_id=inbound_id, kind=kind
    )
    if training.current_run_id() is not None or training.is_training(ticket):
        row.provider = TrainingProvider.name  # a rehearsal's SMS: the simulator shows it, nobody gets it
    db.session.add(row)
    db.session.flush()
    add_job(f"sms-out-{row.id}", jobs.send_outbound_sms, row.id)
    return row


def send_outbound(outbound_id: int) -> str:
    """Send one queued SMS (an RQ job); a second run finds it done and sends nothing.

    A provider hiccup raises TransientSendError having written nothing: the job's unit of
    work rolls back, and the job notes the try in a unit of its own (`note_send_error`)
    before RQ retries it."""
    row = db.session.get(SmsOutbound, outbound_id)
    if row is None:
        return "no_such_sms"
    if row.status != "pending":
        return "already_done"
    row.attempts += 1
    kind, message, data = deliver(row.phone, row.body, row.key, honour_opt_out=row.kind != "optout",
                                  rehearsal=row.provider == TrainingProvider.name)
    row.provider = data.get("provider")
    row.provider_id = data.get("sid")
    row.provider_status = data.get("status")
    row.status = {"sms_sent": "sent", "sms_failed": "failed"}.get(kind, "not_sent")
    row.error = None if kind == "sms_sent" else message
    if kind == "sms_sent":
        row.sent_at = utcnow()
    if row.ticket is not None:
        tickets.add_event(row.ticket, EventKind(kind), message, data={**data, "sms_id": row.id})
    return kind


def note_send_error(outbound_id: int, error: Exception) -> None:
    """A try that the provider failed for now (RQ retries the job): counted, with its error."""
    row = db.session.get(SmsOutbound, outbound_id)
    if row is not None and row.status == "pending":
        row.attempts += 1
        row.error = str(error)[:500]


def record_delivery_status(provider: str, provider_id: str, status: str) -> bool:
    """A provider's later word on a sent SMS (delivered, failed): onto the row and the timeline."""
    row = db.session.scalar(
        select(SmsOutbound).where(SmsOutbound.provider == provider, SmsOutbound.provider_id == provider_id)
    )
    if row is None or row.provider_status == status:
        return False
    row.provider_status = status
    final = status.lower() in ("delivered", "failed", "undelivered")
    if final:
        row.status = "delivered" if status.lower() == "delivered" else "failed"
    if final and row.ticket is not None:
        tickets.add_event(
            row.ticket, EventKind(f"sms_{row.status}"), f"SMS {status.lower()} ({provider})",
            data={"sms_id": row.id, "provider_id": provider_id, "status": status},
        )
    return True
