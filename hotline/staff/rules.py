"""The response team's rules, read from `ivr_flows/staff.yaml` (data, not code).

The file is read and checked when the app starts (`hotline.data_files`): a broken one stops
the app, naming the path, rather than failing when a volunteer texts.
"""

from __future__ import annotations

from typing import Any

from .. import data_files
from ..sms.text import GSM7_SEGMENT, cut_to, fold, strip_accents


def rules() -> dict[str, Any]:
    return data_files.data("staff.yaml")


def check(data: dict[str, Any], where: str) -> list[str]:
    """What the schema cannot say: replies fit one plain segment, and a keyword names one command."""
    problems = []
    for name, reply in data["sms_replies"].items():
        for lang, text in reply.items():
            if len(text) > GSM7_SEGMENT or not text.isascii():
                problems.append(f"{where} › sms_replies › {name} › {lang}: not one plain GSM-7 segment")
    owner: dict[str, str] = {}
    for command, spec in data["sms_commands"].items():
        for index, keyword in enumerate(spec["keywords"]):
            other = owner.setdefault(fold(keyword), command)
            if other != command:
                problems.append(
                    f"{where} › sms_commands › {command} › keywords › {index}: {keyword!r} is also a "
                    f"keyword of {other}"
                )
    return problems


def plain_sms(text: str) -> str:
    """One GSM-7 segment: accents removed (đ → d), at most 160 characters (cut at a word)."""
    return cut_to(strip_accents(text), GSM7_SEGMENT)
