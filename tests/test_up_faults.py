"""Faults under `hotline up`: children killed, Redis gone for a while, a worker killed
mid-job. The line keeps answering, nothing is lost, every reply goes out once.

The supervisor's own rules (pauses, giving up on the web process) are checked first
in-process with tiny programs; then the real install, as an operator runs it."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import psutil
import pytest
from redis import Redis
from rq import Queue, Retry
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from sqlalchemy import select

from hotline.embedded_redis import EmbeddedRedis, free_port
from hotline.supervisor import Backoff, Child, Supervisor
from tests.asr_fixtures import ACCOUNT_SID, KOREAN_SENTENCES, synthesise
from tests.fake_twilio_api import FakeTwilioAPI
from tests.up_fixtures import HOTLINE_NUMBER, Up, wait_until

# --- the supervisor's rules, with tiny programs -------------------------------------------


def test_backoff_doubles_up_to_its_maximum_and_starts_over_after_a_stable_run():
    backoff = Backoff(initial=1, maximum=30, stable_after=60)
    delays = [backoff.next(None, 0)]
    for _ in range(6):
        delays.append(backoff.next(delays[-1], 5))
    assert delays == [1, 2, 4, 8, 16, 30, 30]
    assert backoff.next(30, 61) == 1  # it had stayed up a minute: a new failure, not the same one


def quick(children, say, **options):
    options.setdefault("backoff", Backoff(initial=0.05, maximum=0.2, stable_after=60))
    return Supervisor(children, say=say, tick=0.01, **options)


def test_a_crashing_worker_is_restarted_with_growing_pauses_and_the_web_process_is_left_alone():
    lines: list[str] = []

    def say(line: str) -> None:
        lines.append(line)
        if sum("restarting" in seen for seen in lines) == 5:
            supervisor.request_stop("enough")

    supervisor = quick([Child.command("web", ["sleep", "60"]),
                        Child.command("worker", ["sh", "-c", "exit 1"])], say)
    with supervisor:
        web = supervisor.start("web")
        supervisor.start("worker")
        assert supervisor.run() == "enough"
        assert supervisor.pid("web") == web.pid
    delays = ("0.05", "0.1", "0.2", "0.2", "0.2")
    assert [line for line in lines if "restarting" in line] == [
        f"worker exited with code 1; restarting in {delay} s" for delay in delays
    ]
    assert sum(line.startswith("started worker pid ") for line in lines) == 5
    assert not any(line.startswith("web ") for line in lines)
    assert web.poll() is not None  # stopped on the way out


def test_a_web_process_that_keeps_failing_stops_everything_and_says_why():
    lines: list[str] = []
    supervisor = quick([Child.command("web", ["sh", "-c", "exit 3"]),
                        Child.command("worker", ["sleep", "60"])], lines.append)
    with supervisor:
        supervisor.start("web")
        worker = supervisor.start("worker")
        reason = supervisor.run()
    assert reason == "web exited 5 times in 120 s; stopping"
    assert sum("web exited with code 3; restarting" in line for line in lines) == 4
    assert lines[-1] == "web exited with code 3"
    assert worker.poll() is not None


def test_web_failures_spread_out_in_time_do_not_stop_it():
    lines: list[str] = []

    def say(line: str) -> None:
        lines.append(line)
        if sum("restarting" in seen for seen in lines) == 7:
            supervisor.request_stop("enough")

    # Each pause (≥ 0.1 s) is longer than the window (0.05 s): never 5 exits inside it.
    supervisor = quick([Child.command("web", ["sh", "-c", "exit 3"])], say,
                       backoff=Backoff(initial=0.1, maximum=0.1), give_up_window=0.05)
    with supervisor:
        supervisor.start("web")
        assert supervisor.run() == "enough"


def test_what_a_dead_child_leaves_in_its_process_group_is_ended(tmp_path):
    pid_file = tmp_path / "fork.pid"
    lines: list[str] = []

    def say(line: str) -> None:
        lines.append(line)
        if "restarting" in line:
            supervisor.request_stop("enough")

    # Like a gunicorn master killed under its workers: the fork outlives its parent.
    supervisor = quick([Child.command("web", ["sh", "-c", f"sleep 60 & echo $! > {pid_file}; exit 1"])], say)
    with supervisor:
        supervisor.start("web")
        assert supervisor.run() == "enough"
    fork = int(pid_file.read_text())
    wait_until(lambda: not _alive(fork), 10, "the orphaned fork to end")


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


# --- jobs of a killed worker -----------------------------------------------------------


def wait_for_file(release: str, runs: str) -> str:
    """A job that notes each run, then blocks until `release` exists."""
    with open(runs, "a") as out:
        out.write(f"{os.getpid()}\n")
    deadline = time.monotonic() + 120
    while not Path(release).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(release)
        time.sleep(0.05)
    return "released"


def worker_env(app, redis_url: str) -> dict[str, str]:
    """`hotline worker` on the test's database and `redis_url`, able to import this module's jobs."""
    return dict(os.environ, DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], REDIS_URL=redis_url,
                HOTLINE_DATA_DIR=app.config["DATA_DIR"], TWILIO_AUTH_TOKEN="t",
                PYTHONPATH=str(Path(__file__).resolve().parent.parent))


def start_worker(app) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "hotline", "worker", "--without-scheduler"],
                            env=worker_env(app, app.config["REDIS_URL"]),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


@pytest.mark.slow
@pytest.mark.parametrize("retry", [Retry(max=2, interval=600), None], ids=["with-retry", "without-retry"])
def test_the_job_of_a_killed_worker_runs_again_when_a_worker_starts(app, tmp_path, retry):
    from hotline.queueing import get_redis
    from workers.main import recover_abandoned_jobs, run_worker

    redis = get_redis()
    queue = Queue("default", connection=redis)
    release, runs = tmp_path / "release", tmp_path / "runs"
    job = queue.enqueue(wait_for_file, str(release), str(runs), retry=retry)
    worker = start_worker(app)
    try:
        wait_until(lambda: runs.exists(), 60, "the job to start")
        horse = int(runs.read_text().split()[0])
        # A live worker's job is not touched.
        assert recover_abandoned_jobs([queue], redis) == []
        assert job.get_status(refresh=True) == "started"
        # Killed with its work horse, as `hotline up` ends a dead worker's leftovers.
        os.killpg(worker.pid, signal.SIGKILL)
        os.kill(horse, signal.SIGKILL)
        worker.wait()
        wait_until(lambda: not _alive(horse), 10, "the work horse to end")
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()

    assert recover_abandoned_jobs([queue], redis) == [job.id]
    # Back on its queue at once (not after the retry's 10 minutes), a try spent if it had tries.
    job.refresh()
    assert job.get_status() == "queued" and job.id in queue.job_ids
    assert job.retries_left == (1 if retry else None)
    assert job.id not in StartedJobRegistry(queue=queue)
    release.touch()
    run_worker(app, ["default"], burst=True, with_scheduler=False)
    assert job.get_status(refresh=True) == "finished" and job.return_value() == "released"
    assert len(runs.read_text().split()) == 2  # ran again, once
    assert job.id not in FailedJobRegistry(queue=queue)


@pytest.mark.slow
def test_a_worker_started_before_redis_waits_for_it_then_works(app, tmp_path):
    port = free_port()
    server = EmbeddedRedis(tmp_path / "late-redis", port, persistent=False)
    worker = subprocess.Popen(
        [sys.executable, "-m", "hotline", "worker"], env=worker_env(app, server.url),
        text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )
    lines: list[str] = []

    def read() -> None:
        for line in worker.stdout:
            lines.append(line)

    threading.Thread(target=read, daemon=True).start()
    try:
        wait_until(lambda: any("lost Redis" in line for line in lines), 60, "the worker to miss Redis")
        assert worker.poll() is None
        server.start()
        release, runs = tmp_path / "release", tmp_path / "runs"
        release.touch()
        job = Queue("default", connection=Redis.from_url(server.url)).enqueue(
            wait_for_file, str(release), str(runs))
        wait_until(lambda: job.get_status(refresh=True) == "finished", 60, "the job to run")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(30) == 0
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
        server.stop()


class Cuttable:
    """A TCP forwarder to a server that the test can cut: open connections dropped, new ones refused."""

    def __init__(self, port: int):
        self.target = ("127.0.0.1", port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open: list[socket.socket] = []
        self.cut_off = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.cut_off:
                client.close()
                continue
            server = socket.create_connection(self.target)
            self.open += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for end in (source, sink):
            end.close()

    def cut(self) -> None:
        self.cut_off = True
        for end in self.open:
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def restore(self) -> None:
        self.open = []
        self.cut_off = False

    def close(self) -> None:
        self.cut()
        self.listener.close()


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_relay_rides_out_a_database_outage(app, tmp_path):
    from sqlalchemy.engine import make_url

    from hotline import jobs
    from hotline.extensions import db
    from hotline.models import OutboxMessage
    from hotline.outbox import add_job

    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    line = Cuttable(url.port or 5432)
    env = worker_env(app, app.config["REDIS_URL"])
    env["DATABASE_URL"] = url.set(port=line.port).render_as_string(hide_password=False)
    relay = subprocess.Popen([sys.executable, "-m", "hotline", "relay"], env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    lines: list[str] = []

    def read() -> None:
        for output in relay.stdout:
            lines.append(output)

    threading.Thread(target=read, daemon=True).start()
    queue = Queue("default", connection=Redis.from_url(app.config["REDIS_URL"]))

    def queued(job_id: str) -> bool:
        db.session.remove()
        relayed = db.session.scalar(select(OutboxMessage.relayed_at).where(OutboxMessage.job_id == job_id))
        return relayed is not None and job_id in queue.job_ids

    try:
        add_job("before", jobs.send_request_confirmation, 1)
        db.session.commit()
        wait_until(lambda: queued("before"), 180, "the relay to relay a row")

        line.cut()
        wait_until(lambda: sum("database unavailable" in seen for seen in lines) >= 2, 180,
                   "the relay to miss its database, twice")
        add_job("during", jobs.send_request_confirmation, 2)  # straight to the database
        db.session.commit()
        assert relay.poll() is None

        line.restore()
        wait_until(lambda: queued("during"), 180, "the relay to relay the row written during the outage")
        assert relay.poll() is None
    finally:
        relay.send_signal(signal.SIGINT)
        try:
            relay.wait(30)
        finally:
            if relay.poll() is None:
                os.killpg(relay.pid, signal.SIGKILL)
            line.close()


# --- the real install -------------------------------------------------------------------


class HealthWatch:
    """Polls /healthz from a thread and keeps every answer that was not 200."""

    def __init__(self, up: Up):
        self.up = up
        self.answers = 0
        self.failures: list[object] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                status = self.up.healthz().status_code
            except Exception as error:  # a refused or hung request is a failure to report
                status = repr(error)
            self.answers += 1
            if status != 200:
                self.failures.append(status)
            self._stop.wait(0.1)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)


@pytest.mark.slow
def test_each_child_killed_is_restarted_and_the_line_keeps_answering(tmp_path):
    up = Up(tmp_path).start()
    try:
        web = up.pid("web")
        watch = HealthWatch(up)
        for n, name in enumerate(["worker", "asr", "relay", "redis"]):
            old = up.pid(name)
            os.kill(old, signal.SIGKILL)
            up.wait_for_line(rf"^{name} was killed by SIGKILL; restarting in 1 s$")
            new = up.wait_restarted(name, old)
            assert _alive(new)
            if name != "asr":  # work resumes: a call's confirmation job is relayed and run
                phone = f"+8491230000{n}"
                assert up.call_for_help(phone).hung_up()
                outcome = wait_until(lambda: up.confirmation_outcome(phone), 60,  # noqa: B023
                                     f"the confirmation job after {name} was killed")
                assert outcome == "sms_not_sent"  # no provider configured: recorded, not sent
        watch.stop()
        assert watch.failures == [] and watch.answers > 10
        assert up.pid("web") == web  # never restarted for the others' sake

        # The web process itself: its master killed once, restarted; `hotline up` goes on.
        os.kill(web, signal.SIGKILL)
        up.wait_restarted("web", web)
        wait_until(lambda: _healthy(up), 60, "the restarted web process to answer")
        assert up.call_for_help("+84912300009").hung_up()
        assert up.process.poll() is None
    finally:
        up.stop()
    up.assert_nothing_left()


def _healthy(up: Up) -> bool:
    try:
        return up.healthz().status_code == 200
    except Exception:
        return False


def _normal_answer(response, apology: str) -> bool:
    return response.status_code == 200 and response.text != apology


@pytest.mark.slow
def test_a_redis_outage_loses_no_call_or_sms_and_sends_every_reply_once(tmp_path, twilio_api):
    redis = EmbeddedRedis(tmp_path / "redis", persistent=True)
    redis.start()
    up = Up(tmp_path, REDIS_URL=redis.url, TWILIO_ACCOUNT_SID=twilio_api.account_sid,
            TWILIO_AUTH_TOKEN=twilio_api.auth_token, TWILIO_API_BASE=twilio_api.base_url,
            HOTLINE_PHONE_NUMBER=HOTLINE_NUMBER)
    callers: list[str] = []
    senders: list[str] = []
    apology = ""

    def traffic(phase: int, count: int) -> None:
        """`count` calls asking for help and `count` SMS asking for help, from new numbers."""
        for i in range(count):
            caller, sender = f"+849121{phase}{i:04d}", f"+849131{phase}{i:04d}"
            call = up.call_for_help(caller)  # asserts 200 and TwiML at each step
            assert call.history[0].find("Gather") is not None and call.hung_up()
            said = [say.text for twiml in call.history for say in twiml.iter("Say")]
            assert apology not in said, "a voice webhook failed into the apology"
            answer = up.sms(sender, "GIUP")
            assert answer.status_code == 200 and ET.fromstring(answer.content).tag == "Response"
            callers.append(caller)
            senders.append(sender)

    def drained(sent: int) -> bool:
        """Every outbox row relayed, no job queued, running or scheduled, `sent` SMS sent."""
        connection = Redis.from_url(redis.url)
        kinds = (Queue, StartedJobRegistry, ScheduledJobRegistry)
        left = sum(kind(q, connection=connection).count for q in ("default", "asr") for kind in kinds)
        # rows for later (tonight's retention pass and backup, hotline/nightly.py) wait by design
        pending = up.sql("SELECT count(*) FROM outbox WHERE relayed_at IS NULL AND run_at IS NULL")[0][0]
        return left == 0 and pending == 0 and len(twilio_api.messages) >= sent

    try:
        up.start()
        workers = {name: up.pid(name) for name in ("web", "relay", "worker", "asr")}
        apology = _apology_text(up)
        traffic(1, 2)
        wait_until(lambda: drained(4), 60, "the replies sent before the outage")

        os.kill(redis.process.pid, signal.SIGKILL)
        redis.process.wait()
        mark = len(up.lines)
        traffic(2, 8)
        health = up.healthz()
        assert health.status_code == 200 and health.json()["redis"].startswith("down")
        up.wait_for_line(r"outbox relay: Redis unavailable", after=mark)
        up.wait_for_line(r"Worker \w+: could not connect to Redis|worker lost Redis", after=mark)
        assert up.sql("SELECT count(*) FROM outbox WHERE relayed_at IS NULL AND run_at IS NULL") == [(16,)]
        assert len(twilio_api.messages) == 4

        redis.start()  # the same port, its data reloaded from the append-only file
        traffic(3, 4)

        wait_until(lambda: drained(28), 120, "the outbox and the queues to drain")
        assert up.process.poll() is None
        assert {name: up.pid(name) for name in workers} == workers, "a process was restarted"
        for name in workers:
            assert f"{name} exited" not in up.output and f"{name} was killed" not in up.output
    finally:
        up.stop()
        redis.stop()

    assert len(callers) == len(senders) == 14
    assert sorted(row[0] for row in up.sql("SELECT phone FROM calls")) == sorted(callers)
    assert sorted(row[0] for row in up.sql("SELECT phone FROM sms_messages")) == sorted(senders)
    assert up.sql("SELECT status, count(*) FROM sms_outbound GROUP BY status") == [("sent", 14)]
    # Exactly one SMS to each number: a confirmation per caller, a reply per sender.
    assert Counter(message["To"] for message in twilio_api.messages) == Counter(callers + senders)
    up.assert_nothing_left()


def _apology_text(up: Up) -> str:
    """The words a caller hears when a voice webhook fails (the flow's `system_busy` prompt)."""
    from hotline import create_app
    from hotline.ivr import engine
    from hotline.voice.twiml import render

    app = create_app({"DATA_DIR": str(up.data), "DATABASE_URL": f"sqlite:///{up.data / 'hotline.db'}"})
    with app.app_context():
        return ET.fromstring(render(engine.apology(app.extensions["hotline.flow"]))).find("Say").text


# --- a transcription interrupted by a killed worker -----------------------------------------


class HoldingTwilioAPI(FakeTwilioAPI):
    """Twilio's media host, holding the first download of `held` until `release` is set."""

    def __init__(self, account_sid: str, auth_token: str):
        self.held: str | None = None
        self.arrived = threading.Event()
        self.release = threading.Event()
        super().__init__(account_sid, auth_token)

    def _handler(self):
        api = self
        base = super()._handler()

        class Handler(base):
            def do_GET(self):
                if self.path.split("?")[0] == api.held and not api.arrived.is_set():
                    api.arrived.set()
                    api.release.wait(120)
                    return  # its client was killed meanwhile: nobody to answer
                super().do_GET()

        return Handler


@pytest.mark.slow
def test_a_transcription_interrupted_by_a_killed_worker_arrives_later(tmp_path, korean_model_dir):
    from hotline import speech_models

    # One short sentence: the worker transcribes it twice as fast as the usual two.
    wav = synthesise(KOREAN_SENTENCES[1], tmp_path / "message.wav").read_bytes()
    api = HoldingTwilioAPI(ACCOUNT_SID, "rest-token-asr").start()
    up = Up(tmp_path, TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=api.auth_token,
            TWILIO_API_BASE=api.base_url, HOTLINE_PHONE_NUMBER=HOTLINE_NUMBER)
    # The only model this machine has is Korean: it stands in for Vietnamese.
    speech_models.install("vi", str(korean_model_dir), up.data, in_place=True)
    recording = "RE" + "5" * 32
    path = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{recording}"
    api.serve(path + ".wav", wav)
    api.held = path + ".wav"
    try:
        up.start()
        call = up.twilio().call("+84912555000")
        call.start()
        call.press("1")
        record = call.press("4").find("Record")
        assert record is not None
        call.post_to(record.get("action"), RecordingSid=recording, RecordingUrl=api.base_url + path,
                     RecordingDuration="6")

        wait_until(api.arrived.is_set, 90, "the asr worker to start downloading the recording")
        assert up.sql("SELECT status FROM transcriptions") == [("running",)]
        asr = up.pid("asr")
        [horse] = [p.pid for p in psutil.Process(asr).children() if os.getpgid(p.pid) == p.pid]
        os.kill(asr, signal.SIGKILL)
        up.wait_restarted("asr", asr)
        wait_until(lambda: not _alive(horse), 10, "the orphaned work horse to be ended")
        api.release.set()

        def transcribed():
            rows = up.sql("SELECT status, text FROM transcriptions")
            return rows if rows[0][0] not in ("queued", "running") else None

        [(status, text)] = wait_until(transcribed, 120, "the transcription to be run again")
        assert status == "done" and text
        assert up.sql("SELECT transcript FROM tickets") == [(text,)]
        assert up.sql("SELECT count(*) FROM ticket_events WHERE kind = 'transcription_done'") == [(1,)]
    finally:
        up.stop()
        api.release.set()
        api.stop()
    up.assert_nothing_left()


def test_children_end_when_their_supervisor_is_killed(tmp_path):
    """`hotline up` killed with SIGKILL (or by the OOM killer) leaves nothing running on."""
    pid_file = tmp_path / "child.pid"
    program = (
        "from hotline.supervisor import Child, Supervisor\n"
        f"child = Child.command('worker', ['sh', '-c', 'echo $$ > {pid_file}; exec sleep 120'])\n"
        "with Supervisor([child], say=print) as supervisor:\n"
        "    supervisor.start('worker')\n"
        "    supervisor.run()\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", program])
    try:
        wait_until(lambda: pid_file.exists() and pid_file.read_text().strip(), 20, "the child to start")
        child = int(pid_file.read_text())
        assert _alive(child)
        parent.kill()
        parent.wait(10)
        wait_until(lambda: not _alive(child), 10, "the child to end with its supervisor")
    finally:
        if parent.poll() is None:
            parent.kill()
