"""A request's timeline in the viewer's language.

Timeline rows keep the English sentence they were written with (`TicketEvent.message`):
the CLI, the API and logs read it, and it must not change under them. The dashboard
instead renders each line from the event's kind and data with Flask-Babel, so a
Vietnamese page reads Vietnamese. A kind this module does not know, or an older row
whose data lacks what its line needs, shows the stored sentence: nothing is hidden.

Text people typed (notes, SMS bodies) and provider error details stay as written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..extensions import db
from ..models import Staff, Team, Ticket, TicketEvent, Village
from .labels import REASONS
from .roster import local

CHANNELS = {"voice": _l("a call"), "sms": _l("SMS")}
PROVIDERS = {"twilio": "Twilio", "gateway": "SMS Gateway"}

#: Fixed sentences, translated whole (their kinds carry no data that says which one).
FIXED = {
    "not sent: no caller number": _l("not sent: no caller number"),
    "not sent: the resident opted out (STOP)": _l("not sent: the resident opted out (STOP)"),
    "not sent: no provider configured": _l("not sent: no provider configured"),
    "no reply: no_number": _l("no reply: the sender's number is unknown"),
    "no reply: opted_out": _l("no reply: the resident opted out (STOP)"),
    "no reply: reply_cap": _l("no reply: this number got too many replies in the last hour"),
    "callback asked for by SMS": _l("callback asked for by SMS"),
    "cancelled by the resident by SMS": _l("cancelled by the resident by SMS"),
    "marked elderly": _l("marked elderly"),
    "elderly flag removed": _l("elderly flag removed"),
    "voice message recorded": _l("voice message recorded"),
    "not placed: no Twilio credentials or no phone number": _l(
        "not placed: no Twilio credentials or no phone number"
    ),
    "voice message transcribed: no words recognised; listen to the recording": _l(
        "voice message transcribed: no words recognised; listen to the recording"
    ),
}
#: Sentences that end in a detail from elsewhere (a provider's or a library's error):
#: the stored prefix, translated; the detail stays as written.
PREFIXED = {
    "not sent: ": _l("not sent: %(detail)s"),
    "transcription failed: ": _l("transcription failed: %(detail)s"),
    "recording not downloaded: ": _l("recording not downloaded: %(detail)s"),
    "recording not available yet, will retry: ": _l("recording not available yet, will retry: %(detail)s"),
    "voice message not transcribed: ": _l("voice message not transcribed: %(detail)s"),
    "not placed: Twilio refused ": _l("not placed: Twilio refused %(detail)s"),
}


class Lookups:
    """Names of the people, teams and villages a page's events mention, in three queries."""

    def __init__(self, events: Iterable[TicketEvent]):
        users, teams, villages = set(), set(), set()
        for event in events:
            data = event.data or {}
            users.update(v for v in (event.actor, data.get("staff"), data.get("volunteer")) if v)
            if event.kind == "reassigned" and data.get("to"):
                users.add(data["to"])
            if event.kind == "transferred" and data.get("to"):
                teams.add(data["to"])
            if event.kind == "routed" and data.get("village"):
                villages.add(data["village"])
        self.people = self._names(Staff.username, Staff.name, users)
        self.teams = self._names(Team.code, Team.name, teams)
        self.villages = self._names(Village.code, Village.name, villages)

    @staticmethod
    def _names(key, name, wanted: set[str]) -> dict[str, str]:
        if not wanted:
            return {}
        return {k: v for k, v in db.session.execute(select(key, name).where(key.in_(wanted)))}

    def person(self, username: str | None) -> str:
        """Their name today; the username when the account is gone (KeyError when unknown)."""
        if not username:
            raise KeyError("no person")
        return self.people.get(username, username)


Render = Callable[[TicketEvent, dict[str, Any], Lookups], str]
RENDERERS: dict[str, Render] = {}


def renders(*kinds: str):
    def register(fn: Render) -> Render:
        for kind in kinds:
            RENDERERS[kind] = fn
        return fn

    return register


def with_note(text: str, event: TicketEvent, data: dict[str, Any], english: str) -> str:
    """Append the staff member's note. Rows written before notes went into `data` keep it
    only in the sentence: those show the stored sentence instead."""
    if "note" in data:
        return f"{text}: {data['note']}" if data["note"] else text
    if (event.message or "") != english:
        raise KeyError("note only in the stored sentence")
    return text


def _when(value: str) -> str:
    return f"{local(datetime.fromisoformat(value)):%d/%m %H:%M}"


@renders("created")
def _created(event, data, names):
    ticket: Ticket = event.ticket
    values = {"reason": REASONS[ticket.reason], "channel": CHANNELS[ticket.channel]}
    if ticket.phone is None:
        return _("request created (%(reason)s) via %(channel)s; no caller number: cannot call back", **values)
    return _("request created (%(reason)s) via %(channel)s", **values)


@renders("sms_sent")
def _sms_sent(event, data, names):
    if data.get("status") == "twiml":
        return _("SMS reply sent through Twilio (TwiML)")
    provider = PROVIDERS.get(data["provider"], data["provider"])
    return _("SMS sent through %(provider)s (%(status)s)", provider=provider, status=data["status"])


@renders("sms_not_sent", "sms_failed", "callback_failed", "cancelled", "flag", "voice_message")
def _fixed(event, data, names):
    message = event.message or ""
    if message in FIXED:
        return str(FIXED[message])
    if event.kind == "sms_failed" and "provider_id" in data:  # the provider's later word
        return _("SMS not delivered (%(status)s)", status=data["status"])
    return _prefixed(message)


def _prefixed(message: str) -> str:
    for prefix, text in PREFIXED.items():
        if message.startswith(prefix):
            return str(text) % {"detail": message[len(prefix):]}
    raise KeyError(message)


@renders("sms_delivered")
def _sms_delivered(event, data, names):
    return _("SMS delivered")


@renders("claimed")
def _claimed(event, data, names):
    return _("claimed by %(name)s", name=names.person(data.get("staff") or event.actor))


@renders("released")
def _released(event, data, names):
    return _("released by %(name)s", name=names.person(event.actor))


@renders("reassigned")
def _reassigned(event, data, names):
    return _("assigned to %(to)s by %(name)s", to=names.person(data["to"]), name=names.person(event.actor))


@renders("outcome")
def _outcome(event, data, names):
    outcome = data["outcome"]
    if outcome == "resolved":
        name = names.person(event.actor)
        return with_note(_("resolved by %(name)s", name=name), event, data, f"resolved by {name}")
    if outcome == "wrong_number":
        return with_note(_("wrong number"), event, data, "wrong number")
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


@renders("visit_booked")
def _visit_booked(event, data, names):
    day = date.fromisoformat(data["visit_on"])
    name = names.person(data["volunteer"])
    text = _("home visit on %(date)s by %(name)s", date=f"{day:%d/%m/%Y}", name=name)
    return with_note(text, event, data, f"home visit on {day:%d/%m/%Y} by {name}")


@renders("transferred")
def _transferred(event, data, names):
    team = names.teams[data["to"]]
    return with_note(_("transferred to %(team)s", team=team), event, data, f"transferred to {team}")


@renders("routed")
def _routed(event, data, names):
    return _("village set to %(village)s", village=names.villages[data["village"]])


@renders("retry_due")
def _retry_due(event, data, names):
    return _("back in the queue for callback try %(attempt)s", attempt=data["attempt"])


@renders("callback_requested")
def _callback_requested(event, data, names):
    if "staff" in data:
        return _("%(name)s is calling back through the hotline", name=names.person(data["staff"]))
    return str(FIXED[event.message or ""])


@renders("callback_placed")
def _callback_placed(event, data, names):
    name = names.person(data["staff"])
    return _("ringing %(name)s, then the resident (call %(sid)s)", name=name, sid=data["sid"])


@renders("staff_sms_sent")
def _staff_sms_sent(event, data, names):
    return _("visit details texted to %(name)s", name=names.person(data["volunteer"]))


@renders("staff_sms_not_sent")
def _staff_sms_not_sent(event, data, names):
    return _("volunteer %(name)s not texted: no phone or provider", name=names.person(data["volunteer"]))


@renders("staff_sms_failed")
def _staff_sms_failed(event, data, names):
    return _("volunteer not texted: %(detail)s", detail=(event.message or "").split(": ", 1)[1])


@renders("dropped_call", "missed_call")
def _unfinished_call(event, data, names):
    if event.kind == "dropped_call":
        return _("dropped call from the same number")
    return _("missed call from the same number")


@renders("recording_failed", "recording_absent")
def _recording_lost(event, data, names):
    if event.kind == "recording_failed":
        return _("recording failed: no voice message was kept")
    return _("recording absent: no voice message was kept")


@renders("transcription_done")
def _transcription_done(event, data, names):
    message = event.message or ""
    if message in FIXED:
        return str(FIXED[message])
    confidence = f"{data['confidence']:.2f}"
    if data.get("low_confidence"):
        return _(
            "voice message transcribed with low confidence (%(confidence)s): listen to the recording",
            confidence=confidence,
        )
    return _("voice message transcribed (confidence %(confidence)s)", confidence=confidence)


@renders("transcription_no_model")
def _transcription_no_model(event, data, names):
    return _(
        "no speech model for %(language)s installed; the recording can be played",
        language=data["language"],
    )


@renders("transcription_failed", "transcription_waiting_for_audio", "transcription_unreadable_audio")
def _transcription_trouble(event, data, names):
    return _prefixed(event.message or "")


def line(event: TicketEvent, names: Lookups) -> str:
    """The event in the current locale; the stored sentence when it cannot be rendered."""
    render = RENDERERS.get(event.kind)
    if render is not None:
        try:
            return render(event, event.data or {}, names)
        except (KeyError, TypeError, ValueError, IndexError):
            pass  # data from before this module knew the kind's fields
    return event.message or ""


def lines(events: Iterable[TicketEvent]) -> dict[int, str]:
    """Each event's line by id, for the request page."""
    events = list(events)
    names = Lookups(events)
    return {event.id: line(event, names) for event in events}
