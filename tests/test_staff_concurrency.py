"""20 claimers over 1,000 requests, on SQLite and on PostgreSQL: no request is claimed twice.

Each claimer is a thread with its own app context, hence its own database
session and connection, as separate web processes would have; each claim is one
unit of work, committed right after, as the edges do.
"""

from __future__ import annotations

import random
import threading
from collections import Counter

import pytest
from sqlalchemy import func, insert, select

from hotline.extensions import db
from hotline.models import Role, Staff, Team, Ticket, TicketEvent, TicketStatus, Village, utcnow
from hotline.staff import accounts, claims
from hotline.unit_of_work import unit_of_work

CLAIMERS = 20
REQUESTS = 1000


@pytest.fixture
def app(app_factory):
    """Room in the pool for every claimer (each web process would have its own pool).

    On SQLite, writers queue for one lock, and here 20 threads of one process take turns with
    the GIL: on a busy 2-core machine a claimer waited more than the production 10 s budget
    (a latency limit for Twilio's webhooks, not what this test is about) and failed with
    "database is locked". What is checked here is that no request is claimed twice, so
    writers wait as long as the test allows."""
    app = app_factory(SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True, "pool_size": CLAIMERS + 2},
                      SQLITE_BUSY_TIMEOUT=240)
    with app.app_context():
        yield app
        db.session.remove()


def test_twenty_claimers_never_claim_the_same_request_twice(app):
    team = Team(code="T01", name="Tổ 1")
    village = Village(code="V01", name="Thôn 1", team=team)
    db.session.add_all([team, village])
    db.session.flush()
    people = [
        accounts.create_staff(
            username=f"v{i:02d}", name=f"Volunteer {i}", role=Role.VOLUNTEER, team_id=team.id
        )
        for i in range(CLAIMERS)
    ]
    db.session.commit()
    now = utcnow()
    db.session.execute(
        insert(Ticket),
        [
            {
                "code": f"{100000 + i}",
                "channel": "voice",
                "reason": "callback_requested",
                "status": "open",
                "created_at": now,
                "updated_at": now,
                "due_at": now,
                "team_id": team.id,
                "village_id": village.id,
                "attempts": 0,
                "elderly": bool(i % 7 == 0),
            }
            for i in range(REQUESTS)
        ],
    )
    db.session.commit()
    ids = list(db.session.scalars(select(Ticket.id)))
    staff_ids = [p.id for p in people]
    wins: Counter[int] = Counter()
    refusals: Counter[str] = Counter()
    errors: list[BaseException] = []
    start = threading.Barrier(CLAIMERS, timeout=30)

    def claimer(n: int) -> None:
        rng = random.Random(n)
        try:
            with app.app_context():
                me = db.session.get(Staff, staff_ids[n])
                start.wait()
                # First everybody fights over the same few requests by id…
                for ticket_id in rng.sample(ids[:60], 30):
                    try:
                        with unit_of_work():
                            claims.claim(db.session.get(Ticket, ticket_id), me)
                        wins[n] += 1
                    except claims.ClaimError as error:
                        refusals[error.reason] += 1
                # …then takes "the next one" until the queue is empty.
                while next_claimed(me):
                    wins[n] += 1
                db.session.remove()
        except BaseException as error:  # reported below, with the thread's traceback lost otherwise
            errors.append(error)
            raise

    def next_claimed(me: Staff) -> bool:
        with unit_of_work():
            return claims.claim_next(me) is not None

    threads = [threading.Thread(target=claimer, args=(n,)) for n in range(CLAIMERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    assert not errors, errors
    assert sum(wins.values()) == REQUESTS
    assert refusals["taken"] > 0  # the contention was real
    db.session.expire_all()
    claimed = select(TicketEvent.ticket_id).where(TicketEvent.kind == "claimed")
    claimed_events = Counter(db.session.scalars(claimed))
    assert len(claimed_events) == REQUESTS and set(claimed_events.values()) == {1}
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(Ticket)
            .where(Ticket.assignee_id.is_(None) | (Ticket.status != TicketStatus.IN_PROGRESS))
        )
        == 0
    )
    # Who holds each request is who the timeline says claimed it.
    holders = dict(db.session.execute(select(Ticket.id, Ticket.assignee_id)).all())
    by_username = {p.username: p.id for p in db.session.scalars(select(Staff))}
    for event in db.session.scalars(select(TicketEvent).where(TicketEvent.kind == "claimed")):
        assert holders[event.ticket_id] == by_username[event.data["staff"]]
    assert len([n for n in wins if wins[n]]) > 1  # the work was shared
