"""CSV imports for teams, villages, staff, the duty roster, office hours and residents.

All or nothing: every row is checked first and each bad row gets its own error
(`row 7, column "team": no team with code "T9"`); a file with any error imports
nothing. Each error's message is a lazy translation: the command line prints it in
English (`str`), the dashboard in the reader's language (`RowError.describe`,
`dòng 7, cột "tổ": không có tổ mã "T9"`). Rows are matched on their natural key (code, username, phone), so
importing the same file twice changes nothing the second time.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import time
from functools import partial
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from ..extensions import db
from ..models import OfficeHours, Resident, Role, RosterShift, Staff, Team, Ticket, TicketStatus, Village
from ..phones import to_e164
from . import accounts, audit
from .labels import IMPORT_COLUMNS, label

WEEKDAYS = {
    **{str(i): i for i in range(7)},
    "mon": 0,
    "tue": 1,
    "wed": 2,
    "thu": 3,
    "fri": 4,
    "sat": 5,
    "sun": 6,
    "t2": 0,
    "t3": 1,
    "t4": 2,
    "t5": 3,
    "t6": 4,
    "t7": 5,
    "cn": 6,
}

COLUMNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # kind: (required columns, optional columns)
    "teams": (("code", "name"), ()),
    "villages": (("code", "name"), ("team",)),
    "staff": (("username", "name", "role"), ("team", "phone", "password", "language")),
    "roster": (("username", "weekday", "start", "end"), ("position",)),
    "office-hours": (("weekday", "opens", "closes"), ()),
    "residents": (("phone", "village"), ("language",)),
}


@dataclass
class RowError:
    row: int  # 1-based line number in the file (the header is row 1)
    column: str | None
    message: Any  # a lazy translation (flask_babel.lazy_gettext), or plain text

    def __str__(self) -> str:
        """In English, for the command line and logs."""
        with force_locale("en"):
            where = f"row {self.row}" + (f', column "{self.column}"' if self.column else "")
            return f"{where}: {self.message}"

    def describe(self) -> str:
        """In the reader's language, for the dashboard."""
        if self.column:
            column = label(IMPORT_COLUMNS, self.column) if self.column in IMPORT_COLUMNS else self.column
            return _('row %(row)s, column "%(column)s": %(message)s', row=self.row, column=column,
                     message=str(self.message))
        return _("row %(row)s: %(message)s", row=self.row, message=str(self.message))


class ImportFailed(Exception):
    def __init__(self, errors: list[RowError]):
        super().__init__(f"{len(errors)} bad row(s); nothing imported")
        self.errors = errors


def read_rows(text: str, kind: str) -> list[dict[str, str]]:
    if kind not in COLUMNS:
        message = _l("unknown kind %(kind)s; one of %(kinds)s", kind=repr(kind), kinds=", ".join(COLUMNS))
        raise ImportFailed([RowError(0, None, message)])
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    required, optional = COLUMNS[kind]
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in required if c not in header]
    unknown = [c for c in header if c not in required + optional]
    if missing or unknown:
        expected = ", ".join(required + optional)
        if missing and unknown:
            message = _l(
                "missing column(s): %(missing)s; unknown column(s): %(unknown)s (expected: %(expected)s)",
                missing=", ".join(missing), unknown=", ".join(unknown), expected=expected)
        elif missing:
            message = _l("missing column(s): %(missing)s (expected: %(expected)s)",
                         missing=", ".join(missing), expected=expected)
        else:
            message = _l("unknown column(s): %(unknown)s (expected: %(expected)s)",
                         unknown=", ".join(unknown), expected=expected)
        raise ImportFailed([RowError(1, None, message)])
    reader.fieldnames = header
    return [{k: (v or "").strip() for k, v in row.items() if k} for row in reader]


def _time(value: str) -> time | None:
    try:
        hours, minutes = value.split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        return None


def import_csv(
    text: str, kind: str, *, actor: str = "cli", progress: Callable[[Iterable], Iterable] = lambda rows: rows
) -> int:
    """Check every row, then write them all (the edge commits them in one unit of work);
    returns the number of rows. Raises ImportFailed, having written nothing, on any bad row."""
    rows = read_rows(text, kind)
    errors: list[RowError] = []
    apply: list[Callable[[], None]] = []
    teams = {t.code: t for t in db.session.scalars(select(Team))}
    villages = {v.code: v for v in db.session.scalars(select(Village))}
    staff = {s.username: s for s in db.session.scalars(select(Staff))}
    seen: set[str] = set()

    def bad(line: int, column: str | None, message: Any) -> None:
        errors.append(RowError(line, column, message))

    for line, row in enumerate(progress(rows), start=2):
        before = len(errors)
        for column in COLUMNS[kind][0]:
            if not row.get(column):
                bad(line, column, _l("empty"))
        if len(errors) > before:
            continue
        key = row.get("code") or row.get("username") or row.get("phone") or ""
        if kind in ("teams", "villages", "staff", "residents"):
            if key.lower() in seen:
                bad(line, None, _l("%(key)s appears twice in the file", key=key))
                continue
            seen.add(key.lower())
        if kind == "teams":
            apply.append(partial(_team, row, teams))
        elif kind == "villages":
            if row.get("team") and row["team"] not in teams:
                bad(line, "team", _l('no team with code "%(value)s"', value=row["team"]))
                continue
            apply.append(partial(_village, row, teams, villages))
        elif kind == "staff":
            if row["role"].lower() not in {r.value for r in Role}:
                bad(line, "role", _l('"%(value)s" is not one of volunteer, lead, admin', value=row["role"]))
            if row.get("team") and row["team"] not in teams:
                bad(line, "team", _l('no team with code "%(value)s"', value=row["team"]))
            if row.get("phone") and to_e164(row["phone"]) is None:
                bad(line, "phone", _l('"%(value)s" is not a phone number', value=row["phone"]))
            if row.get("password") and len(row["password"]) < 8:
                bad(line, "password", _l("needs at least 8 characters"))
            if row.get("language") and row["language"] not in ("vi", "en"):
                bad(line, "language", _l("vi or en"))
            if len(errors) == before:
                apply.append(partial(_staff, row, teams, staff, actor))
        elif kind == "roster":
            if row["username"].lower() not in staff:
                bad(line, "username", _l('no staff member "%(value)s"', value=row["username"]))
            if row["weekday"].lower() not in WEEKDAYS:
                bad(line, "weekday", _l("0-6 (Monday = 0), mon…sun or T2…CN"))
            start, end = _time(row["start"]), _time(row["end"])
            if start is None:
                bad(line, "start", _l("HH:MM"))
            if end is None:
                bad(line, "end", _l("HH:MM"))
            if start and end and start >= end:
                bad(line, "end", _l("must be after start"))
            if row.get("position") and not row["position"].isdigit():
                bad(line, "position", _l("a number"))
            if len(errors) == before and start is not None and end is not None:
                apply.append(partial(_shift, row, start, end, staff))
        elif kind == "office-hours":
            opens, closes = _time(row["opens"]), _time(row["closes"])
            if row["weekday"].lower() not in WEEKDAYS:
                bad(line, "weekday", _l("0-6 (Monday = 0), mon…sun or T2…CN"))
            if opens is None:
                bad(line, "opens", _l("HH:MM"))
            if closes is None:
                bad(line, "closes", _l("HH:MM"))
            if opens and closes and opens >= closes:
                bad(line, "closes", _l("must be after opens"))
            if len(errors) == before and opens is not None and closes is not None:
                apply.append(partial(_office_hours, row, opens, closes))
        elif kind == "residents":
            phone = to_e164(row["phone"])
            if phone is None:
                bad(line, "phone", _l('"%(value)s" is not a phone number', value=row["phone"]))
            if row["village"] not in villages:
                bad(line, "village", _l('no village with code "%(value)s"', value=row["village"]))
            if len(errors) == before and phone is not None:
                apply.append(partial(_resident, row, phone, villages))

    if errors:
        raise ImportFailed(errors)  # nothing written yet; the edge's unit of work rolls back
    if kind == "roster":
        db.session.execute(delete(RosterShift))  # the file is the whole roster
    if kind == "office-hours":
        db.session.execute(delete(OfficeHours))
    for step in apply:
        step()
    audit.record(actor, f"import_{kind.replace('-', '_')}", None, rows=len(rows))
    return len(rows)


def _team(row: dict[str, str], teams: dict[str, Team]) -> None:
    team = teams.get(row["code"])
    if team is None:
        team = teams[row["code"]] = Team(code=row["code"], name=row["name"])
        db.session.add(team)
    team.name = row["name"]


def _village(row: dict[str, str], teams: dict[str, Team], villages: dict[str, Village]) -> None:
    village = villages.get(row["code"])
    if village is None:
        village = villages[row["code"]] = Village(code=row["code"], name=row["name"])
        db.session.add(village)
    village.name = row["name"]
    village.team = teams[row["team"]] if row.get("team") else None


def _shift(row: dict[str, str], start: time, end: time, staff: dict[str, Staff]) -> None:
    db.session.add(
        RosterShift(
            staff=staff[row["username"].lower()],
            weekday=WEEKDAYS[row["weekday"].lower()],
            starts=start,
            ends=end,
            position=int(row.get("position") or 0),
        )
    )


def _office_hours(row: dict[str, str], opens: time, closes: time) -> None:
    db.session.add(OfficeHours(weekday=WEEKDAYS[row["weekday"].lower()], opens=opens, closes=closes))


def _staff(row: dict[str, str], teams: dict[str, Team], staff: dict[str, Staff], actor: str) -> None:
    username = row["username"].lower()
    person = staff.get(username)
    if person is None:
        person = staff[username] = accounts.create_staff(
            username=username, name=row["name"], role=row["role"].lower(), actor=actor
        )
    person.name = row["name"]
    person.role = row["role"].lower()
    person.team = teams[row["team"]] if row.get("team") else None
    person.phone = to_e164(row["phone"]) if row.get("phone") else None
    if row.get("language"):
        person.language = row["language"]
    if row.get("password"):
        accounts.set_password(person, row["password"])


def _resident(row: dict[str, str], phone: str, villages: dict[str, Village]) -> None:
    village = villages[row["village"]]
    db.session.flush()
    resident = db.session.scalar(select(Resident).where(Resident.phone == phone))
    if resident is None:
        resident = Resident(phone=phone, language=row.get("language") or None)
        db.session.add(resident)
    resident.village_id = village.id
    # Open requests nobody routed yet follow the resident to their village's team.
    for ticket in db.session.scalars(
        select(Ticket).where(
            Ticket.phone == phone, Ticket.village_id.is_(None), Ticket.status.in_(TicketStatus.open_values())
        )
    ):
        ticket.village_id = village.id
        ticket.team_id = village.team_id
