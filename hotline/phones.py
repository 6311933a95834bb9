"""Phone numbers in E.164, read the way Vietnamese residents write them."""

from __future__ import annotations

import functools

import phonenumbers


#: Every webhook of a call or SMS thread parses the same number: parse it once per process.
@functools.lru_cache(maxsize=4096)
def to_e164(raw: str | None, region: str = "VN") -> str | None:
    """`0912 345 678` → `+84912345678`; None for withheld or impossible numbers.

    Twilio sends `anonymous`, `restricted`, `+266696687` (a Twilio placeholder)
    or an empty string when the caller hides their number.
    """
    if not raw:
        return None
    try:
        number = phonenumbers.parse(raw.strip(), region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
