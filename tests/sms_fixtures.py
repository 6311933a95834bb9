"""Fixtures for SMS tests: a signed SMS from Twilio or from SMS Gateway for Android."""

from __future__ import annotations

import json
import time
import uuid

from sqlalchemy import select

from hotline.extensions import db
from hotline.models import SmsMessage, SmsOutbound, Ticket
from hotline.sms.gateway_auth import sign


def twilio_sms(twilio, text, from_number="+84912345678", sid=None):
    params = {
        "MessageSid": sid or "SM" + uuid.uuid4().hex, "AccountSid": "AC" + "0" * 32,
        "From": from_number, "To": "+842633000000", "Body": text, "NumMedia": "0",
    }
    return twilio.post("/twilio/sms", params)


def gateway_event(payload, event="sms:received"):
    return {"deviceId": "ffffffffceb0b1db0000018e937c815b", "event": event,
            "id": uuid.uuid4().hex[:21], "payload": payload, "webhookId": "hotline"}


def gateway_post(client, body, *, key=None, timestamp=None, signature=None):
    key = key or client.application.config["SMS_GATEWAY_SIGNING_KEY"]
    raw = json.dumps(body).encode() if not isinstance(body, bytes) else body
    ts = str(int(time.time()) if timestamp is None else timestamp)
    headers = {"X-Timestamp": ts, "X-Signature": signature or sign(key, raw, ts),
               "Content-Type": "application/json"}
    return client.post("/sms-gateway/webhook", data=raw, headers=headers)


def gateway_sms(client, text, phone="+84912345678", received_at="2026-11-26T11:46:11.000+07:00"):
    return gateway_post(client, gateway_event({
        "messageId": "abc123", "message": text, "phoneNumber": phone, "simNumber": 1,
        "receivedAt": received_at,
    }))


def fresh():
    db.session.remove()


def messages():
    fresh()
    return list(db.session.scalars(select(SmsMessage).order_by(SmsMessage.id)))


def outbound():
    fresh()
    return list(db.session.scalars(select(SmsOutbound).order_by(SmsOutbound.id)))


def all_tickets():
    fresh()
    return list(db.session.scalars(select(Ticket).order_by(Ticket.id)))


def outcome(match):
    """What a keyword match decided, as the corpus files write it."""
    return {"intent": match.intent.value, "code": match.code, "phone": match.phone,
            "language": match.language, "topic": match.topic}
