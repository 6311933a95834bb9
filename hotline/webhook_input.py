"""What a provider sends, checked at the edge before it becomes a key, a number or a stored string.

A valid signature proves who sent a request, not that its fields are sane:

- Twilio signs the URL followed by each parameter's name and value, sorted by name
  and concatenated *without separators*. So `MessageSid=SM…` + `NumMedia=0` and
  `MessageSid=SM…NumMedia0` (NumMedia dropped) carry the same signature: a captured
  request can be "re-split" into another that still validates. Provider ids are
  therefore checked against their real shape before they are used as keys, and an
  id that fails is looked for in the signed string itself (see `recover_twilio_id`),
  which no re-split can change.
- Numbers arrive as digit strings of any length (`CallDuration=99999999999999999999`):
  SQLite and PostgreSQL integers are 64- and 32-bit. `bounded_int` reads ASCII digits
  only, within a range.
- PostgreSQL refuses NUL in text and values longer than a `VARCHAR(n)`; lone
  surrogates cannot be encoded at all. `clean_text` removes control characters
  (keeping newline and tab), surrogates and private-use characters, and cuts to the
  column's length.

A value that fails is never a key (STYLE.md habit 16); where the edge stores it
(an SMS), it is stored cleaned, as data, with a flag saying what was wrong with it.
Phone numbers are normalised to E.164 by hotline.phones.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# --- provider ids --------------------------------------------------------------------

#: Twilio ids: a two-letter type and 32 hex digits (Twilio writes them in lower case).
_HEX32 = "[0-9a-fA-F]{32}"
TWILIO_ID_PATTERNS = {
    "call": f"CA{_HEX32}",
    "message": f"(?:SM|MM){_HEX32}",
    "recording": f"RE{_HEX32}",
}
#: SMS Gateway for Android: a received SMS's `messageId` is the Java hashCode of the
#: message as an unsigned 32-bit number in hex (ReceiverService: `hashCode().toUInt().toString(16)`).
GATEWAY_RECEIVED_ID = re.compile(r"[0-9a-f]{1,8}")
#: A sent SMS's id: the one the hotline gave it (`hl-` + 29 hex, messaging.GatewayProvider),
#: or one the gateway generated (a 21-character NanoID).
GATEWAY_SENT_ID = re.compile(r"[A-Za-z0-9_-]{1,36}")


def is_twilio_id(value: object, kind: str) -> bool:
    return isinstance(value, str) and re.fullmatch(TWILIO_ID_PATTERNS[kind], value) is not None


@dataclass(frozen=True)
class TwilioIdField:
    """Where Twilio puts an id, and how to find it again in the signed string.

    `names`: the parameters that carry it (an SMS has MessageSid, SmsMessageSid and
    SmsSid, all equal). `last`: search from the end, because a value the public writes
    sorts before the id (an SMS's Body); otherwise from the start, because a longer
    name ending in the same words sorts after it (DialCallSid after CallSid).
    """

    kind: str
    names: tuple[str, ...]
    last: bool = False
    #: Names that end in one of `names` but carry another id (DialCallSid, ParentCallSid).
    not_after: tuple[str, ...] = ()

    @property
    def pattern(self) -> re.Pattern[str]:
        guards = "".join(f"(?<!{re.escape(prefix)})" for prefix in self.not_after)
        names = "|".join(re.escape(name) for name in self.names)
        return re.compile(f"{guards}(?:{names})({TWILIO_ID_PATTERNS[self.kind]})")


CALL_SID = TwilioIdField("call", ("CallSid",), not_after=("Dial", "Parent"))
MESSAGE_SID = TwilioIdField("message", ("MessageSid", "SmsMessageSid", "SmsSid"), last=True)
RECORDING_SID = TwilioIdField("recording", ("RecordingSid",))


def signed_string(form: Any) -> str:
    """The parameters as Twilio's signature covers them: sorted names, each followed by its
    sorted values, nothing in between (twilio.request_validator.compute_signature)."""
    getlist = getattr(form, "getlist", None)
    parts: list[str] = []
    for name in sorted(set(form)):
        values = getlist(name) if getlist else [form[name]]
        parts.extend(name + value for value in sorted(set(values)))
    return "".join(parts)


def recover_twilio_id(form: Any, spec: TwilioIdField) -> tuple[str | None, str | None]:
    """(id, flag): the id the request carries, and what was wrong with its field (None: nothing).

    The field itself when it has the id's shape. Otherwise the id is read from the signed
    string: every re-split of one signed request has the same string, so all of them map
    to the id Twilio signed, and a replay creates nothing the original did not. None when
    the string holds no such id (then the request is not a Twilio request of this kind).
    """
    first = form.get(spec.names[0])
    if is_twilio_id(first, spec.kind):
        return first, None
    flag = "missing" if first in (None, "") else "not_an_id"
    for name in spec.names[1:]:  # an SMS's SmsMessageSid and SmsSid repeat its MessageSid
        if is_twilio_id(form.get(name), spec.kind):
            return form.get(name), f"{flag}, taken from {name}"
    matches = list(spec.pattern.finditer(signed_string(form)))
    if not matches:
        return None, flag
    return matches[-1 if spec.last else 0].group(1), f"{flag}, recovered"


# --- numbers and text ----------------------------------------------------------------

_DIGITS = re.compile(r"[0-9]+")


def bounded_int(value: object, *, max: int, min: int = 0) -> int | None:  # noqa: A002 (reads as the call site)
    """An ASCII digit string within [min, max] as an int; None for anything else.

    `str.isdigit` accepts '²' and '١٢٣', which `int()` then refuses or reads; and a
    thousand-digit string is a valid Python int no database column holds.
    """
    if not isinstance(value, str) or not _DIGITS.fullmatch(value):
        return None
    significant = value.lstrip("0") or "0"
    if len(significant) > len(str(max)):
        return None
    number = int(significant)
    return number if min <= number <= max else None


_REMOVED_CATEGORIES = ("Cc", "Cs", "Co")


def clean_text(value: object, max_length: int) -> tuple[str, list[str]]:
    """(text, problems): control characters (but newline and tab), surrogates and
    private-use characters removed, then cut to `max_length` characters.

    The same rule as hotline.sms.text.clean_inbound, plus the length a column holds.
    """
    problems: list[str] = []
    if value is None:
        return "", problems
    if not isinstance(value, str):
        value = json.dumps(value, ensure_ascii=False)
        problems.append("not_text")
    if not value.isprintable():  # fast path: most values are plain printable text
        kept = "".join(
            ch for ch in value
            if ch in "\n\t" or unicodedata.category(ch) not in _REMOVED_CATEGORIES
        )
        if kept != value:
            problems.append("controls_removed")
            value = kept
    if len(value) > max_length:
        value = value[:max_length]
        problems.append("cut")
    return value, problems


@dataclass
class Cleaned:
    """A webhook's fields as the domain may use them, and what was wrong with the rest.

    `values`: each field once, cleaned (ids checked or recovered, numbers bounded);
    a field that could not be made sane is left out. `flags`: field → problems,
    e.g. `{"MessageSid": "not_an_id, recovered", "Body": "controls_removed"}`.
    `raw`: the cleaned text of id fields that failed, kept as data (never as a key).
    """

    values: dict[str, str] = field(default_factory=dict)
    flags: dict[str, str] = field(default_factory=dict)
    raw: dict[str, str] = field(default_factory=dict)

    def flag(self, name: str, problems: str | Iterable[str]) -> None:
        text = problems if isinstance(problems, str) else ", ".join(problems)
        if text:
            self.flags[name] = f"{self.flags[name]}, {text}" if name in self.flags else text


# --- Twilio webhooks -----------------------------------------------------------------

#: The longest value kept per Twilio field: the column it lands in, or what Twilio sends.
TWILIO_FIELD_LENGTHS = {
    "From": 64, "To": 64, "Caller": 64, "Called": 64,
    "Digits": 32, "CallStatus": 24, "DialCallStatus": 24, "RecordingStatus": 24,
    "MessageStatus": 32, "SmsStatus": 32, "ErrorCode": 16,
    "Body": 5000,  # Twilio's limit is 1,600 characters
    "RecordingUrl": 2048, "SpeechResult": 2000,
}
#: Every other field.
DEFAULT_FIELD_LENGTH = 256
#: Numeric fields: the largest value that can be true (a day of call; Twilio ends calls at 4 h).
TWILIO_NUMBERS = {"CallDuration": 86_400, "RecordingDuration": 86_400, "DialCallDuration": 86_400}
#: Statuses Twilio sends; any other value is left out (and flagged), never stored.
CALL_STATUSES = frozenset(
    {"queued", "initiated", "ringing", "in-progress", "completed", "busy", "failed", "no-answer", "canceled"})
MESSAGE_STATUSES = frozenset({
    "accepted", "scheduled", "canceled", "queued", "sending", "sent", "failed", "delivered",
    "undelivered", "receiving", "received", "read", "partially_delivered",
})
RECORDING_STATUSES = frozenset({"in-progress", "completed", "absent", "failed"})
_ENUMS = {"CallStatus": CALL_STATUSES, "MessageStatus": MESSAGE_STATUSES, "SmsStatus": MESSAGE_STATUSES,
          "RecordingStatus": RECORDING_STATUSES}


def twilio_params(form: Any, *ids: TwilioIdField, optional: tuple[TwilioIdField, ...] = ()) -> Cleaned:
    """A Twilio webhook's form, cleaned: each field's first value through `clean_text`,
    numbers through `bounded_int`, known enumerations checked, and the given ids checked
    (or recovered from the signed string, or left out). An `optional` id that is simply
    absent is not flagged."""
    cleaned = Cleaned()
    for name in form:
        if not isinstance(name, str) or not name.isprintable() or len(name) > 64:
            continue  # no field the hotline reads has such a name
        value, problems = clean_text(form.get(name), TWILIO_FIELD_LENGTHS.get(name, DEFAULT_FIELD_LENGTH))
        cleaned.flag(name, problems)
        if name in TWILIO_NUMBERS and value:
            number = bounded_int(value, max=TWILIO_NUMBERS[name])
            if number is None:
                cleaned.flag(name, "not_a_number")
                continue
            value = str(number)
        if name in _ENUMS and value and value not in _ENUMS[name]:
            cleaned.flag(name, "unknown_value")
            continue
        cleaned.values[name] = value
    for spec in (*ids, *optional):
        found, problem = recover_twilio_id(form, spec)
        for name in spec.names:
            cleaned.values.pop(name, None)
        if problem == "missing" and spec in optional:
            continue
        if problem:
            cleaned.flag(spec.names[0], problem)
            raw = form.get(spec.names[0])
            if raw not in (None, "") and not is_twilio_id(raw, spec.kind):
                cleaned.raw[spec.names[0]] = clean_text(raw, 80)[0]
        if found is not None:
            cleaned.values[spec.names[0]] = found
    return cleaned


# --- SMS Gateway for Android ---------------------------------------------------------

#: The earliest and latest receive times believed (outside them, datetime arithmetic overflows
#: and the value is certainly wrong).
_EARLIEST, _LATEST = datetime(2000, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)


def json_object(raw: bytes) -> dict | None:
    """The body as a JSON object, or None (not JSON, not an object, or nested too deep to parse)."""
    try:
        event = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return event if isinstance(event, dict) else None


@dataclass
class GatewaySms:
    """An `sms:received` payload, cleaned; `flags` as in `Cleaned`."""

    phone: str | None
    text: str
    received_at: datetime | None
    #: The receive time as sent (cleaned), when it could not be read as a time.
    raw_time: str
    message_id: str | None
    flags: dict[str, str]


def gateway_sms(payload: Mapping[str, Any]) -> GatewaySms:
    """Whatever the fields, a message to store: the number (`phoneNumber`, or `sender` in newer
    versions of the app), the text, the receive time, and the gateway's id as data."""
    cleaned = Cleaned()
    phone_value = payload.get("phoneNumber", payload.get("sender"))
    phone, problems = clean_text(phone_value, 64)
    cleaned.flag("phoneNumber", problems if phone_value is not None else ["missing"])
    text, problems = clean_text(payload.get("message"), 5000)
    cleaned.flag("message", problems)
    raw_time, problems = clean_text(payload.get("receivedAt"), 64)
    cleaned.flag("receivedAt", problems)
    received_at = parse_time(raw_time)
    if received_at is None:
        cleaned.flag("receivedAt", "not_a_time" if raw_time else "missing")
    message_id, problems = clean_text(payload.get("messageId"), 80)
    if message_id and not GATEWAY_RECEIVED_ID.fullmatch(message_id):
        problems.append("not_an_id")
    cleaned.flag("messageId", problems)
    return GatewaySms(
        phone=phone or None, text=text, received_at=received_at, raw_time=raw_time,
        message_id=message_id or None, flags=cleaned.flags,
    )


def parse_time(value: str) -> datetime | None:
    """An ISO 8601 time with a zone, within the years believed; None otherwise."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            return None
        parsed = parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return parsed if _EARLIEST <= parsed < _LATEST else None
