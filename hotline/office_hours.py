"""Office hours, holidays and the staff on duty.

Two sources, one answer: `ivr_flows/office_hours.yaml` holds the holidays and the
defaults a fresh install starts with; what the commune's admins import in the
dashboard (weekly hours, the duty roster; `hotline import office-hours|roster`)
takes over as soon as it exists. `is_open(now)` and `on_duty_numbers(now)` are the
only functions the voice menu asks; `weekly_hours()` is what residents are told by SMS.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from flask import current_app

from .phones import to_e164

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class OfficeHoursError(ValueError):
    """The office-hours file cannot be used (names the field); stops the app like a broken flow
    (the voice menu's start-up turns it into a FlowError)."""

    def __init__(self, message: str):
        self.problems = [message]
        super().__init__(message)


@dataclass
class OfficeHours:
    timezone: ZoneInfo
    hours: dict[int, list[tuple[dt.time, dt.time]]]
    holidays: set[dt.date] = field(default_factory=set)
    on_duty: list[str] = field(default_factory=list)
    ring_seconds: int = 20
    #: Where the commune office is, as residents are told (voice, SMS, dashboard).
    address: str = ""

    def local(self, now: dt.datetime) -> dt.datetime:
        if now.tzinfo is None:
            raise ValueError("naive datetime: pass an aware one (UTC)")
        return now.astimezone(self.timezone)

    def is_open(self, now: dt.datetime) -> bool:
        local = self.local(now)
        if local.date() in self.holidays:
            return False
        moment = local.time()
        return any(start <= moment < end for start, end in self.hours.get(local.weekday(), []))


def _parse_span(where: str, span: str) -> tuple[dt.time, dt.time]:
    try:
        start, end = (dt.time.fromisoformat(part.strip()) for part in str(span).split("-"))
    except ValueError as error:
        raise OfficeHoursError(f"{where}: {span!r} is not like 07:00-11:30") from error
    if start >= end:
        raise OfficeHoursError(f"{where}: {span!r} ends before it starts")
    return start, end


def parse(data: dict, where: str = "office_hours.yaml", region: str = "VN") -> OfficeHours:
    try:
        timezone = ZoneInfo(data.get("timezone") or "Asia/Ho_Chi_Minh")
    except Exception as error:
        raise OfficeHoursError(f"{where} › timezone: unknown {data.get('timezone')!r}") from error
    hours: dict[int, list[tuple[dt.time, dt.time]]] = {}
    for day, spans in (data.get("hours") or {}).items():
        if day not in DAYS:
            raise OfficeHoursError(f"{where} › hours › {day}: not one of {', '.join(DAYS)}")
        hours[DAYS.index(day)] = [_parse_span(f"{where} › hours › {day}", span) for span in spans or []]
    holidays = set()
    for value in data.get("holidays") or []:
        if not isinstance(value, dt.date):
            raise OfficeHoursError(f"{where} › holidays: {value!r} is not a date like 2026-09-02")
        holidays.add(value)
    numbers = []
    for raw in data.get("on_duty") or []:
        number = to_e164(str(raw), region)
        if number is None:
            raise OfficeHoursError(f"{where} › on_duty: {raw!r} is not a phone number")
        numbers.append(number)
    return OfficeHours(timezone, hours, holidays, numbers, int(data.get("ring_seconds", 20)),
                       str(data.get("address") or ""))


def load(path: Path | str, region: str = "VN") -> OfficeHours:
    path = Path(path)
    return parse(yaml.safe_load(path.read_text(encoding="utf-8")) or {}, str(path), region)


def init_app(app) -> None:
    """Read the file at start-up: a broken one stops the app like a broken flow does."""
    path = Path(app.config["FLOWS_DIR"]) / "office_hours.yaml"
    app.extensions["hotline.office_hours"] = load(path, app.config["DEFAULT_REGION"])


def current() -> OfficeHours:
    return current_app.extensions["hotline.office_hours"]


def is_open(now: dt.datetime) -> bool:
    """Open now? Holidays come from the file; weekly hours from the dashboard once imported."""
    from .staff import roster

    hours = current()
    if hours.local(now).date() in hours.holidays:
        return False
    if roster.has_office_hours():
        return roster.in_office_hours(now)
    return hours.is_open(now)


def on_duty_numbers(now: dt.datetime) -> list[str]:
    """Staff numbers (E.164) to ring now, in order; empty outside office hours.

    The dashboard's duty roster when one has been set up, else the file's list.
    """
    from .staff import roster

    if not is_open(now):
        return []
    if roster.has_roster():
        return roster.on_duty_numbers(now, hours_checked=True)
    return list(current().on_duty)


def weekly_hours() -> dict[int, list[tuple[dt.time, dt.time]]]:
    """The week's opening hours (0 = Monday; closed days left out), from the same source
    `is_open` follows: the dashboard's once imported, else the file's."""
    from .staff import roster

    if roster.has_office_hours():
        return roster.weekly_hours()
    return {day: sorted(spans) for day, spans in sorted(current().hours.items()) if spans}


def _clock(moment: dt.time) -> str:
    return f"{moment.hour}:{moment.minute:02d}"


def grouped_days(
    hours: dict[int, list[tuple[dt.time, dt.time]]],
) -> list[tuple[int, int, list[tuple[dt.time, dt.time]]]]:
    """(first day, last day, spans) for each run of consecutive open days with the same hours
    (0 = Monday): how the SMS reply and the voice menu both group the week."""
    groups: list[tuple[int, int, list[tuple[dt.time, dt.time]]]] = []
    for day in range(7):
        spans = hours.get(day)
        if not spans:
            continue
        if groups and groups[-1][1] == day - 1 and groups[-1][2] == spans:
            groups[-1] = (groups[-1][0], day, spans)
        else:
            groups.append((day, day, spans))
    return groups


def describe_week(hours: dict[int, list[tuple[dt.time, dt.time]]], day_names: list[str]) -> str:
    """`Mon-Fri 7:00-11:30, 13:30-17:00; Sat 7:30-11:30`: consecutive days with the same
    hours grouped, so the week fits in a short SMS."""
    parts = []
    for first, last, spans in grouped_days(hours):
        days = day_names[first] if first == last else f"{day_names[first]}-{day_names[last]}"
        parts.append(days + " " + ", ".join(f"{_clock(a)}-{_clock(b)}" for a, b in spans))
    return "; ".join(parts)


#: The words the voice menu reads the week and the holidays with (Vietnamese: the language
#: with a voice; other languages hear these in Vietnamese until their prompts are recorded).
SPOKEN_DAYS = ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật")
#: How far ahead the voice menu names the coming holidays.
HOLIDAYS_AHEAD_DAYS = 45


def _spoken_clock(moment: dt.time) -> str:
    return f"{moment.hour} giờ" + (f" {moment.minute:02d}" if moment.minute else "")


def spoken_week(hours: dict[int, list[tuple[dt.time, dt.time]]]) -> str:
    """`từ thứ Hai đến thứ Sáu, từ 7 giờ đến 11 giờ 30 và từ 13 giờ 30 đến 17 giờ; thứ Bảy, …`:
    the week as the voice menu reads it, grouped like `describe_week`."""
    parts = []
    for first, last, spans in grouped_days(hours):
        days = SPOKEN_DAYS[first] if first == last else f"từ {SPOKEN_DAYS[first]} đến {SPOKEN_DAYS[last]}"
        times = " và ".join(f"từ {_spoken_clock(a)} đến {_spoken_clock(b)}" for a, b in spans)
        parts.append(f"{days}, {times}")
    return "; ".join(parts)


def coming_holidays(now: dt.datetime) -> list[dt.date]:
    """The holidays of the next HOLIDAYS_AHEAD_DAYS, in order (voice menu and dashboard alike)."""
    hours = current()
    today = hours.local(now).date()
    return sorted(day for day in hours.holidays if 0 <= (day - today).days <= HOLIDAYS_AHEAD_DAYS)


def spoken_holidays(now: dt.datetime) -> str:
    """The holidays of the coming weeks (`Ngày nghỉ sắp tới: 1 tháng 9, 2 tháng 9.`), else the rule."""
    coming = coming_holidays(now)
    if not coming:
        return "Nghỉ các ngày lễ, Tết."
    return "Ngày nghỉ sắp tới: " + ", ".join(f"{day.day} tháng {day.month}" for day in coming[:4]) + "."


def spoken_values(now: dt.datetime) -> dict[str, str]:
    """What the voice menu's `{hours}`, `{holidays}` and `{address}` read: the same source as
    `is_open` and the SMS reply (the dashboard's imported hours, else office_hours.yaml)."""
    week = weekly_hours()
    return {"hours": spoken_week(week) if week else "không có giờ tiếp dân cố định",
            "holidays": spoken_holidays(now), "address": current().address}


def ring_seconds() -> int:
    return current().ring_seconds
