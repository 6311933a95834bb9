"""Keep the processes of a one-machine install running: `hotline up` is their supervisor.

honcho and foreman stop everything when one process dies, because on a platform
something else (systemd, Heroku) restarts it. On a commune office machine nothing
else does, so here a child that exits is started again after a pause that doubles
with each quick failure (1 s, 2 s, 4 s … at most 30 s) and starts from 1 s again
once the child has stayed up for a minute. The web process is never stopped
because a worker, the relay or the embedded Redis died: calls need only the web
process and the database (the outbox holds the jobs).

`hotline up` stops only when asked (Ctrl-C, SIGTERM) or when the web process
itself keeps failing (5 exits within 120 s: a broken install, which a restart
loop would only hide), and it says why in one line.

Each child runs in a process group of its own, so a signal for the child reaches
its forks too (gunicorn's workers, RQ's scheduler) and a Ctrl-C in the terminal
reaches only the supervisor, which then stops the children in order (Redis
last, so workers can still say goodbye to it). RQ's work horses leave their
worker's group (`os.setpgrp`); on Linux the supervisor is therefore a "child
subreaper" (prctl PR_SET_CHILD_SUBREAPER): a process whose parent died (the
horse of a killed worker, the workers of a killed gunicorn master) becomes the
supervisor's child, and is ended, so nothing runs on unsupervised and the
restarted child finds its port free.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import psutil

#: prctl(2) option that makes orphaned descendants re-parent to this process.
PR_SET_CHILD_SUBREAPER = 36
#: How often to look for orphans when no child has died (a look reads every process's /proc entry).
ORPHAN_SCAN_SECONDS = 5.0


class Shutdown(Exception):
    """SIGTERM arrived: stop like Ctrl-C does."""


@dataclass(frozen=True)
class Backoff:
    """Pauses before a restart: `initial`, doubled after each quick exit, at most `maximum`.

    A child that ran for `stable_after` seconds before exiting starts again from `initial`.
    """

    initial: float = 1.0
    maximum: float = 30.0
    stable_after: float = 60.0

    def next(self, previous: float | None, uptime: float) -> float:
        if previous is None or uptime >= self.stable_after:
            return self.initial
        return min(previous * 2, self.maximum)


def end_with_parent() -> None:
    """In a child before exec: ask Linux to send SIGTERM when its parent dies, so a supervisor
    killed with SIGKILL (or the OOM killer) leaves no worker or web server running on without
    it, holding the port the next `hotline up` needs. Elsewhere, nothing."""
    if not sys.platform.startswith("linux"):
        return
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    """One supervised process: its name and how to start it (returns the running process)."""

    name: str
    launch: Callable[[], subprocess.Popen]
    #: Stopped after the others (the Redis they still talk to while they stop).
    last: bool = False
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    delay: float | None = None
    restart_at: float | None = None
    exits: deque[float] = field(default_factory=deque)

    @classmethod
    def command(cls, name: str, argv: Sequence[str], env: Mapping[str, str] | None = None) -> Child:
        """A child run from a command line, in a process group of its own, that ends with us."""
        return cls(name, lambda: subprocess.Popen(
            list(argv), env=env, process_group=0, preexec_fn=end_with_parent))

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Supervisor:
    """Start, watch and restart children; stop them all on the way out (a context manager).

    `essential` names the child whose repeated failure (`give_up_after` exits within
    `give_up_window` seconds) stops everything. With `adopt_orphans` (what `hotline up`
    uses: it starts nothing else) the supervisor becomes a child subreaper, ends the
    orphans it inherits, and at the end ends every process left below it.
    """

    def __init__(
        self,
        children: Iterable[Child],
        *,
        say: Callable[[str], object] = print,
        backoff: Backoff = Backoff(),
        essential: str = "web",
        give_up_after: int = 5,
        give_up_window: float = 120.0,
        stop_timeout: float = 10.0,
        tick: float = 0.25,
        adopt_orphans: bool = False,
    ):
        self.children = {child.name: child for child in children}
        self.say = say
        self.backoff = backoff
        self.essential = essential
        self.give_up_after = give_up_after
        self.give_up_window = give_up_window
        self.stop_timeout = stop_timeout
        self.tick = tick
        self.adopt_orphans = adopt_orphans
        self.stop_reason: str | None = None
        self._previous_sigterm: Callable[[int, FrameType | None], Any] | int | None = None

    # --- the context: signals in, everything stopped on the way out ---------------------

    def __enter__(self) -> Supervisor:
        if self.adopt_orphans:
            _become_subreaper()  # elsewhere than Linux orphans go to init; the final sweep still runs
        self._previous_sigterm = signal.signal(signal.SIGTERM, _raise_shutdown)
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self.stop()
        finally:
            signal.signal(signal.SIGTERM, self._previous_sigterm or signal.SIG_DFL)

    # --- running ------------------------------------------------------------------------

    def start(self, name: str) -> subprocess.Popen:
        """Start one child now (the first start: a failure here is the caller's to report)."""
        child = self.children[name]
        child.process = child.launch()
        child.started_at = time.monotonic()
        child.restart_at = None
        self.say(f"started {name} pid {child.process.pid}")
        return child.process

    def running(self, name: str) -> bool:
        return self.children[name].running

    def pid(self, name: str) -> int | None:
        child = self.children[name]
        return child.process.pid if child.process is not None and child.running else None

    def request_stop(self, reason: str) -> None:
        """Make `run` return `reason` at its next look (for callers other than a signal)."""
        self.stop_reason = reason

    def run(self) -> str:
        """Watch the started children, restarting those that exit; return why it stopped."""
        scanned = time.monotonic()
        while self.stop_reason is None:
            now = time.monotonic()
            exited = False
            for child in self.children.values():
                if child.process is not None and child.process.poll() is not None:
                    self._exited(child, now)
                    exited = True
                elif child.process is None and child.restart_at is not None and now >= child.restart_at:
                    self._restart(child)
            # Orphans come from a child that died; the occasional look catches those of a
            # grandchild (a job's own subprocess whose work horse died) and reaps them.
            if exited or now - scanned >= ORPHAN_SCAN_SECONDS:
                self._end_orphans()
                scanned = now
            if self.stop_reason is None:
                time.sleep(self.tick)
        return self.stop_reason

    def _exited(self, child: Child, now: float) -> None:
        process = child.process
        assert process is not None
        code = process.returncode
        child.process = None
        self._end_group(process.pid)
        how = f"was killed by {_signal_name(-code)}" if code < 0 else f"exited with code {code}"
        if child.name == self.essential:
            child.exits.append(now)
            while child.exits and now - child.exits[0] > self.give_up_window:
                child.exits.popleft()
            if len(child.exits) >= self.give_up_after:
                self.say(f"{child.name} {how}")
                self.request_stop(
                    f"{child.name} exited {len(child.exits)} times in {self.give_up_window:g} s; stopping"
                )
                return
        child.delay = self.backoff.next(child.delay, now - child.started_at)
        child.restart_at = now + child.delay
        self.say(f"{child.name} {how}; restarting in {child.delay:g} s")

    def _restart(self, child: Child) -> None:
        try:
            self.start(child.name)
        except (OSError, RuntimeError) as error:  # e.g. Redis could not bind its port yet
            now = time.monotonic()
            child.delay = self.backoff.next(child.delay, 0.0)
            child.restart_at = now + child.delay
            self.say(f"{child.name} did not start ({error}); retrying in {child.delay:g} s")

    # --- leftovers ----------------------------------------------------------------------

    def _end_group(self, pgid: int, sig: int = signal.SIGKILL) -> None:
        """Signal what is left of a child's process group (its forks outlive it otherwise)."""
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def _known_pids(self) -> set[int]:
        return {child.process.pid for child in self.children.values() if child.process is not None}

    def _end_orphans(self) -> None:
        """End and reap the processes this subreaper inherited from a dead child."""
        if not self.adopt_orphans:
            return
        known = self._known_pids()
        ended = []
        for orphan in psutil.Process().children():
            if orphan.pid in known:
                continue
            try:
                if orphan.status() != psutil.STATUS_ZOMBIE:
                    orphan.kill()
                    ended.append(orphan.pid)
            except psutil.NoSuchProcess:
                pass
            try:
                os.waitpid(orphan.pid, os.WNOHANG)
            except ChildProcessError:
                pass
        if ended:
            self.say(f"ended leftover process{'es' if len(ended) > 1 else ''} of a dead child: "
                     f"{', '.join(map(str, ended))}")

    # --- stopping -----------------------------------------------------------------------

    def stop(self) -> None:
        """SIGTERM every child's group, wait, SIGKILL what remains; Redis (`last`) after the rest."""
        previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            children = list(self.children.values())
            for group in ([c for c in children if not c.last], [c for c in children if c.last]):
                self._stop_group(group)
            if self.adopt_orphans:
                leftovers = psutil.Process().children(recursive=True)
                for process in leftovers:
                    try:
                        process.kill()
                    except psutil.NoSuchProcess:
                        pass
                psutil.wait_procs(leftovers, timeout=5)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _stop_group(self, children: list[Child]) -> None:
        running = [(c, c.process) for c in children if c.process is not None and c.running]
        for _, process in running:
            self._end_group(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        while any(c.running for c, _ in running) and time.monotonic() < deadline:
            time.sleep(0.05)
        for child, process in running:
            if child.running:
                self.say(f"{child.name} did not stop within {self.stop_timeout:g} s; killing it")
            self._end_group(process.pid, signal.SIGKILL)
            process.wait()
            child.process = None
        for child in children:
            child.restart_at = None


def _raise_shutdown(signum: int, frame: object) -> None:
    raise Shutdown(_signal_name(signum))


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _become_subreaper() -> bool:
    """Linux only: orphans below this process re-parent to it instead of to init."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
