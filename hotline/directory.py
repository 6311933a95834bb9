"""Is this number really the commune's? Residents get scam calls from people posing as officials.

`is_official_number` is the one place to ask: the official numbers listed in
`ivr_flows/official_numbers.yaml` and (added by the staff directory) the
phones registered by staff.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from . import data_files
from .phones import to_e164

FILE = "official_numbers.yaml"


def official_numbers() -> dict[str, str]:
    """E.164 number → name, from the file checked at start-up (none when there is no file)."""
    cache = current_app.extensions.get("hotline.official_numbers")
    if cache is None:
        region = current_app.config["DEFAULT_REGION"]
        entries = (data_files.data(FILE).get("numbers") or []) if data_files.has(FILE) else []
        cache = {to_e164(entry["number"], region): entry.get("name", "") for entry in entries}
        current_app.extensions["hotline.official_numbers"] = cache
    return cache


def check(data: dict[str, Any], where: str, region: str) -> list[str]:
    """Each number is a real phone number, listed once."""
    problems: list[str] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(data.get("numbers") or []):
        number = to_e164(entry["number"], region)
        here = f"{where} › numbers › {index} › number"
        if number is None:
            problems.append(f"{here}: {entry['number']!r} is not a phone number")
        elif number in seen:
            problems.append(f"{here}: {entry['number']!r} is also listed as numbers › {seen[number]}")
        else:
            seen[number] = index
    return problems


def is_official_number(phone: str | None) -> bool:
    """True for the commune's official numbers and active staff phones (E.164 or as typed)."""
    from .staff.directory import staff_by_phone

    if not phone:
        return False
    number = phone if phone.startswith("+") else to_e164(phone, current_app.config["DEFAULT_REGION"])
    if number is None:
        return False
    return number in official_numbers() or staff_by_phone(number) is not None
