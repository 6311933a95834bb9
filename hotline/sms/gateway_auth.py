"""SMS Gateway for Android signs its webhooks: HMAC-SHA256 over the raw body plus `X-Timestamp`.

As documented (docs.sms-gate.app, "Webhooks › Payload Signing"): the device
sends `X-Signature` (hex HMAC-SHA256 with the signing key of raw body +
timestamp) and `X-Timestamp` (Unix seconds). A timestamp outside
`SMS_GATEWAY_MAX_SKEW` seconds is refused too, so a captured request cannot be
replayed later. Headers of any other shape (a timestamp in Arabic-Indic digits,
which `str.isdigit` accepts; a signature with non-ASCII characters, which
`hmac.compare_digest` refuses to compare) are refused like a wrong signature.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time

from flask import current_app, request

#: Unix seconds (ASCII digits; twelve reach the year 33658) and a hex SHA-256.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"[0-9a-fA-F]{64}")


def sign(key: str, body: bytes, timestamp: str) -> str:
    return hmac.new(key.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()


def request_is_from_gateway(body: bytes) -> bool:
    signature = request.headers.get("X-Signature", "").strip()
    timestamp = request.headers.get("X-Timestamp", "")
    if not _SIGNATURE.fullmatch(signature) or not _TIMESTAMP.fullmatch(timestamp):
        return False
    if abs(time.time() - int(timestamp)) > int(current_app.config["SMS_GATEWAY_MAX_SKEW"]):
        return False
    expected = sign(current_app.config["SMS_GATEWAY_SIGNING_KEY"], body, timestamp)
    return hmac.compare_digest(expected, signature.lower())
