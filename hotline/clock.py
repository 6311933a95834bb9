"""The one clock every part of the hotline reads (`clock.now()`, also `models.utcnow`).

Why one: office hours, retries, reminders and "today" decide what a caller hears
and when a resident is texted, so tests must be able to put the whole system at
any moment — 23:59 or 07:59 in the commune — and prove that the wall clock never
decides a result. The clock is the wall clock plus an offset:

- `HOTLINE_CLOCK_OFFSET_SECONDS` in the environment shifts every process of an
  install (the test suite sets it once, so forked RQ work horses and the
  processes `hotline up` starts share it); unset in production.
- `travel_to(moment)` and `travel(by)` move it inside one process.

Time keeps running from the shifted moment (a frozen clock would give every row
the same timestamp, which no real run does). Timeouts and durations use
`time.monotonic()` and are untouched.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta, tzinfo

OFFSET_ENV = "HOTLINE_CLOCK_OFFSET_SECONDS"

_offset = timedelta(seconds=float(os.environ.get(OFFSET_ENV) or 0))


def now() -> datetime:
    """Aware UTC now, as the hotline sees it."""
    return datetime.now(UTC) + _offset


def today(zone: tzinfo) -> date:
    """The date in `zone` (the commune's timezone) now."""
    return now().astimezone(zone).date()


def offset() -> timedelta:
    return _offset


def set_offset(value: timedelta) -> None:
    global _offset
    _offset = value


def offset_to(local: time, zone: tzinfo) -> timedelta:
    """The offset that puts the clock at the next `local` time of day in `zone`."""
    current = datetime.now(UTC).astimezone(zone)
    target = datetime.combine(current.date(), local, tzinfo=zone)
    if target < current:
        target += timedelta(days=1)
    return target - current


def travel_to(moment: datetime) -> None:
    """Set the clock so that now is `moment` (aware), running on from there."""
    set_offset(moment - datetime.now(UTC))


@contextmanager
def travel(by: timedelta) -> Iterator[None]:
    """Move the clock forward (or back) inside the block."""
    before = _offset
    set_offset(before + by)
    try:
        yield
    finally:
        set_offset(before)
