"""Voice webhooks under gunicorn against a bare Flask floor, in one run.

    .venv/bin/python bench/voice_webhooks.py [--seconds 10] [--workers 4] [--rate 200] [--also CHECKOUT]

Starts two gunicorn servers with the same settings (the Procfile's: sync workers,
`--workers 4 --timeout 14`): the hotline (`hotline:create_app()`, on a throw-away
PostgreSQL database, SQLite if PostgreSQL does not answer) and a bare Flask app that
answers a constant TwiML document. Then, from other processes:

1. maximum throughput (wrk, pre-signed requests: every greeting is a new call and every
   menu step the first key press of a call that heard the greeting), requests/s and
   p50/p99 for the bare endpoint, the greeting and a menu step; the ratio to the floor.
2. a fixed rate (open loop, `--rate` requests/s, latency counted from the moment each
   request was due so queueing is not hidden), p50/p99 for the same three.

With `--also CHECKOUT` a second hotline (another checkout, e.g. the code before a
change) runs beside it on its own database and is measured in the same run, so both
meet the same machine and the same floor.

Requests are signed with twilio's RequestValidator exactly as Twilio signs them.
Goal (issue 3): >= 0.8 of the bare floor; p99 < 50 ms at 200 requests/s.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
PUBLIC_URL = "https://bench.hotline.example"
TOKEN = "bench-token-0123456789abcdef"
WRK_THREADS = 2
WRK_CONNECTIONS = 16

LUA = r"""
local threads = {}
local counter = 0
setup = function(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end
init = function(args)
  lines = {}
  for line in io.lines(args[1] .. "." .. id) do table.insert(lines, line) end
  idx = 0
end
request = function()
  idx = idx + 1
  local line = lines[((idx - 1) % #lines) + 1]
  local path, sig, body = line:match("([^\t]*)\t([^\t]*)\t(.*)")
  return wrk.format("POST", path, {["X-Twilio-Signature"] = sig,
    ["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end
done = function(summary, latency, requests)
  local out = io.open(os.getenv("WRK_REPORT"), "w")
  local used = {}
  for _, thread in ipairs(threads) do table.insert(used, tostring(thread:get("idx"))) end
  out:write(string.format('{"requests": %d, "seconds": %f, "p50": %f, "p99": %f, "errors": %d, ' ..
    '"non2xx": %d, "used": [%s]}', summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, table.concat(used, ",")))
  out:close()
end
"""

BARE_APP = '''
from flask import Flask, Response
from twilio.twiml.voice_response import VoiceResponse

def create_app():
    app = Flask("bare")
    response = VoiceResponse()
    gather = response.gather(num_digits=1, action="/twilio/voice/step?node=x&n=1&attempt=1",
                             method="POST", timeout=6, action_on_empty_result=True)
    gather.say("Xin chào, đây là đường dây hỗ trợ dịch vụ công của xã.", language="vi-VN")
    body = str(response)

    @app.post("/twilio/voice")
    @app.post("/twilio/voice/step")
    def constant():
        return Response(body, mimetype="text/xml")

    return app
'''


def signed_line(path: str, params: dict[str, str]) -> str:
    from twilio.request_validator import RequestValidator

    signature = RequestValidator(TOKEN).compute_signature(PUBLIC_URL + path, params)
    return f"{path}\t{signature}\t{urlencode(params)}"


def call_params(sid: str) -> dict[str, str]:
    """A new caller per call (no two wrk threads share a number): `+849<thread><index>`."""
    return {"CallSid": sid, "AccountSid": "AC" + "0" * 32, "From": f"+849{sid[4]}{sid[-7:]}",
            "To": "+842633000000", "CallStatus": "in-progress", "Direction": "inbound"}


GREETING = "/twilio/voice"
STEP = "/twilio/voice/step?node=choose_language&n=1&attempt=1"


def greeting_line(sid: str) -> str:
    return signed_line(GREETING, call_params(sid))


def step_line(sid: str) -> str:
    return signed_line(STEP, {**call_params(sid), "Digits": "1"})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_up(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn on {port} exited: see its output above")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"gunicorn on {port} did not start")


def gunicorn(app_spec: str, port: int, workers: int, env: dict[str, str], cwd: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
               "--timeout", "14", "--log-level", "warning", app_spec]
    process = subprocess.Popen(command, env=env, cwd=cwd)
    wait_up(port, process)
    return process


def run_wrk(port: int, sids_by_thread: list[list[str]], make_line, seconds: float, work: Path) -> dict:
    base = work / f"lines-{uuid.uuid4().hex[:6]}"
    for index, sids in enumerate(sids_by_thread, start=1):
        Path(f"{base}.{index}").write_text("\n".join(make_line(sid) for sid in sids) + "\n")
    script = work / "signed.lua"
    script.write_text(LUA)
    report = work / "wrk.json"
    finished = subprocess.run(
        ["wrk", "-t", str(WRK_THREADS), "-c", str(WRK_CONNECTIONS), "-d", f"{max(1, round(seconds))}s",
         "--latency", "-s", str(script), f"http://127.0.0.1:{port}", "--", str(base)],
        capture_output=True, text=True, env=dict(os.environ, WRK_REPORT=str(report)),
    )
    if finished.returncode != 0:
        raise SystemExit(f"wrk failed: {finished.stdout}{finished.stderr}")
    result = json.loads(report.read_text())
    result["rps"] = result["requests"] / result["seconds"]
    pairs = zip(result["used"], sids_by_thread, strict=True)
    result["replays"] = sum(max(0, used - len(sids)) for used, sids in pairs)
    return result


def _open_loop_worker(port, lines, rate, start_at, offset, stride, out):
    """Send lines[offset::stride] at their due times; latency from the due time."""
    latencies, failures = [], 0
    lock = threading.Lock()
    slots = iter(range(offset, len(lines), stride))

    def run():
        nonlocal failures
        while True:
            with lock:
                index = next(slots, None)
            if index is None:
                return
            due = start_at + index / rate
            delay = due - time.time()
            if delay > 0:
                time.sleep(delay)
            path, signature, body = lines[index].split("\t", 2)
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
                connection.request("POST", path, body=body, headers={
                    "X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"})
                response = connection.getresponse()
                response.read()
                connection.close()
                ok = response.status == 200
            except OSError:
                ok = False
            with lock:
                latencies.append((time.time() - due) * 1000)
                failures += not ok

    threads = [threading.Thread(target=run) for _ in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.put((latencies, failures))


def run_fixed_rate(port: int, lines: list[str], rate: float) -> dict:
    processes = 2
    queue: multiprocessing.Queue = multiprocessing.Queue()
    start_at = time.time() + 0.5
    workers = [multiprocessing.Process(target=_open_loop_worker,
                                       args=(port, lines, rate, start_at, i, processes, queue))
               for i in range(processes)]
    for worker in workers:
        worker.start()
    latencies, failures = [], 0
    for _ in workers:
        part, failed = queue.get()
        latencies.extend(part)
        failures += failed
    for worker in workers:
        worker.join()
    latencies.sort()
    return {"requests": len(latencies), "failures": failures, "p50": statistics.median(latencies),
            "p99": latencies[int(len(latencies) * 0.99) - 1], "max": latencies[-1]}


def postgres_database() -> tuple[str | None, callable]:
    try:
        import psycopg

        server = os.environ.get("HOTLINE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
        name = f"hotline_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(server + "/postgres", autocommit=True, connect_timeout=2) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

        def drop():
            with psycopg.connect(server + "/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        return f"{server}/{name}", drop
    except Exception:
        return None, lambda: None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (Procfile default: 4)")
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--also", type=Path, metavar="CHECKOUT",
                        help="another checkout of the hotline (e.g. the code before a change: "
                             "`git worktree add /tmp/before main`), measured in the same run "
                             "against the same floor")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")

    load_before = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="hotline-bench-"))
    trees = [("", ROOT)] + ([(f" ({args.also.name})", args.also.resolve())] if args.also else [])
    drops, servers, hotlines = [], [], []
    base_env = dict(os.environ, HOTLINE_PUBLIC_URL=PUBLIC_URL, TWILIO_AUTH_TOKEN=TOKEN,
                    REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/11"))
    try:
        for index, (label, tree) in enumerate(trees):
            database_url, drop_database = postgres_database()
            drops.append(drop_database)
            database_url = database_url or f"sqlite:///{work / f'hotline{index}.db'}"
            env = dict(base_env, HOTLINE_DATA_DIR=str(work / f"data{index}"), DATABASE_URL=database_url,
                       PYTHONPATH=str(tree))
            subprocess.run([sys.executable, "-m", "hotline", "db", "upgrade"], env=env, cwd=tree, check=True,
                           capture_output=True)
            port = free_port()
            servers.append(gunicorn("hotline:create_app()", port, args.workers, env, tree))
            hotlines.append((label, port))
        (work / "bare_app.py").write_text(BARE_APP)
        bare_port = free_port()
        servers.append(gunicorn("bare_app:create_app()", bare_port, args.workers,
                                dict(base_env, PYTHONPATH=str(work)), work))
        per_thread = 40_000

        def sids(prefix: str) -> list[list[str]]:
            # CA + 32 hex digits, as Twilio's (the webhooks refuse to key a call on anything else)
            return [[f"CA{prefix}{thread}{index:029d}" for index in range(per_thread)]
                    for thread in range(WRK_THREADS)]

        warm = sids("00")
        run_wrk(bare_port, warm, greeting_line, 2, work)
        for _, port in hotlines:
            run_wrk(port, warm, greeting_line, 2, work)
        bare = run_wrk(bare_port, sids("01"), greeting_line, args.seconds, work)
        measured = [("bare Flask TwiML", bare)]
        for label, port in hotlines:
            calls = sids("02")
            greeting = run_wrk(port, calls, greeting_line, args.seconds, work)
            answered = [thread_sids[:used] for thread_sids, used in zip(calls, greeting["used"], strict=True)]
            step = run_wrk(port, answered, step_line, args.seconds, work)
            measured += [(f"greeting{label}", greeting), (f"menu step{label}", step)]

        count = int(args.rate * args.seconds)
        fixed_sids = [f"CA031{index:029d}" for index in range(count)]
        greetings, steps = [greeting_line(s) for s in fixed_sids], [step_line(s) for s in fixed_sids]
        fixed = {"bare": run_fixed_rate(bare_port, greetings, args.rate)}
        for label, port in hotlines:
            fixed[f"greeting{label}"] = run_fixed_rate(port, greetings, args.rate)
            fixed[f"menu step{label}"] = run_fixed_rate(port, steps, args.rate)
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        for drop_database in drops:
            drop_database()
        shutil.rmtree(work, ignore_errors=True)

    dialect = database_url.split(":", 1)[0]
    print(f"gunicorn sync workers={args.workers} timeout=14, database {dialect}, {os.cpu_count()} CPUs, "
          f"wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS} {args.seconds:.0f}s (load generator on this machine); "
          f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    width = max(22, *(len(name) + 2 for name, _ in measured))
    print(f"{'maximum throughput':<{width}}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'ratio':>8}  notes")
    for name, result in measured:
        notes = f"non-2xx {result['non2xx']}, errors {result['errors']}"
        if result["replays"]:
            notes += f", {result['replays']} retries replayed"
        print(f"{name:<{width}}{result['rps']:>9.0f}{result['p50']:>9.1f}{result['p99']:>9.1f}"
              f"{result['rps'] / bare['rps']:>8.2f}  {notes}")
    print(f"\nfixed rate {args.rate:.0f} req/s, {args.seconds:.0f}s (latency from the due time)")
    print(f"{'':<{width}}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}  failures")
    for name, result in fixed.items():
        print(f"{name:<{width}}{result['p50']:>9.1f}{result['p99']:>9.1f}{result['max']:>9.1f}  "
              f"{result['failures']}/{result['requests']}")
    this = dict(measured)
    worst = max(fixed["greeting"]["p99"], fixed["menu step"]["p99"])
    ratio = min(this["greeting"]["rps"], this["menu step"]["rps"]) / bare["rps"]
    print(f"\ngoal: ratio >= 0.80 (got {ratio:.2f}); p99 at {args.rate:.0f} req/s < 50 ms (got {worst:.1f})")


if __name__ == "__main__":
    main()
