"""The SMS webhooks: Twilio's `POST /twilio/sms` and SMS Gateway for Android's `POST /sms-gateway/webhook`.

Thin: check the signature, read the provider's fields, hand over to
`pipeline.receive_sms`, answer. A forged request gets 403 and changes nothing.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from flask import Blueprint, Response, abort, current_app, jsonify, request
from twilio.twiml.messaging_response import MessagingResponse

from .. import messaging, webhook_input
from ..twilio_auth import limit_webhook_body, twilio_signed
from ..unit_of_work import commit_once, unit_of_work
from ..webhook_input import GATEWAY_SENT_ID
from . import gateway_auth, pipeline

twilio_bp = Blueprint("sms_twilio", __name__, url_prefix="/twilio/sms")
gateway_bp = Blueprint("sms_gateway", __name__, url_prefix="/sms-gateway")

#: SMS Gateway delivery events → the status recorded on the SMS and the timeline.
GATEWAY_STATUS_EVENTS = {"sms:sent": "Sent", "sms:delivered": "Delivered", "sms:failed": "Failed"}
#: Problems recorded per message (a form may have many odd fields; the first say enough).
MAX_STORED_FLAGS = 20


def _receive(**fields) -> pipeline.Inbound | None:
    """The pipeline, or on any failure a bare stored message (so nothing is lost), or None.

    Each is one unit of work: the whole SMS (message, staff command, request, reply and its
    job) commits together, or is rolled back whole before the bare message is stored.
    """
    try:
        return commit_once(lambda: pipeline.receive_sms(**fields))
    except Exception:
        current_app.logger.exception("SMS handling failed; storing the message as received")
    try:
        return commit_once(lambda: pipeline.store_unhandled(**fields))
    except Exception:
        current_app.logger.exception("SMS could not be stored")
        return None


def _stored_flags(flags: dict[str, str]) -> dict[str, str] | None:
    """What was wrong with the fields, as stored on the message (a bounded number of them)."""
    return dict(list(flags.items())[:MAX_STORED_FLAGS]) or None


@twilio_bp.post("")
@twilio_signed
def incoming_sms() -> Response:
    params = webhook_input.twilio_params(request.form, webhook_input.MESSAGE_SID)
    form = params.values
    sid = form.get("MessageSid")
    inline = current_app.config["SMS_TWILIO_REPLY"] == "twiml"
    result = _receive(
        provider="twilio", dedup_key=sid or unidentified_sms_key(request.form),
        provider_id=params.raw.get("MessageSid") or sid, from_number=form.get("From"),
        text=form.get("Body"), reply_mode=pipeline.REPLY_TWIML if inline else pipeline.REPLY_QUEUE,
        flags=_stored_flags(params.flags),
    )
    if result is None:
        return Response("try again later", status=503, mimetype="text/plain")
    answer = MessagingResponse()
    if inline and result.reply:
        answer.message(result.reply)
    return Response(str(answer), mimetype="text/xml")


def unidentified_sms_key(form) -> str:
    """The key of a signed SMS that carries no MessageSid anywhere, not even in its signed string.

    An SMS whose MessageSid is not one is still an SMS: it is stored (flagged) and handled,
    because no message is ever dropped. Its key is never the bad value itself. If the
    signed string holds a MessageSid (a re-split replay: Twilio signs names and values
    with no separators, so `MessageSid=SM…NumMedia0` without NumMedia still validates),
    that id is the key (webhook_input.recover_twilio_id), so a replay lands on the real
    message and creates nothing twice. Only when there is none at all, the key is a hash
    of the signed string, which every re-split and every replay of that request shares:
    stored once, never twice.
    """
    digest = hashlib.sha256(webhook_input.signed_string(form).encode("utf-8", "replace")).hexdigest()
    return f"signed-{digest}"


@twilio_bp.post("/status")
@twilio_signed
def sms_status() -> Response:
    """Twilio's status callback for SMS we sent (delivered, failed, …): looked up by a valid
    MessageSid only; anything else is answered and ignored."""
    params = webhook_input.twilio_params(request.form, webhook_input.MESSAGE_SID)
    sid = params.values.get("MessageSid")
    status = params.values.get("MessageStatus") or params.values.get("SmsStatus")
    if sid and status:
        with unit_of_work():
            messaging.record_delivery_status("twilio", sid, status)
    elif params.flags:
        current_app.logger.warning("SMS status callback ignored: odd fields %s", params.flags)
    return Response(status=204)


@gateway_bp.post("/webhook")
def gateway_webhook():
    limit_webhook_body()  # before the body is read: 413 from its Content-Length
    raw = request.get_data(cache=True)
    if not gateway_auth.request_is_from_gateway(raw):
        current_app.logger.warning("rejected unsigned or forged SMS gateway webhook")
        abort(403)
    event = webhook_input.json_object(raw)
    if event is None or not isinstance(event.get("payload"), dict):
        return jsonify(error="expected a JSON object with 'event' and 'payload'"), 400
    kind, payload = event.get("event"), event["payload"]
    if kind == "sms:received":
        sms = webhook_input.gateway_sms(payload)
        result = _receive(
            provider="gateway",
            dedup_key=gateway_dedup_key(sms.phone or "", sms.text, sms.received_at, sms.raw_time),
            provider_id=sms.message_id, from_number=sms.phone, text=sms.text, received_at=sms.received_at,
            flags=_stored_flags(sms.flags),
        )
        if result is None:
            return jsonify(error="try again later"), 503  # the gateway retries with backoff
        return jsonify(ok=True, duplicate=result.duplicate)
    message_id = payload.get("messageId")
    known_id = isinstance(message_id, str) and GATEWAY_SENT_ID.fullmatch(message_id)
    if kind in GATEWAY_STATUS_EVENTS and known_id:
        with unit_of_work():
            messaging.record_delivery_status("gateway", message_id, GATEWAY_STATUS_EVENTS[kind])
        return jsonify(ok=True)
    ignored, _ = webhook_input.clean_text(kind, 40)
    return jsonify(ok=True, ignored=ignored)


def gateway_dedup_key(phone: str, text: str, when: datetime | None, raw_time: str) -> str:
    """The gateway's ids derive from content and repeat, so a message is (phone, text, time)."""
    moment = when.astimezone(UTC).isoformat() if when else raw_time
    return hashlib.sha256(f"{phone}\x1f{text}\x1f{moment}".encode()).hexdigest()
