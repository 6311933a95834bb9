"""The audit log: every change a person makes, written in the same unit of work as the change.

Who acted is an argument (the domain function knows it); where from is the client address
the edge gave its unit of work (`unit_of_work(client_address=…)`), so the log never reads
the request itself and works the same for the dashboard, the API, SMS commands and the CLI
(which have none).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import current_app
from flask_babel import gettext as _

from ..extensions import db
from ..models import AuditEntry
from ..unit_of_work import client_address


def record(actor: str, action: str, target: str | None = None, **data: Any) -> AuditEntry:
    entry = AuditEntry(actor=actor, action=action, target=target, data=data or None, ip=client_address())
    db.session.add(entry)
    return entry


def describe(entries: list[AuditEntry]) -> dict[int, str]:
    """Each entry as a sentence in the reader's language, by id: who, what, on what, and its
    details by name ("Nguyễn Thị Lan · ghi kết quả · 123456 · kết quả: đã giải quyết"),
    never a stored key or a Python dict."""
    from sqlalchemy import select

    from ..models import Staff, Team, Village
    from .display import day
    from .labels import (
        ACTORS,
        AUDIT_ACTIONS,
        AUDIT_FIELDS,
        LANGUAGE_NAMES,
        OUTCOMES,
        PROMPT_CHANNELS,
        ROLES,
        VIA,
        label,
    )

    usernames = {e.actor for e in entries} | {e.target for e in entries if e.target} | {
        str(v)
        for e in entries
        for k, v in (e.data or {}).items()
        if k in ("to", "previous", "volunteer") and v
    }
    named = select(Staff.username, Staff.name).where(Staff.username.in_(usernames))
    people = dict(db.session.execute(named).all())
    teams = dict(db.session.execute(select(Team.code, Team.name)).all())
    villages = dict(db.session.execute(select(Village.code, Village.name)).all())

    def who(name: str | None) -> str:
        if not name:
            return "—"
        if name in ACTORS:
            return label(ACTORS, name)
        if name.startswith("phone:"):  # the phone recording line (hotline.prompt_recordings)
            number = name.removeprefix("phone:")
            if number in ("", "unknown"):
                return _("a phone with a hidden number")
            return _("the phone %(number)s", number=number)
        return people.get(name, name)

    def prompt(target: str) -> str:
        """"mnong/main_menu" as the language and the start of the prompt's Vietnamese text."""
        language, _slash, key = target.partition("/")
        try:
            flow = current_app.extensions["hotline.prompts"].flow
            text = str(flow.prompts[flow.default_language][key])
        except (KeyError, AttributeError, RuntimeError):
            return target  # a prompt this version does not have
        short = text if len(text) <= 48 else text[:47].rstrip() + "…"
        return f"{label(LANGUAGE_NAMES, language)}: «{short}»"

    def value(key: str, raw: Any) -> str:
        if raw is None or raw == "":
            return "—"
        if isinstance(raw, bool):
            return _("yes") if raw else _("no")
        if isinstance(raw, (list, tuple)):
            return ", ".join(value(key, item) for item in raw) or "—"
        if key == "channel":
            return label(PROMPT_CHANNELS, raw)
        if key == "via":
            return label(VIA, raw)
        if key == "outcome":
            return label(OUTCOMES, raw)
        if key == "role":
            return label(ROLES, raw)
        if key == "visit_on":
            try:
                return day(date.fromisoformat(str(raw)))
            except ValueError:
                return str(raw)
        if key == "team" or (key == "to" and raw in teams and raw not in people):
            return teams.get(raw, str(raw))
        if key == "village":
            return villages.get(raw, str(raw))
        if key in ("to", "previous", "volunteer"):
            return who(str(raw))
        return str(raw)

    described = {}
    for entry in entries:
        parts = [who(entry.actor), label(AUDIT_ACTIONS, entry.action)]
        if entry.target and entry.action in ("prompt_approved", "prompt_uploaded"):
            parts.append(prompt(entry.target))
        elif entry.target:
            parts.append(who(entry.target) if entry.target in people else entry.target)
        for key, raw in (entry.data or {}).items():
            if key == "via" and raw == "web":
                continue  # the dashboard: the usual way, not worth a word
            name = label(AUDIT_FIELDS, key) if key in AUDIT_FIELDS else key
            parts.append(f"{name}: {value(key, raw)}")
        described[entry.id] = " · ".join(parts)
    return described
