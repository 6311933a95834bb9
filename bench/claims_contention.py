"""Claims per second under contention: N claimers pressing "claim next" over the same team's
requests, against one claimer alone on the same database (the baseline), and a check that
no request was claimed twice. Each claimer is its own process (as web workers are), so
the figure is the database's and the claim code's, not one Python interpreter's lock.

    .venv/bin/python bench/claims_contention.py [--db sqlite|postgresql] [--requests 2000] [--claimers 20]
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select, update  # noqa: E402

from bench.staff_bench_db import bench_app, seed  # noqa: E402
from hotline import create_app  # noqa: E402
from hotline.extensions import db  # noqa: E402
from hotline.models import Staff, Ticket, TicketEvent  # noqa: E402
from hotline.staff import claims  # noqa: E402
from hotline.unit_of_work import unit_of_work  # noqa: E402


def claim_next(me: Staff) -> bool:
    """One press of "claim next", committed as the dashboard commits it (one unit of work)."""
    with unit_of_work():
        return claims.claim_next(me) is not None


def claimer(config: dict, staff_id: int, ready, go, results) -> None:
    app = create_app(config)
    with app.app_context():
        me = db.session.get(Staff, staff_id)
        db.session.rollback()
        ready.release()
        go.wait()
        won = 0
        while claim_next(me):
            won += 1
        results.put(won)


def run(app, staff_ids: list[int]) -> tuple[float, int]:
    ctx = multiprocessing.get_context("fork")
    ready, go, results = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
    config = app.config["BENCH_CONFIG"]
    processes = [ctx.Process(target=claimer, args=(config, s, ready, go, results)) for s in staff_ids]
    for process in processes:
        process.start()
    for _ in processes:
        ready.acquire()
    start = time.perf_counter()
    go.set()
    total = sum(results.get() for _ in processes)
    elapsed = time.perf_counter() - start
    for process in processes:
        process.join()
    return elapsed, total


def reset() -> None:
    db.session.execute(update(Ticket).values(assignee_id=None, claimed_at=None, status="open"))
    db.session.query(TicketEvent).filter(TicketEvent.kind == "claimed").delete()
    db.session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--claimers", type=int, default=20)
    args = parser.parse_args()
    with bench_app(args.db) as app:
        with app.app_context():
            ids = seed(args.requests, teams=1, claimers=args.claimers)["people"]
        alone, n1 = run(app, ids[:1])
        with app.app_context():
            reset()
        together, n = run(app, ids)
        with app.app_context():
            events = select(TicketEvent.ticket_id).where(TicketEvent.kind == "claimed")
            claimed = Counter(db.session.scalars(events))
        double = sum(1 for count in claimed.values() if count > 1)
        print(f"{args.db}: {args.requests} requests")
        print(f"  1 claimer:   {n1 / alone:7.0f} claims/s ({n1} in {alone:.2f} s)")
        print(
            f"  {args.claimers} claimers: {n / together:7.0f} claims/s ({n} in {together:.2f} s), "
            f"{n / together / (n1 / alone):.2f}x the single claimer; double claims: {double}"
        )


if __name__ == "__main__":
    main()
