"""Field volunteers work requests by SMS from their registered phone:
`NHAN <code>` (claim), `XONG <code>` (done), `HEN <code> <dd/mm>` (book a home visit).

Keywords and replies are data (`ivr_flows/staff.yaml`); replies fit one GSM-7
segment. A text from a number that is not staff, or that is not one of these
commands, returns None so the resident SMS pipeline handles it.
"""

from __future__ import annotations

import re
from datetime import date

from ..models import Staff, utcnow
from ..sms.text import fold  # `nhận` and `NHAN` are the same keyword
from ..tickets import get_by_code
from . import access, claims, outcomes
from .directory import staff_by_phone
from .roster import local
from .rules import plain_sms, rules

_DATE = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})(?:[/.\-](\d{2,4}))?$")


def render_reply(name: str, language: str | None, **values: str) -> str:
    """One reply from `ivr_flows/staff.yaml › sms_replies`, in the language (else Vietnamese)."""
    texts = rules()["sms_replies"][name]
    text = texts.get(language or "") or texts["vi"]
    return plain_sms(text.format(**values))


def render_usage(command: str, language: str | None) -> str:
    usage = rules()["sms_commands"][command]["usage"]
    return plain_sms(usage.get(language or "") or usage["vi"])


def reply(name: str, staff: Staff, **values: str) -> str:
    return render_reply(name, staff.language, **values)


def parse_visit_date(raw: str, today: date) -> date | None:
    """`25/12` (the next such date from today) or `25/12/2026`."""
    match = _DATE.match(raw)
    if not match:
        return None
    day, month, year = int(match[1]), int(match[2]), match[3]
    try:
        if year:
            full = int(year) + (2000 if len(year) == 2 else 0)
            return date(full, month, day)
        candidate = date(today.year, month, day)
        return candidate if candidate >= today else date(today.year + 1, month, day)
    except ValueError:
        return None


def command_for(word: str) -> str | None:
    word = fold(word)
    for name, spec in rules()["sms_commands"].items():
        if word in {fold(k) for k in spec["keywords"]}:
            return name
    return None


def handle_staff_sms(phone_e164: str, text: str) -> str | None:
    """The SMS pre-handler: a reply for a staff command, or None to let residents' handling run."""
    words = (text or "").split()
    if not words:
        return None
    command = command_for(words[0])
    if command is None:
        return None
    staff = staff_by_phone(phone_e164)
    if staff is None:
        return None
    if len(words) < 2 or (command == "visit" and len(words) < 3):
        return render_usage(command, staff.language)
    code = words[1]
    ticket = get_by_code(code)
    if ticket is None:
        return reply("unknown_code", staff, code=code[:12])
    if not access.can_see(staff, ticket):
        return reply("not_allowed", staff, code=ticket.code)
    try:
        if command == "claim":
            result = claims.claim(ticket, staff, via="sms")
            if result.already_yours:
                return reply("already_yours", staff, code=ticket.code)
            return reply("claimed", staff, code=ticket.code, phone=ticket.phone or "?")
        if command == "done":
            if ticket.assignee_id is None:
                ticket = claims.claim(ticket, staff, via="sms").ticket
            outcomes.resolve(ticket, staff, via="sms")
            return reply("done", staff, code=ticket.code)
        visit_on = parse_visit_date(words[2], local(utcnow()).date())
        if visit_on is None:
            return reply("bad_date", staff, code=ticket.code, date=words[2][:10])
        if ticket.assignee_id is None:
            ticket = claims.claim(ticket, staff, via="sms").ticket
        outcomes.book_visit(ticket, staff, visit_on, staff, via="sms")
        return reply("visit", staff, code=ticket.code, date=f"{visit_on:%d/%m/%Y}")
    except claims.ClaimError as error:
        if error.reason in ("taken", "not_yours"):
            holder = error.holder or ticket.assignee
            return reply("held_by", staff, code=ticket.code, holder=holder.name if holder else "?")
        if error.reason == "bad_date":
            return reply("bad_date", staff, code=ticket.code, date=words[2][:10])
        return reply("closed", staff, code=ticket.code)
    except access.Forbidden:
        return reply("not_allowed", staff, code=ticket.code)
