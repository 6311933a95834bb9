"""How fast `hotline` commands start, beside the imports they cannot do without.

`hotline --help` is timed against `python -c 'import click'`, and `hotline tickets list
--json` against `python -c 'import flask, sqlalchemy'`: each pair run by run, interleaved,
in one process, so the machine's load falls on both alike; medians and ratios printed,
with the targets (2× and 1.5×), of wall time and of CPU time (user + system of the child,
which a machine shared with other work disturbs less). The data folder is a temporary one holding a migrated
SQLite database with a few requests (made with `hotline sms`, through the real pipeline).

    .venv/bin/python bench/cli_startup.py [--runs 21] [--venv /path/to/other/.venv]

`--venv` times another install's `hotline` (e.g. an older checkout's) with its own Python.
`python -X importtime -m hotline tickets list --json` shows where the time goes.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: A few requests: each message becomes a request (or a second line of the sender's open one).
SEED_MESSAGES = (
    ("lam cccd cho me", "0912345601"),
    ("giup dang ky khai sinh", "0912345602"),
    ("goi lai cho toi", "0912345603"),
    ("huong dan vneid muc 2", "0912345604"),
    ("xin chao, toi can giup ve luong huu", "0912345605"),
)

#: (label, command, baseline label, baseline command, target ratio)
PAIRS = (
    ("hotline --help", ["--help"], "import click", ["-c", "import click"], 2.0),
    ("hotline tickets list --json", ["tickets", "list", "--json"],
     "import flask, sqlalchemy", ["-c", "import flask, sqlalchemy"], 1.5),
)


def run(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of `argv`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def medians(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(wall for wall, _ in runs), statistics.median(cpu for _, cpu in runs)


def prepare(hotline: str, env: dict[str, str]) -> int:
    """Migrate the temporary database and put a few requests in it; returns their number."""
    subprocess.run([hotline, "db", "upgrade"], env=env, check=True, capture_output=True)
    for text, sender in SEED_MESSAGES:
        subprocess.run([hotline, "sms", text, "--from", sender], env=env, check=True, capture_output=True)
    listed = subprocess.run([hotline, "tickets", "list", "--json"], env=env, check=True,
                            capture_output=True, text=True).stdout
    return listed.count('"code"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21, help="runs of each command (the median is shown)")
    parser.add_argument("--venv", type=Path, default=Path(sys.executable).parent.parent,
                        help="the install to time (default: the one running this script)")
    args = parser.parse_args()
    python = str(args.venv / "bin" / "python")
    hotline = str(args.venv / "bin" / "hotline")

    with tempfile.TemporaryDirectory(prefix="hotline-cli-bench-") as data_dir:
        env = {name: value for name, value in os.environ.items()
               if not name.startswith(("HOTLINE_", "FLASK_")) and name not in ("DATABASE_URL", "REDIS_URL")}
        env["HOTLINE_DATA_DIR"] = data_dir
        requests = prepare(hotline, env)
        print(f"{hotline}; {requests} requests in a migrated SQLite database; {args.runs} runs each, "
              f"interleaved; medians of wall time / CPU time")
        for label, command, base_label, base_command, target in PAIRS:
            run([hotline, *command], env)  # warm the file cache for both
            run([python, *base_command], env)
            ours, base = [], []
            for _ in range(args.runs):
                ours.append(run([hotline, *command], env))
                base.append(run([python, *base_command], env))
            (wall, cpu), (base_wall, base_cpu) = medians(ours), medians(base)
            ratios = (wall / base_wall, cpu / base_cpu)
            verdict = "ok" if max(ratios) <= target else "OVER"
            print(f"  {label:<28} {wall * 1000:5.0f} / {cpu * 1000:4.0f} ms   "
                  f"{base_label:<24} {base_wall * 1000:5.0f} / {base_cpu * 1000:4.0f} ms   "
                  f"ratio {ratios[0]:4.2f}× / {ratios[1]:4.2f}× (target ≤ {target}×: {verdict})")


if __name__ == "__main__":
    main()
