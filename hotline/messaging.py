"""Outgoing SMS to residents, sent by workers and written on the request's timeline.

A send is keyed (`key`) per request so a job that runs twice sends once. With
no provider configured the timeline says so plainly instead of failing silently.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from flask import current_app
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from . import tickets
from .extensions import db
from .models import Ticket

SMS_OUTCOME_KINDS = ("sms_sent", "sms_not_sent", "sms_failed")


class TransientSendError(RuntimeError):
    """The provider failed in a way worth retrying (5xx, 429, network); RQ retries the job."""


def sms_templates() -> dict[str, dict[str, str]]:
    cache = current_app.extensions.get("hotline.sms_templates")
    if cache is None:
        path = Path(current_app.config["FLOWS_DIR"]) / "sms_templates.yaml"
        cache = yaml.safe_load(path.read_text(encoding="utf-8"))
        current_app.extensions["hotline.sms_templates"] = cache
    return cache


def render_sms(template: str, language: str | None, **values: Any) -> str:
    texts = sms_templates()[template]
    text = texts.get(language or "") or texts["vi"]
    return text.format(**values)


def twilio_client() -> Client | None:
    """A REST client when real credentials and a sending number are configured."""
    config = current_app.config
    if config.get("TWILIO_AUTH_TOKEN_IS_LOCAL") or not config.get("TWILIO_ACCOUNT_SID"):
        return None
    if not config.get("PHONE_NUMBER"):
        return None
    client = Client(config["TWILIO_ACCOUNT_SID"], config["TWILIO_AUTH_TOKEN"])
    client.api.base_url = config["TWILIO_API_BASE"].rstrip("/")
    return client


def already_sent(ticket: Ticket, key: str) -> bool:
    return any(
        event.kind in SMS_OUTCOME_KINDS and (event.data or {}).get("key") == key
        for event in ticket.events
    )


def send_ticket_sms(ticket_id: int, template: str, key: str) -> str:
    """Send one templated SMS about a request; returns the outcome kind."""
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None:
        return "no_such_ticket"
    if already_sent(ticket, key):
        return "already_done"
    body = render_sms(template, ticket.language, code=ticket.code)
    data: dict[str, Any] = {"key": key, "to": ticket.phone, "body": body}
    client = twilio_client()
    if ticket.phone is None:
        kind, message = "sms_not_sent", "not sent: no caller number"
    elif client is None:
        kind, message = "sms_not_sent", "not sent: no provider configured"
    else:
        try:
            sent = client.messages.create(
                to=ticket.phone, from_=current_app.config["PHONE_NUMBER"], body=body
            )
        except TwilioRestException as error:
            if error.status >= 500 or error.status == 429:
                raise TransientSendError(f"Twilio answered {error.status}") from error
            kind, message = "sms_failed", f"not sent: Twilio refused ({error.status}: {error.msg})"
            data["error_code"] = error.code
        except OSError as error:  # network: worth retrying
            raise TransientSendError(str(error)) from error
        else:
            kind, message = "sms_sent", f"SMS sent through Twilio ({sent.status})"
            data.update(provider="twilio", sid=sent.sid, status=sent.status)
    tickets.add_event(ticket, kind, message, data=data)
    db.session.commit()
    return kind
