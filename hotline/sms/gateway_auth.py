"""SMS Gateway for Android signs its webhooks: HMAC-SHA256 over the raw body plus `X-Timestamp`.

As documented (docs.sms-gate.app, "Webhooks › Payload Signing"): the device
sends `X-Signature` (hex HMAC-SHA256 with the signing key of raw body +
timestamp) and `X-Timestamp` (Unix seconds). A timestamp outside
`SMS_GATEWAY_MAX_SKEW` seconds is refused too, so a captured request cannot be
replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from flask import current_app, request


def sign(key: str, body: bytes, timestamp: str) -> str:
    return hmac.new(key.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()


def request_is_from_gateway(body: bytes) -> bool:
    signature = request.headers.get("X-Signature", "")
    timestamp = request.headers.get("X-Timestamp", "")
    if not signature or not timestamp.isdigit():
        return False
    if abs(time.time() - int(timestamp)) > int(current_app.config["SMS_GATEWAY_MAX_SKEW"]):
        return False
    expected = sign(current_app.config["SMS_GATEWAY_SIGNING_KEY"], body, timestamp)
    return hmac.compare_digest(expected, signature.strip().lower())
