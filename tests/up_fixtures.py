"""`hotline up` as a real process for the end-to-end and fault tests: started in a
session of its own (so every process it starts can be found, and none may outlive
it), its output read by a thread (a full pipe would block it) and searchable for
the supervisor's "started NAME pid N" lines; plus Twilio-signed webhooks."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

from hotline.embedded_redis import free_port
from tests.twilio_sim import Call, TwilioSim, sign

#: Variables of the test run's own environment that must not leak into `hotline up`.
CLEARED = ("REDIS_URL", "DATABASE_URL", "TWILIO_AUTH_TOKEN", "TWILIO_ACCOUNT_SID", "TWILIO_API_BASE",
           "HOTLINE_PHONE_NUMBER")
HOTLINE_NUMBER = "+842633000000"


class _Http:
    """The Flask test client's `post`, over HTTP to a running server (what TwilioSim calls)."""

    def __init__(self, base: str):
        self.base = base

    def post(self, path: str, data: dict[str, str], headers: dict[str, str]) -> requests.Response:
        response = requests.post(self.base + path, data=data, headers=headers, timeout=15)
        response.data = response.content  # type: ignore[attr-defined]
        response.mimetype = response.headers.get("Content-Type", "").split(";")[0]  # type: ignore[attr-defined]
        return response


def wait_until(predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.1):
    """Poll until `predicate()` is truthy and return it; fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


class Up:
    """One `hotline up` on a fresh data folder and a free port."""

    def __init__(self, tmp_path: Path, **env: str):
        self.port = free_port()
        self.data = tmp_path / "data"
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if k not in CLEARED}
        self.env.update(HOTLINE_DATA_DIR=str(self.data), HOTLINE_PUBLIC_URL=self.base, **env)
        self.lines: list[str] = []
        self.process: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None
        self._engine = None

    def start(self, timeout: float = 90) -> Up:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hotline", "up", "--port", str(self.port), "--host", "127.0.0.1"],
            env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.wait_for_line("Ctrl-C stops everything", timeout=timeout)
        return self

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    @property
    def token(self) -> str:
        """TWILIO_AUTH_TOKEN when given, else the local token `hotline up` made and printed."""
        return self.env.get("TWILIO_AUTH_TOKEN") or (self.data / "twilio_auth_token").read_text().strip()

    def wait_for_line(self, pattern: str, *, after: int = 0, timeout: float = 30) -> re.Match:
        """The first output line from index `after` on that matches `pattern` (a regex)."""
        compiled = re.compile(pattern)

        def found():
            assert self.process is not None
            for line in self.lines[after:]:
                match = compiled.search(line)
                if match:
                    return match
            if self.process.poll() is not None:
                raise AssertionError(f"hotline up exited ({self.process.returncode}):\n{self.output}")
            return None

        try:
            return wait_until(found, timeout, repr(pattern))
        except AssertionError as error:
            raise AssertionError(f"{error}\n--- output ---\n{self.output[-6000:]}") from None

    def pid(self, name: str) -> int:
        """The pid of `name` as the supervisor last started it."""
        pids = re.findall(rf"^started {name} pid (\d+)$", self.output, re.M)
        assert pids, f"{name} never started:\n{self.output}"
        return int(pids[-1])

    def wait_restarted(self, name: str, old_pid: int, timeout: float = 60) -> int:
        mark = len(self.lines)
        while True:
            match = self.wait_for_line(rf"^started {name} pid (\d+)$", after=mark, timeout=timeout)
            if int(match[1]) != old_pid:
                return int(match[1])
            mark = len(self.lines)

    def healthz(self) -> requests.Response:
        return requests.get(f"{self.base}/healthz", timeout=5)

    def post(self, path: str, params: dict[str, str]) -> requests.Response:
        """A webhook as Twilio sends it: signed over the public URL with the install's token."""
        url = self.base + path
        return requests.post(url, data=params, timeout=15,
                             headers={"X-Twilio-Signature": sign(self.token, url, params)})

    def twilio(self) -> TwilioSim:
        """Twilio in front of this install: signs each webhook, follows the TwiML (asserts 200 XML)."""
        return TwilioSim(_Http(self.base), self.token, self.base)

    def call_for_help(self, phone: str) -> Call:
        """A call that asks for help with a procedure: language 1, menu 1, procedure 1 → a request."""
        call = self.twilio().call(phone)
        call.start()
        for _ in range(3):
            call.press("1")
        return call

    def sms(self, phone: str, body: str) -> requests.Response:
        return self.post("/twilio/sms", {"MessageSid": "SM" + uuid.uuid4().hex, "From": phone,
                                         "To": HOTLINE_NUMBER, "Body": body,
                                         "AccountSid": "AC" + "0" * 32})

    def sql(self, query: str, **params):
        """All rows of a query on the install's SQLite database."""
        if self._engine is None:
            self._engine = create_engine(f"sqlite:///{self.data / 'hotline.db'}")
        with self._engine.connect() as conn:
            return conn.execute(text(query), params).all()

    def confirmation_outcome(self, phone: str) -> str | None:
        """What became of the SMS confirming the request of `phone` (None while its job waits)."""
        rows = self.sql(
            "SELECT e.kind FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id "
            "WHERE t.phone = :phone AND e.kind IN ('sms_sent', 'sms_not_sent', 'sms_failed')", phone=phone)
        return rows[0][0] if rows else None

    def session_processes(self) -> str:
        assert self.process is not None
        return subprocess.run(["pgrep", "-a", "-s", str(self.process.pid)],
                              capture_output=True, text=True).stdout.strip()

    def stop(self, sig: int = signal.SIGINT, timeout: float = 30) -> int:
        """Ctrl-C (to the whole group, as a terminal sends it) and wait; SIGKILL all on a hang."""
        if self._engine is not None:
            self._engine.dispose()
        assert self.process is not None
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            raise
        self._reader.join(10)  # the last lines (EOF comes once every child has closed its end)
        return code

    def assert_nothing_left(self) -> None:
        """No process of its session survives it: web, workers, horses, relay, Redis."""
        deadline = time.monotonic() + 10
        while (left := self.session_processes()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert left == "", f"left running after hotline up stopped:\n{left}\n--- output ---\n{self.output}"
