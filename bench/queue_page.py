"""How fast the queue page answers with 10,000 open requests (goal: p95 < 150 ms).

Times GET /staff/ (first page, 50 rows, ordered by urgency and age) for an admin,
who sees every request, and for a volunteer limited to one team; also the
in-place refresh (`?partial=1`) and a filtered view. The login page, rendered
by the same app in the same process, is the baseline the ratios refer to.

    .venv/bin/python bench/queue_page.py [--db sqlite|postgresql] [--requests 10000] [--repeat 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.staff_bench_db import bench_app, logged_in, seed  # noqa: E402

PASSWORD = "bench-password-1"


def timings(client, path: str, repeat: int) -> list[float]:
    client.get(path)  # warm up
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(path)
        out.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return out


def summary(values: list[float]) -> tuple[float, float]:
    values = sorted(values)
    return statistics.median(values), values[int(0.95 * (len(values) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()

    with bench_app(args.db) as app:
        with app.app_context():
            seed(args.requests, claimers=1, password=PASSWORD)
        admin, volunteer = logged_in(app, "admin", PASSWORD), logged_in(app, "v00", PASSWORD)
        baseline = summary(timings(app.test_client(), "/staff/login", args.repeat))
        cases = [
            ("admin, all teams", admin, "/staff/"),
            ("admin, refresh rows", admin, "/staff/?partial=1"),
            ("admin, filtered", admin, "/staff/?channel=sms&topic=vneid"),
            ("admin, page 100", admin, "/staff/?page=100"),
            ("volunteer, own team", volunteer, "/staff/"),
        ]
        print(f"{args.db}: {args.requests} open requests, {args.repeat} requests per case")
        print(f"  {'baseline (login page)':<24} p50 {baseline[0]:6.1f} ms  p95 {baseline[1]:6.1f} ms")
        worst = 0.0
        for name, client, path in cases:
            p50, p95 = summary(timings(client, path, args.repeat))
            worst = max(worst, p95)
            ratio = p95 / baseline[1]
            print(f"  {name:<24} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  ({ratio:.1f}x baseline p95)")
        print(f"  worst p95 {worst:.1f} ms: goal < 150 ms {'met' if worst < 150 else 'NOT met'}")


if __name__ == "__main__":
    main()
