"""The SMS webhooks: Twilio's `POST /twilio/sms` and SMS Gateway for Android's `POST /sms-gateway/webhook`.

Thin: check the signature, read the provider's fields, hand over to
`pipeline.receive_sms`, answer. A forged request gets 403 and changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from flask import Blueprint, Response, abort, current_app, jsonify, request
from twilio.twiml.messaging_response import MessagingResponse

from .. import messaging
from ..extensions import db
from ..twilio_auth import twilio_signed
from . import gateway_auth, pipeline

twilio_bp = Blueprint("sms_twilio", __name__, url_prefix="/twilio/sms")
gateway_bp = Blueprint("sms_gateway", __name__, url_prefix="/sms-gateway")

#: SMS Gateway delivery events → the status recorded on the SMS and the timeline.
GATEWAY_STATUS_EVENTS = {"sms:sent": "Sent", "sms:delivered": "Delivered", "sms:failed": "Failed"}


def _receive(**fields) -> pipeline.Inbound | None:
    """The pipeline, or on any failure a bare stored message (so nothing is lost), or None."""
    try:
        return pipeline.receive_sms(**fields)
    except Exception:
        current_app.logger.exception("SMS handling failed; storing the message as received")
        db.session.rollback()
    try:
        return pipeline.store_unhandled(**fields)
    except Exception:
        current_app.logger.exception("SMS could not be stored")
        db.session.rollback()
        return None


@twilio_bp.post("")
@twilio_signed
def incoming_sms() -> Response:
    form = request.form
    sid = form.get("MessageSid") or form.get("SmsSid")
    if not sid:
        return Response("MessageSid is missing", status=400, mimetype="text/plain")
    inline = current_app.config["SMS_TWILIO_REPLY"] == "twiml"
    result = _receive(
        provider="twilio", dedup_key=sid, provider_id=sid, from_number=form.get("From"),
        text=form.get("Body"), reply_mode=pipeline.REPLY_TWIML if inline else pipeline.REPLY_QUEUE,
    )
    if result is None:
        return Response("try again later", status=503, mimetype="text/plain")
    answer = MessagingResponse()
    if inline and result.reply:
        answer.message(result.reply)
    return Response(str(answer), mimetype="text/xml")


@twilio_bp.post("/status")
@twilio_signed
def sms_status() -> Response:
    """Twilio's status callback for SMS we sent (delivered, failed, …)."""
    sid, status = request.form.get("MessageSid"), request.form.get("MessageStatus")
    if sid and status:
        messaging.record_delivery_status("twilio", sid, status)
    return Response(status=204)


@gateway_bp.post("/webhook")
def gateway_webhook():
    raw = request.get_data(cache=True)
    if not gateway_auth.request_is_from_gateway(raw):
        current_app.logger.warning("rejected unsigned or forged SMS gateway webhook")
        abort(403)
    try:
        event = json.loads(raw)
    except ValueError:
        return jsonify(error="the body is not JSON"), 400
    if not isinstance(event, dict) or not isinstance(event.get("payload"), dict):
        return jsonify(error="expected an object with 'event' and 'payload'"), 400
    kind, payload = event.get("event"), event["payload"]
    if kind == "sms:received":
        phone, text, received = payload.get("phoneNumber"), payload.get("message"), payload.get("receivedAt")
        if not isinstance(phone, str) or not isinstance(received, str) or not isinstance(text, str | None):
            return jsonify(error="sms:received needs phoneNumber, message and receivedAt"), 400
        when = _parse_time(received)
        result = _receive(
            provider="gateway", dedup_key=gateway_dedup_key(phone, text or "", when, received),
            provider_id=str(payload.get("messageId") or "")[:80] or None, from_number=phone,
            text=text, received_at=when,
        )
        if result is None:
            return jsonify(error="try again later"), 503  # the gateway retries with backoff
        return jsonify(ok=True, duplicate=result.duplicate)
    if kind in GATEWAY_STATUS_EVENTS and payload.get("messageId"):
        messaging.record_delivery_status("gateway", str(payload["messageId"]), GATEWAY_STATUS_EVENTS[kind])
        return jsonify(ok=True)
    return jsonify(ok=True, ignored=kind)


def gateway_dedup_key(phone: str, text: str, when: datetime | None, raw_time: str) -> str:
    """The gateway's ids derive from content and repeat, so a message is (phone, text, time)."""
    moment = when.astimezone(UTC).isoformat() if when else raw_time
    return hashlib.sha256(f"{phone}\x1f{text}\x1f{moment}".encode()).hexdigest()


def _parse_time(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None
