"""The response team's rules, read from `ivr_flows/staff.yaml` (data, not code)."""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any

import yaml
from flask import current_app

from ..sms.text import GSM7_SEGMENT, cut_to


def rules() -> dict[str, Any]:
    cache = current_app.extensions.get("hotline.staff_rules")
    if cache is None:
        path = Path(current_app.config["FLOWS_DIR"]) / "staff.yaml"
        cache = yaml.safe_load(path.read_text(encoding="utf-8"))
        check(cache)
        current_app.extensions["hotline.staff_rules"] = cache
    return cache


def check(data: dict[str, Any]) -> None:
    """Fail at start-up, naming the path, rather than when a volunteer texts."""
    for path in (
        "urgency.reasons",
        "retries.max_attempts",
        "sms_commands.claim.keywords",
        "sms_commands.done.keywords",
        "sms_commands.visit.keywords",
    ):
        node: Any = data
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                raise ValueError(f"ivr_flows/staff.yaml › {path.replace('.', ' › ')}: missing")
            node = node[part]
    for name, reply in data.get("sms_replies", {}).items():
        for lang, text in reply.items():
            if len(text) > 160 or not text.isascii():
                raise ValueError(
                    f"ivr_flows/staff.yaml › sms_replies › {name} › {lang}: not one plain GSM-7 segment"
                )


def plain_sms(text: str) -> str:
    """One GSM-7 segment: accents removed (đ → d), at most 160 characters (cut at a word)."""
    text = text.replace("đ", "d").replace("Đ", "D")
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return cut_to(text, GSM7_SEGMENT)
