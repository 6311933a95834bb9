"""A request's timeline in the viewer's language.

Timeline rows keep the English sentence they were written with (`TicketEvent.message`):
the CLI, the API and logs read it, and it must not change under them. The dashboard
instead renders each line from the event's kind (`hotline.models.EventKind`: every kind
has a renderer here) and its data, with Flask-Babel, so a Vietnamese page reads
Vietnamese. The stored sentence is never parsed: whatever tells one line of a kind from
another (a reason code, a provider's error, a note) is in the data, written there by the
code that adds the line, and by migration 0010 for rows written before. A row whose data
lacks what its line needs, or a kind from a newer version, shows the stored sentence:
nothing is hidden.

Text people typed (notes, SMS bodies) and provider error details stay as written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any, NamedTuple

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..extensions import db
from ..models import EventKind, Staff, Team, Ticket, TicketEvent, Village
from .labels import ACTORS, REASONS, label
from .roster import local

CHANNELS = {"voice": _l("a call"), "sms": _l("SMS")}
PROVIDERS = {"twilio": "Twilio", "gateway": "SMS Gateway"}

#: Why an SMS was not sent (`data["reason"]`, hotline.messaging.deliver).
NOT_SENT = {
    "no_number": _l("not sent: no caller number"),
    "opted_out": _l("not sent: the resident opted out (STOP)"),
    "no_provider": _l("not sent: no provider configured"),
}
#: Why an SMS reply was not sent (`data["no_reply"]`, hotline.sms.pipeline.NoReply).
NO_REPLY = {
    "no_number": _l("no reply: the sender's number is unknown"),
    "opted_out": _l("no reply: the resident opted out (STOP)"),
    "reply_cap": _l("no reply: this number got too many replies in the last hour"),
    "repeat": _l("no reply: the same text was already answered this hour"),
    "ceiling": _l("no reply: this number sent very many texts this hour"),
}

#: A provider's word for where an SMS is (Twilio's MessageStatus, SMS Gateway's state).
SMS_STATUSES = {
    "accepted": _l("accepted"),
    "scheduled": _l("scheduled"),
    "queued": _l("queued"),
    "pending": _l("queued"),
    "processed": _l("handed to the network"),
    "sending": _l("sending"),
    "sent": _l("sent"),
    "delivered": _l("delivered"),
    "undelivered": _l("not delivered"),
    "failed": _l("failed"),
    "canceled": _l("cancelled"),
    "read": _l("read"),
}


def sms_status(status: str) -> str:
    """The provider's status in words; one this table lacks shows as written."""
    known = SMS_STATUSES.get(str(status).lower())
    return str(known) if known is not None else str(status)


class Lookups:
    """Names of the people, teams and villages a page's events mention, in three queries."""

    def __init__(self, events: Iterable[TicketEvent]):
        users: set[str] = set()
        teams: set[str] = set()
        villages: set[str] = set()
        for event in events:
            data = event.data or {}
            users.update(v for v in (event.actor, data.get("staff"), data.get("volunteer")) if v)
            if event.kind == EventKind.REASSIGNED and data.get("to"):
                users.add(data["to"])
            if event.kind == EventKind.TRANSFERRED and data.get("to"):
                teams.add(data["to"])
            if event.kind == EventKind.ROUTED and data.get("village"):
                villages.add(data["village"])
        self.people = self._names(Staff.username, Staff.name, users)
        self.teams = self._names(Team.code, Team.name, teams)
        self.villages = self._names(Village.code, Village.name, villages)

    @staticmethod
    def _names(key: Any, name: Any, wanted: set[str]) -> dict[str, str]:
        if not wanted:
            return {}
        return {k: v for k, v in db.session.execute(select(key, name).where(key.in_(wanted)))}

    def person(self, username: str | None) -> str:
        """Their name today; the username when the account is gone (KeyError when unknown)."""
        if not username:
            raise KeyError("no person")
        return self.people.get(username, username)


Render = Callable[[TicketEvent, dict[str, Any], Lookups], str]
RENDERERS: dict[EventKind, Render] = {}


def renders(*kinds: EventKind) -> Callable[[Render], Render]:
    def register(fn: Render) -> Render:
        for kind in kinds:
            RENDERERS[kind] = fn
        return fn

    return register


def with_note(text: str, data: dict[str, Any]) -> str:
    """Append the staff member's note (KeyError when the data does not say whether one was given)."""
    return f"{text}: {data['note']}" if data["note"] else text


def _when(value: str) -> str:
    return f"{local(datetime.fromisoformat(value)):%d/%m/%Y %H:%M}"


@renders(EventKind.CREATED)
def _created(event, data, names):
    ticket: Ticket = event.ticket
    values = {"reason": REASONS[ticket.reason], "channel": CHANNELS[ticket.channel]}
    if ticket.phone is None:
        return _("request created (%(reason)s) via %(channel)s; no caller number: cannot call back", **values)
    if data.get("linked"):  # a second need from the same phone (hotline.sms.pipeline)
        return _("request created (%(reason)s) via %(channel)s; the same number has request %(code)s",
                 code=data["linked"], **values)
    return _("request created (%(reason)s) via %(channel)s", **values)


@renders(EventKind.NOTE)
def _typed(event, data, names):
    if data.get("linked"):  # a second need from the same phone (hotline.sms.pipeline)
        return _("another request from this number: %(code)s", code=data["linked"])
    return event.message or ""  # what a person typed, as written


@renders(EventKind.SMS_IN)
def _sms_in(event, data, names):
    if data.get("empty"):
        return _("(empty SMS)")
    return event.message or ""  # the resident's text, as written


@renders(EventKind.SMS_SENT)
def _sms_sent(event, data, names):
    if data.get("status") == "twiml":
        return _("SMS reply sent through Twilio (TwiML)")
    if data.get("provider") == "training":  # hotline.messaging.TrainingProvider
        return _("training: SMS shown on the practice phone, not sent to any phone")
    provider = PROVIDERS.get(data["provider"], data["provider"])
    status = sms_status(data["status"])
    return _("SMS sent through %(provider)s (%(status)s)", provider=provider, status=status)


@renders(EventKind.SMS_NOT_SENT)
def _sms_not_sent(event, data, names):
    if "no_reply" in data:
        return str(NO_REPLY[data["no_reply"]])
    return str(NOT_SENT[data["reason"]])


@renders(EventKind.SMS_FAILED)
def _sms_failed(event, data, names):
    if "provider_id" in data:  # the provider's later word
        return _("SMS not delivered (%(status)s)", status=sms_status(data["status"]))
    return _("not sent: %(detail)s", detail=data["detail"])


@renders(EventKind.SMS_DELIVERED)
def _sms_delivered(event, data, names):
    return _("SMS delivered")


@renders(EventKind.CANCELLED)
def _cancelled(event, data, names):
    if event.actor != "resident:sms":
        raise KeyError("cancelled by someone else: the stored sentence says who")
    return _("cancelled by the resident by SMS")


@renders(EventKind.FLAG)
def _flag(event, data, names):
    return _("marked elderly") if data["elderly"] else _("elderly flag removed")


@renders(EventKind.VOICE_MESSAGE)
def _voice_message(event, data, names):
    return _("voice message recorded")


@renders(EventKind.CLAIMED)
def _claimed(event, data, names):
    return _("claimed by %(name)s", name=names.person(data.get("staff") or event.actor))


@renders(EventKind.RELEASED)
def _released(event, data, names):
    return _("released by %(name)s", name=names.person(event.actor))


@renders(EventKind.REASSIGNED)
def _reassigned(event, data, names):
    return _("assigned to %(to)s by %(name)s", to=names.person(data["to"]), name=names.person(event.actor))


@renders(EventKind.OUTCOME)
def _outcome(event, data, names):
    outcome = data["outcome"]
    if outcome == "resolved":
        return with_note(_("resolved by %(name)s", name=names.person(event.actor)), data)
    if outcome == "wrong_number":
        return with_note(_("wrong number"), data)
    if outcome == "no_answer":
        values = {"attempt": data["attempt"], "max": data["max_attempts"]}
        if "retry_at" in data:
            return _(
                "no answer (try %(attempt)s of %(max)s); back in the queue at %(when)s",
                when=_when(data["retry_at"]),
                **values,
            )
        return _(
            "no answer (try %(attempt)s of %(max)s); SMS asks the resident to call the hotline", **values
        )
    raise KeyError(outcome)


@renders(EventKind.VISIT_BOOKED)
def _visit_booked(event, data, names):
    day = date.fromisoformat(data["visit_on"])
    name = names.person(data["volunteer"])
    return with_note(_("home visit on %(date)s by %(name)s", date=f"{day:%d/%m/%Y}", name=name), data)


@renders(EventKind.TRANSFERRED)
def _transferred(event, data, names):
    return with_note(_("transferred to %(team)s", team=names.teams[data["to"]]), data)


@renders(EventKind.ROUTED)
def _routed(event, data, names):
    return _("village set to %(village)s", village=names.villages[data["village"]])


@renders(EventKind.RETRY_DUE)
def _retry_due(event, data, names):
    return _("back in the queue for callback try %(attempt)s", attempt=data["attempt"])


@renders(EventKind.CALLBACK_REQUESTED)
def _callback_requested(event, data, names):
    if "staff" in data:
        return _("%(name)s is calling back through the hotline", name=names.person(data["staff"]))
    if data.get("channel") == "voice":
        return _("callback asked for again by phone")
    return _("callback asked for by SMS")


@renders(EventKind.CALLBACK_PLACED)
def _callback_placed(event, data, names):
    name = names.person(data["staff"])
    if data.get("training"):  # hotline.staff.telephony: a rehearsal's callback rings nobody
        return _("training: the hotline would ring %(name)s, then the resident; no call was placed",
                 name=name)
    return _("ringing %(name)s, then the resident (call %(sid)s)", name=name, sid=data["sid"])


@renders(EventKind.CALLBACK_FAILED)
def _callback_failed(event, data, names):
    if data["reason"] == "refused":
        return _("not placed: Twilio refused %(detail)s", detail=f"({data['http_status']})")
    if data["reason"] == "no_credentials":
        return _("not placed: no Twilio credentials or no phone number")
    raise KeyError(data["reason"])


@renders(EventKind.STAFF_SMS_SENT)
def _staff_sms_sent(event, data, names):
    if data.get("provider") == "training":
        return _("training: visit details for %(name)s shown, not texted",
                 name=names.person(data["volunteer"]))
    return _("visit details texted to %(name)s", name=names.person(data["volunteer"]))


@renders(EventKind.STAFF_SMS_NOT_SENT)
def _staff_sms_not_sent(event, data, names):
    return _("volunteer %(name)s not texted: no phone or provider", name=names.person(data["volunteer"]))


@renders(EventKind.STAFF_SMS_FAILED)
def _staff_sms_failed(event, data, names):
    return _("volunteer not texted: %(detail)s", detail=data["detail"])


@renders(EventKind.DROPPED_CALL)
def _dropped_call(event, data, names):
    if "heard" in data:  # heard the request's status or information, then hung up (hotline.ivr.call_status)
        return _("called and hung up in the menu")
    return _("dropped call from the same number")


@renders(EventKind.MISSED_CALL)
def _missed_call(event, data, names):
    return _("missed call from the same number")


@renders(EventKind.RECORDING_FAILED)
def _recording_failed(event, data, names):
    return _("recording failed: no voice message was kept")


@renders(EventKind.RECORDING_ABSENT)
def _recording_absent(event, data, names):
    return _("recording absent: no voice message was kept")


@renders(EventKind.TRANSCRIPTION_DONE)
def _transcription_done(event, data, names):
    if data.get("empty"):
        return _("voice message transcribed: no words recognised; listen to the recording")
    confidence = f"{data['confidence']:.2f}"
    if data.get("low_confidence"):
        return _(
            "voice message transcribed with low confidence (%(confidence)s): listen to the recording",
            confidence=confidence,
        )
    return _("voice message transcribed (confidence %(confidence)s)", confidence=confidence)


@renders(EventKind.TRANSCRIPTION_NO_MODEL)
def _transcription_no_model(event, data, names):
    return _(
        "no speech model for %(language)s installed; the recording can be played",
        language=label("language", data["language"]),
    )


@renders(EventKind.TRANSCRIPTION_FAILED)
def _transcription_failed(event, data, names):
    if data["step"] == "download":
        return _("recording not downloaded: %(detail)s", detail=data["detail"])
    return _("transcription failed: %(detail)s", detail=data["detail"])


@renders(EventKind.TRANSCRIPTION_WAITING_FOR_AUDIO)
def _transcription_waiting(event, data, names):
    return _("recording not available yet, will retry: %(detail)s", detail=data["detail"])


@renders(EventKind.TRANSCRIPTION_UNREADABLE_AUDIO)
def _transcription_unreadable(event, data, names):
    return _("voice message not transcribed: %(detail)s", detail=data["detail"])


@renders(EventKind.PERSONAL_DATA_REMOVED)
def _personal_data_removed(event, data, names):
    """hotline.personal_data: what the retention periods or an erase request took away."""
    if data["why"] == "erased":
        return _("personal data erased at the resident's request")
    if data["why"] == "recordings":
        return _("recordings and transcripts removed after %(days)s days", days=data["days"])
    return _("texts and numbers removed after %(days)s days", days=data["days"])


def line(event: TicketEvent, names: Lookups) -> str:
    """The event in the current locale; the stored sentence when it cannot be rendered."""
    known = EventKind._value2member_map_.get(event.kind)
    render = RENDERERS.get(known) if isinstance(known, EventKind) else None
    if render is None:
        return event.message or ""  # a kind this version does not know
    try:
        return render(event, event.data or {}, names)
    except (KeyError, TypeError, ValueError, IndexError):
        return event.message or ""  # data that lacks what the line needs


class Line(NamedTuple):
    actor: str
    text: str


def actor(event: TicketEvent, names: Lookups) -> str:
    """Who wrote the row, in words: a staff member's name, or "the hotline (automatic)"."""
    if not event.actor:
        return ""
    if event.actor in ACTORS:
        return label(ACTORS, event.actor)
    if event.actor in names.people:
        return names.people[event.actor]
    if ":" in event.actor:  # a kind of writer this version does not know
        return label(ACTORS, event.actor)
    return event.actor  # a username whose account is gone


def entries(events: Iterable[TicketEvent]) -> dict[int, Line]:
    """Each event's writer and line by id, for the request page."""
    events = list(events)
    names = Lookups(events)
    return {event.id: Line(actor(event, names), line(event, names)) for event in events}


def lines(events: Iterable[TicketEvent]) -> dict[int, str]:
    """Each event's line by id."""
    return {event_id: entry.text for event_id, entry in entries(events).items()}
