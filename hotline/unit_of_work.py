"""Who commits: the edge, once per action. Domain functions flush and return values.

The rule: a webhook, a page's form post, an API call, a job and a CLI command each run
their work in one unit of work, which commits once when the work returns and rolls back
when anything raises. Domain functions (tickets, claims, outcomes, the SMS pipeline,
messaging, transcription…) add and flush rows and return values; they never commit.

Why: an action is often several domain calls (a volunteer's `XONG 123456` claims the
request, resolves it, writes the timeline, the audit log, the resident's SMS job and the
reply). If any of them committed, a failure after it (the next call, the reply, the
render) would leave the action half done: a claim without its resolution, a timeline
line without its SMS. Only the edge knows where the action ends, so only the edge
commits; the domain then composes freely.

`unit_of_work()` is the one way to do it; `in_unit_of_work` wraps a whole function (a
view, a job, a command) in one; `commit_once` runs one again when it lost a race to a
twin (a provider's retry arriving at the same moment). Units do not nest: opening one
inside another raises, since the inner commit would make the outer action half done.

The list of modules that commit, with the reason for each, is in
tests/test_architecture.py (COMMITTERS) and docs/architecture.md.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

from sqlalchemy.exc import IntegrityError

from .extensions import db

T = TypeVar("T")
P = ParamSpec("P")

#: Keys of the session's `info` while a unit is open.
_OPEN = "hotline.unit_of_work"
_CLIENT = "hotline.client_address"


@contextlib.contextmanager
def unit_of_work(*, client_address: str | None = None) -> Iterator[None]:
    """Commit what the block flushed when it ends; roll it all back if anything raises (and re-raise).

    `client_address`: where the action came from (a form post's or an API call's remote
    address), written by the audit log on the rows of this unit (`client_address()`).
    """
    session = db.session()
    if session.info.get(_OPEN):
        raise RuntimeError("a unit of work is already open: units do not nest, the edge commits once")
    session.info[_OPEN] = True
    session.info[_CLIENT] = client_address
    try:
        yield
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info.pop(_OPEN, None)
        session.info.pop(_CLIENT, None)


def client_address() -> str | None:
    """The remote address the open unit of work was given by its edge (None outside one)."""
    return db.session().info.get(_CLIENT)


def in_unit_of_work(
    *, client_address: Callable[[], str | None] | None = None, release_session: bool = False,
) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Decorate a view, job or command so that each call is one unit of work.

    `client_address`: called at the start of each call (a web edge passes the request's
    remote address). `release_session`: hand the connection back when the call ends, for
    jobs: an RQ work horse has no app-context teardown to do it.
    """

    def decorate(func: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(func)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> T:
            try:
                with unit_of_work(client_address=client_address() if client_address else None):
                    return func(*args, **kwargs)
            finally:
                if release_session:
                    db.session.remove()

        return wrapped

    return decorate


def commit_once(work: Callable[[], T], tries: int = 3, *, client_address: str | None = None) -> T:
    """Run `work` in a unit of work; after losing a race to a twin, run it again.

    Providers deliver one thing twice at the same moment (a retry; the Record verb's action
    and the recording status callback for one RecordingSid; an SMS retried while the first
    delivery is still being handled). The twin that loses on a unique key fails with
    IntegrityError; its unit is rolled back and `work` runs again, now finding the winner's
    rows, so nothing is created twice and both get the same answer. `work` must look for
    what it would create before creating it.
    """
    for _ in range(tries - 1):
        try:
            with unit_of_work(client_address=client_address):
                return work()
        except IntegrityError:
            continue  # the twin committed first: its rows are there now
    with unit_of_work(client_address=client_address):
        return work()
