"""Is this number really the commune's? Residents get scam calls from people posing as officials.

`is_official_number` is the one place to ask: the official numbers listed in
`ivr_flows/official_numbers.yaml` and (added by the staff directory) the
phones registered by staff.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from flask import current_app

from .phones import to_e164


def official_numbers() -> dict[str, str]:
    """E.164 number → name, read once per process."""
    cache = current_app.extensions.get("hotline.official_numbers")
    if cache is None:
        path = Path(current_app.config["FLOWS_DIR"]) / "official_numbers.yaml"
        data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
        region = current_app.config["DEFAULT_REGION"]
        cache = {}
        for entry in (data or {}).get("numbers") or []:
            number = to_e164(str(entry["number"]), region)
            if number is None:
                raise ValueError(f"{path}: {entry['number']!r} is not a valid phone number")
            cache[number] = str(entry.get("name", ""))
        current_app.extensions["hotline.official_numbers"] = cache
    return cache


def is_official_number(phone: str | None) -> bool:
    """True for the commune's official numbers and active staff phones (E.164 or as typed)."""
    from .staff.directory import staff_by_phone

    if not phone:
        return False
    number = phone if phone.startswith("+") else to_e164(phone, current_app.config["DEFAULT_REGION"])
    if number is None:
        return False
    return number in official_numbers() or staff_by_phone(number) is not None
