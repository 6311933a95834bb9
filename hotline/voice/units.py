"""One unit of work per provider callback: the domain flushes, the edge commits once.

Twilio may deliver two callbacks about one thing at the same moment (a retry, or the
Record verb's action and the recording status callback for one RecordingSid). The one
that loses the race on a unique key fails with IntegrityError; running its unit of work
again then finds the winner's rows and changes nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError

from ..extensions import db

T = TypeVar("T")


def commit_once(work: Callable[[], T], tries: int = 3) -> T:
    """Run `work` and commit what it flushed, in one transaction; again after losing a race."""
    for _ in range(tries - 1):
        try:
            result = work()
            db.session.commit()
            return result
        except IntegrityError:
            db.session.rollback()
    result = work()
    db.session.commit()
    return result
